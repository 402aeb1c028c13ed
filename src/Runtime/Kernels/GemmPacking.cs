using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Kiln.Kernels;

/// <summary>
/// Copies blocks of A and B into the k-major, zero-padded panel layout the micro-kernels stream
/// through. The transposed layouts are undone here, so one micro-kernel serves Nn, Tn and Nt, and
/// the zero padding lets edge tiles run the same full-width arithmetic (same bits as inner tiles).
/// </summary>
internal static unsafe class GemmPacking
{
    /// <summary>
    /// Packs rows [0, mc) × k [0, kc) of op(A) into panels of <paramref name="mr"/> rows:
    /// dst[panel][p * mr + r]. <paramref name="a"/> points at op(A)[0, 0].
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void PackA(bool transA, float* a, nint lda, int mc, int kc, float* dst, int mr)
    {
        for (int ir = 0; ir < mc; ir += mr)
        {
            int rows = mc - ir < mr ? mc - ir : mr;
            float* panel = dst + (nint)ir * kc;
            if (transA)
            {
                // A stored k×m: each k step's mr values are contiguous.
                float* src = a + ir;
                if (rows == 8 && mr == 8)
                {
                    for (int p = 0; p < kc; p++)
                        Vector256.Store(Vector256.Load(src + p * lda), panel + p * 8);
                }
                else if (rows == 6 && mr == 6)
                {
                    for (int p = 0; p < kc; p++)
                    {
                        float* s = src + p * lda;
                        float* d = panel + p * 6;
                        Vector128.Store(Vector128.Load(s), d);
                        Vector64.Store(Vector64.Load(s + 4), d + 4);
                    }
                }
                else
                {
                    for (int p = 0; p < kc; p++)
                    {
                        float* s = src + p * lda;
                        float* d = panel + p * mr;
                        int r = 0;
                        for (; r < rows; r++) d[r] = s[r];
                        for (; r < mr; r++) d[r] = 0f;
                    }
                }
            }
            else
            {
                int r = 0;
                if (rows == mr && (mr == 8 || mr == 6) && Avx.IsSupported)
                {
                    // Row-major A to 8- or 6-interleaved panels is an 8×8 transpose per 8 k steps. Each
                    // panel reads its mr rows only kc floats deep, too short a stream for the hardware
                    // prefetchers to get ahead of, so the next panel's lines are asked for meanwhile.
                    float* next = ir + 2 * mr <= mc ? a + (ir + mr) * lda : null;
                    int p8 = 0;
                    for (; p8 + 8 <= kc; p8 += 8)
                    {
                        if (next != null && (p8 & 15) == 0)
                            for (int rr = 0; rr < mr; rr++) Sse.Prefetch0(next + rr * lda + p8);
                        if (mr == 8) Transpose8x8(a + ir * lda + p8, lda, panel + p8 * 8, 8);
                        else Transpose6x8(a + ir * lda + p8, lda, panel + p8 * 6);
                    }
                    for (; p8 < kc; p8++)
                        for (int rr = 0; rr < mr; rr++) panel[p8 * mr + rr] = a[(ir + rr) * lda + p8];
                    continue;
                }
                for (; r < rows; r++)
                {
                    float* s = a + (ir + r) * lda;
                    float* d = panel + r;
                    int p = 0;
                    for (; p + 4 <= kc; p += 4)
                    {
                        d[p * mr] = s[p];
                        d[(p + 1) * mr] = s[p + 1];
                        d[(p + 2) * mr] = s[p + 2];
                        d[(p + 3) * mr] = s[p + 3];
                    }
                    for (; p < kc; p++) d[p * mr] = s[p];
                }
                for (; r < mr; r++)
                    for (int p = 0; p < kc; p++) panel[p * mr + r] = 0f;
            }
        }
    }

