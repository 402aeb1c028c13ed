using System;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using Kiln.Threading;

namespace Kiln.Kernels;

/// <summary>
/// The direct convolution behind <see cref="DirectConv2D"/>. The batch is split into bands of whole
/// output rows of one sample; a worker copies the input rows its band reads into a zero-padded
/// block (so every tap of every pixel is in bounds and at the same offset from the pixel's window),
/// then runs register tiles of consecutive pixels × filters: for each of the K = kh·kw·C patch
/// values, one broadcast per pixel against the filter vectors of that kernel row. The K-long sum of
/// each output is one FMA chain in patch order, whatever the split, so results are bitwise identical
/// for any thread count. Fused with a 2×2 max pooling, a band is an even number of rows, and each window
/// is a register tile of its four pixels whose activations are pooled before the store (the scalar path
/// computes the band into a per-thread buffer and pools it with Pooling's own loop).
/// </summary>
internal static unsafe class DirectCore
{
    /// <summary>Output pixels per band, about: enough tiles to amortize the padded copy, small enough to split a small batch.</summary>
    internal const int BandPixels = 128;

    /// <summary>
    /// y = act(conv(x, kernel) + bias); with <paramref name="pool"/>, y is its 2×2 max pooling, ⌊OH/2⌋ × ⌊OW/2⌋ per sample,
    /// and <paramref name="argmax"/> (null = none) each window's winner as Pooling.MaxForward gives it (its flat index in the sample's unpooled output).
    /// </summary>
    public static void Forward<TAct>(float* x, float* kernel, float* bias, float* y, int n, in Conv2DGeometry g, TAct act, bool pool = false, int* argmax = null)
        where TAct : struct, IActivation
    {
        if (n == 0) return;
        int f = g.OutputChannels, k = g.PatchSize, c = g.InputChannels, kw = g.KernelWidth;
        int bits = Simd.Use512 ? 512 : Simd.Use256 ? 256 : 0;
        int nr = bits == 512 ? Tile512.NR : bits == 256 ? Tile256.NR : 0;
        int bandRows = Math.Clamp(BandPixels / g.OutputWidth, 1, g.OutputHeight);
        // A pooling window must not straddle two bands.
        if (pool) bandRows = Math.Max(2, bandRows & ~1);
        int bands = (g.OutputHeight + bandRows - 1) / bandRows;
        int paddedWidth = (g.OutputWidth - 1) * g.StrideWidth + kw;

        // The caller's block: the last, partial filter tile's zero-padded kernel columns and bias (so
        // the tile always runs full width), then each patch value's offset from its window's corner.
        int edge = nr == 0 ? 0 : f % nr;
        float* block = ConvScratch.Current.Floats(2, (long)(k + 1) * Math.Max(nr, 1) + k);
        float* edgeKernel = block, edgeBias = block + (nint)k * Math.Max(nr, 1);
        int* offsets = (int*)(edgeBias + Math.Max(nr, 1));
        for (int i = 0; i < g.KernelHeight; i++)
            for (int j = 0; j < kw; j++)
                for (int ch = 0; ch < c; ch++)
                    offsets[(i * kw + j) * c + ch] = (i * paddedWidth + j) * c + ch;
        if (edge != 0)
        {
            int j0 = f - edge;
            for (int p = 0; p < k; p++)
            {
                float* src = kernel + (nint)p * f + j0, dst = edgeKernel + (nint)p * nr;
                for (int j = 0; j < nr; j++) dst[j] = j < edge ? src[j] : 0f;
            }
            for (int j = 0; j < nr; j++) edgeBias[j] = bias != null && j < edge ? bias[j0 + j] : 0f;
        }

        var job = Job<TAct>.ForCurrentThread;
        job.X = x; job.Kernel = kernel; job.Bias = bias; job.Y = y; job.Argmax = argmax; job.G = g; job.Act = act; job.Pool = pool;
        job.EdgeKernel = edge != 0 ? edgeKernel : null; job.EdgeBias = edge != 0 ? edgeBias : null; job.Offsets = offsets;
        job.Bits = bits; job.BandRows = bandRows; job.Bands = bands; job.Units = (long)n * bands; job.PaddedWidth = paddedWidth;
        long flops = 2L * n * g.OutputHeight * g.OutputWidth * k * f;
        int parts = ConvCore.PartsFor(flops, (int)Math.Min(job.Units, int.MaxValue));
        try { WorkerPool.Shared.Run(job, parts); }
        finally { job.X = job.Kernel = job.Bias = job.Y = job.EdgeKernel = job.EdgeBias = null; job.Offsets = job.Argmax = null; }
    }

