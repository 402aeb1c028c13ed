using System;
using System.Diagnostics;
using System.Threading;
using Kiln.Threading;

namespace Kiln.Runtime.Tests.Kernels;

/// <summary>
/// The worker pool: every part once, on the threads each way of running promises, failures passed on, and the
/// shared pool's thread limit (a job runs on at most <see cref="KilnSettings.Threads"/> threads, whatever the pool's size).
/// </summary>
[Collection(KernelCollection.Name)]
public class WorkerPoolTests
{
    // A loop left to tiered compilation is compiled again by on-stack replacement on the thread that runs it,
    // mid-step (AwaitParts was still Tier-0 code after 1,500 Fashion CNN steps); each of these is fully optimized at first call.
    [Theory]
    [InlineData("Run")]
    [InlineData("RunOnEachThread")]
    [InlineData("RunOnOwnThreads")]
    [InlineData("AwaitParts")]
    [InlineData("PartsDoneWithin")]
    [InlineData("RunShares")]
    [InlineData("WorkerLoop")]
    public void ThePoolsLoopsAreCompiledFullyOptimized(string method)
    {
        // Run's one-job form only forwards to the two-job form, which holds the loop.
        var m = method == "Run"
            ? typeof(WorkerPool).GetMethod(method, new[] { typeof(ParallelJob), typeof(int), typeof(ParallelJob), typeof(int) })!
            : typeof(WorkerPool).GetMethod(method, System.Reflection.BindingFlags.Instance | System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.NonPublic)!;
        Assert.True(m.MethodImplementationFlags.HasFlag(System.Reflection.MethodImplAttributes.AggressiveOptimization), $"WorkerPool.{method} is left to tiered compilation");
    }

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
        // past the spin and yield windows (about 2.1 ms): the workers beyond the limit must stop spinning
        // although a new job appears every few microseconds. (Worker 1 may be asleep too at the end: the OS
        // can stall it past its windows, and Publish wakes it for the next job.) (With fewer cores than the
        // pool's threads, the OS can stall a spinning worker past its windows anyway, so only a machine
        // with five or more cores tells this apart from a worker that kept restarting its spin.)
        RunFor(pool, job, milliseconds: 50);
        KilnSettings.Threads = 2;
        RunFor(pool, job, milliseconds: 200);
        for (int w = 2; w <= 4; w++) Assert.True(pool.IsAsleep(w), $"worker {w} is beyond Threads = 2 but still awake");
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
    public void EachThreadRunsItsOwnShareInOrderThenTheOthersFromTheirEnds()
    {
        var pool = new WorkerPool(1);
        var job = new OrderJob(parts: 12);
        int caller = Environment.CurrentManagedThreadId;
        for (int call = 0; call < 300; call++)
        {
            job.Reset();
            pool.Run(job, 12);
            Assert.All(job.Counts, c => Assert.Equal(1, c));
            // Two threads: the caller owns parts 0–5, the worker 6–11. Each runs its own share from the
            // front, up, and only then what the other left, from that share's end down.
            foreach (var parts in job.ByThread())
            {
                bool isCaller = parts == job.Parts(caller);
                int ownFirst = isCaller ? 0 : 6;
                bool Own(int part) => (part < 6) == isCaller;
                int i = 0;
                for (; i < parts.Count && Own(parts[i]); i++) Assert.Equal(ownFirst + i, parts[i]);
                for (int j = i; j < parts.Count; j++)
                {
                    Assert.False(Own(parts[j]), $"part {parts[j]} of its own share came after another share's");
                    Assert.Equal(ownFirst == 0 ? 11 - (j - i) : 5 - (j - i), parts[j]);
                }
            }
        }
    }

