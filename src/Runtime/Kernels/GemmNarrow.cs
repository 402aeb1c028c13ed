using System;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Kiln.Threading;

namespace Kiln.Kernels;

/// <summary>
/// A product whose C is at most 16 columns wide (a classifier's last Dense layer: its forward, A·W with 10 units, and
/// its kernel gradient, xᵀ·dz): one 16-lane vector a row of C (two 8-lane ones at 256 bits), a group of rows at a time,
/// with A read in place. The packed GEMM ran these shapes through the same narrow tiles after copying all of A into
/// panels, which cost as much as the multiply-adds: the Fashion MLP's 256 × 100 → 10 forward took 6.7 µs and its
/// 100 × 10 kernel gradient 8.4 µs (5.5 and 5.4 µs here, 512-bit). Each element is the packed GEMM's arithmetic: one
/// FMA chain a k block (<see cref="GemmScratch.KBlock"/>), the block scaled by alpha and added to C in k order, then
/// the bias and activation; so the same bits as <see cref="GemmDriver"/> for any split of the rows.
/// </summary>
internal static unsafe class GemmNarrow
{
    /// <summary>Off: these products take the packed GEMM (a switch for benchmarks' paired windows).</summary>
    internal static bool Enabled = true;

    /// <summary>C up to 16 columns wide and B not transposed, on a vector path with masked loads.</summary>
    public static bool Applies(int n, bool transB) =>
        Enabled && !transB && n <= 16 && (Simd.Use512 ? Avx512F.IsSupported : Simd.Use256 && Avx.IsSupported);

    /// <summary>
    /// Rows of C a group computes: eight one-vector rows (16 accumulators would not fit AVX2's 16 registers beside B's
    /// two vectors, so two-vector rows go six at a time, as the 256-bit micro-kernel's tiles).
    /// </summary>
    private static int GroupRows(int n) => Simd.Use512 || n <= 8 ? 8 : 6;

