using System;
using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Threading;

namespace Kiln.Benchmarks;

/// <summary>
/// The fp32 FMA peak of this machine, measured: a loop of fused multiply-adds on independent
/// register accumulators (no loads or stores), so the FMA pipes are the only limit. Twelve chains
/// cover a 4-cycle FMA latency on two pipes with room to spare; with 512-bit vectors 16 chains and
/// two operands fit the 32 zmm registers, with 256-bit ones 12 chains fit AVX2's 16 ymm registers.
/// The kernels' GFLOP/s are printed as a fraction of this figure, taken in the same run.
/// </summary>
internal static class FmaPeak
{
    /// <summary>Inner iterations per call: 2^20 steps × 16 chains × 16 lanes × 2 flops ≈ 0.5 GFLOP.</summary>
    private const int Steps = 1 << 20;

    /// <summary>Flops one call of the loop does.</summary>
    public static double FlopsPerCall(int bits) => bits == 512 ? 2.0 * Steps * 16 * 16 : 2.0 * Steps * 12 * 8;

    /// <summary>
    /// GFLOP/s of <paramref name="threads"/> threads each running <paramref name="calls"/> calls, timed
    /// from a common start to the last thread's end.
    /// </summary>
    public static double Run(int bits, int threads, int calls)
    {
        using var start = new Barrier(threads + 1);
        var workers = new Thread[threads];
        float sink = 0;
        for (int t = 0; t < threads; t++)
        {
            workers[t] = new Thread(() =>
            {
                start.SignalAndWait();
                float s = 0;
                for (int c = 0; c < calls; c++) s += bits == 512 ? Loop512(Steps) : Loop256(Steps);
                Interlocked.Exchange(ref sink, s);
            }) { IsBackground = true, Name = $"fma-peak-{t}" };
            workers[t].Start();
        }
        start.SignalAndWait();
        long t0 = Stopwatch.GetTimestamp();
        foreach (var w in workers) w.Join();
        double seconds = Stopwatch.GetElapsedTime(t0).TotalSeconds;
        GC.KeepAlive(sink);
        return FlopsPerCall(bits) * calls * threads / seconds / 1e9;
    }

    /// <summary>
    /// GFLOP/s of one call of the loop on the calling thread, timed by that thread's CPU time: the
    /// per-core peak beside a kernel timed the same way (<see cref="CpuClock"/>).
    /// </summary>
    public static double CpuTimeGflops(int bits)
    {
        double t0 = CpuClock.Thread();
        float s = bits == 512 ? Loop512(Steps / 2) : Loop256(Steps / 2);
        double seconds = CpuClock.Thread() - t0;
        GC.KeepAlive(s);
        return FlopsPerCall(bits) / 2 / seconds / 1e9;
    }

    // acc = acc·m + a with m just below 1 keeps every chain bounded and away from denormals.
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static float Loop512(int steps)
    {
        var m = Vector512.Create(0.999999f);
        var a = Vector512.Create(1e-6f);
        Vector512<float> c0 = Vector512.Create(1f), c1 = c0, c2 = c0, c3 = c0, c4 = c0, c5 = c0, c6 = c0, c7 = c0;
        Vector512<float> c8 = c0, c9 = c0, c10 = c0, c11 = c0, c12 = c0, c13 = c0, c14 = c0, c15 = c0;
        for (int i = 0; i < steps; i++)
        {
            c0 = Vector512.FusedMultiplyAdd(c0, m, a); c1 = Vector512.FusedMultiplyAdd(c1, m, a);
            c2 = Vector512.FusedMultiplyAdd(c2, m, a); c3 = Vector512.FusedMultiplyAdd(c3, m, a);
            c4 = Vector512.FusedMultiplyAdd(c4, m, a); c5 = Vector512.FusedMultiplyAdd(c5, m, a);
            c6 = Vector512.FusedMultiplyAdd(c6, m, a); c7 = Vector512.FusedMultiplyAdd(c7, m, a);
            c8 = Vector512.FusedMultiplyAdd(c8, m, a); c9 = Vector512.FusedMultiplyAdd(c9, m, a);
            c10 = Vector512.FusedMultiplyAdd(c10, m, a); c11 = Vector512.FusedMultiplyAdd(c11, m, a);
            c12 = Vector512.FusedMultiplyAdd(c12, m, a); c13 = Vector512.FusedMultiplyAdd(c13, m, a);
            c14 = Vector512.FusedMultiplyAdd(c14, m, a); c15 = Vector512.FusedMultiplyAdd(c15, m, a);
        }
        var sum = ((c0 + c1) + (c2 + c3)) + ((c4 + c5) + (c6 + c7)) + ((c8 + c9) + (c10 + c11)) + ((c12 + c13) + (c14 + c15));
        return Vector512.Sum(sum);
    }

    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static float Loop256(int steps)
    {
        var m = Vector256.Create(0.999999f);
        var a = Vector256.Create(1e-6f);
        Vector256<float> c0 = Vector256.Create(1f), c1 = c0, c2 = c0, c3 = c0, c4 = c0, c5 = c0;
        Vector256<float> c6 = c0, c7 = c0, c8 = c0, c9 = c0, c10 = c0, c11 = c0;
        for (int i = 0; i < steps; i++)
        {
            c0 = Vector256.FusedMultiplyAdd(c0, m, a); c1 = Vector256.FusedMultiplyAdd(c1, m, a);
            c2 = Vector256.FusedMultiplyAdd(c2, m, a); c3 = Vector256.FusedMultiplyAdd(c3, m, a);
            c4 = Vector256.FusedMultiplyAdd(c4, m, a); c5 = Vector256.FusedMultiplyAdd(c5, m, a);
            c6 = Vector256.FusedMultiplyAdd(c6, m, a); c7 = Vector256.FusedMultiplyAdd(c7, m, a);
            c8 = Vector256.FusedMultiplyAdd(c8, m, a); c9 = Vector256.FusedMultiplyAdd(c9, m, a);
            c10 = Vector256.FusedMultiplyAdd(c10, m, a); c11 = Vector256.FusedMultiplyAdd(c11, m, a);
        }
        var sum = ((c0 + c1) + (c2 + c3)) + ((c4 + c5) + (c6 + c7)) + ((c8 + c9) + (c10 + c11));
        return Vector256.Sum(sum);
    }
}
