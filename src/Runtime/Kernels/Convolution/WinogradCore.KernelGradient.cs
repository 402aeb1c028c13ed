using System;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using Kiln.Threading;

namespace Kiln.Kernels;

/// <summary>
/// The kernel gradient of the F(2×2, 3×3) forward, which is its exact adjoint: per tile, the input
/// transform V = Bᵀ·d·B and the output gradient taken back through the output transform,
/// dM = A·dy·Aᵀ; then 16 GEMMs dU[ξ] = Σ_tiles V[ξ]ᵀ·dM[ξ] (C × K each, reduced over tiles), and
/// finally dW = Gᵀ·dU·G. F(4×4, 3×3) where <see cref="FourByFourKernelGradient"/> says so, with 36
/// planes (WinogradCore.F4x4.cs has its transforms). The tiles are summed in a fixed number of groups (a
/// function of the problem only) added in group order, so the result is identical for any thread count.
/// </summary>
internal static unsafe partial class WinogradCore
{
    /// <summary>
    /// Tiles per block here. The GEMMs reduce over the block's tiles and read and write the planes × C × K
    /// sums once a block, so a block is at least long enough for the sums to cost no more than its V and dM
    /// (2·C·K / (C + K) tiles, at most 64), and longer where V and dM still fit in about 512 KiB (at most 128).
    /// Kiln.Benchmarks --only winotile, winofive: 16×16 128 → 128 F(4×4, 3×3) 1.5× faster at 64 tiles than at 8.
    /// </summary>
    internal static int KernelTilesPerBlock(int c, int k, int planes = 16)
    {
        int fits = Math.Clamp(131072 / (planes * (c + k)) / MR * MR, MR, 128);
        int balance = (int)Math.Min(2L * c * k / (c + k), 64) / MR * MR;
        return Math.Max(fits, balance);
    }

    /// <summary>
    /// The kernel gradient's own rule: F(4×4) where the forward takes it and the output fills whole 4×4
    /// tiles. Its GEMMs reduce over tiles, so padded edge tiles cost more here than in the forward pass
    /// (Kiln.Benchmarks --only winotile: 0.9× on 14×14 32 → 64).
    /// </summary>
    internal static bool FourByFourKernelGradient(in Conv2DGeometry g) =>
        FourByFour(g) && (WinogradConv2D.ForcedTile == 4 || (g.OutputHeight % 4 == 0 && g.OutputWidth % 4 == 0));

    /// <summary>The algorithm the kernel gradient takes for <paramref name="g"/> (3×3 or 5×5, stride 1).</summary>
    internal static WinogradAlgorithm KernelGradientAlgorithm(in Conv2DGeometry g) => Algorithm(g.KernelHeight, FourByFourKernelGradient(g));

    /// <summary>dKernel (r, r, C, K) = ∂/∂w of Σ dz·conv(x, w) for the stride-1 geometry <paramref name="g"/>, overwritten.</summary>
    public static void KernelGradient(float* x, float* dz, float* dKernel, int n, in Conv2DGeometry g)
    {
        var job = PrepareKernelGradient(x, dz, dKernel, n, g, false, out int parts);
        if (job is null) return;
        try
        {
            WorkerPool.Shared.Run(job, parts);
            KernelEndsJob.Adjoint(job.Algorithm, job.Partials, job.Groups, dKernel, g.InputChannels, g.OutputChannels);
        }
        finally { job.Clear(); }
    }

    /// <summary>
    /// The most groups of a kernel gradient run in one pool call beside its data gradient (<see cref="Backward"/>): one
    /// per core, up to 8. It depends on the machine, never on the thread setting, so any thread count gives the same
    /// bits. Every group's partial (36·C·K floats in F(4×4, 3×3)) is summed after the products; the data gradient's
    /// parts keep busy any thread the groups leave. On 2 cores 8 groups cost the CIFAR net's step 3.1 % and the
    /// Fashion CNN's 1.0 % against 2 (paired, Zen 5, stop 51). A kernel gradient alone, and the im2col paths, keep
    /// <see cref="ConvCore.KernelGradGroups"/>: there the groups are the only parts, and at 2 the narrow GAN's step ran
    /// 4.6 % slower. Tests set it to take the paths of other machines.
    /// </summary>
    internal static int GroupsBesideDataGradient { get; set; } = Math.Clamp(Environment.ProcessorCount, 1, 8);

