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
    }
}
