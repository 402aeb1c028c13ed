using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

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
    public static void PackB(bool transB, float* b, nint ldb, int kc, int nc, float* dst, int nr)
    {
        for (int jr = 0; jr < nc; jr += nr)
        {
            int cols = nc - jr < nr ? nc - jr : nr;
            float* panel = dst + (nint)jr * kc;
            if (transB)
            {
                // B stored n×k: walk each source row contiguously, scatter with stride nr.
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
                float* src = b + jr;
                for (int p = 0; p < kc; p++)
                    CopyPadded(src + p * ldb, panel + p * nr, cols, nr);
            }
        }
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