    /// <summary>
    /// <see cref="KernelGradient"/>'s job over its groups of tiles, set up for <paramref name="parts"/> parts (one per group); the
    /// caller runs it on the pool, then sums the groups (KernelEndsJob.Adjoint) and clears it. Null, with dKernel cleared, when
    /// there is no tile.
    /// </summary>
    private static KernelJob? PrepareKernelGradient(float* x, float* dz, float* dKernel, int n, in Conv2DGeometry g, bool besideData, out int parts)
    {
        parts = 0;
        int c = g.InputChannels, k = g.OutputChannels;
        WinogradAlgorithm algorithm = KernelGradientAlgorithm(g);
        int tile = algorithm.Tile(), planes = algorithm.Planes();
        int th = (g.OutputHeight + tile - 1) / tile, tw = (g.OutputWidth + tile - 1) / tile;
        long tiles = (long)n * th * tw;
        if (tiles == 0)
        {
            new Span<float>(dKernel, g.KernelHeight * g.KernelWidth * c * k).Clear();
            return null;
        }
        int block = KernelTilesPerBlock(c, k, planes);
        long blocks = (tiles + block - 1) / block;
        long size = (long)planes * c * k;
        // Groups as in ConvCore.BackwardKernel: about 4 MFLOP of products each, at most 8, and at most
        // 64 MiB of partial sums for wide layers (512 × 512 channels: 4 groups in F(2×2)).
        long byMemory = Math.Max(2, (16L << 20) / size);
        int groups = (int)Math.Min(ConvCore.KernelGradientGroups(2L * planes * tiles * c * k, blocks), byMemory);
        if (besideData) groups = Math.Min(groups, GroupsBesideDataGradient);
        var job = KernelJob.ForCurrentThread;
        job.X = x; job.Dz = dz; job.G = g; job.TileRows = th; job.TileCols = tw; job.Tiles = tiles;
        job.Block = block; job.Blocks = blocks; job.Groups = groups; job.Algorithm = algorithm;
        job.VPlane = PlaneStride(block, c); job.MPlane = PlaneStride(block, k);
        job.PrefetchInput = PrefetchesInput(g, n);
        job.Partials = ConvScratch.Current.Floats(ConvScratch.PartialsSlot, groups * size);
        parts = groups == 1 ? 1 : Math.Min(groups, KilnSettings.Threads * ConvCore.PartsPerThread);
        return job;
    }

