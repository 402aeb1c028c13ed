using System;
using System.Runtime.CompilerServices;
using Kiln.Threading;

namespace Kiln.Kernels;

/// <summary>
/// Single-precision matrix multiply on row-major spans with leading dimensions (floats between
/// the starts of consecutive rows). Packed, cache-blocked and register-blocked (BLIS style), split
/// over <see cref="KilnSettings.Threads"/> when large enough; the same bits for any thread count.
/// Entry points and loops are compiled fully optimized at first call: tiered compilation's later
/// promotions run partly on the calling thread and may allocate there mid-training.
/// </summary>
public static unsafe class Gemm
{
    /// <summary>
    /// Below this many flops (2mnk) handing part of a product to a second thread costs more than it
    /// saves. 1 M since the workers yield instead of sleeping between a step's kernels (WorkerPool):
    /// the Fashion MLP's 1.9 MFLOP products at batch 32 then split, and its step ran 5.7–6.8 % faster
    /// than at the former 4 M (paired windows; batch 256 and the Fashion CNN level; stop 33).
    /// </summary>
    internal static long ParallelMinFlops = 1L << 20;

    /// <summary>Multiply-adds from which a single-row product is split over the cores (B then outgrows one core's L2 share).</summary>
    internal static long RowVectorParallelMacs = 1L << 17;

    internal const int PartsPerThread = 2;

    /// <summary>
    /// Below this many flops a product is split one part per thread rather than <see cref="PartsPerThread"/>:
    /// the Fashion MLP's 15 MFLOP products at batch 32 packed their 100 kB input four times for two threads,
    /// and its step ran 7 % faster with two parts (paired windows, stop 33; batch 256 and the CNN level).
    /// </summary>
    internal static long OnePartPerThreadMaxFlops = 1L << 25;

    /// <summary>
    /// C[m×n] = alpha·A[m×k]·B[k×n], or C += when <paramref name="accumulate"/>, as BLAS's sgemm with beta 0 or 1: each k
    /// block's product is rounded, then scaled (unless alpha is 1), then added, so one block deep, C + alpha·(A·B) has the
    /// bits of the product written out, scaled and added in two passes.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Nn(int m, int n, int k, ReadOnlySpan<float> a, int lda, ReadOnlySpan<float> b, int ldb, Span<float> c, int ldc, bool accumulate = false, float alpha = 1f)
        => Multiply(false, false, m, n, k, a, lda, b, ldb, c, ldc, accumulate, default, false, default(Identity), alpha);

    /// <summary>C = alpha·Aᵀ·B with A stored k×m (alpha and accumulate as in <see cref="Nn"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Tn(int m, int n, int k, ReadOnlySpan<float> a, int lda, ReadOnlySpan<float> b, int ldb, Span<float> c, int ldc, bool accumulate = false, float alpha = 1f)
        => Multiply(true, false, m, n, k, a, lda, b, ldb, c, ldc, accumulate, default, false, default(Identity), alpha);

    /// <summary>C = alpha·A·Bᵀ with B stored n×k (alpha and accumulate as in <see cref="Nn"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Nt(int m, int n, int k, ReadOnlySpan<float> a, int lda, ReadOnlySpan<float> b, int ldb, Span<float> c, int ldc, bool accumulate = false, float alpha = 1f)
        => Multiply(false, true, m, n, k, a, lda, b, ldb, c, ldc, accumulate, default, false, default(Identity), alpha);