    /// <summary>
    /// C[m×n] = alpha·op(A)·B, or C += with <paramref name="accumulate"/>, then act(C + bias) with the epilogue. A element
    /// (i, p) lies at a + i·lda + p, or with <paramref name="transA"/> (A stored k×m) at a + p·lda + i.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Run<TAct>(bool transA, int m, int n, int k, float* a, nint lda, float* b, nint ldb, float* c, nint ldc,
        bool accumulate, float* bias, bool epilogue, TAct act, float alpha, int threads) where TAct : struct, IActivation
    {
        int rowsPerGroup = GroupRows(n), groups = (m + rowsPerGroup - 1) / rowsPerGroup;
        int parts = Math.Min(Math.Min(groups, threads), WorkerPool.Shared.MaxParts);
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

    /// <summary>Rows [i0, i1) of C (i0 a multiple of the group's rows) at this path's width.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void RunRows<TAct>(bool transA, int i0, int i1, int n, int k, float* a, nint lda, float* b, nint ldb, float* c, nint ldc,
        bool accumulate, float* bias, bool epilogue, TAct act, float alpha) where TAct : struct, IActivation
    {
        if (Simd.Use512) RowsOfOneVector<Lanes16, TAct>(transA, i0, i1, n, k, a, lda, b, ldb, c, ldc, accumulate, bias, epilogue, act, alpha);
        else if (n <= 8) RowsOfOneVector<Lanes8, TAct>(transA, i0, i1, n, k, a, lda, b, ldb, c, ldc, accumulate, bias, epilogue, act, alpha);
        else Rows256Wide(transA, i0, i1, n, k, a, lda, b, ldb, c, ldc, accumulate, bias, epilogue, act, alpha);
    }

    /// <summary>
    /// Row r of a group starting at row i: a group of fewer rows (the last) repeats its last row's reads, and stores
    /// only its own rows. A row's elements lie a k step apart: one float (A row-major) or a row of A (transposed).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float* Row(float* a, int i, int r, int rows, nint rowStride) => a + (i + Math.Min(r, rows - 1)) * rowStride;

    /// <summary>Eight rows of one vector each: 16 lanes at 512 bits, 8 at 256 (C at most 8 columns wide there).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void RowsOfOneVector<TL, TAct>(bool transA, int i0, int i1, int n, int k, float* a, nint lda, float* b, nint ldb, float* c, nint ldc,
        bool accumulate, float* bias, bool epilogue, TAct act, float alpha) where TL : struct, ILanes<TL> where TAct : struct, IActivation
    {
        TL mask = TL.FirstLanes(n);
        TL biasRow = epilogue && bias != null ? TL.LoadMasked(bias, mask) : default;
        nint rowStride = transA ? 1 : lda, kStride = transA ? lda : 1;
        int kb = GemmScratch.KBlock(k);
        float* padded = GemmScratch.Current.B;
        // The k blocks outside the groups of rows: each block's product is added to C before the next, per element the
        // same order as group by group.
        for (int pc = 0; pc < k; pc += kb)
        {
            int kc = Math.Min(kb, k - pc);
            // The block's rows of B side by side as whole vectors, zeros past n, so the loop loads them unmasked a vector
            // apart: under a mask the JIT reloaded the mask from the stack every k step, and the MLP's 256 × 100 → 10
            // forward took 6.0 µs against 5.1.
            for (int p = 0; p < kc; p++) TL.Store(TL.LoadMasked(b + (pc + p) * ldb, mask), padded + p * TL.Count);
            bool loadC = accumulate || pc > 0, last = epilogue && pc + kc >= k;
            for (int i = i0; i < i1; i += 8)
            {
                int rows = Math.Min(8, i1 - i);
                nint start = pc * kStride;
                float* a0 = Row(a, i, 0, rows, rowStride) + start, a1 = Row(a, i, 1, rows, rowStride) + start, a2 = Row(a, i, 2, rows, rowStride) + start;
                float* a3 = Row(a, i, 3, rows, rowStride) + start, a4 = Row(a, i, 4, rows, rowStride) + start, a5 = Row(a, i, 5, rows, rowStride) + start;
                float* a6 = Row(a, i, 6, rows, rowStride) + start, a7 = Row(a, i, 7, rows, rowStride) + start;
                float* ci = c + i * ldc;
                TL c0 = default, c1 = default, c2 = default, c3 = default, c4 = default, c5 = default, c6 = default, c7 = default;
                float* bp = padded;
                nint off = 0;
                for (int p = 0; p < kc; p++, off += kStride, bp += TL.Count)
                {
                    TL bk = TL.Load(bp);
                    c0 = TL.MultiplyAdd(a0 + off, bk, c0);
                    c1 = TL.MultiplyAdd(a1 + off, bk, c1);
                    c2 = TL.MultiplyAdd(a2 + off, bk, c2);
                    c3 = TL.MultiplyAdd(a3 + off, bk, c3);
                    c4 = TL.MultiplyAdd(a4 + off, bk, c4);
                    c5 = TL.MultiplyAdd(a5 + off, bk, c5);
                    c6 = TL.MultiplyAdd(a6 + off, bk, c6);
                    c7 = TL.MultiplyAdd(a7 + off, bk, c7);
                }
                if (alpha != 1f)
                {
                    c0 *= alpha; c1 *= alpha; c2 *= alpha; c3 *= alpha; c4 *= alpha; c5 *= alpha; c6 *= alpha; c7 *= alpha;
                }
                if (loadC)
                {
                    // All of the group's rows of C are read before any is written: a narrow C's rows share cache lines, and
                    // a masked load after a masked store to the line waited for the store (the MLP's 100 × 10 fused
                    // kernel update took 1.3 µs instead of 0.9).
                    c0 += TL.LoadMasked(ci, mask);
                    if (rows > 1) c1 += TL.LoadMasked(ci + ldc, mask);
                    if (rows > 2) c2 += TL.LoadMasked(ci + 2 * ldc, mask);
                    if (rows > 3) c3 += TL.LoadMasked(ci + 3 * ldc, mask);
                    if (rows > 4) c4 += TL.LoadMasked(ci + 4 * ldc, mask);
                    if (rows > 5) c5 += TL.LoadMasked(ci + 5 * ldc, mask);
                    if (rows > 6) c6 += TL.LoadMasked(ci + 6 * ldc, mask);
                    if (rows > 7) c7 += TL.LoadMasked(ci + 7 * ldc, mask);
                }
                Store(ci, c0, mask, last, biasRow, act);
                if (rows > 1) Store(ci + ldc, c1, mask, last, biasRow, act);
                if (rows > 2) Store(ci + 2 * ldc, c2, mask, last, biasRow, act);
                if (rows > 3) Store(ci + 3 * ldc, c3, mask, last, biasRow, act);
                if (rows > 4) Store(ci + 4 * ldc, c4, mask, last, biasRow, act);
                if (rows > 5) Store(ci + 5 * ldc, c5, mask, last, biasRow, act);
                if (rows > 6) Store(ci + 6 * ldc, c6, mask, last, biasRow, act);
                if (rows > 7) Store(ci + 7 * ldc, c7, mask, last, biasRow, act);
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store<TL, TAct>(float* c, TL v, TL mask, bool epilogue, TL bias, TAct act)
        where TL : struct, ILanes<TL> where TAct : struct, IActivation
    {
        if (epilogue) v = (v + bias).Apply(act);
        TL.StoreMasked(v, c, mask);
    }

    /// <summary>Six rows of two 8-lane vectors each (C 9 to 16 columns wide).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Rows256Wide<TAct>(bool transA, int i0, int i1, int n, int k, float* a, nint lda, float* b, nint ldb, float* c, nint ldc,
        bool accumulate, float* bias, bool epilogue, TAct act, float alpha) where TAct : struct, IActivation
    {
        Vector256<float> high = Lanes8.FirstLanes(n - 8).V;
        bool withBias = epilogue && bias != null;
        Vector256<float> bias0 = withBias ? Vector256.Load(bias) : Vector256<float>.Zero;
        Vector256<float> bias1 = withBias ? Avx.MaskLoad(bias + 8, high) : Vector256<float>.Zero;
        nint rowStride = transA ? 1 : lda, kStride = transA ? lda : 1;
        int kb = GemmScratch.KBlock(k);
        for (int i = i0; i < i1; i += 6)
        {
            int rows = Math.Min(6, i1 - i);
            float* a0 = Row(a, i, 0, rows, rowStride), a1 = Row(a, i, 1, rows, rowStride), a2 = Row(a, i, 2, rows, rowStride);
            float* a3 = Row(a, i, 3, rows, rowStride), a4 = Row(a, i, 4, rows, rowStride), a5 = Row(a, i, 5, rows, rowStride);
            float* ci = c + i * ldc;
            for (int pc = 0; pc < k; pc += kb)
            {
                int kc = Math.Min(kb, k - pc);
                Vector256<float> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default;
                Vector256<float> c30 = default, c31 = default, c40 = default, c41 = default, c50 = default, c51 = default;
                float* bp = b + pc * ldb;
                nint off = pc * kStride;
                for (int p = 0; p < kc; p++, off += kStride, bp += ldb)
                {
                    Vector256<float> b0 = Vector256.Load(bp), b1 = Avx.MaskLoad(bp + 8, high);
                    Vector256<float> ai = Vector256.Create(a0[off]);
                    c00 = Vector256.FusedMultiplyAdd(ai, b0, c00); c01 = Vector256.FusedMultiplyAdd(ai, b1, c01);
                    ai = Vector256.Create(a1[off]);
                    c10 = Vector256.FusedMultiplyAdd(ai, b0, c10); c11 = Vector256.FusedMultiplyAdd(ai, b1, c11);
                    ai = Vector256.Create(a2[off]);
                    c20 = Vector256.FusedMultiplyAdd(ai, b0, c20); c21 = Vector256.FusedMultiplyAdd(ai, b1, c21);
                    ai = Vector256.Create(a3[off]);
                    c30 = Vector256.FusedMultiplyAdd(ai, b0, c30); c31 = Vector256.FusedMultiplyAdd(ai, b1, c31);
                    ai = Vector256.Create(a4[off]);
                    c40 = Vector256.FusedMultiplyAdd(ai, b0, c40); c41 = Vector256.FusedMultiplyAdd(ai, b1, c41);
                    ai = Vector256.Create(a5[off]);
                    c50 = Vector256.FusedMultiplyAdd(ai, b0, c50); c51 = Vector256.FusedMultiplyAdd(ai, b1, c51);
                }
                if (alpha != 1f)
                {
                    var s = Vector256.Create(alpha);
                    c00 *= s; c01 *= s; c10 *= s; c11 *= s; c20 *= s; c21 *= s;
                    c30 *= s; c31 *= s; c40 *= s; c41 *= s; c50 *= s; c51 *= s;
                }
                bool last = epilogue && pc + kc >= k;
                if (accumulate || pc > 0)
                {
                    // Every row read before any is written, as in RowsOfOneVector.
                    AddC(ci, ref c00, ref c01, high);
                    if (rows > 1) AddC(ci + ldc, ref c10, ref c11, high);
                    if (rows > 2) AddC(ci + 2 * ldc, ref c20, ref c21, high);
                    if (rows > 3) AddC(ci + 3 * ldc, ref c30, ref c31, high);
                    if (rows > 4) AddC(ci + 4 * ldc, ref c40, ref c41, high);
                    if (rows > 5) AddC(ci + 5 * ldc, ref c50, ref c51, high);
                }
                Store(ci, c00, c01, high, last, bias0, bias1, act);
                if (rows > 1) Store(ci + ldc, c10, c11, high, last, bias0, bias1, act);
                if (rows > 2) Store(ci + 2 * ldc, c20, c21, high, last, bias0, bias1, act);
                if (rows > 3) Store(ci + 3 * ldc, c30, c31, high, last, bias0, bias1, act);
                if (rows > 4) Store(ci + 4 * ldc, c40, c41, high, last, bias0, bias1, act);
                if (rows > 5) Store(ci + 5 * ldc, c50, c51, high, last, bias0, bias1, act);
            }
        }
    }

    /// <summary>A two-vector row of C added to the sums: the first 8 columns whole, the rest under <paramref name="high"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void AddC(float* c, ref Vector256<float> v0, ref Vector256<float> v1, Vector256<float> high)
    {
        v0 = Vector256.Load(c) + v0;
        v1 = Avx.MaskLoad(c + 8, high) + v1;
    }

    /// <summary>A two-vector row: the first 8 columns whole, the rest under <paramref name="high"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store<TAct>(float* c, Vector256<float> v0, Vector256<float> v1, Vector256<float> high, bool epilogue,
        Vector256<float> bias0, Vector256<float> bias1, TAct act) where TAct : struct, IActivation
    {
        if (epilogue)
        {
            v0 = act.Apply(v0 + bias0);
            v1 = act.Apply(v1 + bias1);
        }
        Vector256.Store(v0, c);
        Avx.MaskStore(c + 8, high, v1);
    }

    /// <summary>The rows split over the pool in whole groups, one part per thread.</summary>
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
            int rows = GroupRows(N), groups = (M + rows - 1) / rows;
            int i0 = (int)((long)part * groups / parts) * rows;
            int i1 = Math.Min(M, (int)((long)(part + 1) * groups / parts) * rows);
            if (i1 > i0) RunRows(TransA, i0, i1, N, K, A, Lda, B, Ldb, C, Ldc, Accumulate, Bias, Epilogue, Act, Alpha);
        }
    }
}
