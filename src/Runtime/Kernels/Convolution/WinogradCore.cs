using System;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using System.Threading;
using Kiln.Threading;

namespace Kiln.Kernels;

/// <summary>
/// Winograd F(2×2, 3×3) on NHWC data (Lavin and Gray, 2016): each 2×2 block of outputs ("tile") is
/// computed from the 4×4 input patch under it with 16 products per channel pair instead of 36.
/// <list type="bullet">
/// <item>Kernel: U = G·g·Gᵀ per (input channel, filter), stored as 16 C × K' matrices (K' = K rounded
/// up to a whole 16-lane vector, zero-filled).</item>
/// <item>Input: V = Bᵀ·d·B per tile and channel, 16 vectors at once over the channels.</item>
/// <item>16 independent GEMMs M[ξ] = V[ξ]·U[ξ] (tiles × C times C × K'), run by the same 8 × 32
/// broadcast micro-kernel as the direct convolution, and a 16-wide form for a last 16 filters.</item>
/// <item>Output: y = act(Aᵀ·M·A + bias), 2×2 per tile, clipped at odd edges; or, fused with a 2×2 max
/// pooling, the max of the four (a tile is exactly one pooling window).</item>
/// </list>
/// Tiles are processed in fixed blocks (<see cref="TilesPerBlock"/>); each output is
/// computed by one thread in an order that does not depend on the split, so results are identical
/// for any thread count. The kernel gradient, the adjoint of all this, is in WinogradCore.KernelGradient.cs;
/// the forward pass and the data gradient take F(4×4, 3×3) instead where <see cref="FourByFour"/> says
/// it pays, the kernel gradient where <see cref="FourByFourKernelGradient"/> does (WinogradCore.F4x4.cs). The transforms are exact identities, so only rounding differs from the
/// direct sum (a few ulps of the largest term). The transforms are 16-lane vectors (<see cref="Simd.Use16Lanes"/>),
/// the products <see cref="ConvCore.IndirectTile"/> and the GEMM at the path's own width; the scalar path falls back to ConvCore.
/// </summary>
internal static unsafe partial class WinogradCore
{
    private const int MR = ConvCore.MR, NR = ConvCore.NR;

    /// <summary>
    /// K' rounds the filters up to a multiple of this: 16, a whole vector, so a plane's last 16 filters take the
    /// 16-wide products (<see cref="ConvCore.NarrowRows512"/>) where a 16-filter layer's planes were half zero columns
    /// in the 32-wide tile. 32 restores those tiles (the same bits), for tests and measuring it (--paired MODEL,winograd-filter-multiple,32,16).
    /// </summary>
    internal static int FilterMultiple = 16;

    // Per-thread scratch slots: V and M on every thread that takes a part; U on the caller, or on every
    // such thread when the transformed kernel is small enough for each to make its own (Run).
    private const int VSlot = 6, MSlot = 7, USlot = 8;

    /// <summary>The algorithm the forward pass and the data gradient take for <paramref name="g"/> (3×3 or 5×5, stride 1).</summary>
    internal static WinogradAlgorithm ForwardAlgorithm(in Conv2DGeometry g) => Algorithm(g.KernelHeight, FourByFour(g));

    /// <summary>The algorithm for an r × r window (3 or 5) with 2×2 or 4×4 output tiles.</summary>
    private static WinogradAlgorithm Algorithm(int window, bool fourByFour) => window == 5
        ? fourByFour ? WinogradAlgorithm.F4x4For5x5 : WinogradAlgorithm.F2x2For5x5
        : fourByFour ? WinogradAlgorithm.F4x4For3x3 : WinogradAlgorithm.F2x2For3x3;

    /// <summary>
    /// Tiles per block. A block streams the whole transformed kernel U (planes × C × K') through the
    /// core once, and each of its tiles writes and reads back V and M (planes × (C + K')): U's traffic
    /// per tile falls below V's and M's from C·K' / (C + K') tiles on (128 for 256 → 256 channels), so
    /// wide layers take that many even where V and M then leave L2; narrow ones take what keeps V and
    /// M within about 384 KiB. A whole number of micro-kernel row tiles (<see cref="ConvCore.IndirectTileRows"/>:
    /// 8 at 512 bits, 6 at 256), so no GEMM call multiplies padding rows; at most 120.
    /// </summary>
    internal static int TilesPerBlock(int c, int kPadded, int planes = 16)
    {
        int rows = ConvCore.IndirectTileRows;
        int fits = 98304 / (planes * (c + kPadded));
        int balance = (int)((long)c * kPadded / (c + kPadded));
        int tiles = Math.Min(Math.Max(fits, balance), 120);
        return Math.Max((tiles + rows - 1) / rows * rows, rows);
    }

