using System;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Kiln.Threading;

namespace Kiln.Kernels;

/// <summary>
/// A product whose B (a layer's weights) outweighs its C, split over the pool by k blocks: each thread reads
/// only its blocks' rows of B, where a split by rows or columns of C had every thread read (and pack) all of
/// it. A weight line then stays with one core from the forward to the optimizer's update, which splits each
/// variable the same way (<see cref="Optimizer"/>.UpdateInParts): on a VM whose two vCPUs did not share a
/// cache, rewriting weights the other core had read cost the MLP's SGD step 188 µs instead of 44 (stop 48).
/// The first part adds its blocks into C as <see cref="GemmDriver.Serial"/> would; every later block's
/// product goes to a scratch slice of its own, and a second pass adds the slices to C in block order and
/// applies the epilogue: each element gets the serial order of additions, so the same bits.
/// </summary>
internal sealed unsafe class GemmSplitK<TAct> : ParallelJob where TAct : struct, IActivation
{
    [ThreadStatic] private static GemmSplitK<TAct>? t_instance;

    private bool _use512, _transA, _accumulate, _epilogue, _combine;
    private float _alpha;
    private int _m, _n, _k, _kb, _blocks;
    private float* _a, _b, _c, _bias, _partials;
    private nint _lda, _ldb, _ldc;
    private TAct _act;

    /// <summary>
    /// Whether op(A)·B (B not transposed) takes this path on <paramref name="threads"/> threads: B of at least
    /// <see cref="Gemm.SplitKMinWeights"/> floats and at least twice C (k ≥ 2m), a k block for every thread, the
    /// later blocks' partial products within 16 MiB, and the masked vector instructions the last pass needs.
    /// </summary>
    public static bool Applies(bool use512, bool transB, int m, int n, int k, int threads)
    {
        if (transB || threads < 2 || (long)k * n < Gemm.SplitKMinWeights || k < 2L * m || !CombinesInHardware(use512)) return false;
        int kb = GemmScratch.KBlock(k);
        int blocks = (k + kb - 1) / kb;
        if (blocks < threads) return false;
        return (long)(blocks - blocks / threads) * m * n <= 1L << 22;
    }

