using System;
using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.ExceptionServices;
using System.Threading;

namespace Kiln.Threading;

/// <summary>
/// A persistent pool of background threads that run the parts of one <see cref="ParallelJob"/> at a
/// time, with the calling thread doing part 0. Workers spin briefly after a job (kernels come in quick
/// succession during a training step), then yield their core for a while, then sleep on an event.
/// A job runs on at most <see cref="KilnSettings.Threads"/> threads of the shared pool, whatever the
/// machine's core count: the others are not woken, and go to sleep as if idle.
/// Nothing is allocated per call.
/// The dispatch loops are compiled fully optimized up front: tiering's on-stack replacement would
/// otherwise compile (and allocate) on whichever thread happens to cross its threshold, mid-step.
/// </summary>
public sealed class WorkerPool
{
    private static WorkerPool? s_shared;
    private static readonly object s_sharedGate = new();

    [ThreadStatic] private static bool t_insideJob;

    private readonly Thread[] _threads;
    private readonly long[] _allocatedBytes;
    private readonly AutoResetEvent[] _wake;
    private readonly object _runGate = new();
    private readonly long _spinTicks;
    private readonly bool _followsThreadsSetting;

    /// <summary>How long a worker yields after its spin before it sleeps (Stopwatch ticks); settable for measuring it.</summary>
    internal long YieldTicks;
    // Written by the caller only when the job changes, so a worker running the same job call after call
    // (batch-1 inference) finds it in its own cache.
    private ParallelJob? _job;
    /// <summary>
    /// The signals, each group on its own lines (<see cref="CacheLineGroups"/>): the job's description and its
    /// generation, which the caller writes back to back and a worker reads together; the count of parts done;
    /// each thread's claim; each worker's sleeping flag. The caller's own per-job writes (<see cref="_doneTarget"/>, the run
    /// gate's lock) stay in the pool object, beside fields a worker reads after each job: moved into a group of their own
    /// they measured no faster (the MLP's batch-32 step 0.93–0.99× across builds, stop 70).
    /// </summary>
    private readonly CacheLineGroups _signals;
    private const int JobGroup = 0, DoneGroup = 1, FirstClaimGroup = 2;
    // Slots of the job group.
    private const int GenerationSlot = 0, PartsSlot = 1, HelpersSlot = 2, OwnedSlot = 3, BroadcastSlot = 4, ShareThreadsSlot = 5, SecondPartsSlot = 6;
    /// <summary>The parts done since the pool began, never reset (a reset is one more write to a line the other core holds): a job is over at <see cref="_doneTarget"/>.</summary>
    private long _doneTarget;
    /// <summary>One <see cref="Share"/> per engaged thread, <see cref="ShareStride"/> longs (two cache lines) apart so that taking parts of one never contends with another's.</summary>
    private readonly long[] _shares;
    private ParallelJob? _second;
    private const int ShareStride = 16;
    /// <summary>The most parts of one job: a share's front and back are 16 bits.</summary>
    private const int MaxShareParts = 0xFFFF;
    private Exception? _failure;

    public WorkerPool(int workerThreads) : this(workerThreads, followsThreadsSetting: false) { }

