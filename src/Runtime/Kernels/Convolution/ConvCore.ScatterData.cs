namespace Kiln.Kernels;

internal static unsafe partial class ConvCore
{
    /// <summary>
    /// True where the data gradient adds its products into dx where they land (<see cref="ScatterSample"/>)
    /// instead of through an im2col block and col2im: a vector path, not pointwise, and the input's channels in
    /// whole runs of one vector (<see cref="ScatterRun"/>), so each run of columns of dz·Wᵀ is one tap's
    /// channels, one vector of one dx pixel.
    /// </summary>
    internal static bool ScattersInPlace(in Conv2DGeometry g) =>
        Simd.Use16Lanes && g.InputChannels % ScatterRun == 0 && !g.IsPointwise;

    /// <summary>Columns per vector of the scattering tile: 16 on the 512-bit path, 8 on the 256-bit one; a panel is two.</summary>
    private static int ScatterRun => Simd.Use512 ? 16 : 8;

    /// <summary>Rows per scattering tile: the GEMM micro-kernel's at the enabled width (8, or 6 at 256 bits).</summary>
    private static int ScatterRows => Simd.Use512 ? MR : Rows256;

    /// <summary>
    /// Wᵀ (F × K) packed once per call in panels of two runs for the scattering tiles: panel j's depth step p is
    /// 2·run floats at <paramref name="packed"/> + j·F + p·2·run, a last panel of one run zero-padded.
    /// </summary>
    private static void PackTransposedKernel(float* kernel, in Conv2DGeometry g, float* packed) =>
        GemmPacking.PackB(true, kernel, g.OutputChannels, g.OutputChannels, g.PatchSize, packed, 2 * ScatterRun);

    /// <summary>Floats <see cref="PackTransposedKernel"/> writes: K rounded up to whole panels, times F.</summary>
    private static long PackedTransposedKernelFloats(in Conv2DGeometry g)
    {
        int panel = 2 * ScatterRun;
        return (long)(g.PatchSize + panel - 1) / panel * panel * g.OutputChannels;
    }

    /// <summary>
    /// A thread's buffers for <see cref="ScatterSample"/>, set up once per job part: the sink row that taps in the
    /// padding add into (written, never read), a zero dz row for a last tile's missing pixels, the tile's table
    /// (MR·taps targets, then MR dz rows) and each tap's offset from its window's first pixel in dx.
    /// </summary>
    private readonly struct ScatterBuffers
    {
        public readonly float* Sink, Zeros;
        public readonly float** Targets;
        public readonly nint* Offsets;

        public ScatterBuffers(in Conv2DGeometry g)
        {
            int c = g.InputChannels, kw = g.KernelWidth, taps = g.KernelHeight * kw;
            ConvScratch s = ConvScratch.Current;
            Sink = s.Floats(0, c);
            Zeros = s.Zeros(g.OutputChannels);
            Targets = s.Pointers((MR + 1L) * taps + MR);
            Offsets = (nint*)(Targets + MR * taps + MR);
            for (int t = 0; t < taps; t++) Offsets[t] = ((nint)(t / kw) * g.InputWidth + t % kw) * c;
        }
    }