    private sealed class Job<TAct> : ParallelJob where TAct : struct, IActivation
    {
        [ThreadStatic] private static Job<TAct>? t_instance;
        public static Job<TAct> ForCurrentThread => t_instance ??= new Job<TAct>();

        public float* X, Kernel, Bias, Y, EdgeKernel, EdgeBias;
        public int* Offsets, Argmax;
        public Conv2DGeometry G;
        public TAct Act;
        public bool Pool;
        public int Bits, BandRows, Bands, PaddedWidth;
        public long Units;

        public override void Execute(int part, int parts)
        {
            long u0 = part * Units / parts, u1 = (part + 1) * Units / parts;
            if (u1 <= u0) return;
            ref readonly Conv2DGeometry g = ref G;
            int bandInputRows = (BandRows - 1) * g.StrideHeight + g.KernelHeight;
            float* padded = ConvScratch.Current.Floats(ConvScratch.DirectBandSlot, (long)bandInputRows * PaddedWidth * g.InputChannels);
            int f = g.OutputChannels, pooledWidth = g.OutputWidth / 2;
            float* band = Pool && Bits == 0 ? ConvScratch.Current.Floats(ConvScratch.DirectPooledBandSlot, (long)BandRows * g.OutputWidth * f) : null;
            for (long u = u0; u < u1; u++)
            {
                long b = u / Bands;
                int oh0 = (int)(u - b * Bands) * BandRows;
                int rows = Math.Min(BandRows, g.OutputHeight - oh0);
                FillBand(X + b * g.InputSize, g, oh0, (rows - 1) * g.StrideHeight + g.KernelHeight, PaddedWidth, padded);
                long pooledAt = (b * (g.OutputHeight / 2) + oh0 / 2) * (long)pooledWidth * f;
                if (Pool && Bits != 0)
                {
                    // Each pooling window is one register tile, pooled as it is stored; an odd last row is dropped (valid).
                    if (Argmax == null)
                    {
                        if (Bits == 512) Windows<WindowTile512, NoWinners>(padded, rows / 2, oh0, Y + pooledAt, null);
                        else Windows<WindowTile256, NoWinners>(padded, rows / 2, oh0, Y + pooledAt, null);
                    }
                    else if (Bits == 512) Windows<WindowTile512, KeepWinners>(padded, rows / 2, oh0, Y + pooledAt, Argmax + pooledAt);
                    else Windows<WindowTile256, KeepWinners>(padded, rows / 2, oh0, Y + pooledAt, Argmax + pooledAt);
                    continue;
                }
                int pixels = rows * g.OutputWidth;
                float* y = Pool ? band : Y + (b * g.OutputHeight + oh0) * (long)g.OutputWidth * f;
                if (Bits == 512) Tiles<Tile512>(padded, pixels, y);
                else if (Bits == 256) Tiles<Tile256>(padded, pixels, y);
                else Scalar(padded, pixels, y);
                if (Pool && rows >= 2)
                {
                    // The band's rows pair up from oh0 (even), so its windows are the image's; an odd last row is dropped (valid).
                    var window = new Conv2DGeometry(rows, g.OutputWidth, f, rows / 2, pooledWidth, f, 2, 2, 2, 2, 0, 0);
                    if (Argmax == null)
                    {
                        Pooling.MaxValuesSample(band, Y + pooledAt, window);
                        continue;
                    }
                    // The winners' indices within the band, then within the sample's output.
                    int* argmax = Argmax + pooledAt;
                    Pooling.MaxSample(band, Y + pooledAt, argmax, window);
                    int first = oh0 * g.OutputWidth * f;
                    for (int i = 0; i < window.OutputSize; i++) argmax[i] += first;
                }
            }
        }