    /// <param name="workerThreads">Threads besides the caller.</param>
    /// <param name="followsThreadsSetting">
    /// True for the shared pool: <see cref="Run(ParallelJob, int)"/> engages at most <see cref="KilnSettings.Threads"/> threads, the
    /// caller included, however many workers there are. Large products ask for two parts per thread, and on
    /// a 16-core machine at Threads = 2 every idle worker took one, so four cores ran what two were asked for.
    /// </param>
    internal WorkerPool(int workerThreads, bool followsThreadsSetting)
    {
        if (workerThreads < 0) throw new ArgumentOutOfRangeException(nameof(workerThreads), workerThreads, "must not be negative");
        _followsThreadsSetting = followsThreadsSetting;
        _spinTicks = Stopwatch.Frequency / 10000; // 100 µs
        // Then up to 2 ms more, offering the core to any other thread between looks. A worker that
        // slept is slow to start the next job on a virtual machine, whose idle vCPU the host halts:
        // two 50 µs parts after a 200 µs serial gap took 60–61 µs instead of 51, after 600 µs 70–84,
        // against 51 at either gap when the worker yields instead (Kiln.Benchmarks --only wake; 2 vCPUs,
        // Zen 3). Training steps have such gaps: benchmarks/README.md, stop 33.
        YieldTicks = Stopwatch.Frequency / 500;
        _threads = new Thread[workerThreads];
        _wake = new AutoResetEvent[workerThreads + 1];
        // The job, the done count, then a claim per thread and a sleeping flag per worker.
        _signals = new CacheLineGroups(FirstClaimGroup + 2 * (workerThreads + 1));
        _shares = new long[(workerThreads + 1) * ShareStride];
        for (int i = 1; i <= workerThreads; i++) _wake[i] = new AutoResetEvent(false);
        _allocatedBytes = new long[workerThreads + 1];
        for (int i = 0; i < workerThreads; i++)
        {
            int index = i + 1;
            _threads[i] = new Thread(() => WorkerLoop(index)) { IsBackground = true, Name = $"Kiln worker {index}" };
            _threads[i].Start();
        }
    }

    /// <summary>The process-wide pool, sized for the larger of the core count and <see cref="KilnSettings.Threads"/>.</summary>
    public static WorkerPool Shared
    {
        get
        {
            WorkerPool? pool = Volatile.Read(ref s_shared);
            if (pool is not null && pool.MaxParts >= KilnSettings.Threads) return pool;
            lock (s_sharedGate)
            {
                // A larger Threads setting than the pool has gets a new pool; the old one's threads idle on.
                if (s_shared is null || s_shared.MaxParts < KilnSettings.Threads)
                    s_shared = new WorkerPool(Math.Max(Environment.ProcessorCount, KilnSettings.Threads) - 1, followsThreadsSetting: true);
                return s_shared;
            }
        }
    }

    /// <summary>The most parts one job can run concurrently: the workers plus the caller.</summary>
    public int MaxParts => _threads.Length + 1;

    /// <summary>Whether worker <paramref name="index"/> (1-based) is asleep on its event; for tests.</summary>
    internal bool IsAsleep(int index) => Volatile.Read(ref Sleeping(index)) == 1;

    private ref long Signal(int slot) => ref _signals[JobGroup, slot];
    private ref long Generation => ref _signals[JobGroup, GenerationSlot];
    private ref long Done => ref _signals[DoneGroup, 0];
    /// <summary>Part i of generation g is taken when its claim is 2g + 1; claims only grow, so no claim is opened by a write.</summary>
    private ref long Claim(int part) => ref _signals[FirstClaimGroup + part, 0];
    private ref long Sleeping(int index) => ref _signals[FirstClaimGroup + MaxParts + index, 0];

    /// <summary>Writes a slot of the job's line only when its value changes: the same job call after call writes there only its generation and the mode's generation tag.</summary>
    private void Set(int slot, long value)
    {
        ref long at = ref Signal(slot);
        if (at != value) at = value;
    }

    /// <summary>The most threads, the caller included, that <see cref="Run(ParallelJob, int)"/> engages for one job.</summary>
    private int ThreadLimit => _followsThreadsSetting ? Math.Min(KilnSettings.Threads, MaxParts) : MaxParts;

    /// <summary>Bytes the workers have allocated while running jobs, summed; for allocation tests.</summary>
    public long AllocatedBytesOnWorkers
    {
        get
        {
            long sum = 0;
            for (int i = 0; i < _allocatedBytes.Length; i++) sum += Volatile.Read(ref _allocatedBytes[i]);
            return sum;
        }
    }

    /// <summary>
    /// Runs parts 0..parts-1 (at most 65,535) of the job and returns when all are done.
    /// Each engaged thread (the caller and the first workers, at most <see cref="ThreadLimit"/> in all) owns
    /// a contiguous share of the parts and runs it in order, then takes what is left of the others' shares
    /// from their far ends: a thread keeps the same samples from one layer's job to the next (its L2
    /// holds them), and a thread slowed by the host, or a worker that was asleep, delays the call by at most
    /// the one part it holds. A call from inside a job (nested parallelism), with one part or one thread to
    /// run it, or on a pool without workers runs inline on the caller.
    /// </summary>
    public void Run(ParallelJob job, int parts) => Run(job, parts, null, 0);