    [Fact]
    public void TwoJobsRunAsOneCallEveryPartOnceEachThreadFromTheFrontOfItsSlices()
    {
        var pool = new WorkerPool(1);
        int caller = Environment.CurrentManagedThreadId;
        foreach (var (firstParts, secondParts) in new[] { (8, 16), (3, 5), (1, 1), (0, 4), (6, 0) })
            for (int call = 0; call < 100; call++)
            {
                var first = new OrderJob(parts: Math.Max(firstParts, 1));
                var second = new OrderJob(parts: Math.Max(secondParts, 1));
                pool.Run(first, firstParts, secondParts == 0 ? null : second, secondParts);
                for (int p = 0; p < firstParts; p++) Assert.Equal(1, first.Counts[p]);
                for (int p = 0; p < secondParts; p++) Assert.Equal(1, second.Counts[p]);
                // The caller's slice of each job (below half its parts) is its own: whatever it ran of the other slices, it took
                // from their ends, so the worker never ran more of the caller's slices than the caller left.
                foreach (var (job, parts) in new[] { (first, firstParts), (second, secondParts) })
                {
                    var mine = job.Parts(caller).FindAll(p => p < parts / 2);
                    for (int i = 0; i < mine.Count; i++) Assert.Equal(i, mine[i]);
                }
            }
        Assert.Throws<ArgumentOutOfRangeException>(() => pool.Run(new CountingJob(), 2, null, 3));
        var failing = Assert.Throws<InvalidOperationException>(() => pool.Run(new CountingJob(), 4, new FailingJob(), 3));
        Assert.Equal("part 2 failed", failing.Message);
    }

    [Fact]
    public void AStalledThreadDelaysACallByNoMoreThanThePartItHolds()
    {
        using var _ = new KernelSwitches(Kiln.Kernels.Simd.MaxBits, 2);
        var pool = new WorkerPool(1, followsThreadsSetting: true);
        // Whichever part the worker takes first stalls for 300 ms: the caller must run the rest of the worker's
        // share meanwhile, so the worker runs that one part at most, and the call lasts about one stall.
        var job = new OrderJob(parts: 16, stallOffCaller: 300);
        pool.Run(job, 16);
        Assert.All(job.Counts, c => Assert.Equal(1, c));
        int caller = Environment.CurrentManagedThreadId;
        Assert.InRange(16 - job.Parts(caller).Count, 0, 1);
        Assert.Equal(new[] { 0, 1, 2, 3, 4, 5, 6, 7 }, job.Parts(caller).GetRange(0, 8));
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
        Assert.Throws<ArgumentOutOfRangeException>(() => pool.Run(counting, 65536));
        pool.RunOnOwnThreads(counting, 3); // still usable after a failure
        Assert.Equal(2001, counting.Counts[2]);
    }

    // Calls from several threads take turns at the run gate: every call's parts run exactly once, whichever way it runs them.
    [Fact]
    public void CallsFromSeveralThreadsTakeTurnsAndRunEveryPartOnce()
    {
        var pool = new WorkerPool(2);
        var jobs = new[] { new CountingJob(), new CountingJob(), new CountingJob() };
        const int calls = 1500;
        var callers = new Thread[jobs.Length];
        for (int t = 0; t < callers.Length; t++)
        {
            var job = jobs[t];
            int kind = t;
            callers[t] = new Thread(() =>
            {
                for (int call = 0; call < calls; call++)
                {
                    if (kind == 0) pool.Run(job, 5);
                    else if (kind == 1) pool.RunOnOwnThreads(job, 3);
                    else pool.Run(job, 2, job, 3);
                }
            });
            callers[t].Start();
        }
        foreach (var caller in callers) Assert.True(caller.Join(TimeSpan.FromMinutes(2)), "a call never returned");
        Assert.Equal(new[] { calls, calls, calls, calls, calls, 0, 0 }, jobs[0].Counts);
        Assert.Equal(new[] { calls, calls, calls, 0, 0, 0, 0 }, jobs[1].Counts);
        // The two-job form runs the same job's parts 0–1 and 0–2: parts 0 and 1 twice per call, part 2 once.
        Assert.Equal(new[] { 2 * calls, 2 * calls, calls, 0, 0, 0, 0 }, jobs[2].Counts);
    }