    /// <summary>
    /// Packs k [0, kc) × columns [0, nc) of op(B) into panels of <paramref name="nr"/> columns:
    /// dst[panel][p * nr + j]. <paramref name="b"/> points at op(B)[0, 0].
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void PackB(bool transB, float* b, nint ldb, int kc, int nc, float* dst, int nr)
    {
        for (int jr = 0; jr < nc; jr += nr)
        {
            int cols = nc - jr < nr ? nc - jr : nr;
            float* panel = dst + (nint)jr * kc;
            if (transB && Avx.IsSupported)
            {
                // B stored n×k: 8×8 transposes, each group of 8 columns (B's rows) at a time; a group's last k steps, the
                // panel's last columns and its zero padding in the same transposes, under masks and with zero rows. One
                // element at a time, they took a third of the Fashion MLP's batch-32 data gradient (dz·W₂ᵀ, 100 deep).
                for (int j = 0; j < nr; j += 8)
                {
                    int rows = cols - j;
                    float* d = panel + j;
                    if (rows <= 0)
                    {
                        for (int p = 0; p < kc; p++) Vector256.Store(Vector256<float>.Zero, d + p * nr);
                        continue;
                    }
                    float* s8 = b + (jr + j) * ldb;
                    int q = 0;
                    if (rows >= 8)
                        for (; q + 8 <= kc; q += 8) Transpose8x8(s8 + q, ldb, d + q * nr, nr);
                    for (; q < kc; q += 8) TransposePartial(s8 + q, ldb, rows < 8 ? rows : 8, kc - q < 8 ? kc - q : 8, d + q * nr, nr);
                }
            }
            else if (transB)
            {
                // B stored n×k, without AVX: a column at a time.
                int j = 0;
                for (; j < cols; j++)
                {
                    float* s = b + (jr + j) * ldb;
                    float* d = panel + j;
                    int p = 0;
                    for (; p + 4 <= kc; p += 4)
                    {
                        d[p * nr] = s[p];
                        d[(p + 1) * nr] = s[p + 1];
                        d[(p + 2) * nr] = s[p + 2];
                        d[(p + 3) * nr] = s[p + 3];
                    }
                    for (; p < kc; p++) d[p * nr] = s[p];
                }
                for (; j < nr; j++)
                    for (int p = 0; p < kc; p++) panel[p * nr + j] = 0f;
            }
            else
            {
                // Whole panels were copied row by row below, in one pass over B.
                if (cols == nr) continue;
                float* src = b + jr;
                for (int p = 0; p < kc; p++)
                    CopyPadded(src + p * ldb, panel + p * nr, cols, nr);
            }
        }
        if (!transB) PackWholePanelsByRows(b, ldb, kc, nc / nr, dst, nr);
    }

    /// <summary>
    /// The whole <paramref name="nr"/>-column panels of a row-major B, row by row: each k step's row is
    /// read once from end to end and dealt out to the panels. Panel by panel instead, every k step is a
    /// jump of a row (4 KiB at n = 1024), a fresh page and a cache miss the prefetchers do not follow.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void PackWholePanelsByRows(float* b, nint ldb, int kc, int panels, float* dst, int nr)
    {
        Debug.Assert(nr % 8 == 0);
        nint panelStride = (nint)nr * kc;
        for (int p = 0; p < kc; p++)
        {
            float* s = b + p * ldb;
            float* d = dst + p * nr;
            for (int jr = 0; jr < panels; jr++, s += nr, d += panelStride)
                for (int j = 0; j < nr; j += 8) Vector256.Store(Vector256.Load(s + j), d + j);
        }
    }

    /// <summary>dst[c * dstStride + r] = src[r * srcStride + c] for an 8×8 block, in registers.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Transpose8x8(float* src, nint srcStride, float* dst, nint dstStride)
    {
        Transpose(Avx.LoadVector256(src), Avx.LoadVector256(src + srcStride), Avx.LoadVector256(src + 2 * srcStride),
            Avx.LoadVector256(src + 3 * srcStride), Avx.LoadVector256(src + 4 * srcStride), Avx.LoadVector256(src + 5 * srcStride),
            Avx.LoadVector256(src + 6 * srcStride), Avx.LoadVector256(src + 7 * srcStride),
            out var o0, out var o1, out var o2, out var o3, out var o4, out var o5, out var o6, out var o7);
        Avx.Store(dst, o0); Avx.Store(dst + dstStride, o1); Avx.Store(dst + 2 * dstStride, o2); Avx.Store(dst + 3 * dstStride, o3);
        Avx.Store(dst + 4 * dstStride, o4); Avx.Store(dst + 5 * dstStride, o5); Avx.Store(dst + 6 * dstStride, o6); Avx.Store(dst + 7 * dstStride, o7);
    }

    /// <summary>
    /// dst[c * dstStride + r] = src[r * srcStride + c] for the first <paramref name="columns"/> (1 to 8) columns of
    /// <paramref name="rows"/> (1 to 8) rows, the rows past them zeros; nothing past them is read.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void TransposePartial(float* src, nint srcStride, int rows, int columns, float* dst, nint dstStride)
    {
        Vector256<float> mask = Lanes8.FirstLanes(columns).V;
        Transpose(PartialRow(src, srcStride, 0, rows, mask), PartialRow(src, srcStride, 1, rows, mask), PartialRow(src, srcStride, 2, rows, mask),
            PartialRow(src, srcStride, 3, rows, mask), PartialRow(src, srcStride, 4, rows, mask), PartialRow(src, srcStride, 5, rows, mask),
            PartialRow(src, srcStride, 6, rows, mask), PartialRow(src, srcStride, 7, rows, mask),
            out var o0, out var o1, out var o2, out var o3, out var o4, out var o5, out var o6, out var o7);
        Avx.Store(dst, o0);
        if (columns > 1) Avx.Store(dst + dstStride, o1);
        if (columns > 2) Avx.Store(dst + 2 * dstStride, o2);
        if (columns > 3) Avx.Store(dst + 3 * dstStride, o3);
        if (columns > 4) Avx.Store(dst + 4 * dstStride, o4);
        if (columns > 5) Avx.Store(dst + 5 * dstStride, o5);
        if (columns > 6) Avx.Store(dst + 6 * dstStride, o6);
        if (columns > 7) Avx.Store(dst + 7 * dstStride, o7);
    }

