using System;
using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Kiln.Threading;

namespace Kiln.Kernels;

/// <summary>
/// The three products every convolution-family layer is made of, on NHWC data with the kernel seen
/// as a (kh·kw·C) × F matrix and P = n·OH·OW output pixels:
/// <list type="bullet">
/// <item>Forward: y[P×F] = act(im2col(x)·W + bias) — an indirect micro-kernel that
/// broadcasts straight from the image (no im2col copy, no A packing: with F as small as 32–128
/// packing A would cost as much as the arithmetic).</item>
/// <item>Data gradient: dx = col2im(dz·Wᵀ), per sample so the scatter-add never races; on the vector paths,
/// with the input's channels in whole vectors, each tile of the product is added into dx where it lands, with no
/// column block.</item>
/// <item>Kernel gradient: dW = im2col(x)ᵀ·dz over a fixed number of pixel groups (a function of the
/// problem size only), each summed into its own buffer, the buffers added in group order.</item>
/// </list>
/// Every output element (or group partial) is computed by one thread in an order that does not
/// depend on the split, so results are bitwise identical for any thread count.
/// </summary>
internal static unsafe partial class ConvCore
{
    /// <summary>Pixels per im2col chunk (data gradient and fallback forward): chunk × K floats stay in L2.</summary>
    internal const int PixelChunk = 128;

    /// <summary>Pixels per kernel-gradient step: the GEMM's depth block, so one chunk is one packed panel.</summary>
    internal static readonly int KernelGradChunk = GemmScratch.KC;

    internal const int MR = 8, NR = 32;

    /// <summary>Pixels per implicit-GEMM tile on the 256-bit path (<see cref="IndirectTile256"/>); the pointer table keeps its stride of <see cref="MR"/>.</summary>
    internal const int Rows256 = 6;

    /// <summary>Rows per <see cref="IndirectTile"/> call at the enabled width: <see cref="MR"/> on the 512-bit path, <see cref="Rows256"/> otherwise.</summary>
    internal static int IndirectTileRows => Simd.Use512 ? MR : Rows256;

    /// <summary>
    /// Parts for a convolution-family job (convolutions, batch norm, pooling): <see cref="PartsPerThread"/> per
    /// thread, each a contiguous range of the batch. The pool gives each thread a contiguous share of the parts
    /// (WorkerPool.Run), so consecutive layers find the same samples in the same core's L2, and a thread
    /// that finishes its share first takes the other's last parts instead of waiting for it.
    /// </summary>
    internal static int PartsFor(long flops, int units)
    {
        if (units <= 1 || flops < Gemm.ParallelMinFlops) return 1;
        int threads = KilnSettings.Threads;
        return threads <= 1 ? 1 : (int)Math.Min(units, (long)threads * PartsPerThread);
    }

    /// <summary>
    /// Parts per thread of a convolution-family job, and of its kernel gradient's groups. One per thread
    /// left a core idle for a fifth of each job on a shared 2-vCPU host, where the two halves of a batch
    /// took unequal times; 8 (a part at most 1/16 of the job left to wait for) made the Fashion CNN's train step
    /// 7–8 % faster and the CIFAR net's 1–3 % on Zen 5 (Kiln.Benchmarks --paired cnn,parts-per-thread,1,8;
    /// benchmarks/README.md, stop 47); 4 and 16 measured the same as 8. Settable for measuring it.
    /// </summary>
    internal static int PartsPerThread = 8;

    // ---------------------------------------------------------------- forward

    public static void Forward<TAct>(float* x, float* kernel, float* bias, float* y, int n, in Conv2DGeometry g, TAct act)
        where TAct : struct, IActivation
    {
        long pixels = (long)n * g.OutputHeight * g.OutputWidth;
        if (pixels == 0) return;
        if (UsesFewFilters(g))
        {
            ForwardFewFilters(x, kernel, bias, y, n, g, act);
            return;
        }
        int f = g.OutputChannels, k = g.PatchSize;
        bool indirect = Simd.Use512 || Simd.Use256;
        int tileRows = IndirectTileRows;
        long units = indirect ? (pixels + tileRows - 1) / tileRows : (pixels + PixelChunk - 1) / PixelChunk;

        var job = ForwardJob<TAct>.ForCurrentThread;
        job.X = x; job.Kernel = kernel; job.Bias = bias; job.Y = y; job.G = g; job.Act = act;
        job.Pixels = pixels; job.Units = units; job.Indirect = indirect; job.TileRows = tileRows;
        job.Panels = null; job.EdgeBias = null;
        if (indirect)
        {
            // The kernel as 32-column panels, each K × 32 contiguous: the micro-kernel then streams one
            // sequential 128 bytes per step instead of two vectors out of every F-float row. The last,
            // partial panel is zero-padded, so the micro-kernel always runs full width (and edge
            // columns get interior arithmetic).
            int colTiles = (f + NR - 1) / NR;
            float* panels = ConvScratch.Current.Floats(2, (long)colTiles * k * NR + NR);
            PackPanels(kernel, panels, k, f);
            job.Panels = panels;
            if (bias != null && f % NR != 0)
            {
                int j0 = f - f % NR, cols = f - j0;
                float* eb = panels + (long)colTiles * k * NR;
                int j = 0;
                for (; j < cols; j++) eb[j] = bias[j0 + j];
                for (; j < NR; j++) eb[j] = 0f;
                job.EdgeBias = eb;
            }
        }
        int parts = PartsFor(2 * pixels * k * f, (int)Math.Min(units, int.MaxValue));
        try { WorkerPool.Shared.Run(job, parts); }
        finally { job.X = job.Kernel = job.Bias = job.Y = job.Panels = job.EdgeBias = null; }
    }

    private sealed class ForwardJob<TAct> : ParallelJob where TAct : struct, IActivation
    {
        [ThreadStatic] private static ForwardJob<TAct>? t_instance;
        public static ForwardJob<TAct> ForCurrentThread => t_instance ??= new ForwardJob<TAct>();

        public float* X, Kernel, Bias, Y, Panels, EdgeBias;
        public Conv2DGeometry G;
        public TAct Act;
        public long Pixels, Units;
        public bool Indirect;
        public int TileRows;

        public override void Execute(int part, int parts)
        {
            long u0 = part * Units / parts, u1 = (part + 1) * Units / parts;
            if (u1 <= u0) return;
            if (Indirect) RunIndirect(u0, u1);
            else RunIm2Col(u0, u1);
        }

        private void RunIm2Col(long u0, long u1)
        {
            int f = G.OutputChannels, k = G.PatchSize;
            bool pointwise = G.IsPointwise;
            float* col = pointwise ? null : ConvScratch.Current.Floats(0, (long)PixelChunk * k);
            for (long u = u0; u < u1; u++)
            {
                long q0 = u * PixelChunk;
                int rows = (int)Math.Min(PixelChunk, Pixels - q0);
                float* a = X + q0 * G.InputChannels;
                if (!pointwise)
                {
                    Im2Col(X, G, q0, rows, 0, k, col, k);
                    a = col;
                }
                GemmSerial(false, false, rows, f, k, a, k, Kernel, f, Y + q0 * f, f, false, Bias, true, Act);
            }
        }