    /// <summary>
    /// Runs two independent jobs' parts as one call, as <see cref="Run(ParallelJob, int)"/> runs one job's: each thread's
    /// share is its slice of <paramref name="first"/>'s parts followed by its slice of <paramref name="second"/>'s, so that
    /// where the first's parts are the larger, the threads end on the second's small ones, and whichever finishes first
    /// takes the other's last small parts instead of waiting out a large one (a layer's kernel gradient, whose few
    /// groups of tiles each sum into their own buffer, beside its data gradient). At most 65,535 parts in all.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Run(ParallelJob first, int firstParts, ParallelJob? second, int secondParts)
    {
        ArgumentNullException.ThrowIfNull(first);
        if (second is null ? secondParts != 0 : secondParts < 0) throw new ArgumentOutOfRangeException(nameof(secondParts), secondParts, "the second job's parts (0 without one)");
        int parts = firstParts + secondParts;
        if (firstParts < 0 || parts > MaxShareParts) throw new ArgumentOutOfRangeException(nameof(firstParts), firstParts, $"at most {MaxShareParts} parts in all");
        if (RanInline(first, firstParts, second, secondParts)) return;

        lock (_runGate)
        {
            int threads = Math.Min(parts, ThreadLimit);
            if (_second != second) _second = second;
            long generation = Begin(first, firstParts, helpers: threads - 1);
            PoolTimeline? timeline = PoolTimeline.Current;
            timeline?.RunStart(first, (int)generation);
            Set(SecondPartsSlot, secondParts);
            Set(ShareThreadsSlot, threads);
            // Share t holds the call's parts from SliceStart(t) of both jobs to SliceStart(t + 1) of both (see RunShares).
            for (int t = 0; t < threads; t++)
                Volatile.Write(ref _shares[t * ShareStride], Share((int)generation,
                    SliceStart(t, firstParts, threads) + SliceStart(t, secondParts, threads),
                    SliceStart(t + 1, firstParts, threads) + SliceStart(t + 1, secondParts, threads)));
            Publish(generation, parts);

            t_insideJob = true;
            try { RunShares(0, (int)generation, first, firstParts); }
            finally { t_insideJob = false; }

            AwaitParts();
            timeline?.RunEnd((int)generation);
            End();
        }
    }

    /// <summary>
    /// Runs part i on thread i (the caller is 0, then each worker) exactly once and waits for all:
    /// for touching per-thread state (scratch buffers, thread statics) up front, so that the first
    /// real job a worker happens to take does not allocate.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void RunOnEachThread(ParallelJob job)
    {
        ArgumentNullException.ThrowIfNull(job);
        int parts = MaxParts;
        if (parts == 1 || t_insideJob)
        {
            job.Execute(0, 1);
            return;
        }

        lock (_runGate)
        {
            long generation = Begin(job, parts, helpers: parts - 1);
            Signal(BroadcastSlot) = generation;
            Publish(generation, parts);

            t_insideJob = true;
            try { job.Execute(0, parts); }
            catch (Exception e) { _failure = e; }
            finally { t_insideJob = false; }
            Interlocked.Increment(ref Done);

            AwaitParts();
            End();
        }
    }