    /// <summary>C = act(A·B + bias[j]), the bias and activation applied as each tile is stored; empty bias = none.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void NnBiasActivation<TAct>(int m, int n, int k, ReadOnlySpan<float> a, int lda, ReadOnlySpan<float> b, int ldb,
        ReadOnlySpan<float> bias, Span<float> c, int ldc, TAct activation) where TAct : struct, IActivation
    {
        if (!bias.IsEmpty && bias.Length < n)
            throw new ArgumentException($"bias has {bias.Length} values but C has {n} columns", nameof(bias));
        Multiply(false, false, m, n, k, a, lda, b, ldb, c, ldc, false, bias, true, activation);
    }

    /// <summary>The general entry: alpha·op(A)·op(B) (+C) with an optional bias+activation epilogue.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void Multiply<TAct>(bool transA, bool transB, int m, int n, int k, ReadOnlySpan<float> a, int lda,
        ReadOnlySpan<float> b, int ldb, Span<float> c, int ldc, bool accumulate, ReadOnlySpan<float> bias, bool epilogue, TAct act, float alpha = 1f)
        where TAct : struct, IActivation
    {
        if (m < 0 || n < 0 || k < 0) throw new ArgumentException($"GEMM sizes must not be negative (m={m}, n={n}, k={k})");
        CheckMatrix(a, transA ? k : m, transA ? m : k, lda, "a", "lda");
        CheckMatrix(b, transB ? n : k, transB ? k : n, ldb, "b", "ldb");
        CheckMatrix(c, m, n, ldc, "c", "ldc");
        if (m == 0 || n == 0) return;

        fixed (float* pa = a, pb = b, pc = c, pbias = bias)
        {
            float* biasPtr = bias.IsEmpty ? null : pbias;
            if (k == 0)
            {
                EmptyProduct(m, n, pc, ldc, accumulate, biasPtr, epilogue, act);
                return;
            }
            Dispatch(transA, transB, m, n, k, pa, lda, pb, ldb, pc, ldc, accumulate, biasPtr, epilogue, act, alpha);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Dispatch<TAct>(bool transA, bool transB, int m, int n, int k, float* a, nint lda, float* b, nint ldb,
        float* c, nint ldc, bool accumulate, float* bias, bool epilogue, TAct act, float alpha) where TAct : struct, IActivation
    {
        bool use512 = Simd.Use512;
        bool use256 = Simd.Use256;
        if (!use512 && !use256)
        {
            Scalar(transA, transB, m, n, k, a, lda, b, ldb, c, ldc, accumulate, bias, epilogue, act, alpha);
            return;
        }

        // A scaled single row (a fused update of a one-input layer's weights) takes the blocked path below, which scales.
        if (m == 1 && !transB && alpha == 1f)
        {
            // One row streams all of B: memory-bound, so a large B is split over the cores (by k blocks or
            // by columns, RowVectorJob), each thread taking the same share every call (when it is ready) so
            // that the share stays in that core's L2 between calls. Both vector widths: packing B for an
            // 8-row tile costs more than the product.
            if ((long)n * k >= RowVectorParallelMacs && (n >= 64 || RowVectorJob<TAct>.SplitsK(use512, n, k))
                && KilnSettings.Threads > 1 && WorkerPool.Shared.MaxParts > 1)
                RowVectorJob<TAct>.Run(n, k, a, transA ? lda : 1, b, ldb, c, accumulate, bias, epilogue, act);
            else
                GemmRowVector.Run(n, k, a, transA ? lda : 1, b, ldb, c, accumulate, bias, epilogue, act);
            return;
        }

        long flops = 2L * m * n * k;
        int threads = flops >= ParallelMinFlops ? KilnSettings.Threads : 1;
        if (GemmNarrow.Applies(n, transB))
        {
            GemmNarrow.Run(transA, m, n, k, a, lda, b, ldb, c, ldc, accumulate, bias, epilogue, act, alpha, threads);
            return;
        }

        int mr = use512 ? MicroKernel512.MR : MicroKernel256.MR;
        int nr = use512 ? MicroKernel512.NR : MicroKernel256.NR;
        int colTiles = (n + nr - 1) / nr, rowTiles = (m + mr - 1) / mr;
        if (threads > 1 && GemmSplitK<TAct>.Applies(use512, transB, m, n, k, threads))
        {
            WorkerPool splitPool = WarmedPool();
            GemmSplitK<TAct>.Run(use512, transA, m, n, k, a, lda, b, ldb, c, ldc, accumulate, bias, epilogue, act, splitPool, Math.Min(threads, splitPool.MaxParts), alpha);
            return;
        }
        // Column tiles keep each part's B block private; rows only when C is too narrow to share.
        bool splitColumns = colTiles >= threads;
        // Several parts per thread, handed out dynamically, so one descheduled thread stalls little; a
        // short product one part per thread, since every part packs A (or B) once more.
        int perThread = flops < OnePartPerThreadMaxFlops ? 1 : PartsPerThread;
        int parts = threads <= 1 ? 1 : Math.Min(splitColumns ? colTiles : rowTiles, threads * perThread);
        // Each column part packs all of A (unless A is large enough to be packed once and shared, below);
        // each row part packs, or for a short product reads in place, all of B. Where the extra copies of
        // A outweigh the extra passes over B, the rows are split instead, one part per thread: the Fashion
        // CNN's 64 × 3136 → 128 Dense packed its 800 kB input four times (and at two threads read half of
        // it from the other core's cache); a Dense kernel gradient (784 × 32)ᵀ · (32 × 300) packed its
        // 784 × 32 input four times where each thread packing the 32 × 300 gradient costs less.
        if (splitColumns && parts > 1 && (long)m * k < SharedPackMinFloats && rowTiles >= threads
            && (long)(parts - 1) * m > (long)(threads - 1) * n)
        {
            splitColumns = false;
            parts = threads;
        }

        if (parts <= 1)
        {
            if (use512)
                GemmDriver.Serial<MicroKernel512, TAct>(transA, transB, m, n, k, a, lda, b, ldb, c, ldc, accumulate, bias, epilogue, act, alpha: alpha);
            else
                GemmDriver.Serial<MicroKernel256, TAct>(transA, transB, m, n, k, a, lda, b, ldb, c, ldc, accumulate, bias, epilogue, act, alpha: alpha);
            return;
        }

        GemmJob<TAct> job = GemmJob<TAct>.ForCurrentThread;
        job.Use512 = use512; job.TransA = transA; job.TransB = transB;
        job.M = m; job.N = n; job.K = k; job.KBlock = 0;
        job.A = a; job.B = b; job.C = c; job.Bias = bias;
        job.Lda = lda; job.Ldb = ldb; job.Ldc = ldc;
        job.Accumulate = accumulate; job.Epilogue = epilogue; job.Act = act; job.Alpha = alpha;
        job.SplitColumns = splitColumns;
        job.PackedA = null;
        WorkerPool pool = WarmedPool();
        try
        {
            if (splitColumns && (long)m * k >= SharedPackMinFloats) RunWithSharedA(job, pool, parts, mr);
            else pool.Run(job, parts);
        }
        finally { job.A = job.B = job.C = job.Bias = job.PackedA = null; }
    }

    /// <summary>
    /// From this many floats of A (m·k), a column-split GEMM packs A once for all its parts instead of
    /// once per part: below it the two hand-offs per packed slice cost more than the duplicated packing.
    /// </summary>
    internal static long SharedPackMinFloats = 1L << 18;

    /// <summary>
    /// From this many floats of B (k·n) a product whose B outweighs its C is split by k blocks (<see cref="GemmSplitK{TAct}"/>).
    /// 16 Ki (64 KiB) takes in the Fashion MLP's 300 → 100 layer at batch 32 (30,000 weights), whose column split had
    /// both cores read every row that the optimizer then rewrote on one of them: its step ran 1.057–1.072× faster in
    /// the host's slow minutes and 1.016× in fast ones, against the former 128 Ki (paired, stop 56); the products under
    /// <see cref="ParallelMinFlops"/> stay on one thread whatever their B.
    /// </summary>
    internal static long SplitKMinWeights = 1L << 14;

    // Per band of rows: the parts pack a slice of A's k blocks together into the calling thread's buffer
    // (as many blocks as it holds: all of a short A's, so two pool runs in all), then each multiplies its
    // columns by it. C takes the k blocks in order, as in GemmDriver.Serial, so every element gets the
    // same arithmetic (and bits) as on one thread.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void RunWithSharedA<TAct>(GemmJob<TAct> job, WorkerPool pool, int parts, int mr) where TAct : struct, IActivation
    {
        int m = job.M, k = job.K;
        bool transA = job.TransA, transB = job.TransB, accumulate = job.Accumulate, epilogue = job.Epilogue;
        float* a = job.A, b = job.B, c = job.C;
        nint lda = job.Lda, ldb = job.Ldb, ldc = job.Ldc;
        GemmPackAJob pack = GemmPackAJob.ForCurrentThread;
        pack.TransA = transA; pack.Lda = lda; pack.MR = mr;
        pack.Dst = GemmScratch.Current.A;
        int kb = GemmScratch.KBlock(k);
        pack.KBlock = job.KBlock = kb;
        try
        {
            for (int i0 = 0; i0 < m; i0 += GemmScratch.PackedRows)
            {
                int rows = Math.Min(GemmScratch.PackedRows, m - i0);
                int paddedRows = (rows + mr - 1) / mr * mr;
                int slice = kb * Math.Max(1, GemmScratch.PackedRows / paddedRows);
                for (int pc = 0; pc < k; pc += slice)
                {
                    int kc = Math.Min(slice, k - pc);
                    float* aSlice = transA ? a + pc * lda + i0 : a + i0 * lda + pc;
                    pack.A = aSlice; pack.Rows = rows; pack.K = kc;
                    pool.Run(pack, parts);

                    job.M = rows; job.K = kc;
                    job.A = aSlice;
                    job.B = transB ? b + pc : b + pc * ldb;
                    job.C = c + i0 * ldc;
                    job.Accumulate = accumulate || pc > 0;
                    job.Epilogue = epilogue && pc + kc >= k;
                    job.PackedA = pack.Dst;
                    pool.Run(job, parts);
                }
            }
        }
        finally { pack.A = pack.Dst = null; }
    }

    private static WorkerPool? s_warmedPool;

    private static WorkerPool WarmedPool()
    {
        WorkerPool pool = WorkerPool.Shared;
        if (!ReferenceEquals(s_warmedPool, pool))
        {
            // Every worker gets its packing buffers now, not during whichever later call it first
            // happens to take a part of, so "no allocation after warm-up" holds on every thread.
            pool.RunOnEachThread(ScratchWarmup.Instance);
            s_warmedPool = pool;
        }
        return pool;
    }

    private sealed class ScratchWarmup : ParallelJob
    {
        public static readonly ScratchWarmup Instance = new();

        public override void Execute(int part, int parts) => _ = GemmScratch.Current;
    }

    /// <summary>The reference-grade fallback when no vector unit is usable.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Scalar<TAct>(bool transA, bool transB, int m, int n, int k, float* a, nint lda, float* b, nint ldb,
        float* c, nint ldc, bool accumulate, float* bias, bool epilogue, TAct act, float alpha) where TAct : struct, IActivation
    {
        nint aRow = transA ? 1 : lda, aCol = transA ? lda : 1;
        nint bRow = transB ? 1 : ldb, bCol = transB ? ldb : 1;
        for (int i = 0; i < m; i++)
        {
            for (int j = 0; j < n; j++)
            {
                float acc = 0f;
                float* pa = a + i * aRow;
                float* pb = b + j * bCol;
                for (int p = 0; p < k; p++) acc = MathF.FusedMultiplyAdd(pa[p * aCol], pb[p * bRow], acc);
                if (alpha != 1f) acc *= alpha;
                float v = accumulate ? c[i * ldc + j] + acc : acc;
                if (epilogue) v = act.Apply(v + (bias == null ? 0f : bias[j]));
                c[i * ldc + j] = v;
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void EmptyProduct<TAct>(int m, int n, float* c, nint ldc, bool accumulate, float* bias, bool epilogue, TAct act)
        where TAct : struct, IActivation
    {
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
            {
                float v = accumulate ? c[i * ldc + j] : 0f;
                if (epilogue) v = act.Apply(v + (bias == null ? 0f : bias[j]));
                c[i * ldc + j] = v;
            }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void CheckMatrix(ReadOnlySpan<float> s, int rows, int cols, int ld, string name, string ldName)
    {
        if (ld < cols || ld < 1)
            throw new ArgumentException($"{ldName}={ld} is smaller than the {cols} columns of {name}", ldName);
        long need = rows == 0 || cols == 0 ? 0 : (long)(rows - 1) * ld + cols;
        if (s.Length < need)
            throw new ArgumentException($"{name} has {s.Length} floats but a {rows}×{cols} matrix with leading dimension {ld} needs {need}", name);
    }
}
