using System;
using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using Kiln.Kernels;

namespace Kiln.Benchmarks;

/// <summary>
/// The exponential that softmax, sigmoid and tanh run on: Kiln's <see cref="VectorMath.Exp(Vector256{float})"/>
/// against the BCL's Vector256.Exp / Vector512.Exp and scalar MathF.Exp, over 4,096 floats in [−20, 0] (an
/// L1-resident array, as a layer's rows are), nanoseconds per element, best of many passes after the
/// compiled code has settled. On one thread; 512-bit rows only where the CPU runs 512-bit vectors.
/// </summary>
internal static unsafe class ExpTimes
{
    private const int Length = 4096;

    public static void Run(int runs)
    {
        float* x = (float*)NativeMemory.AlignedAlloc(Length * sizeof(float), 64);
        float* y = (float*)NativeMemory.AlignedAlloc(Length * sizeof(float), 64);
        try
        {
            var rng = new Random(1);
            for (int i = 0; i < Length; i++) x[i] = -20f * rng.NextSingle();
            Emit("kiln_vector256", () => Kiln256(x, y), runs, y);
            Emit("bcl_vector256", () => Bcl256(x, y), runs, y);
            if (Vector512.IsHardwareAccelerated)
            {
                Emit("kiln_vector512", () => Kiln512(x, y), runs, y);
                Emit("bcl_vector512", () => Bcl512(x, y), runs, y);
            }
            Emit("mathf_scalar", () => Scalar(x, y), runs, y);
        }
        finally
        {
            NativeMemory.AlignedFree(x);
            NativeMemory.AlignedFree(y);
        }
    }

    private static void Emit(string impl, Action pass, int runs, float* y)
    {
        // Enough calls for tiered compilation to finish with the BCL's methods, which are not all inlined.
        var warm = Stopwatch.StartNew();
        while (warm.Elapsed.TotalSeconds < 0.5) pass();
        double best = double.MaxValue;
        for (int r = 0; r < 200 * runs; r++)
        {
            long t0 = Stopwatch.GetTimestamp();
            pass();
            best = Math.Min(best, Stopwatch.GetElapsedTime(t0).TotalNanoseconds / Length);
        }
        Bench.Emit(new Bench.Json().Str("impl", impl).Str("work", "exp_4096").Num("best_ns_per_element", best).Num("sink", y[Length / 2]));
    }

    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static void Kiln256(float* x, float* y)
    {
        for (int i = 0; i < Length; i += 8) Vector256.Store(VectorMath.Exp(Vector256.Load(x + i)), y + i);
    }

    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static void Bcl256(float* x, float* y)
    {
        for (int i = 0; i < Length; i += 8) Vector256.Store(Vector256.Exp(Vector256.Load(x + i)), y + i);
    }

    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static void Kiln512(float* x, float* y)
    {
        for (int i = 0; i < Length; i += 16) Vector512.Store(VectorMath.Exp(Vector512.Load(x + i)), y + i);
    }

    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static void Bcl512(float* x, float* y)
    {
        for (int i = 0; i < Length; i += 16) Vector512.Store(Vector512.Exp(Vector512.Load(x + i)), y + i);
    }

    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static void Scalar(float* x, float* y)
    {
        for (int i = 0; i < Length; i++) y[i] = MathF.Exp(x[i]);
    }
}
