using System;
using System.Runtime.CompilerServices;

namespace Kiln.Kernels;

internal static unsafe partial class ConvCore
{
    /// <summary>
    /// True where the kernel gradient sums outer products in blocks of taps held in registers
    /// (<see cref="AccumulateTapBlocks"/>): a window on fewer than 8 input channels (a first layer's: the patches cannot
    /// be read in place, and K = 9, 25 or 27 fills the GEMM's 8-row tiles badly behind a transposing pack), 8 to
    /// <see cref="TapBlockMaxPatch"/> patch values, whole vectors of filters (16 on the 512-bit path, 8 on the 256-bit one).
    /// </summary>
    internal static bool UsesTapBlocks(in Conv2DGeometry g) =>
        TapBlocks && !g.IsPointwise && g.InputChannels < MR && g.PatchSize >= MinTapBlock && g.PatchSize <= TapBlockMaxPatch
        && (Simd.Use512 ? g.OutputChannels % 16 == 0 : Simd.Use256 && g.OutputChannels % 8 == 0);

    /// <summary>Fewer taps than this keep too few FMA chains to cover the latency; those layers take <see cref="AccumulateFewPatchValues"/>.</summary>
    private const int MinTapBlock = 8;

    /// <summary>
    /// Whether the layers <see cref="UsesTapBlocks"/> describes take this path; off, they take the packed GEMM (or, K below 16,
    /// <see cref="AccumulateFewPatchValues"/> over the same gather) as before stop 65. Settable for measuring it
    /// (Kiln.Benchmarks --paired MODEL,tap-blocks,0,1, and --only firstgrad).
    /// </summary>
    internal static bool TapBlocks = true;

    /// <summary>The most taps one block holds: 24 accumulators, with dz's vector and a broadcast, within AVX-512's 32 registers.</summary>
    private const int MaxTapBlock = 24;

    /// <summary>The same on the 256-bit path: 12 accumulators, dz's vector and a broadcast within AVX2's 16 registers.</summary>
    private const int MaxTapBlock256 = 12;

    /// <summary>The largest patch this path takes (a 7 × 7 window on 3 channels is 147).</summary>
    internal const int TapBlockMaxPatch = 160;

    /// <summary>
    /// Floats between consecutive taps of the gathered block, a constant so that a block's broadcasts are one register
    /// plus fixed offsets; 17 cache lines, so the taps' rows fall in different L1 sets. A chunk has at most
    /// <see cref="TapBlockRows"/> pixels.
    /// </summary>
    internal const int TapStride = 272;

    /// <summary>The most pixels of a chunk on this path (within <see cref="TapStride"/>).</summary>
    internal const int TapBlockRows = 256;