    /// <summary>
    /// The distance in floats between two planes of a block's V or M (<paramref name="tiles"/> rows of
    /// <paramref name="width"/> channels): one cache line more than a plane holds. The transforms write or
    /// read a tile's 16 to 64 planes at once, and planes a multiple of 4 KiB apart (32 tiles of 32 channels)
    /// all fall in one set of the L1 cache, which holds 8 or 12 lines of a set: each line evicted the one
    /// before it. The line took the Fashion CNN's and the CIFAR net's train steps 7 % and 9 % faster on
    /// Zen 5 (Kiln.Benchmarks --paired, benchmarks/README.md).
    /// </summary>
    internal static long PlaneStride(int tiles, int width) => (long)tiles * width + 16;

    /// <summary>
    /// The block length for <paramref name="tiles"/> tiles: <paramref name="longest"/> where that makes more blocks
    /// than threads; otherwise one block of equal length (whole row tiles) per thread, where the tiles allow (a
    /// batch-1 pass of a wide layer was one block on one thread, and 128 tiles two blocks of 90 and 38). Blocks
    /// are not shortened further: each streams the transformed kernel once, and on 32×32 256 → 256 at batch 8
    /// five blocks of 108 ran 5 % slower than four of 120 and one of 32 at 2 threads. Each tile's outputs are
    /// computed on their own, so the length never changes a result.
    /// </summary>
    internal static int EvenBlock(long tiles, int longest, int threads)
    {
        if ((tiles + longest - 1) / longest > threads) return longest;
        int rows = ConvCore.IndirectTileRows;
        long blocks = Math.Max(1, Math.Min(threads, (tiles + rows - 1) / rows));
        long even = (tiles + blocks - 1) / blocks;
        return (int)Math.Min(longest, (even + rows - 1) / rows * rows);
    }

    /// <summary>
    /// y = act(conv3×3(x, w) + bias) for the stride-1 geometry <paramref name="g"/>. With
    /// <paramref name="flipped"/> the kernel is read as the data gradient needs it: <paramref name="kernel"/>
    /// is the forward layer's (3, 3, K, C) kernel, used rotated by 180° with its channel axes swapped.
    /// With <paramref name="pool"/>, y is the 2×2 max pooling of that, ⌊OH/2⌋ × ⌊OW/2⌋ per sample.
    /// </summary>
    public static void Run<TAct>(float* x, float* kernel, bool flipped, float* bias, float* y, int n, in Conv2DGeometry g, TAct act, bool pool = false)
        where TAct : struct, IActivation
    {
        var job = Prepare(x, kernel, flipped, bias, y, n, g, act, pool, out int parts);
        if (job is null) return;
        try { WorkerPool.Shared.Run(job, parts); }
        finally { job.Clear(); }
    }

    /// <summary>
    /// <see cref="Run"/>'s job, set up (and a shared transformed kernel made) for <paramref name="parts"/> parts; null when there is
    /// no tile to compute. The caller runs it on the pool, then clears it.
    /// </summary>
    private static Job<TAct>? Prepare<TAct>(float* x, float* kernel, bool flipped, float* bias, float* y, int n, in Conv2DGeometry g, TAct act, bool pool, out int parts)
        where TAct : struct, IActivation
    {
        parts = 0;
        int c = g.InputChannels, k = g.OutputChannels;
        int kp = (k + FilterMultiple - 1) / FilterMultiple * FilterMultiple;
        WinogradAlgorithm algorithm = ForwardAlgorithm(g);
        int tile = algorithm.Tile(), planes = algorithm.Planes(), taps = g.KernelHeight * g.KernelWidth;
        int th = (g.OutputHeight + tile - 1) / tile, tw = (g.OutputWidth + tile - 1) / tile;
        long tiles = (long)n * th * tw;
        if (tiles == 0) return null;

        ConvScratch s = ConvScratch.Current;
        float* w = flipped ? s.Floats(ConvScratch.FlippedKernelSlot, (long)taps * c * k) : kernel;
        int block = EvenBlock(tiles, TilesPerBlock(c, kp, planes), KilnSettings.Threads);
        long blocks = (tiles + block - 1) / block;
        // One GEMM of 2·C·K' per tile and transformed plane, plus the transforms.
        parts = ConvCore.PartsFor(2L * planes * tiles * c * kp, (int)Math.Min(blocks, int.MaxValue));
        long kernelBytes = (long)planes * c * kp * sizeof(float);
        var job = Job<TAct>.ForCurrentThread;
        job.U = null;
        job.KernelCall = 0;
        if (parts > 1 && kernelBytes <= OwnKernelMaxBytes)
        {
            if (flipped) ConvCore.FlipKernel(kernel, w, c, k, taps, 0, c);
            // A small transformed kernel is made by every thread that takes a part, into its own buffer:
            // made once by the caller, each call's rewrite had to take its lines back from the other
            // cores that read them (4× the time of the transform on one thread, with the workers
            // waiting), where each core now rewrites lines only it holds and then reads them from its L2.
            job.KernelCall = Interlocked.Increment(ref s_kernelCalls);
        }
        else
        {
            job.U = s.Floats(USlot, (long)planes * c * kp);
            KernelEndsJob.Transform(algorithm, kernel, w, job.U, c, k, kp, taps);
        }

        job.X = x; job.W = w; job.Bias = bias; job.Y = y; job.G = g; job.Act = act; job.Pool = pool; job.Algorithm = algorithm;
        job.Kp = kp; job.TileRows = th; job.TileCols = tw; job.Tiles = tiles; job.Block = block; job.Blocks = blocks;
        job.VPlane = PlaneStride(block, c); job.MPlane = PlaneStride(block, kp);
        job.PrefetchInput = PrefetchesInput(g, n);
        return job;
    }

