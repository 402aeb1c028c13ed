using System;
using System.Runtime.CompilerServices;
using Kiln.Threading;

namespace Kiln.Kernels;

/// <summary>
/// C[1×n] = a·B for a single row (batch-1 inference). B is streamed once, in place (packing would
/// copy it, and an 8-row tile would spend most of its time on rows that do not exist), in column
/// blocks of up to <see cref="GemmRowVector512.MaxVectors"/> vectors, each vector one independent
/// FMA chain over k. Blocks of 8 vectors until the rest fits one block, so every block but a tiny
/// product's has at least 8 chains to hide the FMA latency; the last vector's columns past n are
/// masked off (loads, stores), never computed one at a time.
/// Every column is the same chain, p = 0..k-1 in order, whichever block or thread computes it, so
/// the bits do not depend on how the columns are split.
/// </summary>
internal static unsafe class GemmRowVector
{
    /// <summary>Vectors per block before the last one: 8 chains cover the FMA latency of two pipes.</summary>
    private const int BlockVectors = 8;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Run<TAct>(int n, int k, float* a, nint aStride, float* b, nint ldb, float* c, bool accumulate, float* bias, bool epilogue, TAct act)
        where TAct : struct, IActivation
    {
        bool use512 = Simd.Use512;
        int width = use512 ? 16 : 8;
        int maxVectors = use512 ? GemmRowVector512.MaxVectors : GemmRowVector256.MaxVectors;
        for (int j = 0; j < n;)
        {
            int vectors = (n - j + width - 1) / width;
            int columns = vectors <= maxVectors ? n - j : BlockVectors * width;
            float* blockBias = bias == null ? null : bias + j;
            if (use512)
                GemmRowVector512.Block(columns, k, a, aStride, b + j, ldb, c + j, accumulate, blockBias, epilogue, act);
            else
                GemmRowVector256.Block(columns, k, a, aStride, b + j, ldb, c + j, accumulate, blockBias, epilogue, act);
            j += columns;
        }
    }
}

/// <summary>A vector count fixed at JIT time, so one block kernel compiles to straight-line code for each count.</summary>
internal interface IVectorCount
{
    static abstract int Value { get; }
}

internal readonly struct Vectors1 : IVectorCount { public static int Value => 1; }
internal readonly struct Vectors2 : IVectorCount { public static int Value => 2; }
internal readonly struct Vectors3 : IVectorCount { public static int Value => 3; }
internal readonly struct Vectors4 : IVectorCount { public static int Value => 4; }
internal readonly struct Vectors5 : IVectorCount { public static int Value => 5; }
internal readonly struct Vectors6 : IVectorCount { public static int Value => 6; }
internal readonly struct Vectors7 : IVectorCount { public static int Value => 7; }
internal readonly struct Vectors8 : IVectorCount { public static int Value => 8; }
internal readonly struct Vectors9 : IVectorCount { public static int Value => 9; }
internal readonly struct Vectors10 : IVectorCount { public static int Value => 10; }
internal readonly struct Vectors11 : IVectorCount { public static int Value => 11; }
internal readonly struct Vectors12 : IVectorCount { public static int Value => 12; }
internal readonly struct Vectors13 : IVectorCount { public static int Value => 13; }
internal readonly struct Vectors14 : IVectorCount { public static int Value => 14; }
internal readonly struct Vectors15 : IVectorCount { public static int Value => 15; }
internal readonly struct Vectors16 : IVectorCount { public static int Value => 16; }

/// <summary>
/// A single-row product split by columns over <see cref="KilnSettings.Threads"/> threads, part i on
/// thread i whenever that thread is ready, so each core keeps its slice of B in its own cache
/// across calls (batch-1 inference).
/// </summary>
internal sealed unsafe class RowVectorJob<TAct> : ParallelJob where TAct : struct, IActivation
{
    [ThreadStatic] private static RowVectorJob<TAct>? t_instance;

    private int _n, _k;
    private float* _a, _b, _c, _bias;
    private nint _aStride, _ldb;
    private bool _accumulate, _epilogue;
    private TAct _act;

    public static void Run(int n, int k, float* a, nint aStride, float* b, nint ldb, float* c, bool accumulate, float* bias, bool epilogue, TAct act)
    {
        var job = t_instance ??= new RowVectorJob<TAct>();
        job._n = n; job._k = k; job._a = a; job._aStride = aStride; job._b = b; job._ldb = ldb;
        job._c = c; job._bias = bias; job._accumulate = accumulate; job._epilogue = epilogue; job._act = act;
        WorkerPool pool = WorkerPool.Shared;
        try { pool.RunOnOwnThreads(job, Math.Min(KilnSettings.Threads, pool.MaxParts)); }
        finally { job._a = job._b = job._c = job._bias = null; }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public override void Execute(int part, int parts)
    {
        // Slices of whole vectors (16 columns: a multiple of both widths); the last part takes the remainder.
        int vectors = (_n + 15) / 16;
        int j0 = (int)((long)part * vectors / parts) * 16;
        int j1 = part == parts - 1 ? _n : (int)((long)(part + 1) * vectors / parts) * 16;
        if (j1 <= j0) return;
        GemmRowVector.Run(j1 - j0, _k, _a, _aStride, _b + j0, _ldb, _c + j0, _accumulate, _bias == null ? null : _bias + j0, _epilogue, _act);
    }
}
