using System;
using Kiln.Kernels;
using Kiln.Threading;

namespace Kiln.Runtime.Tests.Kernels;

[Collection(KernelCollection.Name)]
public class AllocationTests
{
    [Theory]
    [InlineData(32)]
    [InlineData(256)]
    [InlineData(1)]
    public void MlpStepAllocatesNothingOnAnyThread(int n)
    {
        using var _ = new KernelSwitches(512, 2);
        int[] sizes = { 784, 300, 100, 10 };
        var x = new float[4][];
        var w = new float[3][];
        var b = new float[3][];
        var dw = new float[3][];
        var db = new float[3][];
        var dx = new float[4][];
        for (int l = 0; l < 4; l++)
        {
            x[l] = TestData.Random(n * sizes[l], (ulong)l + 1);
            dx[l] = new float[n * sizes[l]];
        }
        for (int l = 0; l < 3; l++)
        {
            w[l] = TestData.Random(sizes[l] * sizes[l + 1], (ulong)l + 10, -0.1f, 0.1f);
            b[l] = new float[sizes[l + 1]];
            dw[l] = new float[w[l].Length];
            db[l] = new float[b[l].Length];
        }
        float[] labels = new float[n];
        var mask = new float[n * 300];
        var rng = new Rng(1);

        void Step()
        {
            Dense.Forward(x[0], w[0], b[0], x[1], n, 784, 300, new Relu());
            Dropout.Forward(x[1], x[1], mask, 0.2f, ref rng);
            Dense.Forward(x[1], w[1], b[1], x[2], n, 300, 100, new Relu());
            Dense.Forward(x[2], w[2], b[2], x[3], n, 100, 10, new Identity());
            Losses.SparseCategoricalCrossentropyFromLogits(x[3], labels, dx[3], n, 10);
            Dense.Backward(x[2], w[2], x[3], dx[3], dw[2], db[2], dx[2], n, 100, 10, new Identity());
            Dense.Backward(x[1], w[1], x[2], dx[2], dw[1], db[1], dx[1], n, 300, 100, new Relu());
            Dropout.Backward(dx[1], mask, dx[1]);
            Dense.Backward(x[0], w[0], x[1], dx[1], dw[0], db[0], Span<float>.Empty, n, 784, 300, new Relu());
            Gemm.Nt(n, 784, 300, dx[1], 300, w[0], 300, dx[0], 784);
            Activations.Softmax(x[3], x[3], n, 10);
        }

        // Past the JIT's call-counting threshold (30 calls) for everything a step calls, so tiering
        // work that may run on this thread is over before measuring.
        WarmUp.Run(Step);
        var (callingThread, workers) = WarmUp.Allocations(() => { for (int i = 0; i < 5; i++) Step(); });
        Assert.Equal(0, callingThread);
        Assert.Equal(0, workers);
    }

    [Fact]
    public void PoolRunsEveryPartOnceAndReportsWorkerAllocations()
    {
        var pool = new WorkerPool(1);
        var counting = new CountingJob();
        pool.Run(counting, 7);
        pool.Run(counting, 7);
        Assert.All(counting.Counts, c => Assert.Equal(2, c));

        long before = pool.AllocatedBytesOnWorkers;
        var rendezvous = new RendezvousJob();
        pool.Run(rendezvous, 2);
        Assert.True(rendezvous.Met, "the worker never took the second part");
        Assert.NotEqual(rendezvous.Threads[0], rendezvous.Threads[1]);
        Assert.True(pool.AllocatedBytesOnWorkers > before, "an allocating part on a worker must show in AllocatedBytesOnWorkers");
    }

    [Fact]
    public void RunOnEachThreadRunsEveryPartOnceOnItsOwnThread()
    {
        var pool = new WorkerPool(1);
        pool.Run(new CountingJob(), 7); // let the worker pass a few generations first
        var job = new ThreadRecordingJob();
        pool.RunOnEachThread(job);
        pool.RunOnEachThread(job);
        Assert.Equal(new[] { 2, 2 }, job.Counts);
        Assert.NotEqual(job.Threads[0], job.Threads[1]);
        Assert.Equal(Environment.CurrentManagedThreadId, job.Threads[0]);
    }

    [Fact]
    public void RunOnOwnThreadsRunsEveryPartExactlyOnceAndWorkersTakeTheirOwn()
    {
        var pool = new WorkerPool(2);
        // Many quick calls: a worker that wakes late for one call must never run a part of the next twice.
        var counting = new CountingJob();
        for (int call = 0; call < 2000; call++) pool.RunOnOwnThreads(counting, 3);
        Assert.Equal(new[] { 2000, 2000, 2000, 0, 0, 0, 0 }, counting.Counts);

        // Part 0 waits for part 1 to start: only worker 1 can have taken it then (the caller is busy with part 0).
        var rendezvous = new RendezvousJob();
        pool.RunOnOwnThreads(rendezvous, 2);
        Assert.True(rendezvous.Met, "worker 1 never took its part");
        Assert.Equal(Environment.CurrentManagedThreadId, rendezvous.Threads[0]);
        Assert.NotEqual(rendezvous.Threads[0], rendezvous.Threads[1]);

        var failing = new FailingJob();
        var e = Assert.Throws<InvalidOperationException>(() => pool.RunOnOwnThreads(failing, 3));
        Assert.Equal("part 2 failed", e.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => pool.RunOnOwnThreads(counting, 4));
        pool.RunOnOwnThreads(counting, 3); // still usable after a failure
        Assert.Equal(2001, counting.Counts[2]);
    }

    private sealed class FailingJob : ParallelJob
    {
        public override void Execute(int part, int parts)
        {
            if (part == 2) throw new InvalidOperationException("part 2 failed");
        }
    }

    private sealed class ThreadRecordingJob : ParallelJob
    {
        public readonly int[] Counts = new int[2];
        public readonly int[] Threads = new int[2];

        public override void Execute(int part, int parts)
        {
            Threads[part] = Environment.CurrentManagedThreadId;
            System.Threading.Interlocked.Increment(ref Counts[part]);
        }
    }

    private sealed class CountingJob : ParallelJob
    {
        public readonly int[] Counts = new int[7];

        public override void Execute(int part, int parts) => System.Threading.Interlocked.Increment(ref Counts[part]);
    }

    // Each part waits for the other to start, so the two parts must run on two threads at once.
    private sealed class RendezvousJob : ParallelJob
    {
        private int _entered;
        public readonly int[] Threads = new int[2];
        public bool Met;
        public static object? Sink;

        public override void Execute(int part, int parts)
        {
            Threads[part] = Environment.CurrentManagedThreadId;
            System.Threading.Interlocked.Increment(ref _entered);
            var timer = System.Diagnostics.Stopwatch.StartNew();
            while (System.Threading.Volatile.Read(ref _entered) < 2 && timer.ElapsedMilliseconds < 5000) System.Threading.Thread.Yield();
            if (System.Threading.Volatile.Read(ref _entered) >= 2) Met = true;
            Sink = new byte[1000];
        }
    }
}