    /// <summary>
    /// Runs parts 0..parts-1 (at most <see cref="MaxParts"/>) and waits for all, part i on thread i
    /// (the caller is 0) whenever that thread is ready: a job that touches the same data every call
    /// (batch-1 inference's weights) then finds each part's data in the same core's cache. A part
    /// its thread has not started by the time the caller has finished its own and waited
    /// <see cref="StealAfterLooks"/> looks (about 2 µs), a sleeping or descheduled worker's, is run
    /// by the caller instead, so such a worker delays the call by no more than that wait.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void RunOnOwnThreads(ParallelJob job, int parts)
    {
        ArgumentNullException.ThrowIfNull(job);
        if (parts > MaxParts) throw new ArgumentOutOfRangeException(nameof(parts), parts, $"at most {MaxParts} parts, one per thread");
        if (RanInline(job, parts)) return;

        lock (_runGate)
        {
            long generation = Begin(job, parts, helpers: parts - 1);
            PoolTimeline? timeline = PoolTimeline.Current;
            timeline?.RunStart(job, (int)generation);
            Signal(OwnedSlot) = generation;
            Publish(generation, parts);

            t_insideJob = true;
            try
            {
                RunClaimed(job, 0, parts, generation, thread: 0);
                // A worker's claim is on a line of its own, which stays in its core's cache unless the caller reads it:
                // the caller first gives the workers a moment to finish, and only then takes a part none has claimed.
                if (!PartsDoneWithin(StealAfterLooks))
                    for (int part = 1; part < parts; part++)
                        RunClaimed(job, part, parts, generation, thread: 0);
            }
            finally { t_insideJob = false; }

            AwaitParts();
            timeline?.RunEnd((int)generation);
            End();
        }
    }

    /// <summary>Runs every part on the calling thread when there is nothing to hand off: one part, a job started inside a part, no workers, or a limit of one thread.</summary>
    private bool RanInline(ParallelJob job, int parts) => RanInline(job, parts, null, 0);

    private bool RanInline(ParallelJob first, int firstParts, ParallelJob? second, int secondParts)
    {
        if (firstParts + secondParts > 1 && !t_insideJob && ThreadLimit > 1) return false;
        PoolTimeline? timeline = t_insideJob ? null : PoolTimeline.Current;
        long started = timeline is null ? 0 : Stopwatch.GetTimestamp();
        for (int p = 0; p < firstParts; p++) first.Execute(p, firstParts);
        for (int p = 0; p < secondParts; p++) second!.Execute(p, secondParts);
        timeline?.Inline(first, started);
        return true;
    }

    /// <summary>
    /// Under the run gate: sets up <paramref name="job"/>'s fields and returns the generation to publish it
    /// under. Workers 1..<paramref name="helpers"/> are engaged: woken if asleep, and the only ones that look for parts.
    /// </summary>
    private long Begin(ParallelJob job, int jobParts, int helpers)
    {
        if (_job != job) _job = job;
        if (_failure is not null) _failure = null;
        Set(PartsSlot, jobParts);
        Set(HelpersSlot, helpers);
        return Generation + 1;
    }

    // Fully optimized at first call like the other loops here: at Tier 0 its wait loop would be compiled again
    // by on-stack replacement on the calling thread in the middle of a step (perf showed it still [QuickJitted]
    // after 1,500 Fashion CNN steps).
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void AwaitParts()
    {
        if (PartsDoneWithin(TightAwaitLooks)) return;
        long target = _doneTarget;
        var spin = new SpinWait();
        while (Volatile.Read(ref Done) != target) spin.SpinOnce(sleep1Threshold: -1);
    }

    /// <summary>Whether every part is done within <paramref name="looks"/> looks a normalized pause apart.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private bool PartsDoneWithin(int looks)
    {
        long target = _doneTarget;
        for (int look = 0; look < looks; look++)
        {
            if (Volatile.Read(ref Done) == target) return true;
            Thread.SpinWait(1);
        }
        return Volatile.Read(ref Done) == target;
    }

    /// <summary>
    /// Looks at the parts' count, a normalized pause apart (about 20 µs in all), before <see cref="SpinWait"/>'s
    /// backoff: a worker's part that ends a microsecond after the caller's is then seen at once, where the
    /// backoff's growing pauses overshot it. Paired against none (stop 49, 2 vCPUs): MLP b32 1.02–1.03, batch-1
    /// inference 5.3–5.4 → 5.0–5.2 µs, MLP b256, Fashion CNN and CIFAR net level; 5,000 looks no better.
    /// Settable for measuring it (Kiln.Benchmarks --paired MODEL,tight-await,A,B).
    /// </summary>
    internal static int TightAwaitLooks = 512;

