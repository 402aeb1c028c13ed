using System;
using System.Diagnostics;
using System.Threading;
using Kiln.Threading;

namespace Kiln.Runtime.Tests.Kernels;

/// <summary>The shared pool's thread limit: a job runs on at most <see cref="KilnSettings.Threads"/> threads, whatever the pool's size.</summary>
[Collection(KernelCollection.Name)]
public class WorkerPoolTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void AJobRunsOnAtMostThreadsThreadsAndEveryPartOnce(int threads)
    {
        using var _ = new KernelSwitches(Kiln.Kernels.Simd.MaxBits, threads);
        var pool = new WorkerPool(4, followsThreadsSetting: true);
        var job = new ThreadSetJob(parts: 8);
        for (int call = 0; call < 300; call++)
        {
            job.Reset();
            pool.Run(job, 8);
            Assert.All(job.Counts, c => Assert.Equal(1, c));
            Assert.InRange(job.DistinctThreads(), 1, threads);
            if (threads == 1) Assert.Equal(Environment.CurrentManagedThreadId, job.Threads[7]);
        }
    }

    [Fact]
    public void TheSecondThreadIsReallyUsedUnderTheLimit()
    {
        using var _ = new KernelSwitches(Kiln.Kernels.Simd.MaxBits, 2);
        var pool = new WorkerPool(4, followsThreadsSetting: true);
        var rendezvous = new RendezvousJob();
        pool.Run(rendezvous, 2);
        Assert.True(rendezvous.Met, "no worker took the second part");
    }

    [Fact]
    public void WorkersBeyondTheLimitGoToSleepWhileJobsKeepComing()
    {
        using var _ = new KernelSwitches(Kiln.Kernels.Simd.MaxBits, 5);
        var pool = new WorkerPool(4, followsThreadsSetting: true);
        var job = new ThreadSetJob(parts: 8);
        // First every worker is engaged and awake; then, at Threads = 2, jobs come back to back for well
        // past the spin and yield windows (about 2.1 ms): an engaged worker stays awake, the others must
        // stop spinning although a new job appears every few microseconds. (With fewer cores than the
        // pool's threads, the OS can stall a spinning worker past its windows anyway, so only a machine
        // with five or more cores tells this apart from a worker that kept restarting its spin.)
        RunFor(pool, job, milliseconds: 50);
        KilnSettings.Threads = 2;
        RunFor(pool, job, milliseconds: 200);
        for (int w = 2; w <= 4; w++) Assert.True(pool.IsAsleep(w), $"worker {w} is beyond Threads = 2 but still awake");
        Assert.False(pool.IsAsleep(1), "worker 1 is engaged by every job and must not have slept");
    }

    private static void RunFor(WorkerPool pool, ThreadSetJob job, int milliseconds)
    {
        var timer = Stopwatch.StartNew();
        while (timer.ElapsedMilliseconds < milliseconds)
        {
            job.Reset();
            pool.Run(job, job.Counts.Length);
        }
    }

    [Fact]
    public void APoolMadeDirectlyEngagesAllItsWorkers()
    {
        using var _ = new KernelSwitches(Kiln.Kernels.Simd.MaxBits, 1);
        var pool = new WorkerPool(1);
        var rendezvous = new RendezvousJob();
        pool.Run(rendezvous, 2);
        Assert.True(rendezvous.Met, "the worker never took the second part although the pool does not follow KilnSettings.Threads");
    }

    private sealed class ThreadSetJob(int parts) : ParallelJob
    {
        public readonly int[] Counts = new int[parts];
        public readonly int[] Threads = new int[parts];

        public void Reset()
        {
            Array.Clear(Counts);
            Array.Clear(Threads);
        }

        public override void Execute(int part, int parts)
        {
            Interlocked.Increment(ref Counts[part]);
            Threads[part] = Environment.CurrentManagedThreadId;
            Thread.SpinWait(200); // long enough that a spinning worker can take parts
        }

        public int DistinctThreads()
        {
            int distinct = 0;
            for (int i = 0; i < Threads.Length; i++)
                if (Array.IndexOf(Threads, Threads[i]) == i) distinct++;
            return distinct;
        }
    }

    // Each part waits for the other to start, so the two parts must run on two threads at once.
    private sealed class RendezvousJob : ParallelJob
    {
        private int _entered;
        public bool Met;

        public override void Execute(int part, int parts)
        {
            Interlocked.Increment(ref _entered);
            var timer = Stopwatch.StartNew();
            while (Volatile.Read(ref _entered) < 2 && timer.ElapsedMilliseconds < 5000) Thread.Yield();
            if (Volatile.Read(ref _entered) >= 2) Met = true;
        }
    }
}
