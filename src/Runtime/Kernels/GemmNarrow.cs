using System;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Kiln.Threading;

namespace Kiln.Kernels;

/// <summary>
/// A product whose C is at most 16 columns wide (a classifier's last Dense layer: its forward, A·W with 10 units, and
/// its kernel gradient, xᵀ·dz): one 16-lane vector a row of C, eight rows at a time, with A read in place. The packed
/// GEMM ran these shapes through the same 8 × 16 narrow tiles after copying all of A into panels, which cost as much
/// as the multiply-adds: the Fashion MLP's 256 × 100 → 10 forward took 6.7 µs and its 100 × 10 kernel gradient 9 µs.
/// Each element is the packed GEMM's arithmetic: one FMA chain a k block (<see cref="GemmScratch.KBlock"/>), the block
/// scaled by alpha and added to C in k order, then the bias and activation; so the same bits as
/// <see cref="GemmDriver"/> for any split of the rows.
/// </summary>
internal static unsafe class GemmNarrow
{
    public const int Rows = 8;

    /// <summary>Off: these products take the packed GEMM (a switch for benchmarks' paired windows).</summary>
    internal static bool Enabled = true;

    /// <summary>C up to 16 columns wide, B not transposed, on the 512-bit path with masked loads.</summary>
    public static bool Applies(int n, bool transB) => Enabled && !transB && n <= 16 && Simd.Use512 && Avx512F.IsSupported;