    /// <summary>
    /// Looks (a normalized pause apart) the caller of <see cref="RunOnOwnThreads"/> gives the workers to finish before it runs a
    /// part no worker has claimed: 0 looks at once. Looking at once read each worker's claim every call, and the worker's next
    /// claim then waited for its line to come back: the handoff's worker started 0.80 µs after the call instead of 0.49, and
    /// batch-1 Predict ran 1.023× as fast with 64 looks (alternated in one process, 16 rounds, stop 70). Settable for measuring it
    /// (--paired MODEL,steal-after-looks,A,B).
    /// </summary>
    internal static int StealAfterLooks = 64;

    /// <summary>
    /// The normalized pauses a spinning worker waits between looks at the generation: one, so a new job is picked up
    /// tens of nanoseconds after it is published (the worker's side of what <see cref="TightAwaitLooks"/> does for the
    /// caller). Sixteen, as before, paired against one (stop 63, 2 vCPUs): batch-1 inference 5.6 → 5.4 µs (1.038 and,
    /// the other order first, 1.016); MLP b32, MLP b256, the Fashion CNN, the CIFAR net and the ResNet level (1.004,
    /// 0.999, 1.004, 1.012, 0.999). Settable for measuring it (--paired MODEL,worker-spin,A,B).
    /// </summary>
    internal static int WorkerSpinIterations = 1;

    /// <summary>
    /// Under the run gate, after every part: rethrows the first part's failure. The job stays referenced until the next
    /// one (a late worker is kept off it by the generation tags), so that calling the same job again writes nothing a worker reads.
    /// </summary>
    private void End()
    {
        if (_failure is not null) ExceptionDispatchInfo.Throw(_failure);
    }

    private void RunClaimed(ParallelJob job, int part, int parts, long generation, int thread)
    {
        // Claims only grow: a claim below 2·generation + 1 is open, and a worker that wakes late for an earlier
        // job (whose parts were all taken) finds its own claim at or past the value it would write, and takes nothing.
        ref long claim = ref Claim(part);
        long taken = 2 * generation + 1, open = Volatile.Read(ref claim);
        if (open >= taken || Interlocked.CompareExchange(ref claim, taken, open) != open) return;
        PoolTimeline? timeline = PoolTimeline.Current;
        long started = timeline is null ? 0 : Stopwatch.GetTimestamp();
        try { job.Execute(part, parts); }
        catch (Exception e) { _failure = e; }
        timeline?.Part(thread, (int)generation, part, started);
        Interlocked.Increment(ref Done);
    }

    // A kernel event rather than Monitor.Wait/Pulse: a contended monitor allocates on the thread
    // that meets the contention, which would break "no allocation per step" at random.
    private void Publish(long generation, int parts)
    {
        _doneTarget += parts;
        Interlocked.Exchange(ref Generation, generation);
        int helpers = (int)Signal(HelpersSlot);
        for (int i = 1; i <= helpers; i++)
            if (Volatile.Read(ref Sleeping(i)) == 1 && Interlocked.Exchange(ref Sleeping(i), 0) == 1)
                _wake[i].Set();
    }

    /// <summary>
    /// A share's state, one long: the generation of the job it belongs to in the high half (so a worker that
    /// wakes late for an earlier job takes nothing of a later one), then the next part its owner takes
    /// from the front and one past the last part left at the back, 16 bits each.
    /// </summary>
    private static long Share(int generation, int front, int back) => ((long)generation << 32) | ((long)front << 16) | (uint)back;