        /// <summary>The band's pixels in tiles of <c>TTile.MR</c>, each against the filters in tiles of <c>TTile.NR</c>; the last, partial filter tile through the zero-padded edge block.</summary>
        /// <remarks>
        /// This and <c>Windows</c> are compiled fully optimized from the first call with their tiles inlined:
        /// a one-channel 3×3 layer's tile is 9 k steps, and a call's prologue, arguments and vzeroupper cost a sixth
        /// of it (the Fashion CNN's first layer, batch 64, 1 thread, Zen 3: pooled 510 → 460 µs, unpooled
        /// 641–659 → 603–637 µs; the 512-bit tiles are inlined alike).
        /// </remarks>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private void Tiles<TTile>(float* padded, int pixels, float* y) where TTile : IDirectTile
        {
            ref readonly Conv2DGeometry g = ref G;
            int f = g.OutputChannels, k = g.PatchSize, mr = TTile.MR, nr = TTile.NR;
            float** at = stackalloc float*[mr];
            float* tile = stackalloc float[mr * nr];
            int row = 0, col = 0;
            for (int q0 = 0; q0 < pixels; q0 += mr)
            {
                int valid = Math.Min(mr, pixels - q0);
                NextPixels(padded, at, mr, valid, ref row, ref col);
                float* yq = y + (nint)q0 * f;
                int j0 = 0;
                for (; j0 + nr <= f; j0 += nr)
                    TTile.Run(at, Offsets, k, Kernel + j0, f, yq + j0, f, valid, Bias == null ? null : Bias + j0, Act);
                if (j0 < f && typeof(TTile) == typeof(Tile512) && f - j0 == 16)
                    Tile512Sixteen.Run(at, Offsets, k, Kernel + j0, f, yq + j0, f, valid, Bias == null ? null : Bias + j0, Act);
                else if (j0 < f)
                {
                    TTile.Run(at, Offsets, k, EdgeKernel, nr, tile, nr, valid, EdgeBias, Act);
                    GemmDriver.CopyColumns(tile, nr, yq + j0, f, valid, f - j0);
                }
            }
        }

        /// <summary>
        /// The band's 2×2 pooling windows (<paramref name="windowRows"/> rows of ⌊OW/2⌋), each one tile of its four
        /// pixels × <c>TTile.NR</c> filters; the last, partial filter tile through the zero-padded edge block.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private void Windows<TTile, TWinners>(float* padded, int windowRows, int oh0, float* pooled, int* argmax) where TTile : IWindowTile where TWinners : struct, IWinners
        {
            ref readonly Conv2DGeometry g = ref G;
            int f = g.OutputChannels, k = g.PatchSize, nr = TTile.NR, pw = g.OutputWidth / 2;
            nint right = (nint)g.StrideWidth * g.InputChannels, down = (nint)g.StrideHeight * PaddedWidth * g.InputChannels;
            float* tile = stackalloc float[nr];
            int* tileIndices = stackalloc int[nr];
            for (int wy = 0; wy < windowRows; wy++)
            {
                for (int wx = 0; wx < pw; wx++)
                {
                    float* corner = padded + 2 * wy * down + 2 * wx * right;
                    nint o = ((nint)wy * pw + wx) * f;
                    float* y = pooled + o;
                    int j0 = 0;
                    if (typeof(TWinners) == typeof(NoWinners))
                    {
                        for (; j0 + nr <= f; j0 += nr)
                            TTile.Run<TAct, TWinners>(corner, right, down, Offsets, k, Kernel + j0, f, y + j0, Bias == null ? null : Bias + j0, Act, default);
                        if (j0 < f)
                        {
                            TTile.Run<TAct, TWinners>(corner, right, down, Offsets, k, EdgeKernel, nr, tile, EdgeBias, Act, default);
                            GemmDriver.CopyColumns(tile, nr, y + j0, f, 1, f - j0);
                        }
                        continue;
                    }
                    int* winners = argmax + o;
                    // The window's top-left pixel's index in the sample's unpooled output, channel 0.
                    var indices = new WindowIndices(null, ((oh0 + 2 * wy) * g.OutputWidth + 2 * wx) * f, f, g.OutputWidth * f);
                    for (; j0 + nr <= f; j0 += nr)
                        TTile.Run<TAct, TWinners>(corner, right, down, Offsets, k, Kernel + j0, f, y + j0, Bias == null ? null : Bias + j0, Act, indices.At(winners + j0, j0));
                    if (j0 < f)
                    {
                        TTile.Run<TAct, TWinners>(corner, right, down, Offsets, k, EdgeKernel, nr, tile, EdgeBias, Act, indices.At(tileIndices, j0));
                        GemmDriver.CopyColumns(tile, nr, y + j0, f, 1, f - j0);
                        for (int j = 0; j < f - j0; j++) winners[j0 + j] = tileIndices[j];
                    }
                }
            }
        }