    /// <summary>
    /// The chunk's patches tap-major, dst[t·<paramref name="tapStride"/> + p] = im2col[q0 + p][t], for the outer-product
    /// kernel gradients (<see cref="TapStride"/> for the tap blocks, the chunk's rows for <see cref="AccumulateFewPatchValues"/>).
    /// Along each run of output pixels in one output row, a kernel row's input row is first split by channel and by column
    /// phase of the stride into contiguous rows, zero where the window leaves the image; each of that kernel row's taps is
    /// then one contiguous copy out of them (one channel at stride 1 copies straight from the input row). Gathered tap by
    /// tap, a 3-channel layer was copied value by value with two divisions per tap and run, and took longer than the
    /// products (stop 65); pixel-major, a one-channel layer's patches were stored value by value (half of its kernel
    /// gradient on Zen 3).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void GatherTaps(float* x, in Conv2DGeometry g, long q0, int rows, float* dst, nint tapStride)
    {
        int oh = g.OutputHeight, ow = g.OutputWidth, h = g.InputHeight, w = g.InputWidth, c = g.InputChannels;
        int kh = g.KernelHeight, kw = g.KernelWidth, sh = g.StrideHeight, sw = g.StrideWidth, top = g.PadTop, left = g.PadLeft;
        // A run of q < ow pixels reads entry q + j / sw of phase j % sw for tap column j.
        int span = ow + (kw - 1) / sw;
        nint phaseRows = (nint)sw * span;
        float* split = ConvScratch.Current.Floats(1, (long)c * phaseRows);
        OutputPixel(g, q0, out long b, out int oy, out int ox);
        for (int p = 0; p < rows;)
        {
            int run = Math.Min(rows - p, ow - ox);
            int entries = run + (kw - 1) / sw;
            int c0 = ox * sw - left; // the input column of entry 0, phase 0
            float* xs = x + b * g.InputSize;
            for (int i = 0; i < kh; i++)
            {
                int ih = oy * sh - top + i;
                if ((uint)ih >= (uint)h)
                {
                    for (int t = i * kw * c; t < (i + 1) * kw * c; t++) new Span<float>(dst + t * tapStride + p, run).Clear();
                    continue;
                }
                float* xr = xs + (nint)ih * w * c;
                if (c == 1 && sw == 1)
                {
                    // One channel at stride 1: each tap is a stretch of the input row itself, zero past its ends.
                    for (int j = 0; j < kw; j++)
                    {
                        float* d = dst + (i * kw + j) * tapStride + p;
                        int lo = Math.Clamp(-c0 - j, 0, run), hi = Math.Clamp(w - c0 - j, lo, run);
                        for (int q = 0; q < lo; q++) d[q] = 0f;
                        Copy(xr + c0 + j + lo, d + lo, hi - lo);
                        for (int q = hi; q < run; q++) d[q] = 0f;
                    }
                    continue;
                }
                for (int ph = 0; ph < Math.Min(sw, kw); ph++) // a stride wider than the window skips columns no tap reads
                {
                    // Entries [lo, hi) of this phase lie inside the row: 0 ≤ c0 + n·sw + ph < w.
                    int lo = Math.Clamp(sw == 1 ? -c0 - ph : CeilDiv(-c0 - ph, sw), 0, entries);
                    int hi = Math.Clamp(sw == 1 ? w - c0 - ph : CeilDiv(w - c0 - ph, sw), lo, entries);
                    for (int ch = 0; ch < c; ch++)
                    {
                        float* d = split + ch * phaseRows + (nint)ph * span;
                        for (int n = 0; n < lo; n++) d[n] = 0f;
                        float* src = xr + (nint)(c0 + lo * sw + ph) * c + ch;
                        nint step = (nint)sw * c;
                        for (int n = lo; n < hi; n++, src += step) d[n] = *src;
                        for (int n = hi; n < entries; n++) d[n] = 0f;
                    }
                }
                // Tap column j reads phase j % sw from entry j / sw, stepped along rather than divided out.
                for (int j = 0, ph = 0, first = 0; j < kw; j++)
                {
                    for (int ch = 0; ch < c; ch++)
                        Copy(split + ch * phaseRows + (nint)ph * span + first, dst + ((i * kw + j) * c + ch) * tapStride + p, run);
                    if (++ph == sw) { ph = 0; first++; }
                }
            }
            p += run;
            ox += run;
            if (ox == ow)
            {
                ox = 0;
                if (++oy == oh) { oy = 0; b++; }
            }
        }
    }

