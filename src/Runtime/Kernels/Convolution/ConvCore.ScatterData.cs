using System;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Kiln.Kernels;

internal static unsafe partial class ConvCore
{
    /// <summary>
    /// True where the data gradient adds its products into dx where they land (<see cref="ScatterSample"/>)
    /// instead of through an im2col block and col2im: the 512-bit path, not pointwise, and whole 16-channel
    /// runs of input channels, so each 16 columns of dz·Wᵀ are one tap's channels, one vector of one dx pixel.
    /// </summary>
    internal static bool ScattersInPlace(in Conv2DGeometry g) =>
        Simd.Use512 && g.InputChannels % 16 == 0 && !g.IsPointwise;

    /// <summary>
    /// Wᵀ (F × K) packed once per call in 32-column panels for <see cref="ScatterTile"/>: panel j's depth step p
    /// is 32 floats at <paramref name="packed"/> + j·F + p·32, a last panel of 16 columns zero-padded.
    /// </summary>
    private static void PackTransposedKernel(float* kernel, in Conv2DGeometry g, float* packed) =>
        GemmPacking.PackB(true, kernel, g.OutputChannels, g.OutputChannels, g.PatchSize, packed, NR);

    /// <summary>Floats <see cref="PackTransposedKernel"/> writes: K rounded up to whole 32-column panels, times F.</summary>
    private static long PackedTransposedKernelFloats(in Conv2DGeometry g) =>
        (long)(g.PatchSize + NR - 1) / NR * NR * g.OutputChannels;

