using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Kiln.Kernels;

/// <summary>
/// Winograd F(4×4, 5×5): each 4×4 block of outputs from the 8×8 input patch under it, with 64 products
/// per channel pair instead of 400 (F(2×2, 5×5) takes 144 for the same 16 outputs). It evaluates at the
/// eight points 0, ±1, ±2, ±½ and ∞ (Lavin and Gray's construction; NNPACK's F(6×6, 3×3) uses the same
/// points, so this Bᵀ is that one), and its planes are numbered ξ = 8·row + column as F(4×4, 3×3)'s:
/// <list type="bullet">
/// <item>Input: V = Bᵀ·d·B, the 8-point transform in <see cref="Input8"/>.</item>
/// <item>Kernel: U = G·g·Gᵀ with G's rows 1; −2/9·(1, ±1, 1, ±1, 1); (1, ±2, 4, ±8, 16)/90;
/// (32, ±16, 8, ±4, 2)/45; (0, 0, 0, 0, 1) (<see cref="Kernel8Of5"/>).</item>
/// <item>64 GEMMs M[ξ] = V[ξ]·U[ξ], by the shared <see cref="MultiplyPlanes"/>.</item>
/// <item>Output: y = act(Aᵀ·M·A + bias) with Aᵀ's rows pⁱ over the points (<see cref="Output8"/>); pooled
/// as F(4×4, 3×3)'s, a tile holding four 2×2 windows.</item>
/// <item>Kernel gradient: dM = A·dy·Aᵀ, 64 GEMMs, dW = Gᵀ·dU·G.</item>
/// </list>
/// Bᵀ scales terms by up to 21/4 and Aᵀ by 8, so results round further from the direct sum than
/// F(2×2, 5×5)'s; the tests hold both to the same bound against a double-precision reference.
/// </summary>
internal static unsafe partial class WinogradCore
{
    /// <summary>Bᵀ·(d0 … d7), the input transform along one axis.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Input8(Vector512<float> d0, Vector512<float> d1, Vector512<float> d2, Vector512<float> d3,
        Vector512<float> d4, Vector512<float> d5, Vector512<float> d6, Vector512<float> d7,
        out Vector512<float> t0, out Vector512<float> t1, out Vector512<float> t2, out Vector512<float> t3,
        out Vector512<float> t4, out Vector512<float> t5, out Vector512<float> t6, out Vector512<float> t7)
    {
        var k21 = Vector512.Create(21f / 4);
        var k17 = Vector512.Create(17f / 4);
        var half = Vector512.Create(0.5f);
        var twoHalf = Vector512.Create(2.5f);
        var two = Vector512.Create(2f);
        // Each pair of points ±p shares an even part (d2, d4, d6) and an odd part (d1, d3, d5).
        var even1 = d2 + d6 - k17 * d4;
        var odd1 = d1 + d5 - k17 * d3;
        var even2 = d6 + Vector512.Create(0.25f) * d2 - Vector512.Create(1.25f) * d4;
        var odd2 = half * d1 - twoHalf * d3 + two * d5;
        var even3 = d6 + Vector512.Create(4f) * d2 - Vector512.Create(5f) * d4;
        var odd3 = two * d1 - twoHalf * d3 + half * d5;
        t0 = d0 - d6 + k21 * (d4 - d2);
        t1 = even1 + odd1;
        t2 = even1 - odd1;
        t3 = even2 + odd2;
        t4 = even2 - odd2;
        t5 = even3 + odd3;
        t6 = even3 - odd3;
        t7 = d7 - d1 + k21 * (d3 - d5);
    }

    /// <summary>Eight transformed values of one row, <paramref name="plane"/> floats apart (consecutive ξ).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store8(float* at, long plane, Vector512<float> e0, Vector512<float> e1, Vector512<float> e2, Vector512<float> e3,
        Vector512<float> e4, Vector512<float> e5, Vector512<float> e6, Vector512<float> e7)
    {
        Store6(at, plane, e0, e1, e2, e3, e4, e5);
        Vector512.Store(e6, at + 6 * plane);
        Vector512.Store(e7, at + 7 * plane);
    }

    /// <summary>
    /// v[ξ][r][c] = (Bᵀ·d·B)[ξ] for the 8×8 input patch d under tile t0 + r (zeros outside the image),
    /// tiles 4 outputs apart; ξ planes are <paramref name="plane"/> floats apart. <paramref name="tmp"/> holds 64 vectors.
    /// </summary>
    private static void InputTransform8(float* x, in Conv2DGeometry g, int tileCols, long tilesPerSample, long plane, long t0, int count,
        float* v, float* zeros, float** rows, Vector512<float>* tmp, bool prefetch)
    {
        int c = g.InputChannels;
        for (int r = 0; r < count; r++)
        {
            PatchRows(x, g, 4, 8, t0 + r, tileCols, tilesPerSample, zeros, rows);
            if (prefetch) PrefetchNextRows(x, g, 4, 8, t0 + r, tileCols, tilesPerSample);
            float* o = v + (nint)r * c;
            for (int cc = 0; cc < c; cc += 16)
            {
                // Bᵀ·d down each column of the patch, then each row of that times B.
                for (int j = 0; j < 8; j++)
                {
                    Input8(Vector512.Load(rows[j] + cc), Vector512.Load(rows[8 + j] + cc), Vector512.Load(rows[16 + j] + cc), Vector512.Load(rows[24 + j] + cc),
                        Vector512.Load(rows[32 + j] + cc), Vector512.Load(rows[40 + j] + cc), Vector512.Load(rows[48 + j] + cc), Vector512.Load(rows[56 + j] + cc),
                        out tmp[j], out tmp[8 + j], out tmp[16 + j], out tmp[24 + j], out tmp[32 + j], out tmp[40 + j], out tmp[48 + j], out tmp[56 + j]);
                }
                for (int i = 0; i < 8; i++)
                {
                    Vector512<float>* row = tmp + 8 * i;
                    Input8(row[0], row[1], row[2], row[3], row[4], row[5], row[6], row[7],
                        out var e0, out var e1, out var e2, out var e3, out var e4, out var e5, out var e6, out var e7);
                    Store8(o + cc + 8 * i * plane, plane, e0, e1, e2, e3, e4, e5, e6, e7);
                }
            }
        }
    }

    /// <summary>
    /// G·(g0 … g4): g0, −2/9·(e ± o) with e = g0 + g2 + g4 and o = g1 + g3, (e' ± o')/90 with e' = g0 + 4g2 + 16g4
    /// and o' = 2g1 + 8g3, 2(e'' ± o'')/45 with e'' = 16g0 + 4g2 + g4 and o'' = 8g1 + 2g3, g4.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Kernel8Of5(Vector512<float> g0, Vector512<float> g1, Vector512<float> g2, Vector512<float> g3, Vector512<float> g4,
        out Vector512<float> u0, out Vector512<float> u1, out Vector512<float> u2, out Vector512<float> u3,
        out Vector512<float> u4, out Vector512<float> u5, out Vector512<float> u6, out Vector512<float> u7)
    {
        var ninths = Vector512.Create(-2f / 9);
        var ninetieth = Vector512.Create(1f / 90);
        var fortyFifths = Vector512.Create(2f / 45);
        var even = g0 + g2 + g4; var odd = g1 + g3;
        var even2 = (g0 + Vector512.Create(4f) * g2 + Vector512.Create(16f) * g4) * ninetieth;
        var odd2 = (Vector512.Create(2f) * g1 + Vector512.Create(8f) * g3) * ninetieth;
        var even3 = (Vector512.Create(16f) * g0 + Vector512.Create(4f) * g2 + g4) * fortyFifths;
        var odd3 = (Vector512.Create(8f) * g1 + Vector512.Create(2f) * g3) * fortyFifths;
        u0 = g0;
        u1 = (even + odd) * ninths;
        u2 = (even - odd) * ninths;
        u3 = even2 + odd2;
        u4 = even2 - odd2;
        u5 = even3 + odd3;
        u6 = even3 - odd3;
        u7 = g4;
    }

    /// <summary>
    /// Gᵀ·(u0 … u7) for five taps, with s, d = u1 ± u2, S, D = u3 ± u4, s', d' = u5 ± u6:
    /// u0 − 2s/9 + S/90 + 32s'/45, −2d/9 + D/45 + 16d'/45, −2s/9 + 2S/45 + 8s'/45, −2d/9 + 4D/45 + 4d'/45, −2s/9 + 8S/45 + 2s'/45 + u7.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void KernelAdjoint8To5(Vector512<float> u0, Vector512<float> u1, Vector512<float> u2, Vector512<float> u3,
        Vector512<float> u4, Vector512<float> u5, Vector512<float> u6, Vector512<float> u7,
        out Vector512<float> t0, out Vector512<float> t1, out Vector512<float> t2, out Vector512<float> t3, out Vector512<float> t4)
    {
        var s = (u1 + u2) * Vector512.Create(-2f / 9); var d = (u1 - u2) * Vector512.Create(-2f / 9);
        var bigS = (u3 + u4) * Vector512.Create(1f / 90); var bigD = (u3 - u4) * Vector512.Create(1f / 90);
        var s2 = (u5 + u6) * Vector512.Create(2f / 45); var d2 = (u5 - u6) * Vector512.Create(2f / 45);
        t0 = u0 + s + bigS + Vector512.Create(16f) * s2;
        t1 = d + Vector512.Create(2f) * bigD + Vector512.Create(8f) * d2;
        t2 = s + Vector512.Create(4f) * bigS + Vector512.Create(4f) * s2;
        t3 = d + Vector512.Create(8f) * bigD + Vector512.Create(2f) * d2;
        t4 = s + Vector512.Create(16f) * bigS + s2 + u7;
    }

    /// <summary>Aᵀ·(m0 … m7), the output transform along one axis: with s, d = m1 ± m2, S, D = m3 ± m4, s', d' = m5 ± m6, (m0 + s + S + s', d + 2D + d'/2, s + 4S + s'/4, d + 8D + d'/8 + m7).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Output8(Vector512<float> m0, Vector512<float> m1, Vector512<float> m2, Vector512<float> m3,
        Vector512<float> m4, Vector512<float> m5, Vector512<float> m6, Vector512<float> m7,
        out Vector512<float> y0, out Vector512<float> y1, out Vector512<float> y2, out Vector512<float> y3)
    {
        var s = m1 + m2; var d = m1 - m2;
        var bigS = m3 + m4; var bigD = m3 - m4;
        var s2 = m5 + m6; var d2 = m5 - m6;
        y0 = m0 + s + bigS + s2;
        y1 = d + Vector512.Create(2f) * bigD + Vector512.Create(0.5f) * d2;
        y2 = s + Vector512.Create(4f) * bigS + Vector512.Create(0.25f) * s2;
        y3 = d + Vector512.Create(8f) * bigD + Vector512.Create(0.125f) * d2 + m7;
    }

    /// <summary>A·(y0 … y3), the output transform's adjoint along one axis: y0, then Σ pⁱ·yᵢ at ±1, ±2, ±½, then y3.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Gradient8(Vector512<float> y0, Vector512<float> y1, Vector512<float> y2, Vector512<float> y3,
        out Vector512<float> a0, out Vector512<float> a1, out Vector512<float> a2, out Vector512<float> a3,
        out Vector512<float> a4, out Vector512<float> a5, out Vector512<float> a6, out Vector512<float> a7)
    {
        var even = y0 + y2; var odd = y1 + y3;
        var even2 = y0 + Vector512.Create(4f) * y2; var odd2 = Vector512.Create(2f) * y1 + Vector512.Create(8f) * y3;
        var even3 = y0 + Vector512.Create(0.25f) * y2; var odd3 = Vector512.Create(0.5f) * y1 + Vector512.Create(0.125f) * y3;
        a0 = y0;
        a1 = even + odd;
        a2 = even - odd;
        a3 = even2 + odd2;
        a4 = even2 - odd2;
        a5 = even3 + odd3;
        a6 = even3 - odd3;
        a7 = y3;
    }

    /// <summary>u[ξ][c][j] = (G·g·Gᵀ)[ξ] for the 5×5 kernel g of input channels c0 ≤ c &lt; c1 and filter j, 64 planes; columns ≥ K are zero.</summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static void TransformKernel8(float* w, float* u, int c, int k, int kp, int c0, int c1)
    {
        long plane = (long)c * kp;
        nint tap = (nint)c * k;
        Vector512<float>* half = stackalloc Vector512<float>[40];
        for (int cc = c0; cc < c1; cc++)
        {
            for (int j = 0; j < kp; j += 16)
            {
                float* o = u + (nint)cc * kp + j;
                if (j >= k)
                {
                    for (int xi = 0; xi < 64; xi++) Vector512.Store(Vector512<float>.Zero, o + xi * plane);
                    continue;
                }
                // G·g down each tap column (half[5i + t]), then each row of that times Gᵀ.
                float* at = w + (nint)cc * k + j;
                for (int t = 0; t < 5; t++)
                {
                    Kernel8Of5(Vector512.Load(at + t * tap), Vector512.Load(at + (5 + t) * tap), Vector512.Load(at + (10 + t) * tap),
                        Vector512.Load(at + (15 + t) * tap), Vector512.Load(at + (20 + t) * tap),
                        out half[t], out half[5 + t], out half[10 + t], out half[15 + t], out half[20 + t], out half[25 + t], out half[30 + t], out half[35 + t]);
                }
                for (int i = 0; i < 8; i++)
                {
                    Vector512<float>* row = half + 5 * i;
                    Kernel8Of5(row[0], row[1], row[2], row[3], row[4], out var e0, out var e1, out var e2, out var e3, out var e4, out var e5, out var e6, out var e7);
                    Store8(o + 8 * i * plane, plane, e0, e1, e2, e3, e4, e5, e6, e7);
                }
            }
        }
    }

    /// <summary>dW = Gᵀ·dU·G for the 64 planes of dU (C × K each), into the (5, 5, C, K) kernel gradient's input channels c0 ≤ c &lt; c1.</summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static void KernelFromTransformed8(float* du, float* dKernel, int c, int k, int c0, int c1)
    {
        long plane = (long)c * k;
        nint tap = (nint)c * k;
        Vector512<float>* half = stackalloc Vector512<float>[40];
        for (int cc = c0; cc < c1; cc++)
        {
            for (int j = 0; j < k; j += 16)
            {
                // Gᵀ·dU down each of the eight columns (half[8t + b]), then each of the five rows of that times G.
                float* p = du + (nint)cc * k + j;
                for (int b = 0; b < 8; b++)
                {
                    float* col = p + b * plane;
                    KernelAdjoint8To5(Vector512.Load(col), Vector512.Load(col + 8 * plane), Vector512.Load(col + 16 * plane), Vector512.Load(col + 24 * plane),
                        Vector512.Load(col + 32 * plane), Vector512.Load(col + 40 * plane), Vector512.Load(col + 48 * plane), Vector512.Load(col + 56 * plane),
                        out half[b], out half[8 + b], out half[16 + b], out half[24 + b], out half[32 + b]);
                }
                float* o = dKernel + (nint)cc * k + j;
                for (int t = 0; t < 5; t++)
                {
                    Vector512<float>* row = half + 8 * t;
                    KernelAdjoint8To5(row[0], row[1], row[2], row[3], row[4], row[5], row[6], row[7],
                        out var w0, out var w1, out var w2, out var w3, out var w4);
                    float* at = o + 5 * t * tap;
                    Vector512.Store(w0, at);
                    Vector512.Store(w1, at + tap);
                    Vector512.Store(w2, at + 2 * tap);
                    Vector512.Store(w3, at + 3 * tap);
                    Vector512.Store(w4, at + 4 * tap);
                }
            }
        }
    }

    /// <summary>
    /// dm[ξ][r][k] = (A·dy·Aᵀ)[ξ] for the 4×4 outputs of tile t0 + r (zeros past the edge), 64 planes;
    /// ξ planes are <paramref name="plane"/> floats apart. <paramref name="tmp"/> holds 32 vectors.
    /// </summary>
    private static void GradientTransform8(float* dz, in Conv2DGeometry g, int tileCols, long tilesPerSample, long plane, long t0, int count,
        float* dm, float* zeros, Vector512<float>* tmp)
    {
        int k = g.OutputChannels;
        float** at = stackalloc float*[16];
        for (int r = 0; r < count; r++)
        {
            FourByFourOutputs(dz, g, t0 + r, tileCols, tilesPerSample, zeros, at);
            float* o = dm + (nint)r * k;
            for (int j = 0; j < k; j += 16)
            {
                // A·dy down each of the four output columns, then each of the eight rows of that times Aᵀ.
                for (int q = 0; q < 4; q++)
                {
                    Gradient8(Vector512.Load(at[q] + j), Vector512.Load(at[4 + q] + j), Vector512.Load(at[8 + q] + j), Vector512.Load(at[12 + q] + j),
                        out tmp[q], out tmp[4 + q], out tmp[8 + q], out tmp[12 + q], out tmp[16 + q], out tmp[20 + q], out tmp[24 + q], out tmp[28 + q]);
                }
                for (int a = 0; a < 8; a++)
                {
                    Vector512<float>* row = tmp + 4 * a;
                    Gradient8(row[0], row[1], row[2], row[3], out var e0, out var e1, out var e2, out var e3, out var e4, out var e5, out var e6, out var e7);
                    Store8(o + j + 8 * a * plane, plane, e0, e1, e2, e3, e4, e5, e6, e7);
                }
            }
        }
    }

    private sealed partial class Job<TAct>
    {
        /// <summary>outs[4i + q] = (Aᵀ·M·A)[i][q] + bias for 16 channels of one tile, M's 64 values <paramref name="plane"/> apart.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static void TileOutputs8(float* p, long plane, Vector512<float> bias, Vector512<float>* half, Vector512<float>* outs)
        {
            // Aᵀ·M down each of M's eight columns, then each of the four rows of that times A.
            for (int j = 0; j < 8; j++)
            {
                float* col = p + j * plane;
                Output8(Vector512.Load(col), Vector512.Load(col + 8 * plane), Vector512.Load(col + 16 * plane), Vector512.Load(col + 24 * plane),
                    Vector512.Load(col + 32 * plane), Vector512.Load(col + 40 * plane), Vector512.Load(col + 48 * plane), Vector512.Load(col + 56 * plane),
                    out half[j], out half[8 + j], out half[16 + j], out half[24 + j]);
            }
            for (int i = 0; i < 4; i++)
            {
                Vector512<float>* row = half + 8 * i;
                Output8(row[0], row[1], row[2], row[3], row[4], row[5], row[6], row[7], out var y0, out var y1, out var y2, out var y3);
                outs[4 * i] = y0 + bias;
                outs[4 * i + 1] = y1 + bias;
                outs[4 * i + 2] = y2 + bias;
                outs[4 * i + 3] = y3 + bias;
            }
        }
    }
}