        private void RunIndirect(long t0, long t1)
        {
            ref readonly Conv2DGeometry g = ref G;
            int f = g.OutputChannels, c = g.InputChannels, k = g.PatchSize;
            int taps = g.KernelHeight * g.KernelWidth;
            ConvScratch s = ConvScratch.Current;
            // Few channels per tap would make the micro-kernel reload its 8 row pointers every step or
            // two; gather such rows into a contiguous 8 × K block and run them as one tap instead.
            bool gather = c < 16 && taps > 1;
            float* rowsBlock = gather ? s.Floats(1, (long)MR * k) : null;
            float* zeros = s.Zeros(Math.Max(k, NR));
            float** table = s.Pointers((long)(gather ? 1 : taps) * MR);
            float* tile = s.Floats(3, MR * NR);
            int colTiles = (f + NR - 1) / NR;

            for (long t = t0; t < t1; t++)
            {
                long q0 = t * TileRows;
                int valid = (int)Math.Min(TileRows, Pixels - q0);
                if (gather)
                {
                    Im2Col(X, g, q0, valid, 0, k, rowsBlock, k);
                    for (int r = 0; r < MR; r++) table[r] = r < valid ? rowsBlock + (nint)r * k : zeros;
                }
                else
                {
                    BuildTable(X, g, q0, valid, zeros, table);
                }
                int tapCount = gather ? 1 : taps, perTap = gather ? k : c;
                for (int jt = 0; jt < colTiles; jt++)
                {
                    int j0 = jt * NR;
                    float* yTile = Y + q0 * f + j0;
                    float* panel = Panels + (nint)jt * k * NR;
                    if (f - j0 >= NR)
                    {
                        IndirectTile(table, tapCount, perTap, panel, NR, yTile, f, valid, Bias == null ? null : Bias + j0, Act);
                    }
                    else
                    {
                        IndirectTile(table, tapCount, perTap, panel, NR, tile, NR, valid, EdgeBias, Act);
                        GemmDriver.CopyColumns(tile, NR, yTile, f, valid, f - j0);
                    }
                }
            }
        }
    }

    /// <summary>panels[jt][p][0..31] = kernel[p][32·jt ..], the K × F kernel cut into 32-column panels, zeros past F.</summary>
    private static void PackPanels(float* kernel, float* panels, int k, int f)
    {
        for (int j0 = 0; j0 < f; j0 += NR)
        {
            int cols = Math.Min(NR, f - j0);
            float* dst = panels + (nint)(j0 / NR) * k * NR;
            if (cols == NR)
            {
                for (int p = 0; p < k; p++)
                {
                    float* src = kernel + (nint)p * f + j0;
                    Vector512.Store(Vector512.Load(src), dst);
                    Vector512.Store(Vector512.Load(src + 16), dst + 16);
                    dst += NR;
                }
                continue;
            }
            for (int p = 0; p < k; p++)
            {
                float* src = kernel + (nint)p * f + j0;
                int j = 0;
                for (; j < cols; j++) dst[j] = src[j];
                for (; j < NR; j++) dst[j] = 0f;
                dst += NR;
            }
        }
    }

    /// <summary>Output pixel <paramref name="q"/> of the batch (samples' pixels in row order) as its sample, row and column.</summary>
    private static void OutputPixel(in Conv2DGeometry g, long q, out long sample, out int row, out int column)
    {
        long perSample = (long)g.OutputHeight * g.OutputWidth;
        sample = q / perSample;
        int rem = (int)(q - sample * perSample);
        row = rem / g.OutputWidth;
        column = rem - row * g.OutputWidth;
    }

    /// <summary>
    /// table[tap·<paramref name="stride"/> + r] = start of the C input values that tap reads for pixel q0+r, or zeros
    /// (r ≥ <paramref name="valid"/> too). Where 16-lane vectors run (<see cref="Simd.Use16Lanes"/>), each tap's
    /// pointers are built eight rows at a time (<see cref="BuildTileTable"/>): the scalar loop, one bounds test and
    /// address per tap and row, took 4 % of the 32×32, 64 → 64 layer's forward and 2 % of its backward on Zen 5,
    /// and a quarter of the few-filter forward of a GAN's 7×7 RGB layer (1.33×; at 256 bits 1.015× and 1.19×;
    /// alternated in one process, benchmarks/README.md, stop 53).
    /// </summary>
    private static void BuildTable(float* x, in Conv2DGeometry g, long q0, int valid, float* zeros, float** table, int stride = MR)
    {
        if (Simd.Use16Lanes && stride % MR == 0) BuildTileTable(x, g, q0, valid, zeros, table, stride);
        else BuildTableScalar(x, g, q0, valid, zeros, table, stride);
    }

    /// <summary>
    /// <see cref="BuildTableScalar"/> eight rows at a time, each tap's eight pointers side by side in one vector: a
    /// tap's pointer is the row's tap-(0, 0) address plus a constant, kept where the tap's input row and column lie
    /// inside the image. Rows past <paramref name="valid"/> get an input row no tap reaches, so zeros.
    /// <paramref name="stride"/> is a multiple of 8.
    /// </summary>
    internal static void BuildTileTable(float* x, in Conv2DGeometry g, long q0, int valid, float* zeros, float** table, int stride)
    {
        Debug.Assert(stride % MR == 0);
        int oh = g.OutputHeight, ow = g.OutputWidth;
        long sw = g.StrideWidth, c = g.InputChannels;
        OutputPixel(g, q0, out long b, out int py, out int px);
        for (int r0 = 0; r0 < stride; r0 += MR)
        {
            float** slots = table + r0;
            int rows = Math.Min(MR, valid - r0);
            if (rows > 0 && px + rows <= ow)
            {
                // Pixels of one output row (most tiles; the 256-bit path's six-pixel tiles too): one input row, and
                // columns and addresses a stride apart, set up side by side; rows past the valid ones read none.
                // Gathered a row at a time through memory, as mixed rows are, the 32×32, 64 → 64 layer's tables took
                // 3 % of its forward on Zen 5 (benchmarks/README.md, stop 55).
                long ih0 = (long)py * g.StrideHeight - g.PadTop, iw0 = px * sw - g.PadLeft;
                Vector512<long> lanes = Vector512.Create(0L, 1, 2, 3, 4, 5, 6, 7);
                Vector512<long> inputRow = Vector512.ConditionalSelect(Vector512.LessThan(lanes, Vector512.Create((long)rows)),
                    Vector512.Create(ih0), Vector512.Create(long.MinValue / 2));
                long origin = (long)x + (b * g.InputSize + (ih0 * g.InputWidth + iw0) * c) * sizeof(float);
                TapPointers(inputRow, Vector512.Create(iw0) + lanes * sw,
                    Vector512.Create(origin) + lanes * (sw * c * sizeof(float)), g, zeros, slots, stride);
            }
            else
            {
                MixedRowPointers(x, g, b, py, px, valid - r0, zeros, slots, stride);
            }
            px += MR;
            while (px >= ow)
            {
                px -= ow;
                if (++py == oh) { py = 0; b++; }
            }
        }
    }

    /// <summary>
    /// The eight rows of <see cref="BuildTileTable"/> from output pixel (<paramref name="b"/>, <paramref name="py"/>,
    /// <paramref name="px"/>) on, across output rows and samples, the first <paramref name="valid"/> of them real.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void MixedRowPointers(float* x, in Conv2DGeometry g, long b, int py, int px, int valid, float* zeros, float** slots, int stride)
    {
        int oh = g.OutputHeight, ow = g.OutputWidth, w = g.InputWidth, c = g.InputChannels;
        long* origin = stackalloc long[MR], inRow = stackalloc long[MR], inCol = stackalloc long[MR];
        for (int r = 0; r < MR; r++)
        {
            long ih0 = (long)py * g.StrideHeight - g.PadTop, iw0 = (long)px * g.StrideWidth - g.PadLeft;
            inRow[r] = r < valid ? ih0 : long.MinValue / 2;
            inCol[r] = iw0;
            // Tap (0, 0)'s address, outside the image where the padding is: only ever offset, never read.
            origin[r] = (long)x + ((b * g.InputSize) + (ih0 * w + iw0) * c) * sizeof(float);
            if (++px == ow)
            {
                px = 0;
                if (++py == oh) { py = 0; b++; }
            }
        }
        TapPointers(Vector512.Load(inRow), Vector512.Load(inCol), Vector512.Load(origin), g, zeros, slots, stride);
    }