    /// <summary>
    /// Runs the parts of share <paramref name="slot"/> front to back, then those left of the other shares,
    /// back to front, nearest slot first, until no part of this generation is left. A share's parts are its
    /// slice of <paramref name="job"/>'s, then its slice of the second job's (see <see cref="Run(ParallelJob, int, ParallelJob?, int)"/>).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void RunShares(int slot, int generation, ParallelJob job, int parts)
    {
        int threads = (int)Signal(ShareThreadsSlot);
        ParallelJob? second = _second;
        int secondParts = (int)Signal(SecondPartsSlot);
        PoolTimeline? timeline = PoolTimeline.Current;
        for (int i = 0; i < threads; i++)
        {
            int owner = slot + i < threads ? slot + i : slot + i - threads;
            // The share's slice of the first job (first .. first + count), then of the second, numbered from start.
            int first = SliceStart(owner, parts, threads), count = SliceStart(owner + 1, parts, threads) - first;
            int start = first + SliceStart(owner, secondParts, threads), part;
            while ((part = Take(ref _shares[owner * ShareStride], generation, fromFront: i == 0)) >= 0)
            {
                long started = timeline is null ? 0 : Stopwatch.GetTimestamp();
                try
                {
                    if (part - start < count) job.Execute(first + part - start, parts);
                    else second!.Execute(part - count - first, secondParts);
                }
                catch (Exception e) { _failure = e; }
                timeline?.Part(slot, generation, part, started);
                Interlocked.Increment(ref Done);
            }
        }
    }

    /// <summary>The first of <paramref name="parts"/> parts in thread <paramref name="t"/>'s slice of <paramref name="threads"/> equal slices.</summary>
    private static int SliceStart(int t, int parts, int threads) => (int)((long)t * parts / threads);

    /// <summary>Takes a part of <paramref name="share"/> (its next from the front, or its last), or returns −1 when it has none of this generation.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int Take(ref long share, int generation, bool fromFront)
    {
        while (true)
        {
            long state = Volatile.Read(ref share);
            int front = (int)(state >> 16) & 0xFFFF, back = (int)state & 0xFFFF;
            if ((int)(state >> 32) != generation || front >= back) return -1;
            long taken = fromFront ? state + (1L << 16) : state - 1;
            if (Interlocked.CompareExchange(ref share, taken, state) == state) return fromFront ? front : back - 1;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void WorkerLoop(int index)
    {
        t_insideJob = true;
        long seen = 0;
        // The spin and yield windows restart when this worker runs a part or wakes, not when it sees a job
        // it is not engaged for: a worker beyond the thread limit then goes to sleep as an idle one would.
        long spinUntil = Stopwatch.GetTimestamp() + _spinTicks, yieldUntil = spinUntil + YieldTicks;
        while (true)
        {
            long generation;
            while ((generation = Volatile.Read(ref Generation)) == seen)
            {
                long now = Stopwatch.GetTimestamp();
                if (now < spinUntil)
                {
                    Thread.SpinWait(WorkerSpinIterations);
                    continue;
                }
                if (now < yieldUntil)
                {
                    Thread.Yield();
                    continue;
                }
                // Announce the sleep, then look once more: either Publish sees the flag and signals,
                // or this thread sees the new generation (full fences on both sides).
                Interlocked.Exchange(ref Sleeping(index), 1);
                if (Volatile.Read(ref Generation) == seen) _wake[index].WaitOne();
                Interlocked.Exchange(ref Sleeping(index), 0);
                spinUntil = Stopwatch.GetTimestamp() + _spinTicks;
                yieldUntil = spinUntil + YieldTicks;
            }
            seen = generation;
            ParallelJob? job = _job;
            int parts = (int)Signal(PartsSlot);
            if (job is null || index > Signal(HelpersSlot)) continue;

            if (Signal(OwnedSlot) == generation)
            {
                if (index < parts)
                {
                    long allocated = GC.GetAllocatedBytesForCurrentThread();
                    RunClaimed(job, index, parts, generation, thread: index);
                    _allocatedBytes[index] += GC.GetAllocatedBytesForCurrentThread() - allocated;
                }
            }
            else if (Signal(BroadcastSlot) == generation)
            {
                // Tagged with the generation, so a worker that wakes late for an earlier job can
                // never run a broadcast twice; the caller waits for every worker before moving on.
                try { job.Execute(index, parts); }
                catch (Exception e) { _failure = e; }
                Interlocked.Increment(ref Done);
            }
            else
            {
                long before = GC.GetAllocatedBytesForCurrentThread();
                RunShares(index, (int)generation, job, parts);
                _allocatedBytes[index] += GC.GetAllocatedBytesForCurrentThread() - before;
            }
            spinUntil = Stopwatch.GetTimestamp() + _spinTicks;
            yieldUntil = spinUntil + YieldTicks;
        }
    }
}