    /// <summary>dW = Gᵀ·dU·G: rows u0 + (u1 + u2)/2, (u1 − u2)/2, (u1 + u2)/2 + u3, then the same on columns.</summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static void KernelFromTransformed(float* du, float* dKernel, int c, int k, int c0, int c1)
    {
        long plane = (long)c * k;
        nint tap = (nint)c * k;
        var half = Vector512.Create(0.5f);
        for (int cc = c0; cc < c1; cc++)
        {
            for (int j = 0; j < k; j += 16)
            {
                float* p = du + (nint)cc * k + j;
                var u00 = Vector512.Load(p); var u01 = Vector512.Load(p + plane); var u02 = Vector512.Load(p + 2 * plane); var u03 = Vector512.Load(p + 3 * plane);
                var u10 = Vector512.Load(p + 4 * plane); var u11 = Vector512.Load(p + 5 * plane); var u12 = Vector512.Load(p + 6 * plane); var u13 = Vector512.Load(p + 7 * plane);
                var u20 = Vector512.Load(p + 8 * plane); var u21 = Vector512.Load(p + 9 * plane); var u22 = Vector512.Load(p + 10 * plane); var u23 = Vector512.Load(p + 11 * plane);
                var u30 = Vector512.Load(p + 12 * plane); var u31 = Vector512.Load(p + 13 * plane); var u32 = Vector512.Load(p + 14 * plane); var u33 = Vector512.Load(p + 15 * plane);
                float* o = dKernel + (nint)cc * k + j;
                KernelGradientRow(u00 + (u10 + u20) * half, u01 + (u11 + u21) * half, u02 + (u12 + u22) * half, u03 + (u13 + u23) * half, o, tap);
                KernelGradientRow((u10 - u20) * half, (u11 - u21) * half, (u12 - u22) * half, (u13 - u23) * half, o + 3 * tap, tap);
                KernelGradientRow((u10 + u20) * half + u30, (u11 + u21) * half + u31, (u12 + u22) * half + u32, (u13 + u23) * half + u33, o + 6 * tap, tap);
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void KernelGradientRow(Vector512<float> a, Vector512<float> b, Vector512<float> c, Vector512<float> d, float* o, nint tap)
    {
        var half = Vector512.Create(0.5f);
        Vector512.Store(a + (b + c) * half, o);
        Vector512.Store((b - c) * half, o + tap);
        Vector512.Store((b + c) * half + d, o + 2 * tap);
    }

    private sealed class KernelJob : ParallelJob
    {
        [ThreadStatic] private static KernelJob? t_instance;
        public static KernelJob ForCurrentThread => t_instance ??= new KernelJob();

        public float* X, Dz, Partials;
        public Conv2DGeometry G;
        public int TileRows, TileCols, Block, Groups;
        public long Tiles, Blocks, VPlane, MPlane;
        public WinogradAlgorithm Algorithm;
        /// <summary>The 6- and 8-point input transforms prefetch the image rows ahead (<see cref="PrefetchesInput"/>).</summary>
        public bool PrefetchInput;

        /// <summary>Drops the call's pointers once it is done.</summary>
        public void Clear() => X = Dz = Partials = null;

        public override void Execute(int part, int parts)
        {
            // Groups are dealt to parts in a fixed pattern; which thread runs a group never matters.
            for (int grp = part; grp < Groups; grp += parts) RunGroup(grp);
        }

        private void RunGroup(int grp)
        {
            int c = G.InputChannels, k = G.OutputChannels, planes = Algorithm.Planes();
            long size = (long)planes * c * k;
            float* du = Partials + grp * size;
            long b0 = grp * Blocks / Groups, b1 = (grp + 1) * Blocks / Groups;
            ConvScratch s = ConvScratch.Current;
            float* v = s.Floats(VSlot, (long)planes * VPlane);
            float* dm = s.Floats(MSlot, (long)planes * MPlane);
            float* zeros = s.Zeros(Math.Max(c, k));
            float** rows = s.Pointers(64);
            Vector512<float>* tmp = stackalloc Vector512<float>[64];
            long tilesPerSample = (long)TileRows * TileCols;
            // The 6-point input transforms in registers write V as the 512-bit GEMM's packed A, in one k block (so a block of
            // tiles no deeper than GemmScratch.KBlock cuts): no PackA.
            bool panels = TransformsInRegisters && Simd.Use512 && MicroKernel512.MR == 8 && GemmScratch.KBlock(Block) >= Block
                && Algorithm is WinogradAlgorithm.F4x4For3x3 or WinogradAlgorithm.F2x2For5x5;
            for (long blk = b0; blk < b1; blk++)
            {
                long t0 = blk * Block;
                int count = (int)Math.Min(Block, Tiles - t0);
                switch (Algorithm)
                {
                    case WinogradAlgorithm.F2x2For3x3:
                        InputTransform(X, G, TileCols, tilesPerSample, VPlane, t0, count, v, zeros, rows);
                        GradientTransform(t0, count, dm, zeros);
                        break;
                    case WinogradAlgorithm.F4x4For3x3:
                        if (panels) InputTransform6(X, G, 4, TileCols, tilesPerSample, VPlane, t0, count, v, zeros, rows, new Panels8(8L * count), PrefetchInput);
                        else InputTransform6(X, G, 4, TileCols, tilesPerSample, VPlane, t0, count, v, zeros, rows, tmp, PrefetchInput);
                        GradientTransform4(Dz, G, TileCols, tilesPerSample, MPlane, t0, count, dm, zeros, tmp);
                        break;
                    case WinogradAlgorithm.F2x2For5x5:
                        if (panels) InputTransform6(X, G, 2, TileCols, tilesPerSample, VPlane, t0, count, v, zeros, rows, new Panels8(8L * count), PrefetchInput);
                        else InputTransform6(X, G, 2, TileCols, tilesPerSample, VPlane, t0, count, v, zeros, rows, tmp, PrefetchInput);
                        GradientTransform5(Dz, G, TileCols, tilesPerSample, MPlane, t0, count, dm, zeros, tmp);
                        break;
                    case WinogradAlgorithm.F4x4For5x5:
                        InputTransform8(X, G, TileCols, tilesPerSample, VPlane, t0, count, v, zeros, rows, tmp, PrefetchInput);
                        GradientTransform8(Dz, G, TileCols, tilesPerSample, MPlane, t0, count, dm, zeros, tmp);
                        break;
                    default: throw new InvalidOperationException($"no transforms for {Algorithm}");
                }
                for (int xi = 0; xi < planes; xi++)
                {
                    float* vx = v + xi * VPlane, dmx = dm + xi * MPlane, dux = du + xi * (long)c * k;
                    if (panels)
                        GemmDriver.Serial<MicroKernel512, Identity>(true, false, c, k, count, vx, c, dmx, k, dux, k, blk > b0, null, false, default, packedA: vx);
                    else ConvCore.GemmSerial(true, false, c, k, count, vx, c, dmx, k, dux, k, blk > b0, null, false, default(Identity));
                }
            }
        }

        /// <summary>dm[ξ][r][k] = (A·dy·Aᵀ)[ξ] for the 2×2 outputs of tile t0 + r (zeros past the edge): rows p, p + q, p − q, −q.</summary>
        private void GradientTransform(long t0, int count, float* dm, float* zeros)
        {
            ref readonly Conv2DGeometry g = ref G;
            int k = g.OutputChannels;
            long plane = MPlane, tilesPerSample = (long)TileRows * TileCols;
            for (int r = 0; r < count; r++)
            {
                TileCorners(Dz, g, t0 + r, TileCols, tilesPerSample, zeros, out float* p00, out float* p01, out float* p10, out float* p11);
                float* o = dm + (nint)r * k;
                for (int j = 0; j < k; j += 16)
                {
                    var a = Vector512.Load(p00 + j); var b = Vector512.Load(p01 + j);
                    var c = Vector512.Load(p10 + j); var d = Vector512.Load(p11 + j);
                    GradientColumns(a, b, o + j, plane, 0);
                    GradientColumns(a + c, b + d, o + j, plane, 4);
                    GradientColumns(a - c, b - d, o + j, plane, 8);
                    GradientColumns(-c, -d, o + j, plane, 12);
                }
            }
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static void GradientColumns(Vector512<float> p, Vector512<float> q, float* o, long plane, int first)
        {
            Vector512.Store(p, o + first * plane);
            Vector512.Store(p + q, o + (first + 1) * plane);
            Vector512.Store(p - q, o + (first + 2) * plane);
            Vector512.Store(-q, o + (first + 3) * plane);
        }
    }
}
