using System;
using System.Diagnostics;
using System.Numerics;
using System.Runtime.InteropServices;
using System.Threading;

namespace Kiln.Benchmarks;

/// <summary>
/// What one core pays to write lines the other core has just read: an optimizer step writes weights that
/// both threads read in the forward pass. A 1 MiB buffer is read by this thread or by a second one, then
/// this thread reads and rewrites every element (the median and best of the rewrite, µs). On the 2-vCPU
/// Zen 5 VM of stop 48 the rewrite after the other core's read took 22–33 µs in some minutes and 130–200 µs
/// in others (this loop, and the same loop in C with both threads pinned), against 9–13 µs after this
/// core's own read: the host moves the vCPUs between cores that share a cache and cores that do not, and
/// every handoff of data between Kiln's two threads swings with it (the MLP's SGD step right after its
/// backward pass measured 17–23 µs in the one kind of minute and 113–119 µs in the other). Run it beside
/// a benchmark to tell which minutes the host gave.
/// </summary>
internal static class Coherence
{
    public static void Run(double seconds)
    {
        const int floats = 1 << 18;
        var buffer = new float[floats];
        buffer.AsSpan().Fill(1f);
        int phase = 0; // 1: the other thread should read; 2: it has; 3: stop
        var other = new Thread(() =>
        {
            while (true)
            {
                int p;
                while ((p = Volatile.Read(ref phase)) != 1) { if (p == 3) return; Thread.SpinWait(8); }
                Sink = Sum(buffer);
                Volatile.Write(ref phase, 2);
            }
        }) { IsBackground = true };
        other.Start();
        var json = new Bench.Json().Str("impl", "kiln").Str("work", "coherence_rewrite_1mib");
        foreach (bool otherRead in new[] { false, true })
        {
            var times = new System.Collections.Generic.List<double>();
            var clock = Stopwatch.StartNew();
            while (clock.Elapsed.TotalSeconds < seconds / 2)
            {
                if (otherRead)
                {
                    Volatile.Write(ref phase, 1);
                    while (Volatile.Read(ref phase) != 2) Thread.SpinWait(8);
                }
                else Sink = Sum(buffer);
                long t0 = Stopwatch.GetTimestamp();
                Rewrite(buffer);
                times.Add((Stopwatch.GetTimestamp() - t0) * 1e6 / Stopwatch.Frequency);
            }
            times.Sort();
            string who = otherRead ? "after_other_core_read" : "after_own_read";
            json.Num($"{who}_median_us", times[times.Count / 2]).Num($"{who}_best_us", times[0]);
        }
        Volatile.Write(ref phase, 3);
        Bench.Emit(json);
    }

    private static float Sink;

    private static float Sum(float[] a)
    {
        var acc = Vector<float>.Zero;
        foreach (var v in MemoryMarshal.Cast<float, Vector<float>>(a.AsSpan())) acc += v;
        return Vector.Sum(acc);
    }

    private static void Rewrite(float[] a)
    {
        Span<Vector<float>> v = MemoryMarshal.Cast<float, Vector<float>>(a.AsSpan());
        var scale = new Vector<float>(1f);
        for (int i = 0; i < v.Length; i++) v[i] *= scale;
    }
}