        /// <summary>The reference path: each output a K-long sum in patch order, then bias and activation.</summary>
        private void Scalar(float* padded, int pixels, float* y)
        {
            ref readonly Conv2DGeometry g = ref G;
            int f = g.OutputChannels, k = g.PatchSize;
            float* at;
            int row = 0, col = 0;
            for (int q = 0; q < pixels; q++)
            {
                NextPixels(padded, &at, 1, 1, ref row, ref col);
                float* yq = y + (nint)q * f;
                for (int j = 0; j < f; j++)
                {
                    float sum = 0f;
                    float* w = Kernel + j;
                    for (int p = 0; p < k; p++) sum += at[Offsets[p]] * w[(nint)p * f];
                    yq[j] = Act.Apply(Bias == null ? sum : sum + Bias[j]);
                }
            }
        }

        /// <summary>at[r] = the window corner of the band's next pixels in the padded block; rows past <paramref name="valid"/> repeat the first.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private void NextPixels(float* padded, float** at, int mr, int valid, ref int row, ref int col)
        {
            ref readonly Conv2DGeometry g = ref G;
            int c = g.InputChannels;
            for (int r = 0; r < valid; r++)
            {
                at[r] = padded + ((nint)row * g.StrideHeight * PaddedWidth + (nint)col * g.StrideWidth) * c;
                if (++col == g.OutputWidth) { col = 0; row++; }
            }
            for (int r = valid; r < mr; r++) at[r] = at[0];
        }
    }

    /// <summary>
    /// padded[r, pc, :] = x[oh0·sh − padTop + r, pc − padLeft, :] for the <paramref name="inputRows"/>
    /// rows a band reads, zeros where that falls outside the image.
    /// </summary>
    internal static void FillBand(float* xs, in Conv2DGeometry g, int oh0, int inputRows, int paddedWidth, float* padded)
    {
        int c = g.InputChannels, w = g.InputWidth, left = g.PadLeft;
        int copied = Math.Clamp(paddedWidth - left, 0, w), right = paddedWidth - left - copied;
        int ih0 = oh0 * g.StrideHeight - g.PadTop;
        for (int r = 0; r < inputRows; r++)
        {
            float* d = padded + (nint)r * paddedWidth * c;
            int ih = ih0 + r;
            if ((uint)ih >= (uint)g.InputHeight)
            {
                new Span<float>(d, paddedWidth * c).Clear();
                continue;
            }
            new Span<float>(d, left * c).Clear();
            ConvCore.Copy(xs + (nint)ih * w * c, d + left * c, copied * c);
            new Span<float>(d + (left + copied) * c, right * c).Clear();
        }
    }

    /// <summary>A register tile of MR consecutive pixels × NR filters: y = act(Σ_p at[r][offsets[p]]·w[p, :] + bias) for the first <c>valid</c> pixels.</summary>
    private interface IDirectTile
    {
        static abstract int MR { get; }
        static abstract int NR { get; }
        static abstract void Run<TAct>(float** at, int* offsets, int k, float* w, nint ldw, float* y, nint ldy, int valid, float* bias, TAct act)
            where TAct : struct, IActivation;
    }

