using System;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using Kiln.Threading;

namespace Kiln.Kernels;

/// <summary>
/// C[1×n] = a·B for a single row (batch-1 inference): B is streamed once, in place, with eight
/// independent accumulators per 128 columns to hide FMA latency. Packing or an 8-row tile would
/// spend most of the time on rows that do not exist.
/// </summary>
internal static unsafe class GemmRowVector
{
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Run<TAct>(int n, int k, float* a, nint aStride, float* b, nint ldb, float* c, bool accumulate, float* bias, bool epilogue, TAct act)
        where TAct : struct, IActivation
    {
        int j = 0;
        for (; j + 128 <= n; j += 128)
        {
            Vector512<float> c0 = default, c1 = default, c2 = default, c3 = default;
            Vector512<float> c4 = default, c5 = default, c6 = default, c7 = default;
            float* pa = a;
            float* pb = b + j;
            for (int p = 0; p < k; p++)
            {
                Vector512<float> av = Vector512.Create(*pa);
                c0 = Vector512.FusedMultiplyAdd(av, Vector512.Load(pb), c0);
                c1 = Vector512.FusedMultiplyAdd(av, Vector512.Load(pb + 16), c1);
                c2 = Vector512.FusedMultiplyAdd(av, Vector512.Load(pb + 32), c2);
                c3 = Vector512.FusedMultiplyAdd(av, Vector512.Load(pb + 48), c3);
                c4 = Vector512.FusedMultiplyAdd(av, Vector512.Load(pb + 64), c4);
                c5 = Vector512.FusedMultiplyAdd(av, Vector512.Load(pb + 80), c5);
                c6 = Vector512.FusedMultiplyAdd(av, Vector512.Load(pb + 96), c6);
                c7 = Vector512.FusedMultiplyAdd(av, Vector512.Load(pb + 112), c7);
                pa += aStride;
                pb += ldb;
            }
            Store(c + j, bias == null ? null : bias + j, c0, accumulate, epilogue, act);
            Store(c + j + 16, bias == null ? null : bias + j + 16, c1, accumulate, epilogue, act);
            Store(c + j + 32, bias == null ? null : bias + j + 32, c2, accumulate, epilogue, act);
            Store(c + j + 48, bias == null ? null : bias + j + 48, c3, accumulate, epilogue, act);
            Store(c + j + 64, bias == null ? null : bias + j + 64, c4, accumulate, epilogue, act);
            Store(c + j + 80, bias == null ? null : bias + j + 80, c5, accumulate, epilogue, act);
            Store(c + j + 96, bias == null ? null : bias + j + 96, c6, accumulate, epilogue, act);
            Store(c + j + 112, bias == null ? null : bias + j + 112, c7, accumulate, epilogue, act);
        }
        for (; j + 16 <= n; j += 16)
        {
            Vector512<float> acc = default;
            float* pa = a;
            float* pb = b + j;
            for (int p = 0; p < k; p++)
            {
                acc = Vector512.FusedMultiplyAdd(Vector512.Create(*pa), Vector512.Load(pb), acc);
                pa += aStride;
                pb += ldb;
            }
            Store(c + j, bias == null ? null : bias + j, acc, accumulate, epilogue, act);
        }
        if (j < n && n >= 16)
        {
            // The last columns as one vector over the final 16 (overlapping ones already done): each
            // lane runs the same FMA chain as a full vector would, and only the new lanes are stored.
            int tail = n - j, start = n - 16;
            Vector512<float> acc = default;
            float* pa = a;
            float* pb = b + start;
            for (int p = 0; p < k; p++)
            {
                acc = Vector512.FusedMultiplyAdd(Vector512.Create(*pa), Vector512.Load(pb), acc);
                pa += aStride;
                pb += ldb;
            }
            StoreLanes(c + start, bias == null ? null : bias + start, acc, 16 - tail, accumulate, epilogue, act);
        }
        else if (j < n)
        {
            // Scalar FMA chains give each lane exactly the vector arithmetic; the store goes through
            // padded vectors so the epilogue is the vector formula too.
            int tail = n - j;
            float* acc = stackalloc float[16];
            float* cTail = stackalloc float[16];
            float* biasTail = stackalloc float[16];
            for (int l = 0; l < 16; l++)
            {
                acc[l] = 0f;
                cTail[l] = l < tail ? c[j + l] : 0f;
                biasTail[l] = l < tail && bias != null ? bias[j + l] : 0f;
            }
            float* pa = a;
            float* pb = b + j;
            for (int p = 0; p < k; p++)
            {
                float av = *pa;
                for (int l = 0; l < tail; l++) acc[l] = MathF.FusedMultiplyAdd(av, pb[l], acc[l]);
                pa += aStride;
                pb += ldb;
            }
            Store(cTail, bias == null ? null : biasTail, Vector512.Load(acc), accumulate, epilogue, act);
            for (int l = 0; l < tail; l++) c[j + l] = cTail[l];
        }
    }

    /// <summary>Stores lanes <paramref name="first"/>..15 of <paramref name="v"/> through the epilogue; the others are left alone.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreLanes<TAct>(float* c, float* bias, Vector512<float> v, int first, bool accumulate, bool epilogue, TAct act)
        where TAct : struct, IActivation
    {
        float* lanes = stackalloc float[16];
        float* old = stackalloc float[16];
        float* biasLanes = stackalloc float[16];
        for (int l = 0; l < 16; l++)
        {
            old[l] = l >= first ? c[l] : 0f;
            biasLanes[l] = l >= first && bias != null ? bias[l] : 0f;
        }
        if (accumulate) v = Vector512.Load(old) + v;
        if (epilogue) v = act.Apply(bias == null ? v : v + Vector512.Load(biasLanes));
        Vector512.Store(v, lanes);
        for (int l = first; l < 16; l++) c[l] = lanes[l];
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store<TAct>(float* c, float* bias, Vector512<float> v, bool accumulate, bool epilogue, TAct act)
        where TAct : struct, IActivation
    {
        if (accumulate) v = Vector512.Load(c) + v;
        if (epilogue) v = act.Apply(bias == null ? v : v + Vector512.Load(bias));
        Vector512.Store(v, c);
    }
}

/// <summary>
/// A single-row product split by columns over every pool thread, part i always on thread i, so
/// each core keeps its slice of B in its own cache across calls (batch-1 inference).
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
        try { WorkerPool.Shared.RunOnEachThread(job); }
        finally { job._a = job._b = job._c = job._bias = null; }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public override void Execute(int part, int parts)
    {
        // Slices of whole 16-column vectors; the last part takes the remainder.
        int vectors = (_n + 15) / 16;
        int j0 = (int)((long)part * vectors / parts) * 16;
        int j1 = part == parts - 1 ? _n : (int)((long)(part + 1) * vectors / parts) * 16;
        if (j1 <= j0) return;
        GemmRowVector.Run(j1 - j0, _k, _a, _aStride, _b + j0, _ldb, _c + j0, _accumulate, _bias == null ? null : _bias + j0, _epilogue, _act);
    }
}