    /// <summary>Row <paramref name="r"/> of a partial block: its lanes under <paramref name="mask"/>, or zeros past the block's rows.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> PartialRow(float* src, nint srcStride, int r, int rows, Vector256<float> mask) =>
        r < rows ? Avx.MaskLoad(src + r * srcStride, mask) : Vector256<float>.Zero;

    /// <summary>
    /// The 6-row panel of 8 k steps (the 256-bit micro-kernel's MR): dst[c * 6 + r] = src[r * srcStride + c]
    /// for 6 rows and 8 columns, through the 8×8 transpose with two zero rows whose lanes are not stored.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Transpose6x8(float* src, nint srcStride, float* dst)
    {
        var zero = Vector256<float>.Zero;
        Transpose(Avx.LoadVector256(src), Avx.LoadVector256(src + srcStride), Avx.LoadVector256(src + 2 * srcStride),
            Avx.LoadVector256(src + 3 * srcStride), Avx.LoadVector256(src + 4 * srcStride), Avx.LoadVector256(src + 5 * srcStride), zero, zero,
            out var o0, out var o1, out var o2, out var o3, out var o4, out var o5, out var o6, out var o7);
        StoreSix(o0, dst); StoreSix(o1, dst + 6); StoreSix(o2, dst + 12); StoreSix(o3, dst + 18);
        StoreSix(o4, dst + 24); StoreSix(o5, dst + 30); StoreSix(o6, dst + 36); StoreSix(o7, dst + 42);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreSix(Vector256<float> v, float* dst)
    {
        Vector128.Store(v.GetLower(), dst);
        Vector64.Store(v.GetUpper().GetLower(), dst + 4);
    }

    /// <summary>o[c] lane r = r[r] lane c: an 8×8 transpose in unpacks, shuffles and lane permutes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Transpose(Vector256<float> r0, Vector256<float> r1, Vector256<float> r2, Vector256<float> r3,
        Vector256<float> r4, Vector256<float> r5, Vector256<float> r6, Vector256<float> r7,
        out Vector256<float> o0, out Vector256<float> o1, out Vector256<float> o2, out Vector256<float> o3,
        out Vector256<float> o4, out Vector256<float> o5, out Vector256<float> o6, out Vector256<float> o7)
    {
        Vector256<float> t0 = Avx.UnpackLow(r0, r1), t1 = Avx.UnpackHigh(r0, r1);
        Vector256<float> t2 = Avx.UnpackLow(r2, r3), t3 = Avx.UnpackHigh(r2, r3);
        Vector256<float> t4 = Avx.UnpackLow(r4, r5), t5 = Avx.UnpackHigh(r4, r5);
        Vector256<float> t6 = Avx.UnpackLow(r6, r7), t7 = Avx.UnpackHigh(r6, r7);
        Vector256<float> s0 = Avx.Shuffle(t0, t2, 0x44), s1 = Avx.Shuffle(t0, t2, 0xEE);
        Vector256<float> s2 = Avx.Shuffle(t1, t3, 0x44), s3 = Avx.Shuffle(t1, t3, 0xEE);
        Vector256<float> s4 = Avx.Shuffle(t4, t6, 0x44), s5 = Avx.Shuffle(t4, t6, 0xEE);
        Vector256<float> s6 = Avx.Shuffle(t5, t7, 0x44), s7 = Avx.Shuffle(t5, t7, 0xEE);
        o0 = Avx.Permute2x128(s0, s4, 0x20); o1 = Avx.Permute2x128(s1, s5, 0x20);
        o2 = Avx.Permute2x128(s2, s6, 0x20); o3 = Avx.Permute2x128(s3, s7, 0x20);
        o4 = Avx.Permute2x128(s0, s4, 0x31); o5 = Avx.Permute2x128(s1, s5, 0x31);
        o6 = Avx.Permute2x128(s2, s6, 0x31); o7 = Avx.Permute2x128(s3, s7, 0x31);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void CopyPadded(float* s, float* d, int count, int width)
    {
        int j = 0;
        if (Vector512.IsHardwareAccelerated)
            for (; j + 16 <= count; j += 16) Vector512.Store(Vector512.Load(s + j), d + j);
        for (; j + 8 <= count; j += 8) Vector256.Store(Vector256.Load(s + j), d + j);
        for (; j < count; j++) d[j] = s[j];
        for (; j < width; j++) d[j] = 0f;
    }
}