    /// <summary>8 pixels × 32 filters (16 zmm accumulators): per patch value, two kernel-row vectors and one broadcast per pixel, 16 FMAs.</summary>
    private readonly struct Tile512 : IDirectTile
    {
        public static int MR => 8;
        public static int NR => 32;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Run<TAct>(float** at, int* offsets, int k, float* w, nint ldw, float* y, nint ldy, int valid, float* bias, TAct act)
            where TAct : struct, IActivation
        {
            float* a0 = at[0], a1 = at[1], a2 = at[2], a3 = at[3], a4 = at[4], a5 = at[5], a6 = at[6], a7 = at[7];
            Vector512<float> c00 = default, c01 = default, c10 = default, c11 = default;
            Vector512<float> c20 = default, c21 = default, c30 = default, c31 = default;
            Vector512<float> c40 = default, c41 = default, c50 = default, c51 = default;
            Vector512<float> c60 = default, c61 = default, c70 = default, c71 = default;
            for (int p = 0; p < k; p++)
            {
                nint o = offsets[p];
                Vector512<float> b0 = Vector512.Load(w), b1 = Vector512.Load(w + 16);
                w += ldw;
                Vector512<float> v = Vector512.Create(a0[o]);
                c00 = Vector512.FusedMultiplyAdd(v, b0, c00); c01 = Vector512.FusedMultiplyAdd(v, b1, c01);
                v = Vector512.Create(a1[o]);
                c10 = Vector512.FusedMultiplyAdd(v, b0, c10); c11 = Vector512.FusedMultiplyAdd(v, b1, c11);
                v = Vector512.Create(a2[o]);
                c20 = Vector512.FusedMultiplyAdd(v, b0, c20); c21 = Vector512.FusedMultiplyAdd(v, b1, c21);
                v = Vector512.Create(a3[o]);
                c30 = Vector512.FusedMultiplyAdd(v, b0, c30); c31 = Vector512.FusedMultiplyAdd(v, b1, c31);
                v = Vector512.Create(a4[o]);
                c40 = Vector512.FusedMultiplyAdd(v, b0, c40); c41 = Vector512.FusedMultiplyAdd(v, b1, c41);
                v = Vector512.Create(a5[o]);
                c50 = Vector512.FusedMultiplyAdd(v, b0, c50); c51 = Vector512.FusedMultiplyAdd(v, b1, c51);
                v = Vector512.Create(a6[o]);
                c60 = Vector512.FusedMultiplyAdd(v, b0, c60); c61 = Vector512.FusedMultiplyAdd(v, b1, c61);
                v = Vector512.Create(a7[o]);
                c70 = Vector512.FusedMultiplyAdd(v, b0, c70); c71 = Vector512.FusedMultiplyAdd(v, b1, c71);
            }
            Vector512<float> bias0 = default, bias1 = default;
            if (bias != null) { bias0 = Vector512.Load(bias); bias1 = Vector512.Load(bias + 16); }
            Store512(y, c00, c01, bias0, bias1, act); if (valid == 1) return; y += ldy;
            Store512(y, c10, c11, bias0, bias1, act); if (valid == 2) return; y += ldy;
            Store512(y, c20, c21, bias0, bias1, act); if (valid == 3) return; y += ldy;
            Store512(y, c30, c31, bias0, bias1, act); if (valid == 4) return; y += ldy;
            Store512(y, c40, c41, bias0, bias1, act); if (valid == 5) return; y += ldy;
            Store512(y, c50, c51, bias0, bias1, act); if (valid == 6) return; y += ldy;
            Store512(y, c60, c61, bias0, bias1, act); if (valid == 7) return; y += ldy;
            Store512(y, c70, c71, bias0, bias1, act);
        }
    }