    /// <summary>
    /// A stride-1 convolution's kernel gradient and data gradient (<see cref="KernelGradient"/> and <see cref="Run"/> over
    /// <paramref name="back"/>, the data gradient's geometry, with the kernel flipped), as one pool call: the kernel gradient's
    /// few groups of tiles first in each thread's share and the data gradient's finer parts after them, so a thread done
    /// early takes data-gradient parts instead of waiting out the other's last group (WorkerPool.Run with two jobs).
    /// The same bits as the two calls: neither job's arithmetic depends on which thread runs which part.
    /// </summary>
    public static void Backward(float* x, float* kernel, float* dz, float* dKernel, float* dx, int n, in Conv2DGeometry g, in Conv2DGeometry back)
    {
        var gradient = PrepareKernelGradient(x, dz, dKernel, n, g, true, out int groups);
        if (gradient is null)
        {
            Run(dz, kernel, true, null, dx, n, back, default(Identity));
            return;
        }
        var data = Prepare(dz, kernel, true, null, dx, n, back, default(Identity), false, out int parts);
        try
        {
            WorkerPool.Shared.Run(gradient, groups, data, data is null ? 0 : parts);
            KernelEndsJob.Adjoint(gradient.Algorithm, gradient.Partials, gradient.Groups, dKernel, g.InputChannels, g.OutputChannels);
        }
        finally
        {
            gradient.Clear();
            data?.Clear();
        }
    }

    /// <summary>Up to this size (half of L2) each thread transforms the kernel for itself; a larger one is transformed once and shared.</summary>
    private static readonly long OwnKernelMaxBytes = CacheHierarchy.Current.L2 / 2;

    /// <summary>Numbers the calls whose threads transform the kernel for themselves; <see cref="t_kernelCall"/> is the one this thread's buffer holds.</summary>
    private static long s_kernelCalls;

    [ThreadStatic] private static long t_kernelCall;

    /// <summary>
    /// The kernel transform of <paramref name="algorithm"/>: u = the planes of G·w·Gᵀ, for input channels c0 ≤ c &lt; c1.
    /// The 3 × 3 transforms write one row of their planes per pass over the channels: 4 or 6 store streams, each
    /// running along its plane. Writing all 36 planes per block of filters sent each store to a line 16–64 KiB from
    /// the last, all in one L1 set: F(4×4, 3×3)'s ran at 11–14 GB/s, a row at a time at 28–45 (1 thread, Zen 5,
    /// stop 51; 3× faster at 256 bits too), the columns of G·w redone per row for it. The values are the same: each
    /// is computed as before. The 5 × 5 ones keep the whole kernel per block of filters: redoing five columns per row
    /// cost F(2×2, 5×5) 40 % more, and F(4×4, 5×5) 60 % more at 256 bits (its 1.4× gain at 512 bits not worth two forms).
    /// Each transform, and each adjoint of <see cref="KernelFromTransformedFor"/>, is a fully optimized method of its own:
    /// inlined here at tier 1, their Vector512 helpers went over the JIT's inlining budget where the runtime carries
    /// Vector512 in two halves (`Kiln.Benchmarks --only inlining` with AVX-512 off), and they ran at tier 0 for the first calls.
    /// </summary>
    internal static void TransformKernelFor(WinogradAlgorithm algorithm, float* w, float* u, int c, int k, int kp, int c0, int c1)
    {
        switch (algorithm)
        {
            case WinogradAlgorithm.F2x2For3x3: TransformKernel(w, u, c, k, kp, c0, c1); break;
            case WinogradAlgorithm.F4x4For3x3: TransformKernel6(w, u, c, k, kp, c0, c1); break;
            case WinogradAlgorithm.F2x2For5x5: TransformKernel6Of5(w, u, c, k, kp, c0, c1); break;
            case WinogradAlgorithm.F4x4For5x5: TransformKernel8(w, u, c, k, kp, c0, c1); break;
            default: throw new InvalidOperationException($"no kernel transform for {algorithm}");
        }
    }

    /// <summary>The kernel gradient's adjoint transform of <paramref name="algorithm"/>: dW = Gᵀ·dU·G, for input channels c0 ≤ c &lt; c1.</summary>
    private static void KernelFromTransformedFor(WinogradAlgorithm algorithm, float* du, float* dKernel, int c, int k, int c0, int c1)
    {
        switch (algorithm)
        {
            case WinogradAlgorithm.F2x2For3x3: KernelFromTransformed(du, dKernel, c, k, c0, c1); break;
            case WinogradAlgorithm.F4x4For3x3: KernelFromTransformed6<ThreeTaps>(du, dKernel, c, k, c0, c1); break;
            case WinogradAlgorithm.F2x2For5x5: KernelFromTransformed6<FiveTaps>(du, dKernel, c, k, c0, c1); break;
            case WinogradAlgorithm.F4x4For5x5: KernelFromTransformed8(du, dKernel, c, k, c0, c1); break;
            default: throw new InvalidOperationException($"no kernel adjoint for {algorithm}");
        }
    }

