using System;
using System.Diagnostics;
using Kiln.Threading;

namespace Kiln.Benchmarks;

/// <summary>
/// How soon the worker pool's threads start a job after the caller ran alone for a while, as a
/// training step does between its parallel kernels: a serial gap of 20, 200 or 600 µs (busy), then
/// a job of two parts of 50 µs each, timed from the call to its return. 50 µs means the worker was
/// ready; more is its wake-up (a worker that had gone to sleep, on a virtual machine whose idle vCPU
/// the host halted, took 62–96 µs at 200–600 µs gaps before it yielded instead: stop 33).
/// Then the handoff itself, back to back (<see cref="Handoff"/>).
/// </summary>
internal static class PoolWake
{
    private sealed class Busy : ParallelJob
    {
        public long Ticks;

        public override void Execute(int part, int parts)
        {
            long until = Stopwatch.GetTimestamp() + Ticks;
            while (Stopwatch.GetTimestamp() < until) { }
        }
    }

    public static void Run(double secondsPerGap)
    {
        if (WorkerPool.Shared.MaxParts < 2) return;
        var job = new Busy { Ticks = Stopwatch.Frequency / 20_000 };
        foreach (int gapUs in new[] { 20, 200, 600 })
        {
            long gap = Stopwatch.Frequency * gapUs / 1_000_000;
            var times = new System.Collections.Generic.List<double>();
            var clock = Stopwatch.StartNew();
            while (clock.Elapsed.TotalSeconds < secondsPerGap)
            {
                long until = Stopwatch.GetTimestamp() + gap;
                while (Stopwatch.GetTimestamp() < until) { }
                long t0 = Stopwatch.GetTimestamp();
                WorkerPool.Shared.Run(job, 2);
                times.Add((Stopwatch.GetTimestamp() - t0) * 1e6 / Stopwatch.Frequency);
            }
            times.Sort();
            Bench.Emit(new Bench.Json()
                .Str("impl", "kiln")
                .Str("work", "pool_wake")
                .Num("gap_us", gapUs)
                .Num("part_us", 50)
                .Num("median_us", times[times.Count / 2])
                .Num("p90_us", times[times.Count * 9 / 10])
                .Num("jobs", times.Count));
        }
        Handoff(WorkerPool.Shared, secondsPerGap);
    }

    /// <summary>A part that stamps when it starts and ends, then runs for <see cref="Ticks"/>.</summary>
    private sealed class Stamped : ParallelJob
    {
        public long Ticks;
        public readonly long[] Start = new long[2], End = new long[2];
        public readonly int[] Thread = new int[2];

        public override void Execute(int part, int parts)
        {
            long now = Stopwatch.GetTimestamp(), until = now + Ticks;
            Start[part] = now;
            Thread[part] = Environment.CurrentManagedThreadId;
            while ((now = Stopwatch.GetTimestamp()) < until) { }
            End[part] = now;
        }
    }

    /// <summary>
    /// What one job's handoff costs when jobs follow each other at once, as a training step's kernels and
    /// batch-1 inference's do: jobs of two 2-µs parts through <see cref="WorkerPool.Run(ParallelJob, int)"/>
    /// (shares) and <see cref="WorkerPool.RunOnOwnThreads"/>, each part stamping its start and end. Medians of
    /// when the caller's part and the worker's part start after the call, and how long after the worker's
    /// part ends the call returns; the call's total less the 2 µs is the overhead a job adds to a step.
    /// </summary>
    private static void Handoff(WorkerPool pool, double seconds)
    {
        var job = new Stamped { Ticks = Stopwatch.Frequency * 2 / 1_000_000 };
        double us = 1e6 / Stopwatch.Frequency;
        int caller = Environment.CurrentManagedThreadId;
        foreach (bool owned in new[] { false, true })
        {
            var callerStart = new System.Collections.Generic.List<double>();
            var workerStart = new System.Collections.Generic.List<double>();
            var afterWorker = new System.Collections.Generic.List<double>();
            var total = new System.Collections.Generic.List<double>();
            var clock = Stopwatch.StartNew();
            while (clock.Elapsed.TotalSeconds < seconds)
            {
                long t0 = Stopwatch.GetTimestamp();
                if (owned) pool.RunOnOwnThreads(job, 2);
                else pool.Run(job, 2);
                long t1 = Stopwatch.GetTimestamp();
                total.Add((t1 - t0) * us);
                callerStart.Add((job.Start[job.Thread[0] == caller ? 0 : 1] - t0) * us);
                // The worker's part is whichever ran on another thread; none when the caller ran both (the worker was late).
                int w = job.Thread[0] != caller ? 0 : job.Thread[1] != caller ? 1 : -1;
                if (w < 0) continue;
                workerStart.Add((job.Start[w] - t0) * us);
                afterWorker.Add((t1 - job.End[w]) * us);
            }
            foreach (var list in new[] { callerStart, workerStart, afterWorker, total }) list.Sort();
            double Median(System.Collections.Generic.List<double> list) => list.Count == 0 ? double.NaN : list[list.Count / 2];
            Bench.Emit(new Bench.Json()
                .Str("impl", "kiln")
                .Str("work", owned ? "pool_handoff_own_threads" : "pool_handoff_shares")
                .Num("part_us", 2)
                .Num("call_median_us", Median(total))
                .Num("caller_part_starts_median_us", Median(callerStart))
                .Num("worker_part_starts_median_us", Median(workerStart))
                .Num("returns_after_worker_part_median_us", Median(afterWorker))
                .Num("calls", total.Count)
                .Num("calls_with_worker", workerStart.Count));
        }
    }
}