    /// <summary>
    /// 8 pixels × a last 16 filters (8 zmm accumulators), straight into y: the Fashion ResNet's 16-filter stem ran the
    /// 32-wide tile over 16 zero filters into a scratch tile and copied half of it out (the copy alone 1.5 % of its
    /// step). Each output is the same FMA chain, in the same order, as in <see cref="Tile512"/>: the same bits.
    /// </summary>
    private readonly struct Tile512Sixteen
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Run<TAct>(float** at, int* offsets, int k, float* w, nint ldw, float* y, nint ldy, int valid, float* bias, TAct act)
            where TAct : struct, IActivation
        {
            float* a0 = at[0], a1 = at[1], a2 = at[2], a3 = at[3], a4 = at[4], a5 = at[5], a6 = at[6], a7 = at[7];
            Vector512<float> c0 = default, c1 = default, c2 = default, c3 = default, c4 = default, c5 = default, c6 = default, c7 = default;
            for (int p = 0; p < k; p++, w += ldw)
            {
                nint o = offsets[p];
                Vector512<float> b = Vector512.Load(w);
                c0 = Vector512.FusedMultiplyAdd(Vector512.Create(a0[o]), b, c0);
                c1 = Vector512.FusedMultiplyAdd(Vector512.Create(a1[o]), b, c1);
                c2 = Vector512.FusedMultiplyAdd(Vector512.Create(a2[o]), b, c2);
                c3 = Vector512.FusedMultiplyAdd(Vector512.Create(a3[o]), b, c3);
                c4 = Vector512.FusedMultiplyAdd(Vector512.Create(a4[o]), b, c4);
                c5 = Vector512.FusedMultiplyAdd(Vector512.Create(a5[o]), b, c5);
                c6 = Vector512.FusedMultiplyAdd(Vector512.Create(a6[o]), b, c6);
                c7 = Vector512.FusedMultiplyAdd(Vector512.Create(a7[o]), b, c7);
            }
            Vector512<float> b0 = bias == null ? default : Vector512.Load(bias);
            Vector512.Store(act.Apply(c0 + b0), y); if (valid == 1) return; y += ldy;
            Vector512.Store(act.Apply(c1 + b0), y); if (valid == 2) return; y += ldy;
            Vector512.Store(act.Apply(c2 + b0), y); if (valid == 3) return; y += ldy;
            Vector512.Store(act.Apply(c3 + b0), y); if (valid == 4) return; y += ldy;
            Vector512.Store(act.Apply(c4 + b0), y); if (valid == 5) return; y += ldy;
            Vector512.Store(act.Apply(c5 + b0), y); if (valid == 6) return; y += ldy;
            Vector512.Store(act.Apply(c6 + b0), y); if (valid == 7) return; y += ldy;
            Vector512.Store(act.Apply(c7 + b0), y);
        }
    }

    /// <summary>6 pixels × 16 filters (12 ymm accumulators of the 16 registers): per patch value, two kernel-row vectors and one broadcast per pixel, 12 FMAs.</summary>
    private readonly struct Tile256 : IDirectTile
    {
        public static int MR => 6;
        public static int NR => 16;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Run<TAct>(float** at, int* offsets, int k, float* w, nint ldw, float* y, nint ldy, int valid, float* bias, TAct act)
            where TAct : struct, IActivation
        {
            float* a0 = at[0], a1 = at[1], a2 = at[2], a3 = at[3], a4 = at[4], a5 = at[5];
            Vector256<float> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default;
            Vector256<float> c30 = default, c31 = default, c40 = default, c41 = default, c50 = default, c51 = default;
            for (int p = 0; p < k; p++)
            {
                nint o = offsets[p];
                Vector256<float> b0 = Vector256.Load(w), b1 = Vector256.Load(w + 8);
                w += ldw;
                Vector256<float> v = Vector256.Create(a0[o]);
                c00 = Vector256.FusedMultiplyAdd(v, b0, c00); c01 = Vector256.FusedMultiplyAdd(v, b1, c01);
                v = Vector256.Create(a1[o]);
                c10 = Vector256.FusedMultiplyAdd(v, b0, c10); c11 = Vector256.FusedMultiplyAdd(v, b1, c11);
                v = Vector256.Create(a2[o]);
                c20 = Vector256.FusedMultiplyAdd(v, b0, c20); c21 = Vector256.FusedMultiplyAdd(v, b1, c21);
                v = Vector256.Create(a3[o]);
                c30 = Vector256.FusedMultiplyAdd(v, b0, c30); c31 = Vector256.FusedMultiplyAdd(v, b1, c31);
                v = Vector256.Create(a4[o]);
                c40 = Vector256.FusedMultiplyAdd(v, b0, c40); c41 = Vector256.FusedMultiplyAdd(v, b1, c41);
                v = Vector256.Create(a5[o]);
                c50 = Vector256.FusedMultiplyAdd(v, b0, c50); c51 = Vector256.FusedMultiplyAdd(v, b1, c51);
            }
            ConvCore.StoreSixRows256(y, ldy, valid, bias, act, c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51);
        }
    }

    /// <summary>
    /// One 2×2 pooling window × NR filters: y = the max, in Pooling's order (top left, top right, bottom left,
    /// bottom right; a later value wins only when greater), of act(Σ_p pixel[offsets[p]]·w[p, :] + bias) over the
    /// window's four pixels, each sum the same FMA chain as <see cref="IDirectTile"/>'s, so the same bits as the
    /// convolution followed by the pooling, without the unpooled tile ever leaving the registers.
    /// With <see cref="KeepWinners"/>, also each filter's winner's flat index in the sample's unpooled output (<see cref="WindowIndices"/>).
    /// </summary>
    private interface IWindowTile
    {
        static abstract int NR { get; }
        static abstract void Run<TAct, TWinners>(float* corner, nint right, nint down, int* offsets, int k, float* w, nint ldw, float* y, float* bias, TAct act,
            in WindowIndices indices)
            where TAct : struct, IActivation where TWinners : struct, IWinners;
    }

    /// <summary>
    /// Where a window tile stores its winners' indices (<c>Argmax</c>, one per filter) and what they are: <c>First</c>, the window's
    /// top-left pixel's index in the sample's unpooled output at the tile's first filter, plus <c>Right</c> for the top-right pixel,
    /// <c>Below</c> for the bottom-left, both for the bottom-right. One argument by reference, so inference's tile takes no more than before.
    /// </summary>
    private readonly struct WindowIndices(int* argmax, int first, int right, int below)
    {
        public readonly int* Argmax = argmax;
        public readonly int First = first, Right = right, Below = below;

        /// <summary>The same window from filter <paramref name="j0"/> on, storing into <paramref name="into"/>.</summary>
        public WindowIndices At(int* into, int j0) => new(into, First + j0, Right, Below);
    }

    /// <summary>Whether a window tile also stores its winners' indices (training) or not (inference): a type argument, so each is its own compiled tile.</summary>
    private interface IWinners;

    private readonly struct NoWinners : IWinners;

    private readonly struct KeepWinners : IWinners;

    /// <summary>4 pixels × 16 filters (8 ymm accumulators): per patch value, two kernel-row vectors and four broadcasts.</summary>
    private readonly struct WindowTile256 : IWindowTile
    {
        public static int NR => 16;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Run<TAct, TWinners>(float* corner, nint right, nint down, int* offsets, int k, float* w, nint ldw, float* y, float* bias, TAct act,
            in WindowIndices indices)
            where TAct : struct, IActivation where TWinners : struct, IWinners
        {
            float* a0 = corner, a1 = corner + right, a2 = corner + down, a3 = corner + down + right;
            Vector256<float> c00 = default, c01 = default, c10 = default, c11 = default;
            Vector256<float> c20 = default, c21 = default, c30 = default, c31 = default;
            for (int p = 0; p < k; p++)
            {
                nint o = offsets[p];
                Vector256<float> b0 = Vector256.Load(w), b1 = Vector256.Load(w + 8);
                w += ldw;
                Vector256<float> v = Vector256.Create(a0[o]);
                c00 = Vector256.FusedMultiplyAdd(v, b0, c00); c01 = Vector256.FusedMultiplyAdd(v, b1, c01);
                v = Vector256.Create(a1[o]);
                c10 = Vector256.FusedMultiplyAdd(v, b0, c10); c11 = Vector256.FusedMultiplyAdd(v, b1, c11);
                v = Vector256.Create(a2[o]);
                c20 = Vector256.FusedMultiplyAdd(v, b0, c20); c21 = Vector256.FusedMultiplyAdd(v, b1, c21);
                v = Vector256.Create(a3[o]);
                c30 = Vector256.FusedMultiplyAdd(v, b0, c30); c31 = Vector256.FusedMultiplyAdd(v, b1, c31);
            }
            Vector256<float> bias0 = default, bias1 = default;
            if (bias != null) { bias0 = Vector256.Load(bias); bias1 = Vector256.Load(bias + 8); }
            if (typeof(TWinners) == typeof(NoWinners))
            {
                if (TAct.CommutesWithMax)
                {
                    // The window's max first, then the bias and f once: adding a finite bias is monotone, so the same bits (IActivation.CommutesWithMax).
                    Vector256.Store(act.Apply(Max4(c00, c10, c20, c30) + bias0), y);
                    Vector256.Store(act.Apply(Max4(c01, c11, c21, c31) + bias1), y + 8);
                    return;
                }
                Vector256.Store(Max4(act.Apply(c00 + bias0), act.Apply(c10 + bias0), act.Apply(c20 + bias0), act.Apply(c30 + bias0)), y);
                Vector256.Store(Max4(act.Apply(c01 + bias1), act.Apply(c11 + bias1), act.Apply(c21 + bias1), act.Apply(c31 + bias1)), y + 8);
                return;
            }
            var index = Vector256<int>.Indices + Vector256.Create(indices.First);
            Max4(act.Apply(c00 + bias0), act.Apply(c10 + bias0), act.Apply(c20 + bias0), act.Apply(c30 + bias0), index, indices.Right, indices.Below, y, indices.Argmax);
            Max4(act.Apply(c01 + bias1), act.Apply(c11 + bias1), act.Apply(c21 + bias1), act.Apply(c31 + bias1), index + Vector256.Create(8), indices.Right, indices.Below, y + 8, indices.Argmax + 8);
        }

        /// <summary>The window's max and its winner's index, with Pooling's comparison in its order.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static void Max4(Vector256<float> first, Vector256<float> second, Vector256<float> third, Vector256<float> fourth,
            Vector256<int> index, int rightIndex, int belowIndex, float* y, int* argmax)
        {
            var best = first;
            var winner = index;
            Pooling.KeepGreater(second, index + Vector256.Create(rightIndex), ref best, ref winner);
            Pooling.KeepGreater(third, index + Vector256.Create(belowIndex), ref best, ref winner);
            Pooling.KeepGreater(fourth, index + Vector256.Create(belowIndex + rightIndex), ref best, ref winner);
            Vector256.Store(best, y);
            Vector256.Store(winner, argmax);
        }

        /// <summary>The window's max in Pooling's order and with its comparison.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static Vector256<float> Max4(Vector256<float> first, Vector256<float> second, Vector256<float> third, Vector256<float> fourth) =>
            Pooling.KeepGreater(fourth, Pooling.KeepGreater(third, Pooling.KeepGreater(second, first)));
    }

    /// <summary>4 pixels × 32 filters (8 zmm accumulators): per patch value, two kernel-row vectors and four broadcasts.</summary>
    private readonly struct WindowTile512 : IWindowTile
    {
        public static int NR => 32;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Run<TAct, TWinners>(float* corner, nint right, nint down, int* offsets, int k, float* w, nint ldw, float* y, float* bias, TAct act,
            in WindowIndices indices)
            where TAct : struct, IActivation where TWinners : struct, IWinners
        {
            float* a0 = corner, a1 = corner + right, a2 = corner + down, a3 = corner + down + right;
            Vector512<float> c00 = default, c01 = default, c10 = default, c11 = default;
            Vector512<float> c20 = default, c21 = default, c30 = default, c31 = default;
            for (int p = 0; p < k; p++)
            {
                nint o = offsets[p];
                Vector512<float> b0 = Vector512.Load(w), b1 = Vector512.Load(w + 16);
                w += ldw;
                Vector512<float> v = Vector512.Create(a0[o]);
                c00 = Vector512.FusedMultiplyAdd(v, b0, c00); c01 = Vector512.FusedMultiplyAdd(v, b1, c01);
                v = Vector512.Create(a1[o]);
                c10 = Vector512.FusedMultiplyAdd(v, b0, c10); c11 = Vector512.FusedMultiplyAdd(v, b1, c11);
                v = Vector512.Create(a2[o]);
                c20 = Vector512.FusedMultiplyAdd(v, b0, c20); c21 = Vector512.FusedMultiplyAdd(v, b1, c21);
                v = Vector512.Create(a3[o]);
                c30 = Vector512.FusedMultiplyAdd(v, b0, c30); c31 = Vector512.FusedMultiplyAdd(v, b1, c31);
            }
            Vector512<float> bias0 = default, bias1 = default;
            if (bias != null) { bias0 = Vector512.Load(bias); bias1 = Vector512.Load(bias + 16); }
            if (typeof(TWinners) == typeof(NoWinners))
            {
                if (TAct.CommutesWithMax)
                {
                    Vector512.Store(act.Apply(Max4(c00, c10, c20, c30) + bias0), y);
                    Vector512.Store(act.Apply(Max4(c01, c11, c21, c31) + bias1), y + 16);
                    return;
                }
                Vector512.Store(Max4(act.Apply(c00 + bias0), act.Apply(c10 + bias0), act.Apply(c20 + bias0), act.Apply(c30 + bias0)), y);
                Vector512.Store(Max4(act.Apply(c01 + bias1), act.Apply(c11 + bias1), act.Apply(c21 + bias1), act.Apply(c31 + bias1)), y + 16);
                return;
            }
            var index = Vector512<int>.Indices + Vector512.Create(indices.First);
            Max4(act.Apply(c00 + bias0), act.Apply(c10 + bias0), act.Apply(c20 + bias0), act.Apply(c30 + bias0), index, indices.Right, indices.Below, y, indices.Argmax);
            Max4(act.Apply(c01 + bias1), act.Apply(c11 + bias1), act.Apply(c21 + bias1), act.Apply(c31 + bias1), index + Vector512.Create(16), indices.Right, indices.Below, y + 16, indices.Argmax + 16);
        }

        /// <summary>The window's max and its winner's index, with Pooling's comparison in its order.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static void Max4(Vector512<float> first, Vector512<float> second, Vector512<float> third, Vector512<float> fourth,
            Vector512<int> index, int rightIndex, int belowIndex, float* y, int* argmax)
        {
            var best = first;
            var winner = index;
            Pooling.KeepGreater(second, index + Vector512.Create(rightIndex), ref best, ref winner);
            Pooling.KeepGreater(third, index + Vector512.Create(belowIndex), ref best, ref winner);
            Pooling.KeepGreater(fourth, index + Vector512.Create(belowIndex + rightIndex), ref best, ref winner);
            Vector512.Store(best, y);
            Vector512.Store(winner, argmax);
        }

        /// <summary>The window's max in Pooling's order and with its comparison.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static Vector512<float> Max4(Vector512<float> first, Vector512<float> second, Vector512<float> third, Vector512<float> fourth) =>
            Pooling.KeepGreater(fourth, Pooling.KeepGreater(third, Pooling.KeepGreater(second, first)));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store512<TAct>(float* y, Vector512<float> v0, Vector512<float> v1, Vector512<float> bias0, Vector512<float> bias1, TAct act)
        where TAct : struct, IActivation
    {
        Vector512.Store(act.Apply(v0 + bias0), y);
        Vector512.Store(act.Apply(v1 + bias1), y + 16);
    }
}