    /// <summary>u[ξ][c][j] = (G·g·Gᵀ)[ξ] for the 3×3 kernel g of input channels c0 ≤ c &lt; c1 and filter j; columns ≥ K are zero.</summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static void TransformKernel(float* w, float* u, int c, int k, int kp, int c0, int c1)
    {
        long plane = (long)c * kp;
        nint tapStride = (nint)c * k;
        var half = Vector512.Create(0.5f);
        for (int i = 0; i < 4; i++)
        {
            for (int cc = c0; cc < c1; cc++)
            {
                for (int j = 0; j < kp; j += 16)
                {
                    float* o = u + (nint)cc * kp + j;
                    if (j >= k)
                    {
                        for (int q = 0; q < 4; q++) Vector512.Store(Vector512<float>.Zero, o + (4 * i + q) * plane);
                        continue;
                    }
                    // Row i of G·g (for 16 filters), then that row times Gᵀ.
                    float* at = w + (nint)cc * k + j;
                    var g0 = Vector512.Load(at); var g1 = Vector512.Load(at + tapStride); var g2 = Vector512.Load(at + 2 * tapStride);
                    if (i == 0) { KernelRow(g0, g1, g2, o, plane, 0); continue; }
                    var g6 = Vector512.Load(at + 6 * tapStride); var g7 = Vector512.Load(at + 7 * tapStride); var g8 = Vector512.Load(at + 8 * tapStride);
                    if (i == 3) { KernelRow(g6, g7, g8, o, plane, 12); continue; }
                    var g3 = Vector512.Load(at + 3 * tapStride); var g4 = Vector512.Load(at + 4 * tapStride); var g5 = Vector512.Load(at + 5 * tapStride);
                    if (i == 1) KernelRow((g0 + g3 + g6) * half, (g1 + g4 + g7) * half, (g2 + g5 + g8) * half, o, plane, 4);
                    else KernelRow((g0 - g3 + g6) * half, (g1 - g4 + g7) * half, (g2 - g5 + g8) * half, o, plane, 8);
                }
            }
        }
    }

    /// <summary>One row of (G·g) times Gᵀ: four transformed values, stored at ξ = first .. first + 3.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void KernelRow(Vector512<float> a, Vector512<float> b, Vector512<float> c, float* o, long plane, int first)
    {
        var half = Vector512.Create(0.5f);
        Vector512.Store(a, o + first * plane);
        Vector512.Store((a + b + c) * half, o + (first + 1) * plane);
        Vector512.Store((a - b + c) * half, o + (first + 2) * plane);
        Vector512.Store(c, o + (first + 3) * plane);
    }

    /// <summary>The forward pass (or data gradient) over blocks of tiles; its F(4×4) transforms are in WinogradCore.F4x4.cs and WinogradCore.F4x4For5x5.cs.</summary>
    private sealed partial class Job<TAct> : ParallelJob where TAct : struct, IActivation
    {
        [ThreadStatic] private static Job<TAct>? t_instance;
        public static Job<TAct> ForCurrentThread => t_instance ??= new Job<TAct>();

        public float* X, W, U, Bias, Y;
        /// <summary>Non-zero when U is null: each thread transforms W into its own buffer once per call.</summary>
        public long KernelCall;
        public Conv2DGeometry G;
        public TAct Act;
        public bool Pool;
        public WinogradAlgorithm Algorithm;
        public int Kp, TileRows, TileCols, Block;
        public long Tiles, Blocks, VPlane, MPlane;
        /// <summary>The 6- and 8-point input transforms prefetch the image rows ahead (<see cref="PrefetchesInput"/>).</summary>
        public bool PrefetchInput;

        /// <summary>Drops the call's pointers once it is done.</summary>
        public void Clear() => X = W = U = Bias = Y = null;