    /// <summary>
    /// slots[tap·<paramref name="stride"/> + r] for eight rows whose tap (0, 0) reads input row <paramref name="rows"/>,
    /// column <paramref name="cols"/> at address <paramref name="at"/>: the tap's address, or zeros outside the image.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void TapPointers(Vector512<long> rows, Vector512<long> cols, Vector512<long> at, in Conv2DGeometry g, float* zeros, float** slots, int stride)
    {
        int kh = g.KernelHeight, kw = g.KernelWidth;
        long rowStep = (long)g.InputWidth * g.InputChannels * sizeof(float), colStep = (long)g.InputChannels * sizeof(float);
        Vector512<long> none = Vector512.Create((long)zeros);
        Vector512<ulong> height = Vector512.Create((ulong)g.InputHeight), width = Vector512.Create((ulong)g.InputWidth);
        for (int i = 0; i < kh; i++, rows += Vector512<long>.One, at += Vector512.Create(rowStep))
        {
            Vector512<long> rowIn = Vector512.LessThan(rows.AsUInt64(), height).AsInt64();
            Vector512<long> col = cols, tap = at;
            for (int j = 0; j < kw; j++, col += Vector512<long>.One, tap += Vector512.Create(colStep), slots += stride)
                Vector512.ConditionalSelect(rowIn & Vector512.LessThan(col.AsUInt64(), width).AsInt64(), tap, none).Store((long*)slots);
        }
    }

    /// <summary>The pointer table of <see cref="BuildTable"/>, one row and tap at a time.</summary>
    internal static void BuildTableScalar(float* x, in Conv2DGeometry g, long q0, int valid, float* zeros, float** table, int stride)
    {
        int oh = g.OutputHeight, ow = g.OutputWidth, h = g.InputHeight, w = g.InputWidth, c = g.InputChannels;
        int kh = g.KernelHeight, kw = g.KernelWidth;
        OutputPixel(g, q0, out long b, out int py, out int px);
        for (int r = 0; r < stride; r++)
        {
            if (r >= valid)
            {
                for (int tap = 0; tap < kh * kw; tap++) table[tap * stride + r] = zeros;
                continue;
            }
            float* xs = x + b * g.InputSize;
            int ih0 = py * g.StrideHeight - g.PadTop, iw0 = px * g.StrideWidth - g.PadLeft;
            for (int i = 0; i < kh; i++)
            {
                int ih = ih0 + i;
                bool rowIn = (uint)ih < (uint)h;
                for (int j = 0; j < kw; j++)
                {
                    int iw = iw0 + j;
                    table[(i * kw + j) * stride + r] = rowIn && (uint)iw < (uint)w ? xs + ((nint)ih * w + iw) * c : zeros;
                }
            }
            if (++px == ow)
            {
                px = 0;
                if (++py == oh) { py = 0; b++; }
            }
        }
    }

