using System;
using System.Diagnostics;
using System.Runtime.ExceptionServices;
using System.Threading;

namespace Kiln.Threading;

/// <summary>
/// A persistent pool of background threads that run the parts of one <see cref="ParallelJob"/> at a
/// time, with the calling thread doing part 0. Workers spin briefly after a job (kernels come in quick
/// succession during a training step) and then sleep on a monitor. Nothing is allocated per call.
/// </summary>
public sealed class WorkerPool
{
    private static WorkerPool? s_shared;
    private static readonly object s_sharedGate = new();

    [ThreadStatic] private static bool t_insideJob;

    private readonly Thread[] _threads;
    private readonly long[] _allocatedBytes;
    private readonly object _gate = new();
    private readonly object _runGate = new();
    private readonly long _spinTicks;
    private ParallelJob? _job;
    private int _parts;
    private volatile int _generation;
    private long _next;
    private int _done;
    private int _sleepers;
    private Exception? _failure;

    public WorkerPool(int workerThreads)
    {
        if (workerThreads < 0) throw new ArgumentOutOfRangeException(nameof(workerThreads), workerThreads, "must not be negative");
        _spinTicks = Stopwatch.Frequency / 10000; // 100 µs
        _threads = new Thread[workerThreads];
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
                    s_shared = new WorkerPool(Math.Max(Environment.ProcessorCount, KilnSettings.Threads) - 1);
                return s_shared;
            }
        }
    }

    /// <summary>The most parts one job can run concurrently: the workers plus the caller.</summary>
    public int MaxParts => _threads.Length + 1;

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
    /// Runs parts 0..parts-1 of the job and returns when all are done. Parts are handed out one at a
    /// time to whichever thread asks first (the caller included), so a worker that the OS has
    /// descheduled only delays the part it already took. A call from inside a job (nested
    /// parallelism), with one part, or on a pool without workers runs inline on the caller.
    /// </summary>
    public void Run(ParallelJob job, int parts)
    {
        ArgumentNullException.ThrowIfNull(job);
        if (parts <= 1 || t_insideJob || _threads.Length == 0)
        {
            for (int p = 0; p < parts; p++) job.Execute(p, parts);
            return;
        }

        lock (_runGate)
        {
            _job = job;
            _parts = parts;
            _failure = null;
            Volatile.Write(ref _done, 0);
            int generation = _generation + 1;
            // The generation tag in the high half stops a worker that wakes late from taking parts of a later job.
            Volatile.Write(ref _next, (long)generation << 32);
            lock (_gate)
            {
                _generation = generation;
                if (_sleepers > 0) Monitor.PulseAll(_gate);
            }

            t_insideJob = true;
            try { RunParts(generation, job, parts); }
            finally { t_insideJob = false; }

            var spin = new SpinWait();
            while (Volatile.Read(ref _done) != parts) spin.SpinOnce(sleep1Threshold: -1);
            // Close this generation before the next job's fields are written: a worker still holding
            // this generation must find no part to take, whatever _parts says by then.
            Volatile.Write(ref _next, ((long)generation << 32) | int.MaxValue);
            _job = null;
            if (_failure is not null) ExceptionDispatchInfo.Throw(_failure);
        }
    }

    private void RunParts(int generation, ParallelJob job, int parts)
    {
        while (true)
        {
            long state = Volatile.Read(ref _next);
            if ((int)(state >> 32) != generation) return;
            int part = (int)state;
            if (part >= parts) return;
            if (Interlocked.CompareExchange(ref _next, state + 1, state) != state) continue;
            try { job.Execute(part, parts); }
            catch (Exception e) { _failure = e; }
            Interlocked.Increment(ref _done);
        }
    }

    private void WorkerLoop(int index)
    {
        t_insideJob = true;
        int seen = 0;
        while (true)
        {
            int generation;
            long spinUntil = Stopwatch.GetTimestamp() + _spinTicks;
            while ((generation = _generation) == seen)
            {
                if (Stopwatch.GetTimestamp() < spinUntil)
                {
                    Thread.SpinWait(16);
                    continue;
                }
                lock (_gate)
                {
                    _sleepers++;
                    while (_generation == seen) Monitor.Wait(_gate);
                    _sleepers--;
                }
            }
            seen = generation;
            ParallelJob? job = _job;
            int parts = _parts;
            if (job is null) continue;

            long before = GC.GetAllocatedBytesForCurrentThread();
            RunParts(generation, job, parts);
            _allocatedBytes[index] += GC.GetAllocatedBytesForCurrentThread() - before;
        }
    }
}