        public override void Execute(int part, int parts)
        {
            long b0 = part * Blocks / parts, b1 = (part + 1) * Blocks / parts;
            if (b1 <= b0) return;
            int c = G.InputChannels, planes = Algorithm.Planes();
            ConvScratch s = ConvScratch.Current;
            float* v = s.Floats(VSlot, (long)planes * VPlane);
            float* m = s.Floats(MSlot, (long)planes * MPlane);
            float* zeros = s.Zeros(Math.Max(c, NR));
            float** table = s.Pointers(64 + MR);
            float* u = U;
            if (u == null)
            {
                u = s.Floats(USlot, (long)planes * c * Kp);
                if (t_kernelCall != KernelCall)
                {
                    TransformKernelFor(Algorithm, W, u, c, G.OutputChannels, Kp, 0, c);
                    t_kernelCall = KernelCall;
                }
            }
            // The intermediate vectors of the largest transforms, F(4×4, 5×5)'s: the 8×8 input transform, then
            // the 4×8 and 4×4 of the output transform.
            Vector512<float>* tmp = stackalloc Vector512<float>[64 + 32 + 16];
            long tilesPerSample = (long)TileRows * TileCols;
            for (long blk = b0; blk < b1; blk++)
            {
                long t0 = blk * Block;
                int count = (int)Math.Min(Block, Tiles - t0);
                if (Algorithm == WinogradAlgorithm.F2x2For3x3) InputTransform(X, G, TileCols, tilesPerSample, VPlane, t0, count, v, zeros, table);
                else if (Algorithm == WinogradAlgorithm.F4x4For5x5) InputTransform8(X, G, TileCols, tilesPerSample, VPlane, t0, count, v, zeros, table, tmp, PrefetchInput);
                else InputTransform6(X, G, Algorithm.Tile(), TileCols, tilesPerSample, VPlane, t0, count, v, zeros, table, tmp, PrefetchInput);
                MultiplyPlanes(planes, count, v, VPlane, u, m, MPlane, c, Kp, zeros, table);
                bool four = Algorithm.Tile() == 4;
                if (four && Pool) PooledOutputTransform4(t0, count, m, tmp + 64, tmp + 96);
                else if (four) OutputTransform4(t0, count, m, tmp + 64, tmp + 96);
                else if (Pool) PooledOutputTransform(t0, count, m);
                else OutputTransform(t0, count, m);
            }
        }

        /// <summary>y = act(Aᵀ·M·A + bias) for each tile, clipped at odd edges.</summary>
        private void OutputTransform(long t0, int count, float* m)
        {
            ref readonly Conv2DGeometry g = ref G;
            int k = g.OutputChannels, oh = g.OutputHeight, ow = g.OutputWidth, kp = Kp;
            long plane = MPlane;
            for (int r = 0; r < count; r++)
            {
                TileOrigin(t0 + r, out long sample, out int ty, out int tx);
                int oy = 2 * ty, ox = 2 * tx;
                bool down = oy + 1 < oh, right = ox + 1 < ow;
                float* ys = Y + sample * g.OutputSize + ((nint)oy * ow + ox) * k;
                float* src = m + (nint)r * kp;
                for (int j = 0; j < k; j += 16)
                {
                    var bias = Bias == null ? Vector512<float>.Zero : Vector512.Load(Bias + j);
                    TwoByTwo(src + j, plane, bias, out var y00, out var y01, out var y10, out var y11);
                    float* yj = ys + j;
                    Vector512.Store(Act.Apply(y00), yj);
                    if (right) Vector512.Store(Act.Apply(y01), yj + k);
                    if (down)
                    {
                        float* below = yj + (nint)ow * k;
                        Vector512.Store(Act.Apply(y10), below);
                        if (right) Vector512.Store(Act.Apply(y11), below + k);
                    }
                }
            }
        }

        /// <summary>
        /// pooled = max of the tile's four act(Aᵀ·M·A + bias), in Pooling's window order and comparison (a
        /// later value wins only when greater: ties keep the first, a NaN never replaces a number). A tile
        /// over an odd edge is in no pooling window (valid pooling drops that row or column) and is skipped.
        /// </summary>
        private void PooledOutputTransform(long t0, int count, float* m)
        {
            int k = G.OutputChannels, ph = G.OutputHeight / 2, pw = G.OutputWidth / 2, kp = Kp;
            long plane = MPlane;
            for (int r = 0; r < count; r++)
            {
                TileOrigin(t0 + r, out long sample, out int ty, out int tx);
                if (ty >= ph || tx >= pw) continue;
                float* ys = Y + ((sample * ph + ty) * pw + tx) * k;
                float* src = m + (nint)r * kp;
                for (int j = 0; j < k; j += 16)
                {
                    var bias = Bias == null ? Vector512<float>.Zero : Vector512.Load(Bias + j);
                    TwoByTwo(src + j, plane, bias, out var y00, out var y01, out var y10, out var y11);
                    Vector512.Store(Pooling.WindowMax(Act, y00, y01, y10, y11), ys + j);
                }
            }
        }

        /// <summary>A 2×2 tile's outputs + bias for 16 channels, from F(2×2, 3×3)'s 16 planes or F(2×2, 5×5)'s 36.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private void TwoByTwo(float* p, long plane, Vector512<float> bias,
            out Vector512<float> y00, out Vector512<float> y01, out Vector512<float> y10, out Vector512<float> y11)
        {
            if (Algorithm == WinogradAlgorithm.F2x2For5x5) TileOutputs5(p, plane, bias, out y00, out y01, out y10, out y11);
            else TileOutputs(p, plane, bias, out y00, out y01, out y10, out y11);
        }