    /// <summary>
    /// An 8-pixel × 32-filter tile: for each tap, each of the C channels broadcasts one value per
    /// pixel from its row pointer against two vectors of kernel row (tap, c); one FMA chain per output
    /// over the whole depth K, in 16 zmm accumulators (<see cref="IndirectTile256"/> without AVX-512).
    /// </summary>
    internal static void IndirectTile<TAct>(float** table, int taps, int perTap, float* w, nint ldw, float* y, nint ldy, int valid,
        float* bias, TAct act) where TAct : struct, IActivation
    {
        // Callers cut their rows into tiles of IndirectTileRows, the width that this dispatch takes.
        if (Simd.Use512) IndirectTile512(table, taps, perTap, w, ldw, y, ldy, valid, bias, act);
        else IndirectTile256(table, taps, perTap, w, ldw, y, ldy, valid, bias, act);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void IndirectTile512<TAct>(float** table, int taps, int perTap, float* w, nint ldw, float* y, nint ldy, int valid,
        float* bias, TAct act) where TAct : struct, IActivation
    {
        Vector512<float> c00 = default, c01 = default, c10 = default, c11 = default;
        Vector512<float> c20 = default, c21 = default, c30 = default, c31 = default;
        Vector512<float> c40 = default, c41 = default, c50 = default, c51 = default;
        Vector512<float> c60 = default, c61 = default, c70 = default, c71 = default;
        for (int t = 0; t < taps; t++)
        {
            float* a0 = table[0], a1 = table[1], a2 = table[2], a3 = table[3];
            float* a4 = table[4], a5 = table[5], a6 = table[6], a7 = table[7];
            table += MR;
            for (int i = 0; i < perTap; i++)
            {
                Vector512<float> b0 = Vector512.Load(w), b1 = Vector512.Load(w + 16);
                w += ldw;
                Vector512<float> v = Vector512.Create(a0[i]);
                c00 = Vector512.FusedMultiplyAdd(v, b0, c00); c01 = Vector512.FusedMultiplyAdd(v, b1, c01);
                v = Vector512.Create(a1[i]);
                c10 = Vector512.FusedMultiplyAdd(v, b0, c10); c11 = Vector512.FusedMultiplyAdd(v, b1, c11);
                v = Vector512.Create(a2[i]);
                c20 = Vector512.FusedMultiplyAdd(v, b0, c20); c21 = Vector512.FusedMultiplyAdd(v, b1, c21);
                v = Vector512.Create(a3[i]);
                c30 = Vector512.FusedMultiplyAdd(v, b0, c30); c31 = Vector512.FusedMultiplyAdd(v, b1, c31);
                v = Vector512.Create(a4[i]);
                c40 = Vector512.FusedMultiplyAdd(v, b0, c40); c41 = Vector512.FusedMultiplyAdd(v, b1, c41);
                v = Vector512.Create(a5[i]);
                c50 = Vector512.FusedMultiplyAdd(v, b0, c50); c51 = Vector512.FusedMultiplyAdd(v, b1, c51);
                v = Vector512.Create(a6[i]);
                c60 = Vector512.FusedMultiplyAdd(v, b0, c60); c61 = Vector512.FusedMultiplyAdd(v, b1, c61);
                v = Vector512.Create(a7[i]);
                c70 = Vector512.FusedMultiplyAdd(v, b0, c70); c71 = Vector512.FusedMultiplyAdd(v, b1, c71);
            }
        }
        Vector512<float> bias0 = default, bias1 = default;
        if (bias != null) { bias0 = Vector512.Load(bias); bias1 = Vector512.Load(bias + 16); }
        StoreRow(y, c00, c01, bias0, bias1, act); if (valid == 1) return; y += ldy;
        StoreRow(y, c10, c11, bias0, bias1, act); if (valid == 2) return; y += ldy;
        StoreRow(y, c20, c21, bias0, bias1, act); if (valid == 3) return; y += ldy;
        StoreRow(y, c30, c31, bias0, bias1, act); if (valid == 4) return; y += ldy;
        StoreRow(y, c40, c41, bias0, bias1, act); if (valid == 5) return; y += ldy;
        StoreRow(y, c50, c51, bias0, bias1, act); if (valid == 6) return; y += ldy;
        StoreRow(y, c60, c61, bias0, bias1, act); if (valid == 7) return; y += ldy;
        StoreRow(y, c70, c71, bias0, bias1, act);
    }

    /// <summary>
    /// y[r] = a[r]·w for <paramref name="rows"/> rows read in place, <paramref name="depth"/> floats apart, and 16 columns
    /// of w: a Winograd plane's last 16 filters. The 32-wide tile multiplied 16 zero columns there, and the row
    /// table and call per eight rows cost about as much again at a depth of 16 (the Fashion ResNet's 16 → 16
    /// layers). Each output is one FMA chain over the depth in order, as in <see cref="IndirectTile"/>: the same bits.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void NarrowRows512(float* a, int depth, float* w, nint ldw, float* y, nint ldy, int rows)
    {
        if (depth == 16)
        {
            DepthSixteenRows512(a, w, ldw, y, ldy, rows);
            return;
        }
        for (int r0 = 0; r0 < rows; r0 += MR, a += MR * (nint)depth, y += MR * ldy)
        {
            // Eight rows at a time, eight FMA chains (two pipes of four-cycle FMAs); past the last row, it again.
            int last = Math.Min(MR, rows - r0) - 1;
            float* a0 = a, a1 = a + Math.Min(1, last) * (nint)depth, a2 = a + Math.Min(2, last) * (nint)depth;
            float* a3 = a + Math.Min(3, last) * (nint)depth, a4 = a + Math.Min(4, last) * (nint)depth;
            float* a5 = a + Math.Min(5, last) * (nint)depth, a6 = a + Math.Min(6, last) * (nint)depth, a7 = a + last * (nint)depth;
            Vector512<float> c0 = default, c1 = default, c2 = default, c3 = default, c4 = default, c5 = default, c6 = default, c7 = default;
            float* b = w;
            for (int i = 0; i < depth; i++, b += ldw)
            {
                Vector512<float> bv = Vector512.Load(b);
                c0 = Vector512.FusedMultiplyAdd(Vector512.Create(a0[i]), bv, c0);
                c1 = Vector512.FusedMultiplyAdd(Vector512.Create(a1[i]), bv, c1);
                c2 = Vector512.FusedMultiplyAdd(Vector512.Create(a2[i]), bv, c2);
                c3 = Vector512.FusedMultiplyAdd(Vector512.Create(a3[i]), bv, c3);
                c4 = Vector512.FusedMultiplyAdd(Vector512.Create(a4[i]), bv, c4);
                c5 = Vector512.FusedMultiplyAdd(Vector512.Create(a5[i]), bv, c5);
                c6 = Vector512.FusedMultiplyAdd(Vector512.Create(a6[i]), bv, c6);
                c7 = Vector512.FusedMultiplyAdd(Vector512.Create(a7[i]), bv, c7);
            }
            float* yr = y;
            c0.Store(yr); if (last == 0) continue; yr += ldy;
            c1.Store(yr); if (last == 1) continue; yr += ldy;
            c2.Store(yr); if (last == 2) continue; yr += ldy;
            c3.Store(yr); if (last == 3) continue; yr += ldy;
            c4.Store(yr); if (last == 4) continue; yr += ldy;
            c5.Store(yr); if (last == 5) continue; yr += ldy;
            c6.Store(yr); if (last == 6) continue; yr += ldy;
            c7.Store(yr);
        }
    }

    /// <summary>
    /// <see cref="NarrowRows512"/> at a depth of 16: all of w in 16 registers, and each row one chain of 16 FMAs that the
    /// core overlaps with the next rows' (7 % off a 16 → 16 F(4×4, 3×3) forward at batch 128, Zen 5).
    /// </summary>
    private static void DepthSixteenRows512(float* a, float* w, nint ldw, float* y, nint ldy, int rows)
    {
        Vector512<float> b0 = Vector512.Load(w), b1 = Vector512.Load(w + ldw), b2 = Vector512.Load(w + 2 * ldw), b3 = Vector512.Load(w + 3 * ldw);
        Vector512<float> b4 = Vector512.Load(w + 4 * ldw), b5 = Vector512.Load(w + 5 * ldw), b6 = Vector512.Load(w + 6 * ldw), b7 = Vector512.Load(w + 7 * ldw);
        Vector512<float> b8 = Vector512.Load(w + 8 * ldw), b9 = Vector512.Load(w + 9 * ldw), b10 = Vector512.Load(w + 10 * ldw), b11 = Vector512.Load(w + 11 * ldw);
        Vector512<float> b12 = Vector512.Load(w + 12 * ldw), b13 = Vector512.Load(w + 13 * ldw), b14 = Vector512.Load(w + 14 * ldw), b15 = Vector512.Load(w + 15 * ldw);
        for (int r = 0; r < rows; r++, a += 16, y += ldy)
        {
            Vector512<float> c = default;
            c = Vector512.FusedMultiplyAdd(Vector512.Create(a[0]), b0, c); c = Vector512.FusedMultiplyAdd(Vector512.Create(a[1]), b1, c);
            c = Vector512.FusedMultiplyAdd(Vector512.Create(a[2]), b2, c); c = Vector512.FusedMultiplyAdd(Vector512.Create(a[3]), b3, c);
            c = Vector512.FusedMultiplyAdd(Vector512.Create(a[4]), b4, c); c = Vector512.FusedMultiplyAdd(Vector512.Create(a[5]), b5, c);
            c = Vector512.FusedMultiplyAdd(Vector512.Create(a[6]), b6, c); c = Vector512.FusedMultiplyAdd(Vector512.Create(a[7]), b7, c);
            c = Vector512.FusedMultiplyAdd(Vector512.Create(a[8]), b8, c); c = Vector512.FusedMultiplyAdd(Vector512.Create(a[9]), b9, c);
            c = Vector512.FusedMultiplyAdd(Vector512.Create(a[10]), b10, c); c = Vector512.FusedMultiplyAdd(Vector512.Create(a[11]), b11, c);
            c = Vector512.FusedMultiplyAdd(Vector512.Create(a[12]), b12, c); c = Vector512.FusedMultiplyAdd(Vector512.Create(a[13]), b13, c);
            c = Vector512.FusedMultiplyAdd(Vector512.Create(a[14]), b14, c); c = Vector512.FusedMultiplyAdd(Vector512.Create(a[15]), b15, c);
            c.Store(y);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreRow<TAct>(float* y, Vector512<float> v0, Vector512<float> v1, Vector512<float> bias0, Vector512<float> bias1, TAct act)
        where TAct : struct, IActivation
    {
        Vector512.Store(act.Apply(v0 + bias0), y);
        Vector512.Store(act.Apply(v1 + bias1), y + 16);
    }

    /// <summary>
    /// <see cref="IndirectTile"/> in 256-bit registers, for tiles of at most <see cref="Rows256"/> pixels:
    /// two 6-pixel × 16-filter halves in 12 ymm accumulators each (the 256-bit GEMM micro-kernel's shape;
    /// the whole 8 × 32 tile's 32 accumulators would not fit AVX2's 16 registers, and 4 × 16 quarters
    /// keep only the 8 FMA chains that two pipes of four-cycle FMAs need, with no slack). Each output is
    /// still one FMA chain over the whole depth in the same order as the 512-bit tile.
    /// </summary>
    internal static void IndirectTile256<TAct>(float** table, int taps, int perTap, float* w, nint ldw, float* y, nint ldy, int valid,
        float* bias, TAct act) where TAct : struct, IActivation
    {
        Debug.Assert(valid <= Rows256);
        IndirectHalf256(table, taps, perTap, w, ldw, y, ldy, valid, bias, act);
        IndirectHalf256(table, taps, perTap, w + 16, ldw, y + 16, ldy, valid, bias == null ? null : bias + 16, act);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void IndirectHalf256<TAct>(float** table, int taps, int perTap, float* w, nint ldw, float* y, nint ldy, int valid,
        float* bias, TAct act) where TAct : struct, IActivation
    {
        Vector256<float> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default;
        Vector256<float> c30 = default, c31 = default, c40 = default, c41 = default, c50 = default, c51 = default;
        for (int t = 0; t < taps; t++)
        {
            float* a0 = table[0], a1 = table[1], a2 = table[2], a3 = table[3], a4 = table[4], a5 = table[5];
            table += MR;
            for (int i = 0; i < perTap; i++)
            {
                Vector256<float> b0 = Vector256.Load(w), b1 = Vector256.Load(w + 8);
                w += ldw;
                Vector256<float> v = Vector256.Create(a0[i]);
                c00 = Vector256.FusedMultiplyAdd(v, b0, c00); c01 = Vector256.FusedMultiplyAdd(v, b1, c01);
                v = Vector256.Create(a1[i]);
                c10 = Vector256.FusedMultiplyAdd(v, b0, c10); c11 = Vector256.FusedMultiplyAdd(v, b1, c11);
                v = Vector256.Create(a2[i]);
                c20 = Vector256.FusedMultiplyAdd(v, b0, c20); c21 = Vector256.FusedMultiplyAdd(v, b1, c21);
                v = Vector256.Create(a3[i]);
                c30 = Vector256.FusedMultiplyAdd(v, b0, c30); c31 = Vector256.FusedMultiplyAdd(v, b1, c31);
                v = Vector256.Create(a4[i]);
                c40 = Vector256.FusedMultiplyAdd(v, b0, c40); c41 = Vector256.FusedMultiplyAdd(v, b1, c41);
                v = Vector256.Create(a5[i]);
                c50 = Vector256.FusedMultiplyAdd(v, b0, c50); c51 = Vector256.FusedMultiplyAdd(v, b1, c51);
            }
        }
        StoreSixRows256(y, ldy, valid, bias, act, c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51);
    }

    /// <summary>The 256-bit 6-pixel × 16-filter tiles' store (this one's and the direct convolution's): act(c + bias) for rows r &lt; <paramref name="valid"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void StoreSixRows256<TAct>(float* y, nint ldy, int valid, float* bias, TAct act,
        Vector256<float> c00, Vector256<float> c01, Vector256<float> c10, Vector256<float> c11, Vector256<float> c20, Vector256<float> c21,
        Vector256<float> c30, Vector256<float> c31, Vector256<float> c40, Vector256<float> c41, Vector256<float> c50, Vector256<float> c51)
        where TAct : struct, IActivation
    {
        Vector256<float> bias0 = default, bias1 = default;
        if (bias != null) { bias0 = Vector256.Load(bias); bias1 = Vector256.Load(bias + 8); }
        StoreRow256(y, c00, c01, bias0, bias1, act); if (valid == 1) return; y += ldy;
        StoreRow256(y, c10, c11, bias0, bias1, act); if (valid == 2) return; y += ldy;
        StoreRow256(y, c20, c21, bias0, bias1, act); if (valid == 3) return; y += ldy;
        StoreRow256(y, c30, c31, bias0, bias1, act); if (valid == 4) return; y += ldy;
        StoreRow256(y, c40, c41, bias0, bias1, act); if (valid == 5) return; y += ldy;
        StoreRow256(y, c50, c51, bias0, bias1, act);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreRow256<TAct>(float* y, Vector256<float> v0, Vector256<float> v1, Vector256<float> bias0, Vector256<float> bias1, TAct act)
        where TAct : struct, IActivation
    {
        Vector256.Store(act.Apply(v0 + bias0), y);
        Vector256.Store(act.Apply(v1 + bias1), y + 8);
    }

    // ---------------------------------------------------------------- data gradient

    /// <summary>
    /// dx[n×H×W×C] = col2im(dz·Wᵀ), overwritten. A stride-1 layer runs it as the forward convolution of
    /// dz with the rotated kernel instead: with at most 16 filters (an image generator's RGB layer) through
    /// the direct kernel, built for so few input channels (the GEMM's depth would be F); with more, on the
    /// vector paths, through the implicit GEMM, whose one FMA chain per output beats the GEMM into im2col
    /// columns and their col2im sum (208 against 175 GFLOP/s on a 3×3, 64 → 64 layer, 1 thread, Zen 5).
    /// With <paramref name="accumulate"/>, dx += that instead: col2im adds into dx as it is (the clear it
    /// skips and the separate sum of a second reader's part are two and three full-size streams), and the
    /// pointwise product accumulates in the GEMM; a stride-1 layer then takes col2im too. Where
    /// <see cref="ScattersInPlace"/>, col2im takes no column block: Wᵀ is packed once per call and each tile of
    /// the product is added into dx as it leaves the registers (<see cref="ScatterSample"/>).
    /// </summary>
    public static void BackwardData(float* dz, float* kernel, float* dx, int n, in Conv2DGeometry g, bool accumulate = false)
    {
        if (n == 0) return;
        if (!accumulate && g.StrideHeight == 1 && g.StrideWidth == 1 && !g.IsPointwise && (g.OutputChannels <= DirectDataMaxFilters || Simd.Use512 || Simd.Use256)
            && DataGeometry(g) is { } back)
        {
            int taps = g.KernelHeight * g.KernelWidth;
            float* flipped = ConvScratch.Current.Floats(ConvScratch.FlippedKernelSlot, (long)taps * g.InputChannels * g.OutputChannels);
            FlipKernel(kernel, flipped, g.OutputChannels, g.InputChannels, taps, 0, g.OutputChannels);
            if (g.OutputChannels <= DirectDataMaxFilters) DirectCore.Forward(dz, flipped, null, dx, n, back, default(Identity));
            else Forward(dz, flipped, null, dx, n, back, default(Identity));
            return;
        }
        var job = DataJob.ForCurrentThread;
        job.Dz = dz; job.Kernel = kernel; job.Dx = dx; job.G = g; job.N = n; job.Accumulate = accumulate;
        job.Packed = null;
        if (ScattersInPlace(g))
        {
            job.Packed = ConvScratch.Current.Floats(ConvScratch.FlippedKernelSlot, PackedTransposedKernelFloats(g));
            PackTransposedKernel(kernel, g, job.Packed);
        }
        long flops = 2L * n * g.OutputHeight * g.OutputWidth * g.PatchSize * g.OutputChannels;
        try { WorkerPool.Shared.Run(job, PartsFor(flops, n)); }
        finally { job.Dz = job.Kernel = job.Dx = job.Packed = null; }
    }

    /// <summary>Filters up to which a stride-1 data gradient runs as a direct forward convolution (the direct kernel's own limit on input channels).</summary>
    internal const int DirectDataMaxFilters = 16;

    /// <summary>
    /// The data gradient of a stride-1 geometry as a forward problem: dz (OH, OW, F) correlated with the
    /// rotated kh × kw kernel under kh − 1 − padTop (kw − 1 − padLeft) of padding gives dx (H, W, C). Null
    /// when some input rows or columns are never read by the forward window (their gradient is zero,
    /// which the forward geometry cannot express).
    /// </summary>
    internal static Conv2DGeometry? DataGeometry(in Conv2DGeometry g)
    {
        int kh = g.KernelHeight, kw = g.KernelWidth;
        if (g.InputHeight - (kh - 1) + g.PadTop > g.OutputHeight || g.InputWidth - (kw - 1) + g.PadLeft > g.OutputWidth) return null;
        return new Conv2DGeometry(g.OutputHeight, g.OutputWidth, g.OutputChannels, g.InputHeight, g.InputWidth, g.InputChannels,
            kh, kw, 1, 1, kh - 1 - g.PadTop, kw - 1 - g.PadLeft);
    }

    /// <summary>
    /// dst (kh, kw, C, K) = src (kh, kw, K, C) rotated by 180° with the channel axes swapped: tap t becomes tap kh·kw − 1 − t;
    /// only dst's channels c0 ≤ c &lt; c1, so threads can each flip the rows they go on to read.
    /// </summary>
    internal static void FlipKernel(float* src, float* dst, int c, int k, int taps, int c0, int c1)
    {
        const int block = 16;
        for (int tap = 0; tap < taps; tap++)
        {
            float* from = src + (nint)(taps - 1 - tap) * k * c;
            float* to = dst + (nint)tap * c * k;
            // A transpose in 16 × 16 blocks: each block's reads and writes stay within 16 lines each, where whole rows
            // wrote one float per line of a k-float stride.
            for (int k0 = 0; k0 < k; k0 += block)
            {
                int k1 = Math.Min(k, k0 + block);
                for (int b0 = c0; b0 < c1; b0 += block)
                {
                    int b1 = Math.Min(c1, b0 + block);
                    for (int cc = b0; cc < b1; cc++)
                        for (int kk = k0; kk < k1; kk++) to[(nint)cc * k + kk] = from[(nint)kk * c + cc];
                }
            }
        }
    }

    private sealed class DataJob : ParallelJob
    {
        [ThreadStatic] private static DataJob? t_instance;
        public static DataJob ForCurrentThread => t_instance ??= new DataJob();

        public float* Dz, Kernel, Dx;

        /// <summary>Wᵀ packed for <see cref="ScatterSample"/>, or null for the im2col block and col2im.</summary>
        public float* Packed;
        public Conv2DGeometry G;
        public int N;
        public bool Accumulate;

        public override void Execute(int part, int parts)
        {
            int b0 = (int)((long)part * N / parts), b1 = (int)((long)(part + 1) * N / parts);
            int f = G.OutputChannels, k = G.PatchSize, c = G.InputChannels;
            int perSample = G.OutputHeight * G.OutputWidth;
            bool pointwise = G.IsPointwise;
            float* col = pointwise || Packed != null ? null : ConvScratch.Current.Floats(0, (long)PixelChunk * k);
            var scatter = Packed != null ? new ScatterBuffers(G) : default;
            for (int b = b0; b < b1; b++)
            {
                float* dzs = Dz + (long)b * perSample * f;
                float* dxs = Dx + (long)b * G.InputSize;
                if (pointwise)
                {
                    // The input is the im2col matrix: the product lands in dx directly.
                    GemmSerial(false, true, perSample, c, f, dzs, f, Kernel, f, dxs, c, Accumulate, null, false, default(Identity));
                    continue;
                }
                if (!Accumulate) new Span<float>(dxs, G.InputSize).Clear();
                else if (Sse.IsSupported)
                {
                    // The sample's dx (50 KB in the Fashion ResNet) comes from memory under col2im's scattered
                    // adds: asked for in L2 now (its first 256 KB at most), it arrives during the first chunk's
                    // product (the ResNet step 1.4 % faster than without, paired; benchmarks/README.md, stop 59).
                    for (long i = 0, end = Math.Min(G.InputSize, 1L << 16); i < end; i += 16) Sse.Prefetch1(dxs + i);
                }
                if (Packed != null)
                {
                    ScatterSample(dzs, Packed, dxs, G, scatter);
                    continue;
                }
                for (int q0 = 0; q0 < perSample; q0 += PixelChunk)
                {
                    int rows = Math.Min(PixelChunk, perSample - q0);
                    GemmSerial(false, true, rows, k, f, dzs + (nint)q0 * f, f, Kernel, f, col, k, false, null, false, default(Identity));
                    Col2ImAdd(col, k, G, q0, rows, dxs);
                }
            }
        }
    }

    // ---------------------------------------------------------------- kernel gradient

    /// <summary>
    /// The most pixel groups of a kernel gradient: a function of the problem only (never of the thread count),
    /// so the partial sums, and the order they are added in, are always the same. Tests set it to take the paths
    /// of other counts; a Winograd kernel gradient beside its data gradient takes fewer
    /// (<see cref="WinogradCore.GroupsBesideDataGradient"/>).
    /// </summary>
    internal static int KernelGradGroups { get; set; } = 8;

    /// <summary>The kernel gradient's groups for <paramref name="flops"/> of products over <paramref name="units"/> blocks of pixels: about 4 MFLOP each, at most <see cref="KernelGradGroups"/>, at most one per unit.</summary>
    internal static int KernelGradientGroups(long flops, long units) =>
        (int)Math.Min(Math.Min(KernelGradGroups, Math.Max(1, flops / (4L << 20))), units);

    /// <summary>
    /// The share of L1 a chunk's dz rows take where the kernel gradient reads its patches in place (1 / this). A third
    /// against a half, kernel gradients alone alternated in one process (Zen 5, 1 / 2 threads): 32×32 64 → 64 3×3
    /// 1.05–1.09 / 1.05–1.07, the Fashion ResNet's 3×3 stride-2 layers 1.03–1.07 / 1.04–1.05 (16 → 32) and
    /// 0.99–1.06 / 1.01–1.03 (32 → 64), 64 → 128 1.01, the GAN's 4×4 stride-2 layers level; a quarter lost 2.5 % on the
    /// 32 → 64 stride-2 layer at 1 thread (benchmarks/README.md, stop 62). Settable for measuring it
    /// (Kiln.Benchmarks --paired MODEL,patch-chunk-l1-share,A,B).
    /// </summary>
    internal static int PatchChunkL1Share = 3;

    /// <summary>dW[K×F] = im2col(x)ᵀ·dz, overwritten.</summary>
    public static void BackwardKernel(float* x, float* dz, float* dKernel, int n, in Conv2DGeometry g)
    {
        int k = g.PatchSize, f = g.OutputChannels;
        long pixels = (long)n * g.OutputHeight * g.OutputWidth;
        if (pixels == 0)
        {
            new Span<float>(dKernel, k * f).Clear();
            return;
        }
        if (UsesFewFilters(g))
        {
            BackwardKernelFewFilters(x, dz, dKernel, pixels, g);
            return;
        }
        // Chunk rows: the im2col block (rows × K) stays within about 256 KiB of L2. Summing outer products
        // over few patch values, or reading the patches in place, re-reads the chunk's dz once per tap (and
        // block of channels), so there dz's rows (F wide) stay within a share of L1: at 336 rows the Fashion
        // CNN's first layer read 43 KiB of dz nine times from L2; in place, with the im2col chunks, a 1×1
        // stride-2 128 → 128 layer (256 rows) ran at 0.90 of the packed GEMM's speed, at 48 rows 0.96. Half of
        // L1 for few patch values; a third where the patches are read in place, whose lines of x share L1 with dz.
        int chunk = Math.Clamp((65536 / k) & ~7, 32, KernelGradChunk);
        bool tapBlocks = UsesTapBlocks(g);
        int l1Share = UsesFewPatchValues(g) || tapBlocks ? 2 : ReadsPatchesInPlace(g) ? PatchChunkL1Share : 0;
        if (l1Share > 0) chunk = (int)Math.Clamp((CacheHierarchy.Current.L1Data / l1Share / (f * sizeof(float))) & ~7, 32, chunk);
        if (tapBlocks) chunk = Math.Min(chunk, TapBlockRows);
        long chunks = (pixels + chunk - 1) / chunk;
        // Splitting the pixels (not the rows of dW) gives each thread its own slice of x and dz to
        // read once; each group sums into its own buffer, and the groups are added in order.
        int groups = KernelGradientGroups(2 * pixels * k * f, chunks);
        var job = KernelJob.ForCurrentThread;
        job.X = x; job.Dz = dz; job.DKernel = dKernel; job.G = g; job.Pixels = pixels;
        job.Chunk = chunk; job.Chunks = chunks; job.Groups = groups;
        job.Partials = groups > 1 ? ConvScratch.Current.Floats(ConvScratch.PartialsSlot, (long)(groups - 1) * k * f) : null;
        int parts = groups == 1 ? 1 : Math.Min(groups, KilnSettings.Threads * PartsPerThread);
        try
        {
            WorkerPool.Shared.Run(job, parts);
            long size = (long)k * f;
            for (int grp = 1; grp < groups; grp++) AddLong(job.Partials + (grp - 1) * size, dKernel, size);
        }
        finally { job.X = job.Dz = job.DKernel = job.Partials = null; }
    }

    private sealed class KernelJob : ParallelJob
    {
        [ThreadStatic] private static KernelJob? t_instance;
        public static KernelJob ForCurrentThread => t_instance ??= new KernelJob();

        public float* X, Dz, DKernel, Partials;
        public Conv2DGeometry G;
        public long Pixels, Chunks;
        public int Chunk, Groups;

        public override void Execute(int part, int parts)
        {
            // Groups are dealt to parts in a fixed pattern; which thread runs a group never matters.
            for (int grp = part; grp < Groups; grp += parts) RunGroup(grp);
        }

        private void RunGroup(int grp)
        {
            int k = G.PatchSize, f = G.OutputChannels, c = G.InputChannels;
            long c0 = grp * Chunks / Groups, c1 = (grp + 1) * Chunks / Groups;
            float* target = grp == 0 ? DKernel : Partials + (long)(grp - 1) * k * f;
            bool pointwise = G.IsPointwise;
            if (ReadsPatchesInPlace(G))
            {
                PatchGradientGroup(X, G, Pixels, Chunk, c0, c1, Dz, target);
                return;
            }
            bool fewPatchValues = UsesFewPatchValues(G), tapBlocks = UsesTapBlocks(G);
            float* col = pointwise ? null : ConvScratch.Current.Floats(0, (long)(tapBlocks ? TapStride : Chunk) * k);
            for (long ch = c0; ch < c1; ch++)
            {
                long q0 = ch * Chunk;
                int rows = (int)Math.Min(Chunk, Pixels - q0);
                if (tapBlocks)
                {
                    GatherTaps(X, G, q0, rows, col, TapStride);
                    AccumulateTapBlocks(col, k, rows, Dz + q0 * f, f, target, first: ch == c0);
                    continue;
                }
                if (fewPatchValues)
                {
                    // A pointwise layer's patches are x's rows; others are gathered tap by tap.
                    if (pointwise) AccumulateFewPatchValues(X + q0 * c, k, 1, k, rows, Dz + q0 * f, f, target, first: ch == c0);
                    else
                    {
                        GatherTaps(X, G, q0, rows, col, rows);
                        AccumulateFewPatchValues(col, 1, rows, k, rows, Dz + q0 * f, f, target, first: ch == c0);
                    }
                    continue;
                }
                float* a = X + q0 * c;
                if (!pointwise)
                {
                    Im2Col(X, G, q0, rows, 0, k, col, k);
                    a = col;
                }
                GemmSerial(true, false, k, f, rows, a, k, Dz + q0 * f, f, target, f, ch > c0, null, false, default(Identity));
            }
        }
    }

    /// <summary>
    /// True where the kernel gradient reads its patches where they lie (<see cref="PatchGradientGroup"/>): the
    /// 512-bit path, whole 8-channel blocks (8 consecutive channels of one tap are a row of the micro-kernel's
    /// A panel), not pointwise (x's rows are the patches there) and not few patch values.
    /// </summary>
    internal static bool ReadsPatchesInPlace(in Conv2DGeometry g) =>
        Simd.Use512 && g.InputChannels % MR == 0 && !g.IsPointwise && !UsesFewPatchValues(g);

    /// <summary>Patch sizes below which the kernel gradient sums outer products itself (<see cref="AccumulateFewPatchValues"/>).</summary>
    internal const int FewPatchValues = 16;

    /// <summary>
    /// True where the kernel gradient takes <see cref="AccumulateFewPatchValues"/>: a vector path, K below 16,
    /// whole 16-filter vectors. On the 256-bit path its 16-lane vectors run as halves; the GEMM it replaces
    /// ran the Fashion CNN's first layer (K = 9, 32 filters) at 12 GFLOP/s on Zen 3, and the Fashion ResNet's
    /// stem (K = 9, 16 filters, which took the GEMM while this asked for whole 32-filter blocks) through an
    /// im2col block and the narrow micro-kernel at about 3 % of its step.
    /// </summary>
    internal static bool UsesFewPatchValues(in Conv2DGeometry g) =>
        Simd.Use16Lanes && g.PatchSize < FewPatchValues && g.OutputChannels % 16 == 0 && !UsesTapBlocks(g);

    /// <summary>
    /// target[t, j] = (target +) Σ over the chunk's pixels p of patches[p, t]·dz[p, j], for a layer with
    /// few patch values (a first layer's 3×3 window on one channel: K = 9). The GEMM would run its 8-row
    /// tiles over K rows (9 = 8 + 1, almost half of them padding) behind a transposing pack; here each
    /// tap and 32 filters keep two FMA chains (even and odd pixels) over the chunk, in pixel order,
    /// added when it ends, with dz's rows read from L1 once per tap. A function of the chunk only, so
    /// the same bits at any thread count. patches[p, t] is at p·<paramref name="pixelStride"/> +
    /// t·<paramref name="tapStride"/>: x's own rows (pointwise) or <see cref="GatherTaps"/>' tap-major block.
    /// </summary>
    private static void AccumulateFewPatchValues(float* patches, nint pixelStride, nint tapStride, int k, int rows, float* dz, int f, float* target, bool first)
    {
        for (int j = 0; j < f; j += NR)
            for (int t = 0; t < k; t++)
            {
                if (f - j < NR)
                {
                    // A last 16 filters: two taps at a time, for four chains and one read of dz's rows.
                    bool pair = t + 1 < k;
                    AccumulateTapsSixteen(patches + t * tapStride, pair ? tapStride : 0, pixelStride, rows, dz + j, f, target + (nint)t * f + j, pair, first);
                    if (pair) t++;
                    continue;
                }
                float* o = target + (nint)t * f + j;
                Vector512<float> even0 = first ? default : Vector512.Load(o), even1 = first ? default : Vector512.Load(o + 16);
                Vector512<float> odd0 = default, odd1 = default;
                float* a = patches + t * tapStride;
                float* d = dz + j;
                int p = 0;
                for (; p + 2 <= rows; p += 2, a += 2 * pixelStride, d += 2 * f)
                {
                    var v = Vector512.Create(a[0]);
                    even0 = Vector512.FusedMultiplyAdd(v, Vector512.Load(d), even0);
                    even1 = Vector512.FusedMultiplyAdd(v, Vector512.Load(d + 16), even1);
                    var w = Vector512.Create(a[pixelStride]);
                    odd0 = Vector512.FusedMultiplyAdd(w, Vector512.Load(d + f), odd0);
                    odd1 = Vector512.FusedMultiplyAdd(w, Vector512.Load(d + f + 16), odd1);
                }
                if (p < rows)
                {
                    var v = Vector512.Create(a[0]);
                    even0 = Vector512.FusedMultiplyAdd(v, Vector512.Load(d), even0);
                    even1 = Vector512.FusedMultiplyAdd(v, Vector512.Load(d + 16), even1);
                }
                Vector512.Store(even0 + odd0, o);
                Vector512.Store(even1 + odd1, o + 16);
            }
    }

    /// <summary>
    /// <see cref="AccumulateFewPatchValues"/> for a last 16 filters and tap t, and with <paramref name="pair"/> tap t + 1
    /// (<paramref name="nextTap"/> floats on, its target row f on): each lane of each tap the same even and odd chains as a
    /// 32-filter block's, one vector wide, so two taps keep the four chains two FMA pipes need.
    /// </summary>
    private static void AccumulateTapsSixteen(float* a, nint nextTap, nint pixelStride, int rows, float* d, int f, float* o, bool pair, bool first)
    {
        float* o1 = pair ? o + f : o;
        Vector512<float> even = first ? default : Vector512.Load(o), odd = default;
        Vector512<float> even1 = first || !pair ? default : Vector512.Load(o1), odd1 = default;
        float* b = a + nextTap;
        int p = 0;
        for (; p + 2 <= rows; p += 2, a += 2 * pixelStride, b += 2 * pixelStride, d += 2 * f)
        {
            Vector512<float> d0 = Vector512.Load(d), d1 = Vector512.Load(d + f);
            even = Vector512.FusedMultiplyAdd(Vector512.Create(a[0]), d0, even);
            odd = Vector512.FusedMultiplyAdd(Vector512.Create(a[pixelStride]), d1, odd);
            even1 = Vector512.FusedMultiplyAdd(Vector512.Create(b[0]), d0, even1);
            odd1 = Vector512.FusedMultiplyAdd(Vector512.Create(b[pixelStride]), d1, odd1);
        }
        if (p < rows)
        {
            Vector512<float> d0 = Vector512.Load(d);
            even = Vector512.FusedMultiplyAdd(Vector512.Create(a[0]), d0, even);
            even1 = Vector512.FusedMultiplyAdd(Vector512.Create(b[0]), d0, even1);
        }
        Vector512.Store(even + odd, o);
        if (pair) Vector512.Store(even1 + odd1, o1);
    }

    /// <summary>⌈a / s⌉ for s &gt; 0 and a of either sign.</summary>
    private static int CeilDiv(int a, int s) => a >= 0 ? (a + s - 1) / s : -(-a / s);

    private static void AddLong(float* s, float* d, long count)
    {
        for (long i = 0; i < count; i += int.MaxValue / 2)
            Add(s + i, d + i, (int)Math.Min(int.MaxValue / 2, count - i));
    }

    // ---------------------------------------------------------------- im2col / col2im

    /// <summary>
    /// dst[r, kk − k0] = im2col(x)[q0 + r, kk] for kk in [k0, k1): patch column kk = tap·C + channel,
    /// zeros where the tap falls in the padding. Pixels q run over the whole batch.
    /// </summary>
    internal static void Im2Col(float* x, in Conv2DGeometry g, long q0, int rows, int k0, int k1, float* dst, int ldd)
    {
        if (g.InputChannels < FewChannels && k0 == 0 && k1 == g.PatchSize)
        {
            Im2ColFewChannels(x, g, q0, rows, dst, ldd);
            return;
        }
        int oh = g.OutputHeight, ow = g.OutputWidth, h = g.InputHeight, w = g.InputWidth, c = g.InputChannels, kw = g.KernelWidth;
        OutputPixel(g, q0, out long b, out int py, out int px);
        int firstTap = k0 / c, lastTap = (k1 - 1) / c;
        int firstRow = firstTap / kw, firstColumn = firstTap - firstRow * kw;
        for (int r = 0; r < rows; r++)
        {
            float* xs = x + b * g.InputSize;
            float* d = dst + (nint)r * ldd - k0;
            int ih0 = py * g.StrideHeight - g.PadTop, iw0 = px * g.StrideWidth - g.PadLeft;
            // (i, j): the tap's kernel row and column, stepped along rather than divided out per tap and pixel.
            for (int tap = firstTap, i = firstRow, j = firstColumn; tap <= lastTap; tap++)
            {
                int ih = ih0 + i, iw = iw0 + j;
                int lo = Math.Max(k0, tap * c), hi = Math.Min(k1, tap * c + c);
                if ((uint)ih < (uint)h && (uint)iw < (uint)w)
                    Copy(xs + ((nint)ih * w + iw) * c + (lo - tap * c), d + lo, hi - lo);
                else
                    new Span<float>(d + lo, hi - lo).Clear();
                if (++j == kw) { j = 0; i++; }
            }
            if (++px == ow)
            {
                px = 0;
                if (++py == oh) { py = 0; b++; }
            }
        }
    }

    /// <summary>Input channels below which <see cref="Im2Col"/> writes whole patches value by value (<see cref="Im2ColFewChannels"/>).</summary>
    private const int FewChannels = 8;

    /// <summary>
    /// Whole patches of an image with few channels (a first layer's: 1 or 3), each tap's c values stored
    /// one by one instead of through the general loop's copy and clear calls per tap: the CIFAR net's
    /// first layer (64 × 32 × 32 × 3 → 64), whose kernel gradient takes the GEMM over these patches, ran
    /// it in 6.1 ms against 8.0 at 1 thread on Zen 3. (A one-channel layer's outer-product kernel
    /// gradient gathers its patches tap-major instead, <see cref="GatherTaps"/>.)
    /// </summary>
    private static void Im2ColFewChannels(float* x, in Conv2DGeometry g, long q0, int rows, float* dst, int ldd)
    {
        int oh = g.OutputHeight, ow = g.OutputWidth, h = g.InputHeight, w = g.InputWidth, c = g.InputChannels;
        int kh = g.KernelHeight, kw = g.KernelWidth, sh = g.StrideHeight, sw = g.StrideWidth, top = g.PadTop, left = g.PadLeft;
        long inputSize = g.InputSize;
        OutputPixel(g, q0, out long b, out int py, out int px);
        float* xs = x + b * inputSize;
        for (int r = 0; r < rows; r++)
        {
            float* d = dst + (nint)r * ldd;
            int ih0 = py * sh - top, iw0 = px * sw - left;
            for (int i = 0; i < kh; i++)
            {
                int ih = ih0 + i;
                bool rowInside = (uint)ih < (uint)h;
                float* xr = xs + (nint)ih * w * c;
                for (int j = 0; j < kw; j++, d += c)
                {
                    int iw = iw0 + j;
                    if (rowInside && (uint)iw < (uint)w)
                    {
                        float* src = xr + (nint)iw * c;
                        for (int q = 0; q < c; q++) d[q] = src[q];
                    }
                    else
                        for (int q = 0; q < c; q++) d[q] = 0f;
                }
            }
            if (++px == ow)
            {
                px = 0;
                if (++py == oh) { py = 0; xs += inputSize; }
            }
        }
    }

    /// <summary>Adds rows [0, rows) of the column matrix (pixels q0.. of one sample) back into that sample's dx.</summary>
    internal static void Col2ImAdd(float* col, int ldc, in Conv2DGeometry g, int q0, int rows, float* dxs)
    {
        int ow = g.OutputWidth, h = g.InputHeight, w = g.InputWidth, c = g.InputChannels, kh = g.KernelHeight, kw = g.KernelWidth;
        int py = q0 / ow, px = q0 - py * ow;
        for (int r = 0; r < rows; r++)
        {
            float* src = col + (nint)r * ldc;
            int ih0 = py * g.StrideHeight - g.PadTop, iw0 = px * g.StrideWidth - g.PadLeft;
            for (int i = 0; i < kh; i++)
            {
                int ih = ih0 + i;
                if ((uint)ih >= (uint)h) continue;
                for (int j = 0; j < kw; j++)
                {
                    int iw = iw0 + j;
                    if ((uint)iw >= (uint)w) continue;
                    Add(src + (i * kw + j) * c, dxs + ((nint)ih * w + iw) * c, c);
                }
            }
            if (++px == ow) { px = 0; py++; }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void Copy(float* s, float* d, int count)
    {
        int i = 0;
        if (Vector512.IsHardwareAccelerated)
            for (; i + 16 <= count; i += 16) Vector512.Store(Vector512.Load(s + i), d + i);
        for (; i + 8 <= count; i += 8) Vector256.Store(Vector256.Load(s + i), d + i);
        for (; i + 4 <= count; i += 4) Vector128.Store(Vector128.Load(s + i), d + i);
        for (; i < count; i++) d[i] = s[i];
    }

    /// <summary>d += s elementwise.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void Add(float* s, float* d, int count)
    {
        int i = 0;
        if (Vector512.IsHardwareAccelerated)
            for (; i + 16 <= count; i += 16) Vector512.Store(Vector512.Load(d + i) + Vector512.Load(s + i), d + i);
        for (; i + 8 <= count; i += 8) Vector256.Store(Vector256.Load(d + i) + Vector256.Load(s + i), d + i);
        for (; i + 4 <= count; i += 4) Vector128.Store(Vector128.Load(d + i) + Vector128.Load(s + i), d + i);
        for (; i < count; i++) d[i] += s[i];
    }

    /// <summary>One thread's GEMM at the widest enabled vector width (the caller is already inside a pool job).</summary>
    internal static void GemmSerial<TAct>(bool transA, bool transB, int m, int n, int k, float* a, nint lda, float* b, nint ldb,
        float* c, nint ldc, bool accumulate, float* bias, bool epilogue, TAct act) where TAct : struct, IActivation
    {
        if (Simd.Use512)
            GemmDriver.Serial<MicroKernel512, TAct>(transA, transB, m, n, k, a, lda, b, ldb, c, ldc, accumulate, bias, epilogue, act);
        else if (Simd.Use256)
            GemmDriver.Serial<MicroKernel256, TAct>(transA, transB, m, n, k, a, lda, b, ldb, c, ldc, accumulate, bias, epilogue, act);
        else
        {
            // Scalar reference path: Gemm runs it inline, without splitting.
            long aLen = transA ? (long)(k - 1) * lda + m : (long)(m - 1) * lda + k;
            long bLen = transB ? (long)(n - 1) * ldb + k : (long)(k - 1) * ldb + n;
            long cLen = (long)(m - 1) * ldc + n;
            Gemm.Multiply(transA, transB, m, n, k, new ReadOnlySpan<float>(a, (int)aLen), (int)lda, new ReadOnlySpan<float>(b, (int)bLen), (int)ldb,
                new Span<float>(c, (int)cLen), (int)ldc, accumulate, bias == null ? default : new ReadOnlySpan<float>(bias, n), epilogue, act);
        }
    }
}