    /// <summary>
    /// One sample's dx += col2im(dz·Wᵀ) with no column block: for each 8 pixels, the 8 × K product runs 32
    /// columns at a time (<see cref="ScatterTile"/>) and each row's 16-column halves are added into the dx
    /// pixel their tap reads, or into a sink row where the tap lies in the padding. The im2col block and its
    /// col2im pass were half of this layer's time, with packing dz and Wᵀ per chunk (1 thread, the Fashion
    /// ResNet's 28 × 28 × 16 → 32 stride-2 layer, Zen 5). One thread's own sample, its pixels in order:
    /// the same bits at any thread count.
    /// </summary>
    private static void ScatterSample(float* dzs, float* packed, float* dxs, in Conv2DGeometry g, float* zeros, float* sink, float** targets)
    {
        int f = g.OutputChannels, c = g.InputChannels, k = g.PatchSize, kw = g.KernelWidth, taps = g.KernelHeight * kw;
        int perSample = g.OutputHeight * g.OutputWidth;
        // The tile's MR·taps targets and MR dz rows, then each tap's offset in a window. (Building the next
        // tile's table ahead and fetching its lines of dx into L1 was 2–10 % slower, Zen 5.)
        float** rows = targets + MR * taps;
        nint* offsets = (nint*)(rows + MR);
        for (int t = 0; t < taps; t++) offsets[t] = ((nint)(t / kw) * g.InputWidth + t % kw) * c;
        var cursor = new Cursor();
        for (int p0 = 0; p0 < perSample; p0 += MR)
        {
            FillTargets(dzs, dxs, g, p0, ref cursor, zeros, sink, offsets, targets);
            // Column j is channel o of tap t: 32 columns further on, o + 32 wraps past C into later taps.
            for (int j = 0, t = 0, o = 0; j < k; j += NR)
            {
                int t1 = t, o1 = o + 16;
                if (o1 >= c) { t1++; o1 -= c; }
                ScatterTile(rows, f, packed + (nint)j * f, targets, taps, t, o, t1, o1, k - j >= NR);
                t = t1;
                o = o1 + 16;
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
    /// The tile at pixel <paramref name="p0"/>: each row's dz, then the dx pixel under each of its taps (the sink
    /// outside the image) into <paramref name="table"/>; rows past the sample's last pixel read zeros into the sink.
    /// </summary>
    private static void FillTargets(float* dzs, float* dxs, in Conv2DGeometry g, int p0, ref Cursor at, float* zeros, float* sink, nint* offsets, float** table)
    {
        int f = g.OutputChannels, c = g.InputChannels, kh = g.KernelHeight, kw = g.KernelWidth, taps = kh * kw;
        int h = g.InputHeight, w = g.InputWidth, ow = g.OutputWidth, perSample = g.OutputHeight * ow;
        float** rows = table + MR * taps;
        for (int r = 0; r < MR; r++)
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

    /// <summary>
    /// 32 columns (16 when not <paramref name="whole"/>) of 8 rows of dz·Wᵀ, in 16 zmm accumulators as the
    /// 512-bit GEMM micro-kernel's tile with its A values read from dz's rows in place, then each row's two
    /// 16-column runs added into the dx pixels their taps name: run h is channels o_h .. o_h + 15 of tap t_h,
    /// added at targets[row·taps + t_h] + o_h. Two runs may name one pixel (neighbouring windows overlap): each add reads what
    /// the one before it stored.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void ScatterTile(float** rows, int depth, float* b, float** targets, int taps, int t0, int o0, int t1, int o1, bool whole)
    {
        float* a0 = rows[0], a1 = rows[1], a2 = rows[2], a3 = rows[3], a4 = rows[4], a5 = rows[5], a6 = rows[6], a7 = rows[7];
        Vector512<float> c00 = default, c01 = default, c10 = default, c11 = default;
        Vector512<float> c20 = default, c21 = default, c30 = default, c31 = default;
        Vector512<float> c40 = default, c41 = default, c50 = default, c51 = default;
        Vector512<float> c60 = default, c61 = default, c70 = default, c71 = default;
        if (whole)
        {
            for (nint p = 0; p < depth; p++, b += NR)
            {
                Vector512<float> b0 = Vector512.Load(b), b1 = Vector512.Load(b + 16);
                Vector512<float> ai = Vector512.Create(a0[p]);
                c00 = Vector512.FusedMultiplyAdd(ai, b0, c00); c01 = Vector512.FusedMultiplyAdd(ai, b1, c01);
                ai = Vector512.Create(a1[p]);
                c10 = Vector512.FusedMultiplyAdd(ai, b0, c10); c11 = Vector512.FusedMultiplyAdd(ai, b1, c11);
                ai = Vector512.Create(a2[p]);
                c20 = Vector512.FusedMultiplyAdd(ai, b0, c20); c21 = Vector512.FusedMultiplyAdd(ai, b1, c21);
                ai = Vector512.Create(a3[p]);
                c30 = Vector512.FusedMultiplyAdd(ai, b0, c30); c31 = Vector512.FusedMultiplyAdd(ai, b1, c31);
                ai = Vector512.Create(a4[p]);
                c40 = Vector512.FusedMultiplyAdd(ai, b0, c40); c41 = Vector512.FusedMultiplyAdd(ai, b1, c41);
                ai = Vector512.Create(a5[p]);
                c50 = Vector512.FusedMultiplyAdd(ai, b0, c50); c51 = Vector512.FusedMultiplyAdd(ai, b1, c51);
                ai = Vector512.Create(a6[p]);
                c60 = Vector512.FusedMultiplyAdd(ai, b0, c60); c61 = Vector512.FusedMultiplyAdd(ai, b1, c61);
                ai = Vector512.Create(a7[p]);
                c70 = Vector512.FusedMultiplyAdd(ai, b0, c70); c71 = Vector512.FusedMultiplyAdd(ai, b1, c71);
            }
        }
        else
        {
            // A last run of 16 columns (K = taps·C is a multiple of 16): half the tile.
            for (nint p = 0; p < depth; p++, b += NR)
            {
                Vector512<float> b0 = Vector512.Load(b);
                c00 = Vector512.FusedMultiplyAdd(Vector512.Create(a0[p]), b0, c00);
                c10 = Vector512.FusedMultiplyAdd(Vector512.Create(a1[p]), b0, c10);
                c20 = Vector512.FusedMultiplyAdd(Vector512.Create(a2[p]), b0, c20);
                c30 = Vector512.FusedMultiplyAdd(Vector512.Create(a3[p]), b0, c30);
                c40 = Vector512.FusedMultiplyAdd(Vector512.Create(a4[p]), b0, c40);
                c50 = Vector512.FusedMultiplyAdd(Vector512.Create(a5[p]), b0, c50);
                c60 = Vector512.FusedMultiplyAdd(Vector512.Create(a6[p]), b0, c60);
                c70 = Vector512.FusedMultiplyAdd(Vector512.Create(a7[p]), b0, c70);
            }
        }
        AddRow(targets, t0, o0, t1, o1, c00, c01, whole); targets += taps;
        AddRow(targets, t0, o0, t1, o1, c10, c11, whole); targets += taps;
        AddRow(targets, t0, o0, t1, o1, c20, c21, whole); targets += taps;
        AddRow(targets, t0, o0, t1, o1, c30, c31, whole); targets += taps;
        AddRow(targets, t0, o0, t1, o1, c40, c41, whole); targets += taps;
        AddRow(targets, t0, o0, t1, o1, c50, c51, whole); targets += taps;
        AddRow(targets, t0, o0, t1, o1, c60, c61, whole); targets += taps;
        AddRow(targets, t0, o0, t1, o1, c70, c71, whole);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void AddRow(float** targets, int t0, int o0, int t1, int o1, Vector512<float> v0, Vector512<float> v1, bool whole)
    {
        float* d = targets[t0] + o0;
        Vector512.Store(Vector512.Load(d) + v0, d);
        if (!whole) return;
        d = targets[t1] + o1;
        Vector512.Store(Vector512.Load(d) + v1, d);
    }
}