        /// <summary>Aᵀ·M·A + bias for 16 channels of one tile, M's 16 values <paramref name="plane"/> apart: rows m0 + m1 + m2 and m1 − m2 − m3, then the same on columns.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static void TileOutputs(float* p, long plane, Vector512<float> bias,
            out Vector512<float> y00, out Vector512<float> y01, out Vector512<float> y10, out Vector512<float> y11)
        {
            var m00 = Vector512.Load(p); var m01 = Vector512.Load(p + plane); var m02 = Vector512.Load(p + 2 * plane); var m03 = Vector512.Load(p + 3 * plane);
            var m10 = Vector512.Load(p + 4 * plane); var m11 = Vector512.Load(p + 5 * plane); var m12 = Vector512.Load(p + 6 * plane); var m13 = Vector512.Load(p + 7 * plane);
            var m20 = Vector512.Load(p + 8 * plane); var m21 = Vector512.Load(p + 9 * plane); var m22 = Vector512.Load(p + 10 * plane); var m23 = Vector512.Load(p + 11 * plane);
            var m30 = Vector512.Load(p + 12 * plane); var m31 = Vector512.Load(p + 13 * plane); var m32 = Vector512.Load(p + 14 * plane); var m33 = Vector512.Load(p + 15 * plane);
            var a0 = m00 + m10 + m20; var a1 = m01 + m11 + m21; var a2 = m02 + m12 + m22; var a3 = m03 + m13 + m23;
            var b0 = m10 - m20 - m30; var b1 = m11 - m21 - m31; var b2 = m12 - m22 - m32; var b3 = m13 - m23 - m33;
            y00 = a0 + a1 + a2 + bias;
            y01 = a1 - a2 - a3 + bias;
            y10 = b0 + b1 + b2 + bias;
            y11 = b1 - b2 - b3 + bias;
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private void TileOrigin(long t, out long sample, out int ty, out int tx) => WinogradCore.TileOrigin(t, TileCols, TileRows * TileCols, out sample, out ty, out tx);
    }


    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void TileOrigin(long t, int tileCols, long perSample, out long sample, out int ty, out int tx)
    {
        sample = t / perSample;
        int rem = (int)(t - sample * perSample);
        ty = rem / tileCols;
        tx = rem - ty * tileCols;
    }

    /// <summary>The four outputs (all K channels) of 2×2 tile t of <paramref name="dz"/>, or <paramref name="zeros"/> past the bottom or right edge.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void TileCorners(float* dz, in Conv2DGeometry g, long t, int tileCols, long tilesPerSample, float* zeros,
        out float* p00, out float* p01, out float* p10, out float* p11)
    {
        int k = g.OutputChannels, oh = g.OutputHeight, ow = g.OutputWidth;
        TileOrigin(t, tileCols, tilesPerSample, out long sample, out int ty, out int tx);
        int oy = 2 * ty, ox = 2 * tx;
        bool down = oy + 1 < oh, right = ox + 1 < ow;
        p00 = dz + sample * g.OutputSize + ((nint)oy * ow + ox) * k;
        p01 = right ? p00 + k : zeros;
        p10 = down ? p00 + (nint)ow * k : zeros;
        p11 = down && right ? p00 + (nint)ow * k + k : zeros;
    }

    /// <summary>
    /// m[ξ] = v[ξ]·u[ξ] for ξ &lt; <paramref name="planes"/> over a block's <paramref name="count"/> tiles,
    /// by the implicit GEMM's tile: 8 × 32 at a time, 6 × 32 on the 256-bit path, and for a last 16 filters
    /// <see cref="ConvCore.NarrowRows512"/> (the 256-bit path: the 6 × 16 half tile).
    /// </summary>
    private static void MultiplyPlanes(int planes, int count, float* v, long vPlane, float* u, float* m, long mPlane, int c, int kp, float* zeros, float** table)
    {
        int tileRows = ConvCore.IndirectTileRows;
        int rowTiles = (count + tileRows - 1) / tileRows;
        for (int xi = 0; xi < planes; xi++)
        {
            float* vx = v + xi * vPlane;
            float* mx = m + xi * mPlane;
            float* ux = u + (long)xi * c * kp;
            for (int jt = 0; jt < kp; jt += NR)
            {
                bool narrow = kp - jt < NR;
                if (narrow && Simd.Use512)
                {
                    ConvCore.NarrowRows512(vx, c, ux + jt, kp, mx + jt, kp, count);
                    continue;
                }
                for (int rt = 0; rt < rowTiles; rt++)
                {
                    int r0 = rt * tileRows, valid = Math.Min(tileRows, count - r0);
                    for (int r = 0; r < tileRows; r++) table[r] = r < valid ? vx + (nint)(r0 + r) * c : zeros;
                    float* mt = mx + (nint)r0 * kp + jt;
                    if (narrow) ConvCore.IndirectHalf256(table, 1, c, ux + jt, kp, mt, kp, valid, null, default(Identity));
                    else ConvCore.IndirectTile(table, 1, c, ux + jt, kp, mt, kp, valid, null, default(Identity));
                }
            }
        }
    }

    /// <summary>
    /// v[ξ][r][c] = (Bᵀ·d·B)[ξ] for the 4×4 input patch d under tile t0 + r (zeros outside the image);
    /// ξ planes are <paramref name="plane"/> floats apart.
    /// </summary>
    private static void InputTransform(float* x, in Conv2DGeometry g, int tileCols, long tilesPerSample, long plane, long t0, int count,
        float* v, float* zeros, float** rows)
    {
        int c = g.InputChannels;
        for (int r = 0; r < count; r++)
        {
            PatchRows(x, g, 2, 4, t0 + r, tileCols, tilesPerSample, zeros, rows);
            float* o = v + (nint)r * c;
            for (int cc = 0; cc < c; cc += 16)
            {
                // Bᵀ·d: rows d0 − d2, d1 + d2, d2 − d1, d1 − d3 (each a row of four pixels).
                Row(rows, 0, cc, out var d00, out var d01, out var d02, out var d03);
                Row(rows, 1, cc, out var d10, out var d11, out var d12, out var d13);
                Row(rows, 2, cc, out var d20, out var d21, out var d22, out var d23);
                Row(rows, 3, cc, out var d30, out var d31, out var d32, out var d33);
                InputColumns(d00 - d20, d01 - d21, d02 - d22, d03 - d23, o + cc, plane, 0);
                InputColumns(d10 + d20, d11 + d21, d12 + d22, d13 + d23, o + cc, plane, 4);
                InputColumns(d20 - d10, d21 - d11, d22 - d12, d23 - d13, o + cc, plane, 8);
                InputColumns(d10 - d30, d11 - d31, d12 - d32, d13 - d33, o + cc, plane, 12);
            }
        }
    }

    /// <summary>
    /// Inputs of at least this many bytes come from memory: their input transforms prefetch ahead (<see cref="PrefetchThreshold"/>).
    /// In cache the prefetches cost more than they save (6 % on a 1 MB input); from memory they saved 5 % of a 32×32 64 → 64
    /// forward at batch 64 (16.8 MB) and 2.6 % of a 16×16 128 → 128 one (8.4 MB) on Zen 5, and 4–5 % of the CIFAR net's step
    /// (1.8 % on the 256-bit path, AVX-512 off; benchmarks/README.md, stops 50 and 54).
    /// </summary>
    internal static long PrefetchMinBytes = PrefetchThreshold(CacheHierarchy.Current);

    /// <summary>
    /// Half the L3, but at most 4 MiB: the input shares the L3 with the step's other tensors (the layer's own output, the
    /// batch norm's around it), and a larger L3 is shared by more cores than a job's (a Zen 4 CCD's 32 MiB by eight).
    /// With the whole 32 MiB as the threshold no layer of the CIFAR net prefetched on Zen 4, and its step ran 5–6 % slower
    /// than with 8 MiB (4 MiB: level with 8; stop 54). On Zen 5's 8 MiB L3 the whole L3 left the Fashion ResNet's 6.4 MB
    /// 16-channel inputs (28×28 at batch 128) unprefetched: 4 MiB took its step 1.03–1.04× faster at 1 and 2 threads and
    /// with AVX-512 off, the CIFAR net and Fashion CNN level, 2 MiB level with 4 (alternated in one process, stop 58).
    /// </summary>
    internal static long PrefetchThreshold(CacheHierarchy caches) => Math.Min(caches.L3 / 2, PrefetchMaxThreshold);

    private const long PrefetchMaxThreshold = 4L << 20;

    /// <summary>Whether the input transforms of <paramref name="n"/> samples of <paramref name="g"/>'s input prefetch (<see cref="PrefetchMinBytes"/>).</summary>
    private static bool PrefetchesInput(in Conv2DGeometry g, int n) => Sse.IsSupported && (long)n * g.InputSize * sizeof(float) >= PrefetchMinBytes;

    /// <summary>
    /// Prefetches into L2 tile t's share of the image rows that the next row of tiles adds: rows <paramref name="patch"/> to
    /// <paramref name="patch"/> + <paramref name="tile"/> − 1 below the tile's first, under its own columns. The tiles of a row
    /// then stream those rows in order, a row of tiles ahead. The transform's own loads jump between the patch's six or eight rows
    /// and across each pixel's lines, a pattern the hardware prefetcher does not follow: from memory, they waited on every line.
    /// Rows past the sample are left alone.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void PrefetchNextRows(float* x, in Conv2DGeometry g, int tile, int patch, long t, int tileCols, long tilesPerSample)
    {
        TileOrigin(t, tileCols, tilesPerSample, out long sample, out int ty, out int tx);
        int c = g.InputChannels, w = g.InputWidth;
        int x0 = tile * tx, x1 = Math.Min(x0 + tile, w), first = tile * ty - g.PadTop + patch;
        float* xs = x + sample * g.InputSize;
        for (int iy = Math.Max(first, 0), end = Math.Min(first + tile, g.InputHeight); iy < end && x0 < x1; iy++)
        {
            byte* from = (byte*)(xs + ((nint)iy * w + x0) * c), to = (byte*)(xs + ((nint)iy * w + x1) * c);
            for (byte* p = from; p < to; p += 64) Sse.Prefetch1(p);
        }
    }

    /// <summary>
    /// rows[i·patch + j] = the input pixel (all C channels) under row i, column j of tile t's
    /// <paramref name="patch"/> × <paramref name="patch"/> patch (tiles <paramref name="tile"/> outputs apart), or zeros outside the image.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void PatchRows(float* x, in Conv2DGeometry g, int tile, int patch, long t, int tileCols, long tilesPerSample, float* zeros, float** rows)
    {
        int c = g.InputChannels, h = g.InputHeight, w = g.InputWidth;
        TileOrigin(t, tileCols, tilesPerSample, out long sample, out int ty, out int tx);
        float* xs = x + sample * g.InputSize;
        int iy0 = tile * ty - g.PadTop, ix0 = tile * tx - g.PadLeft;
        if (Vector256.IsHardwareAccelerated)
        {
            PatchRowsInVectors(xs, iy0, ix0, h, w, c, patch, zeros, rows);
            return;
        }
        for (int i = 0; i < patch; i++)
        {
            int iy = iy0 + i;
            for (int j = 0; j < patch; j++)
            {
                int ix = ix0 + j;
                rows[i * patch + j] = (uint)iy < (uint)h && (uint)ix < (uint)w ? xs + ((nint)iy * w + ix) * c : zeros;
            }
        }
    }

    /// <summary>
    /// <see cref="PatchRows"/>' pointers four at a time (a patch has 16, 36 or 64). One by one they took a quarter of a
    /// 16 → 16 F(4×4, 3×3) forward at 28×28, where each tile's 36 pointers serve a single vector of channels. In 256-bit
    /// vectors for both paths: eight at a time in zmm measured level with them.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void PatchRowsInVectors(float* xs, int iy0, int ix0, int h, int w, int c, int patch, float* zeros, float** rows)
    {
        (long[] rowOf, long[] columnOf) = patch switch
        {
            4 => (s_rowOf4, s_columnOf4),
            6 => (s_rowOf6, s_columnOf6),
            8 => (s_rowOf8, s_columnOf8),
            _ => throw new ArgumentOutOfRangeException(nameof(patch), patch, "Winograd patches are 4, 6 or 8 pixels a side"),
        };
        Vector256<long> top = Vector256.Create((long)iy0), left = Vector256.Create((long)ix0), width = Vector256.Create((long)w);
        Vector256<long> pixelBytes = Vector256.Create((long)c * sizeof(float)), origin = Vector256.Create((long)xs), outside = Vector256.Create((long)zeros);
        Vector256<ulong> heightU = Vector256.Create((ulong)h), widthU = Vector256.Create((ulong)w);
        fixed (long* pr = rowOf, pc = columnOf)
        {
            for (int k = 0; k < rowOf.Length; k += 4)
            {
                Vector256<long> iy = top + Vector256.Load(pr + k), ix = left + Vector256.Load(pc + k);
                Vector256<long> inside = (Vector256.LessThan(iy.AsUInt64(), heightU) & Vector256.LessThan(ix.AsUInt64(), widthU)).AsInt64();
                Vector256<long> at = origin + (iy * width + ix) * pixelBytes;
                Vector256.ConditionalSelect(inside, at, outside).Store((long*)rows + k);
            }
        }
    }

    // The row and column of each patch entry i·patch + j.
    private static readonly long[] s_rowOf4 = PatchEntries(4, row: true), s_columnOf4 = PatchEntries(4, row: false);
    private static readonly long[] s_rowOf6 = PatchEntries(6, row: true), s_columnOf6 = PatchEntries(6, row: false);
    private static readonly long[] s_rowOf8 = PatchEntries(8, row: true), s_columnOf8 = PatchEntries(8, row: false);

    private static long[] PatchEntries(int patch, bool row)
    {
        var entries = new long[patch * patch];
        for (int e = 0; e < entries.Length; e++) entries[e] = row ? e / patch : e % patch;
        return entries;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Row(float** rows, int i, int cc, out Vector512<float> a, out Vector512<float> b, out Vector512<float> c, out Vector512<float> d)
    {
        a = Vector512.Load(rows[i * 4] + cc);
        b = Vector512.Load(rows[i * 4 + 1] + cc);
        c = Vector512.Load(rows[i * 4 + 2] + cc);
        d = Vector512.Load(rows[i * 4 + 3] + cc);
    }

    /// <summary>One row of Bᵀ·d times B: t0 − t2, t1 + t2, t2 − t1, t1 − t3 at ξ = first .. first + 3.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void InputColumns(Vector512<float> a, Vector512<float> b, Vector512<float> c, Vector512<float> d, float* o, long plane, int first)
    {
        Vector512.Store(a - c, o + first * plane);
        Vector512.Store(b + c, o + (first + 1) * plane);
        Vector512.Store(c - b, o + (first + 2) * plane);
        Vector512.Store(b - d, o + (first + 3) * plane);
    }
}