    /// <summary>
    /// One sample's dx += col2im(dz·Wᵀ) with no column block: for each tile of pixels (8, or 6 at 256 bits), the
    /// product runs a panel of two vectors' columns at a time (<see cref="ScatterTile512"/>,
    /// <see cref="ScatterTile256"/>) and each row's two runs are added into the dx pixels their taps read, or into
    /// a sink row where a tap lies in the padding. The im2col block and its col2im pass were half of this layer's
    /// time, with packing dz and Wᵀ per chunk (1 thread, the Fashion ResNet's 28 × 28 × 16 → 32 stride-2 layer,
    /// Zen 5). One thread's own sample, its pixels in order: the same bits at any thread count. (Building the next
    /// tile's table ahead and fetching its lines of dx into L1 was 2–10 % slower, Zen 5.)
    /// </summary>
    private static void ScatterSample(float* dzs, float* packed, float* dxs, in Conv2DGeometry g, in ScatterBuffers buffers)
    {
        int f = g.OutputChannels, c = g.InputChannels, k = g.PatchSize, taps = g.KernelHeight * g.KernelWidth;
        int perSample = g.OutputHeight * g.OutputWidth;
        float** targets = buffers.Targets, rows = targets + MR * taps;
        var cursor = new Cursor();
        bool wide = Simd.Use512;
        int tileRows = ScatterRows, run = ScatterRun, panel = 2 * run;
        for (int p0 = 0; p0 < perSample; p0 += tileRows)
        {
            FillTargets(dzs, dxs, g, p0, tileRows, ref cursor, buffers);
            // Column j is channel o of tap t: a run further on, o + run wraps past C into the next tap.
            for (int j = 0, t = 0, o = 0; j < k; j += panel)
            {
                int t1 = t, o1 = o + run;
                if (o1 >= c) { t1++; o1 -= c; }
                bool whole = k - j >= panel;
                if (wide) ScatterTile512(rows, f, packed + (nint)j * f, targets, taps, t, o, t1, o1, whole);
                else ScatterTile256(rows, f, packed + (nint)j * f, targets, taps, t, o, t1, o1, whole);
                t = t1;
                o = o1 + run;
                if (o >= c) { t++; o -= c; }
            }
        }
    }

    /// <summary>The output pixel (row, column) the next tile starts at.</summary>
    private struct Cursor
    {
        public int Y, X;
    }

    /// <summary>
    /// The tile of <paramref name="tileRows"/> at pixel <paramref name="p0"/>: the dx pixel under each tap of each row
    /// (the sink outside the image) into the buffers' table, then each row's dz after <see cref="MR"/>·taps of
    /// them; rows past the sample's last pixel read zeros into the sink.
    /// </summary>
    private static void FillTargets(float* dzs, float* dxs, in Conv2DGeometry g, int p0, int tileRows, ref Cursor at, in ScatterBuffers buffers)
    {
        float* zeros = buffers.Zeros, sink = buffers.Sink;
        float** table = buffers.Targets;
        nint* offsets = buffers.Offsets;
        int f = g.OutputChannels, c = g.InputChannels, kh = g.KernelHeight, kw = g.KernelWidth, taps = kh * kw;
        int h = g.InputHeight, w = g.InputWidth, ow = g.OutputWidth, perSample = g.OutputHeight * ow;
        float** rows = table + MR * taps;
        for (int r = 0; r < tileRows; r++)
        {
            float** to = table + r * taps;
            if (p0 + r >= perSample)
            {
                rows[r] = zeros;
                for (int t = 0; t < taps; t++) to[t] = sink;
                continue;
            }
            rows[r] = dzs + (nint)(p0 + r) * f;
            int ih = at.Y * g.StrideHeight - g.PadTop, iw0 = at.X * g.StrideWidth - g.PadLeft;
            if (++at.X == ow) { at.X = 0; at.Y++; }
            if (ih >= 0 && ih + kh <= h && iw0 >= 0 && iw0 + kw <= w)
            {
                // A window inside the image: its taps are fixed offsets from its first pixel.
                float* first = dxs + ((nint)ih * w + iw0) * c;
                for (int t = 0; t < taps; t++) to[t] = first + offsets[t];
                continue;
            }
            for (int i = 0; i < kh; i++, ih++, to += kw)
            {
                bool inside = (uint)ih < (uint)h;
                float* pixel = dxs + ((nint)ih * w + iw0) * c;
                for (int jj = 0, iw = iw0; jj < kw; jj++, iw++, pixel += c)
                    to[jj] = inside && (uint)iw < (uint)w ? pixel : sink;
            }
        }
    }
}