    /// <summary>
    /// C[m×n] = alpha·op(A)·B, or C += with <paramref name="accumulate"/>, then act(C + bias) with the epilogue. A element
    /// (i, p) lies at a + i·lda + p, or with <paramref name="transA"/> (A stored k×m) at a + p·lda + i.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Run<TAct>(bool transA, int m, int n, int k, float* a, nint lda, float* b, nint ldb, float* c, nint ldc,
        bool accumulate, float* bias, bool epilogue, TAct act, float alpha, int threads) where TAct : struct, IActivation
    {
        int groups = (m + Rows - 1) / Rows;
        int parts = Math.Min(groups, threads);
        if (parts > 1)
        {
            WorkerPool pool = WorkerPool.Shared;
            parts = Math.Min(parts, pool.MaxParts);
        }
        if (parts <= 1)
        {
            RunRows(transA, 0, m, n, k, a, lda, b, ldb, c, ldc, accumulate, bias, epilogue, act, alpha);
            return;
        }
        var job = Job<TAct>.ForCurrentThread;
        job.TransA = transA; job.M = m; job.N = n; job.K = k; job.A = a; job.Lda = lda; job.B = b; job.Ldb = ldb;
        job.C = c; job.Ldc = ldc; job.Accumulate = accumulate; job.Bias = bias; job.Epilogue = epilogue; job.Act = act; job.Alpha = alpha;
        try { WorkerPool.Shared.Run(job, parts); }
        finally { job.A = job.B = job.C = job.Bias = null; }
    }

    /// <summary>Rows [i0, i1) of C, eight at a time; a last group of fewer rows repeats its last row's reads and stores only its own.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void RunRows<TAct>(bool transA, int i0, int i1, int n, int k, float* a, nint lda, float* b, nint ldb, float* c, nint ldc,
        bool accumulate, float* bias, bool epilogue, TAct act, float alpha) where TAct : struct, IActivation
    {
        Vector512<float> mask = Vector512.LessThan(Vector512<int>.Indices, Vector512.Create(n)).AsSingle();
        Vector512<float> biasRow = epilogue && bias != null ? Avx512F.MaskLoad(bias, mask, Vector512<float>.Zero) : Vector512<float>.Zero;
        // Row i's elements a k step apart: one float (A row-major) or a row of A (transposed).
        nint rowStride = transA ? 1 : lda, kStride = transA ? lda : 1;
        int kb = GemmScratch.KBlock(k);
        for (int i = i0; i < i1; i += Rows)
        {
            int rows = Math.Min(Rows, i1 - i);
            float* a0 = a + i * rowStride;
            float* a1 = a0 + Math.Min(1, rows - 1) * rowStride, a2 = a0 + Math.Min(2, rows - 1) * rowStride;
            float* a3 = a0 + Math.Min(3, rows - 1) * rowStride, a4 = a0 + Math.Min(4, rows - 1) * rowStride;
            float* a5 = a0 + Math.Min(5, rows - 1) * rowStride, a6 = a0 + Math.Min(6, rows - 1) * rowStride;
            float* a7 = a0 + Math.Min(7, rows - 1) * rowStride;
            float* ci = c + i * ldc;
            for (int pc = 0; pc < k; pc += kb)
            {
                int kc = Math.Min(kb, k - pc);
                Vector512<float> c0 = default, c1 = default, c2 = default, c3 = default;
                Vector512<float> c4 = default, c5 = default, c6 = default, c7 = default;
                float* bp = b + pc * ldb;
                nint off = pc * kStride;
                for (int p = 0; p < kc; p++, off += kStride, bp += ldb)
                {
                    Vector512<float> bk = Avx512F.MaskLoad(bp, mask, Vector512<float>.Zero);
                    c0 = Vector512.FusedMultiplyAdd(Vector512.Create(a0[off]), bk, c0);
                    c1 = Vector512.FusedMultiplyAdd(Vector512.Create(a1[off]), bk, c1);
                    c2 = Vector512.FusedMultiplyAdd(Vector512.Create(a2[off]), bk, c2);
                    c3 = Vector512.FusedMultiplyAdd(Vector512.Create(a3[off]), bk, c3);
                    c4 = Vector512.FusedMultiplyAdd(Vector512.Create(a4[off]), bk, c4);
                    c5 = Vector512.FusedMultiplyAdd(Vector512.Create(a5[off]), bk, c5);
                    c6 = Vector512.FusedMultiplyAdd(Vector512.Create(a6[off]), bk, c6);
                    c7 = Vector512.FusedMultiplyAdd(Vector512.Create(a7[off]), bk, c7);
                }
                if (alpha != 1f)
                {
                    var s = Vector512.Create(alpha);
                    c0 *= s; c1 *= s; c2 *= s; c3 *= s; c4 *= s; c5 *= s; c6 *= s; c7 *= s;
                }
                bool loadC = accumulate || pc > 0, last = epilogue && pc + kc >= k;
                Store(ci, c0, mask, loadC, last, biasRow, act);
                if (rows > 1) Store(ci + ldc, c1, mask, loadC, last, biasRow, act);
                if (rows > 2) Store(ci + 2 * ldc, c2, mask, loadC, last, biasRow, act);
                if (rows > 3) Store(ci + 3 * ldc, c3, mask, loadC, last, biasRow, act);
                if (rows > 4) Store(ci + 4 * ldc, c4, mask, loadC, last, biasRow, act);
                if (rows > 5) Store(ci + 5 * ldc, c5, mask, loadC, last, biasRow, act);
                if (rows > 6) Store(ci + 6 * ldc, c6, mask, loadC, last, biasRow, act);
                if (rows > 7) Store(ci + 7 * ldc, c7, mask, loadC, last, biasRow, act);
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store<TAct>(float* c, Vector512<float> v, Vector512<float> mask, bool loadC, bool epilogue, Vector512<float> bias, TAct act)
        where TAct : struct, IActivation
    {
        if (loadC) v = Avx512F.MaskLoad(c, mask, Vector512<float>.Zero) + v;
        if (epilogue) v = act.Apply(v + bias);
        Avx512F.MaskStore(c, mask, v);
    }

    /// <summary>The rows split over the pool in whole groups of eight, one part per thread.</summary>
    private sealed class Job<TAct> : ParallelJob where TAct : struct, IActivation
    {
        [ThreadStatic] private static Job<TAct>? t_instance;

        public static Job<TAct> ForCurrentThread => t_instance ??= new Job<TAct>();

        public bool TransA, Accumulate, Epilogue;
        public int M, N, K;
        public float* A, B, C, Bias;
        public nint Lda, Ldb, Ldc;
        public float Alpha;
        public TAct Act;

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public override void Execute(int part, int parts)
        {
            int groups = (M + Rows - 1) / Rows;
            int i0 = (int)((long)part * groups / parts) * Rows;
            int i1 = Math.Min(M, (int)((long)(part + 1) * groups / parts) * Rows);
            if (i1 > i0) RunRows(TransA, i0, i1, N, K, A, Lda, B, Ldb, C, Ldc, Accumulate, Bias, Epilogue, Act, Alpha);
        }
    }
}