    /// <summary>
    /// target[t, j] = (target +) Σ over the chunk's pixels p of col[t·<see cref="TapStride"/> + p]·dz[p, j] for every tap t
    /// and filter j: for each block of up to 24 taps and each 16 filters (12 and 8 at 256 bits), one accumulator per tap
    /// over the chunk's pixels in order, so one pixel's vector of dz feeds as many FMAs as the block has taps. The
    /// element's chain is a function of the chunk only, so the same bits at any thread count.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void AccumulateTapBlocks(float* col, int k, int rows, float* dz, int f, float* target, bool first)
    {
        if (Simd.Use512) AccumulateTapBlocks<Lanes16>(MaxTapBlock, col, k, rows, dz, f, target, first);
        else AccumulateTapBlocks<Lanes8>(MaxTapBlock256, col, k, rows, dz, f, target, first);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void AccumulateTapBlocks<TV>(int most, float* col, int k, int rows, float* dz, int f, float* target, bool first)
        where TV : struct, ILanes<TV>
    {
        int blocks = (k + most - 1) / most;
        int size = (k + blocks - 1) / blocks;
        for (int t0 = 0; t0 < k; t0 += size)
        {
            int taps = Math.Min(size, k - t0);
            for (int j = 0; j < f; j += TV.Count)
                TapBlock<TV>(taps, col + (nint)t0 * TapStride, rows, dz + j, f, target + (nint)t0 * f + j, first);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void TapBlock<TV>(int taps, float* col, int rows, float* dz, int f, float* target, bool first) where TV : struct, ILanes<TV>
    {
        switch (taps)
        {
            case 1: TapBlock<Vectors1, TV>(col, rows, dz, f, target, first); break;
            case 2: TapBlock<Vectors2, TV>(col, rows, dz, f, target, first); break;
            case 3: TapBlock<Vectors3, TV>(col, rows, dz, f, target, first); break;
            case 4: TapBlock<Vectors4, TV>(col, rows, dz, f, target, first); break;
            case 5: TapBlock<Vectors5, TV>(col, rows, dz, f, target, first); break;
            case 6: TapBlock<Vectors6, TV>(col, rows, dz, f, target, first); break;
            case 7: TapBlock<Vectors7, TV>(col, rows, dz, f, target, first); break;
            case 8: TapBlock<Vectors8, TV>(col, rows, dz, f, target, first); break;
            case 9: TapBlock<Vectors9, TV>(col, rows, dz, f, target, first); break;
            case 10: TapBlock<Vectors10, TV>(col, rows, dz, f, target, first); break;
            case 11: TapBlock<Vectors11, TV>(col, rows, dz, f, target, first); break;
            case 12: TapBlock<Vectors12, TV>(col, rows, dz, f, target, first); break;
            case 13: TapBlock<Vectors13, TV>(col, rows, dz, f, target, first); break;
            case 14: TapBlock<Vectors14, TV>(col, rows, dz, f, target, first); break;
            case 15: TapBlock<Vectors15, TV>(col, rows, dz, f, target, first); break;
            case 16: TapBlock<Vectors16, TV>(col, rows, dz, f, target, first); break;
            case 17: TapBlock<Vectors17, TV>(col, rows, dz, f, target, first); break;
            case 18: TapBlock<Vectors18, TV>(col, rows, dz, f, target, first); break;
            case 19: TapBlock<Vectors19, TV>(col, rows, dz, f, target, first); break;
            case 20: TapBlock<Vectors20, TV>(col, rows, dz, f, target, first); break;
            case 21: TapBlock<Vectors21, TV>(col, rows, dz, f, target, first); break;
            case 22: TapBlock<Vectors22, TV>(col, rows, dz, f, target, first); break;
            case 23: TapBlock<Vectors23, TV>(col, rows, dz, f, target, first); break;
            case 24: TapBlock<Vectors24, TV>(col, rows, dz, f, target, first); break;
            default: throw new ArgumentOutOfRangeException(nameof(taps), taps, $"a tap block holds 1 to {MaxTapBlock} taps");
        }
    }

    /// <summary>
    /// <typeparamref name="TT"/> taps (target rows f apart) × one vector of filters; the unused accumulators and every
    /// branch on <typeparamref name="TT"/> compile away (at 8 lanes the blocks stop at 12 taps, within AVX2's registers).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void TapBlock<TT, TV>(float* col, int rows, float* dz, int f, float* target, bool first)
        where TT : struct, IVectorCount where TV : struct, ILanes<TV>
    {
        TV a0 = Start<TT, TV>(0, target, f, first), a1 = Start<TT, TV>(1, target, f, first), a2 = Start<TT, TV>(2, target, f, first);
        TV a3 = Start<TT, TV>(3, target, f, first), a4 = Start<TT, TV>(4, target, f, first), a5 = Start<TT, TV>(5, target, f, first);
        TV a6 = Start<TT, TV>(6, target, f, first), a7 = Start<TT, TV>(7, target, f, first), a8 = Start<TT, TV>(8, target, f, first);
        TV a9 = Start<TT, TV>(9, target, f, first), a10 = Start<TT, TV>(10, target, f, first), a11 = Start<TT, TV>(11, target, f, first);
        TV a12 = Start<TT, TV>(12, target, f, first), a13 = Start<TT, TV>(13, target, f, first), a14 = Start<TT, TV>(14, target, f, first);
        TV a15 = Start<TT, TV>(15, target, f, first), a16 = Start<TT, TV>(16, target, f, first), a17 = Start<TT, TV>(17, target, f, first);
        TV a18 = Start<TT, TV>(18, target, f, first), a19 = Start<TT, TV>(19, target, f, first), a20 = Start<TT, TV>(20, target, f, first);
        TV a21 = Start<TT, TV>(21, target, f, first), a22 = Start<TT, TV>(22, target, f, first), a23 = Start<TT, TV>(23, target, f, first);
        for (int p = 0; p < rows; p++, col++, dz += f)
        {
            TV d = TV.Load(dz);
            a0 = Step<TT, TV>(0, col, d, a0); a1 = Step<TT, TV>(1, col, d, a1); a2 = Step<TT, TV>(2, col, d, a2); a3 = Step<TT, TV>(3, col, d, a3);
            a4 = Step<TT, TV>(4, col, d, a4); a5 = Step<TT, TV>(5, col, d, a5); a6 = Step<TT, TV>(6, col, d, a6); a7 = Step<TT, TV>(7, col, d, a7);
            a8 = Step<TT, TV>(8, col, d, a8); a9 = Step<TT, TV>(9, col, d, a9); a10 = Step<TT, TV>(10, col, d, a10); a11 = Step<TT, TV>(11, col, d, a11);
            a12 = Step<TT, TV>(12, col, d, a12); a13 = Step<TT, TV>(13, col, d, a13); a14 = Step<TT, TV>(14, col, d, a14); a15 = Step<TT, TV>(15, col, d, a15);
            a16 = Step<TT, TV>(16, col, d, a16); a17 = Step<TT, TV>(17, col, d, a17); a18 = Step<TT, TV>(18, col, d, a18); a19 = Step<TT, TV>(19, col, d, a19);
            a20 = Step<TT, TV>(20, col, d, a20); a21 = Step<TT, TV>(21, col, d, a21); a22 = Step<TT, TV>(22, col, d, a22); a23 = Step<TT, TV>(23, col, d, a23);
        }
        Finish<TT, TV>(0, target, f, a0); Finish<TT, TV>(1, target, f, a1); Finish<TT, TV>(2, target, f, a2); Finish<TT, TV>(3, target, f, a3);
        Finish<TT, TV>(4, target, f, a4); Finish<TT, TV>(5, target, f, a5); Finish<TT, TV>(6, target, f, a6); Finish<TT, TV>(7, target, f, a7);
        Finish<TT, TV>(8, target, f, a8); Finish<TT, TV>(9, target, f, a9); Finish<TT, TV>(10, target, f, a10); Finish<TT, TV>(11, target, f, a11);
        Finish<TT, TV>(12, target, f, a12); Finish<TT, TV>(13, target, f, a13); Finish<TT, TV>(14, target, f, a14); Finish<TT, TV>(15, target, f, a15);
        Finish<TT, TV>(16, target, f, a16); Finish<TT, TV>(17, target, f, a17); Finish<TT, TV>(18, target, f, a18); Finish<TT, TV>(19, target, f, a19);
        Finish<TT, TV>(20, target, f, a20); Finish<TT, TV>(21, target, f, a21); Finish<TT, TV>(22, target, f, a22); Finish<TT, TV>(23, target, f, a23);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static TV Start<TT, TV>(int t, float* target, int f, bool first) where TT : struct, IVectorCount where TV : struct, ILanes<TV> =>
        t >= TT.Value || first ? default : TV.Load(target + (nint)t * f);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static TV Step<TT, TV>(int t, float* col, TV d, TV acc) where TT : struct, IVectorCount where TV : struct, ILanes<TV> =>
        t >= TT.Value ? acc : TV.MultiplyAdd(col[t * TapStride], d, acc);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Finish<TT, TV>(int t, float* target, int f, TV acc) where TT : struct, IVectorCount where TV : struct, ILanes<TV>
    {
        if (t < TT.Value) TV.Store(acc, target + (nint)t * f);
    }
}