    public static void Run(bool use512, bool transA, int m, int n, int k, float* a, nint lda, float* b, nint ldb,
        float* c, nint ldc, bool accumulate, float* bias, bool epilogue, TAct act, WorkerPool pool, int threads, float alpha)
    {
        int kb = GemmScratch.KBlock(k);
        int blocks = (k + kb - 1) / kb;
        float* partials = ConvScratch.Current.Floats(ConvScratch.SplitKPartialsSlot, (long)(blocks - blocks / threads) * m * n);
        var job = t_instance ??= new GemmSplitK<TAct>();
        job._use512 = use512; job._transA = transA; job._accumulate = accumulate; job._epilogue = epilogue; job._act = act; job._alpha = alpha;
        job._m = m; job._n = n; job._k = k; job._kb = kb; job._blocks = blocks;
        job._a = a; job._b = b; job._c = c; job._bias = bias; job._partials = partials;
        job._lda = lda; job._ldb = ldb; job._ldc = ldc;
        try
        {
            job._combine = false;
            pool.Run(job, threads);
            job._combine = true;
            pool.Run(job, threads);
        }
        finally { job._a = job._b = job._c = job._bias = job._partials = null; }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public override void Execute(int part, int parts)
    {
        int first = _blocks / parts; // part 0's blocks; the later ones have scratch slices from here
        if (_combine)
        {
            int r0 = (int)((long)part * _m / parts), r1 = (int)((long)(part + 1) * _m / parts);
            // Row i: C plus each later block's slice in block order, then the epilogue.
            long slice = (long)_m * _n;
            for (int i = r0; i < r1; i++)
            {
                if (_use512) CombineRow512(_c + i * _ldc, _partials + (long)i * _n, slice, _blocks - first, _n, _bias, _epilogue, _act);
                else CombineRow256(_c + i * _ldc, _partials + (long)i * _n, slice, _blocks - first, _n, _bias, _epilogue, _act);
            }
            return;
        }
        // The parts share the blocks' column tiles evenly, so a part may end inside a block whose other columns the
        // next part takes: cut at whole blocks, k = 784 in 5 blocks (KC 168, Zen 4) gave one of two threads 3 of
        // them, and the MLP's first layer ran 1.5 times as fast on two threads as on one. Columns cut at tile
        // boundaries get each element the same arithmetic, so the same bits.
        int nr = _use512 ? MicroKernel512.NR : MicroKernel256.NR;
        int tiles = (_n + nr - 1) / nr;
        long units = (long)_blocks * tiles;
        long u = part * units / parts, end = (part + 1) * units / parts;
        if (part == 0)
        {
            Product(0, Math.Min(_k, first * _kb), 0, _n, _c, _ldc, _accumulate);
            u = (long)first * tiles;
        }
        while (NextRun(ref u, end, tiles, out int blk, out int t0, out int t1))
        {
            int pc = blk * _kb, j0 = t0 * nr, j1 = Math.Min(_n, t1 * nr);
            Product(pc, Math.Min(_kb, _k - pc), j0, j1 - j0, _partials + (long)(blk - first) * _m * _n + j0, _n, false);
        }
    }

    /// <summary>
    /// The next run of a part's units [<paramref name="unit"/>, <paramref name="end"/>), each unit one column slice of one
    /// k block (<paramref name="slices"/> a block): the block and its slices [first, last), and the units advanced past
    /// them; false when none are left. <see cref="RowVectorJob{TAct}"/> cuts its ranges the same way.
    /// </summary>
    internal static bool NextRun(ref long unit, long end, int slices, out int block, out int first, out int last)
    {
        block = (int)(unit / slices);
        first = (int)(unit % slices);
        last = (int)Math.Min(slices, end - (long)block * slices);
        if (unit >= end) return false;
        unit = (long)block * slices + last;
        return true;
    }

    /// <summary>Columns [<paramref name="j0"/>, j0 + <paramref name="cols"/>) of k rows [<paramref name="pc"/>, pc + <paramref name="kc"/>)'s product into <paramref name="c"/>.</summary>
    private void Product(int pc, int kc, int j0, int cols, float* c, nint ldc, bool accumulate)
    {
        float* a = _transA ? _a + pc * _lda : _a + pc;
        float* b = _b + pc * _ldb + j0;
        if (_use512)
            GemmDriver.Serial<MicroKernel512, Identity>(_transA, false, _m, cols, kc, a, _lda, b, _ldb, c, ldc, accumulate, null, false, default, null, _kb, _alpha);
        else
            GemmDriver.Serial<MicroKernel256, Identity>(_transA, false, _m, cols, kc, a, _lda, b, _ldb, c, ldc, accumulate, null, false, default, null, _kb, _alpha);
    }

    /// <summary>Whether the combining pass has the masked loads and stores it needs at this width.</summary>
    internal static bool CombinesInHardware(bool use512) => use512 ? Avx512F.IsSupported : Avx.IsSupported;

    /// <summary>
    /// c[0..n) plus <paramref name="slices"/> partial rows <paramref name="slice"/> floats apart, in order, then act(v + bias)
    /// as the micro-kernels' stores do (a zero bias without one), at their vector width; the last columns under a mask.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void CombineRow512(float* c, float* p, long slice, int slices, int n, float* bias, bool epilogue, TAct act)
    {
        for (int j = 0; j < n; j += 16)
        {
            var mask = Lanes16.FirstLanes(n - j).V;
            var v = Avx512F.MaskLoad(c + j, mask, Vector512<float>.Zero);
            for (int s = 0; s < slices; s++) v += Avx512F.MaskLoad(p + s * slice + j, mask, Vector512<float>.Zero);
            if (epilogue) v = act.Apply(v + (bias == null ? Vector512<float>.Zero : Avx512F.MaskLoad(bias + j, mask, Vector512<float>.Zero)));
            Avx512F.MaskStore(c + j, mask, v);
        }
    }

    /// <summary><see cref="CombineRow512"/> in 256-bit registers.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void CombineRow256(float* c, float* p, long slice, int slices, int n, float* bias, bool epilogue, TAct act)
    {
        for (int j = 0; j < n; j += 8)
        {
            var mask = Lanes8.FirstLanes(n - j).V;
            var v = Avx.MaskLoad(c + j, mask);
            for (int s = 0; s < slices; s++) v += Avx.MaskLoad(p + s * slice + j, mask);
            if (epilogue) v = act.Apply(v + (bias == null ? Vector256<float>.Zero : Avx.MaskLoad(bias + j, mask)));
            Avx.MaskStore(c + j, mask, v);
        }
    }
}