    // The benchmarks' step timeline: each run's start and end around its parts, each part once with the thread that ran
    // it (0 the caller, i worker i), a run the caller did alone as one inline event, marks in place; nothing once the
    // recording is taken away, and events past its capacity dropped rather than thrown.
    [Fact]
    public void ATimelineRecordsEachRunsPartsAndTheThreadsThatRanThem()
    {
        var pool = new WorkerPool(1);
        var timeline = new PoolTimeline(capacity: 64);
        // Each part waits for the other to start, so the worker runs one of each run's two.
        var shared = new RendezvousJob();
        var owned = new RendezvousJob();
        PoolTimeline.Current = timeline;
        try
        {
            timeline.Mark(7);
            pool.Run(shared, 2);
            pool.Run(new CountingJob(), 1);
            pool.RunOnOwnThreads(owned, 2);
        }
        finally { PoolTimeline.Current = null; }
        Assert.True(shared.Met && owned.Met, "the worker never took a part");
        var events = timeline.Events.ToArray();
        pool.Run(new CountingJob(), 4);
        Assert.Equal(events.Length, timeline.Events.Length);

        Assert.Equal(PoolTimeline.Kind.Mark, events[0].Kind);
        Assert.Equal(7, events[0].Part);
        int at = 1;
        void ExpectRun(Type job, int[] threadOfPart, int caller)
        {
            var start = events[at++];
            Assert.Equal(PoolTimeline.Kind.RunStart, start.Kind);
            Assert.Equal(job, start.Job);
            var seen = new bool[threadOfPart.Length];
            for (int p = 0; p < threadOfPart.Length; p++, at++)
            {
                var part = events[at];
                Assert.Equal(PoolTimeline.Kind.Part, part.Kind);
                Assert.Equal(start.Generation, part.Generation);
                Assert.False(seen[part.Part], $"part {part.Part} recorded twice");
                seen[part.Part] = true;
                Assert.Equal(threadOfPart[part.Part] == caller ? 0 : 1, part.Thread);
                Assert.InRange(part.Start, start.Start, part.End);
            }
            var end = events[at++];
            Assert.Equal(PoolTimeline.Kind.RunEnd, end.Kind);
            Assert.Equal(start.Generation, end.Generation);
            Assert.True(end.End >= events[at - 2].End);
        }
        int caller = Environment.CurrentManagedThreadId;
        ExpectRun(typeof(RendezvousJob), shared.Threads, caller);
        var inline = events[at++];
        Assert.Equal(PoolTimeline.Kind.Inline, inline.Kind);
        Assert.Equal(typeof(CountingJob), inline.Job);
        Assert.InRange(inline.Start, events[at - 2].End, inline.End);
        ExpectRun(typeof(RendezvousJob), owned.Threads, caller);
        Assert.Equal(events.Length, at);

        var full = new PoolTimeline(capacity: 2);
        PoolTimeline.Current = full;
        try { pool.Run(new CountingJob(), 4); }
        finally { PoolTimeline.Current = null; }
        Assert.Equal(2, full.Events.Length);
        Assert.Equal(4, full.Dropped);   // three of the four parts and the run's end
    }

    // Records which thread ran each part, in the order each thread ran them; optionally, the first part run off
    // the caller's thread stalls.
    private sealed class OrderJob(int parts, int stallOffCaller = 0) : ParallelJob
    {
        private readonly int _caller = Environment.CurrentManagedThreadId;
        private readonly System.Collections.Concurrent.ConcurrentDictionary<int, System.Collections.Generic.List<int>> _byThread = new();
        private int _stalled;
        public readonly int[] Counts = new int[parts];

        public void Reset()
        {
            Array.Clear(Counts);
            _byThread.Clear();
        }

        public System.Collections.Generic.List<int> Parts(int thread) => _byThread.TryGetValue(thread, out var list) ? list : new();

        public System.Collections.Generic.IEnumerable<System.Collections.Generic.List<int>> ByThread() => _byThread.Values;

        public override void Execute(int part, int parts)
        {
            Interlocked.Increment(ref Counts[part]);
            int thread = Environment.CurrentManagedThreadId;
            _byThread.GetOrAdd(thread, _ => new()).Add(part);
            if (stallOffCaller > 0 && thread != _caller && Interlocked.Exchange(ref _stalled, 1) == 0) Thread.Sleep(stallOffCaller);
            else Thread.SpinWait(200);
        }
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
            Interlocked.Increment(ref Counts[part]);
        }
    }

    private sealed class CountingJob : ParallelJob
    {
        public readonly int[] Counts = new int[7];

        public override void Execute(int part, int parts) => Interlocked.Increment(ref Counts[part]);
    }

    // Each part waits for the other to start, so the two parts must run on two threads at once; each allocates (for AllocatedBytesOnWorkers).
    private sealed class RendezvousJob : ParallelJob
    {
        private int _entered;
        public readonly int[] Threads = new int[2];
        public bool Met;
        public static object? Sink;

        public override void Execute(int part, int parts)
        {
            Threads[part] = Environment.CurrentManagedThreadId;
            Interlocked.Increment(ref _entered);
            var timer = Stopwatch.StartNew();
            while (Volatile.Read(ref _entered) < 2 && timer.ElapsedMilliseconds < 5000) Thread.Yield();
            if (Volatile.Read(ref _entered) >= 2) Met = true;
            Sink = new byte[1000];
        }
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
}
