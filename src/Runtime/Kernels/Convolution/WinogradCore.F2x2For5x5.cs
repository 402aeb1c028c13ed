using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Kiln.Kernels;

/// <summary>
/// Winograd F(2×2, 5×5): each 2×2 block of outputs from the 6×6 input patch under it, with 36 products
/// per channel pair instead of 100. It evaluates at F(4×4, 3×3)'s points 0, ±1, ±2 (and ∞), so the
/// input transform Bᵀ·d·B is that one (<see cref="InputTransform6"/>, tiles 2 apart), and G and Aᵀ
/// are the same Vandermonde rows with the same scale factors 1/4, −1/6, −1/6, 1/24, 1/24, 1, cut to
/// five taps and two outputs:
/// <list type="bullet">
/// <item>Kernel: U = G·g·Gᵀ (6×5 by 5×5 by 5×6), 36 C × K' matrices.</item>
/// <item>Output: y = act(Aᵀ·M·A + bias) with Aᵀ = (1 1 1 1 1 0; 0 1 −1 2 −2 1); pooled as F(2×2, 3×3)'s.</item>
/// <item>Kernel gradient: dM = A·dy·Aᵀ, 36 GEMMs, dW = Gᵀ·dU·G.</item>
/// </list>
/// The transforms scale terms by up to 16 (the fifth tap's 2⁴), so results round a little further from
/// the direct sum than F(4×4, 3×3)'s.
/// </summary>
internal static unsafe partial class WinogradCore
{
    /// <summary>G·(p0 … p4): p0/4, −(even + odd)/6, −(even − odd)/6, (e + o)/24, (e − o)/24, p4, where even = p0 + p2 + p4, odd = p1 + p3, e = p0 + 4p2 + 16p4, o = 2p1 + 8p3.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Kernel6Of5(Vector512<float> p0, Vector512<float> p1, Vector512<float> p2, Vector512<float> p3, Vector512<float> p4,
        out Vector512<float> u0, out Vector512<float> u1, out Vector512<float> u2, out Vector512<float> u3, out Vector512<float> u4, out Vector512<float> u5)
    {
        var sixth = Vector512.Create(-1f / 6);
        var even = p0 + p2 + p4; var odd = p1 + p3;
        var e = p0 + Vector512.Create(4f) * p2 + Vector512.Create(16f) * p4;
        var o = Vector512.Create(2f) * p1 + Vector512.Create(8f) * p3;
        u0 = p0 * Vector512.Create(0.25f);
        u1 = (even + odd) * sixth;
        u2 = (even - odd) * sixth;
        u3 = (e + o) * Vector512.Create(1f / 24);
        u4 = (e - o) * Vector512.Create(1f / 24);
        u5 = p4;
    }

    /// <summary>Aᵀ·(m0 … m5) for two outputs: m0 + (m1 + m2) + (m3 + m4), (m1 − m2) + 2(m3 − m4) + m5.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Output2Of6(Vector512<float> m0, Vector512<float> m1, Vector512<float> m2, Vector512<float> m3, Vector512<float> m4, Vector512<float> m5,
        out Vector512<float> y0, out Vector512<float> y1)
    {
        y0 = m0 + (m1 + m2) + (m3 + m4);
        y1 = (m1 - m2) + Vector512.Create(2f) * (m3 - m4) + m5;
    }

    /// <summary>A·(y0, y1), the output transform's adjoint: y0, y0 + y1, y0 − y1, y0 + 2y1, y0 − 2y1, y1.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Gradient6Of2(Vector512<float> y0, Vector512<float> y1,
        out Vector512<float> a0, out Vector512<float> a1, out Vector512<float> a2, out Vector512<float> a3, out Vector512<float> a4, out Vector512<float> a5)
    {
        var twice = Vector512.Create(2f) * y1;
        a0 = y0;
        a1 = y0 + y1;
        a2 = y0 - y1;
        a3 = y0 + twice;
        a4 = y0 - twice;
        a5 = y1;
    }

    /// <summary>
    /// dm[ξ][r][k] = (A·dy·Aᵀ)[ξ] for the 2×2 outputs of tile t0 + r (zeros past the edge); ξ planes are
    /// <paramref name="plane"/> floats apart. <paramref name="tmp"/> holds 12 vectors.
    /// </summary>
    private static void GradientTransform5(float* dz, in Conv2DGeometry g, int tileCols, long tilesPerSample, long plane, long t0, int count,
        float* dm, float* zeros, Vector512<float>* tmp)
    {
        int k = g.OutputChannels;
        for (int r = 0; r < count; r++)
        {
            TileCorners(dz, g, t0 + r, tileCols, tilesPerSample, zeros, out float* p00, out float* p01, out float* p10, out float* p11);
            float* o = dm + (nint)r * k;
            for (int j = 0; j < k; j += 16)
            {
                // A·dy down each of the two output columns, then each of the six rows of that times Aᵀ.
                Gradient6Of2(Vector512.Load(p00 + j), Vector512.Load(p10 + j), out tmp[0], out tmp[2], out tmp[4], out tmp[6], out tmp[8], out tmp[10]);
                Gradient6Of2(Vector512.Load(p01 + j), Vector512.Load(p11 + j), out tmp[1], out tmp[3], out tmp[5], out tmp[7], out tmp[9], out tmp[11]);
                for (int a = 0; a < 6; a++)
                {
                    Gradient6Of2(tmp[2 * a], tmp[2 * a + 1], out var e0, out var e1, out var e2, out var e3, out var e4, out var e5);
                    Store6(o + j + 6 * a * plane, plane, e0, e1, e2, e3, e4, e5);
                }
            }
        }
    }

    /// <summary>
    /// Gᵀ·(u0 … u5) for five taps, with s = u1 + u2, d = u2 − u1, S = u3 + u4, D = u3 − u4:
    /// u0/4 − s/6 + S/24, d/6 + D/12, (S − s)/6, d/6 + D/3, −s/6 + 2S/3 + u5.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void KernelAdjoint5(Vector512<float> u0, Vector512<float> u1, Vector512<float> u2, Vector512<float> u3, Vector512<float> u4, Vector512<float> u5,
        out Vector512<float> t0, out Vector512<float> t1, out Vector512<float> t2, out Vector512<float> t3, out Vector512<float> t4)
    {
        var sixth = Vector512.Create(1f / 6);
        var s = u1 + u2; var d = (u2 - u1) * sixth;
        var bigS = u3 + u4; var bigD = u3 - u4;
        t0 = u0 * Vector512.Create(0.25f) - s * sixth + bigS * Vector512.Create(1f / 24);
        t1 = d + bigD * Vector512.Create(1f / 12);
        t2 = (bigS - s) * sixth;
        t3 = d + bigD * Vector512.Create(1f / 3);
        t4 = bigS * Vector512.Create(2f / 3) - s * sixth + u5;
    }

    /// <summary>
    /// u[ξ][c][j] = (G·g·Gᵀ)[ξ] for the 5 × 5 kernel g of input channels c0 ≤ c &lt; c1 and filter j, 36 planes; columns ≥ K are zero.
    /// All 36 planes per block of filters: written a row at a time (<see cref="TransformKernelFor"/>), the five columns of G·g
    /// redone for each row cost more than the stores save (128 → 120 channels 201 → 288 µs, 1 thread, Zen 5, stop 51).
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static void TransformKernel6Of5(float* w, float* u, int c, int k, int kp, int c0, int c1)
    {
        long plane = (long)c * kp;
        nint tapStride = (nint)c * k;
        Vector512<float>* half = stackalloc Vector512<float>[30];
        for (int cc = c0; cc < c1; cc++)
        {
            for (int j = 0; j < kp; j += 16)
            {
                float* o = u + (nint)cc * kp + j;
                if (j >= k)
                {
                    for (int xi = 0; xi < 36; xi++) Vector512.Store(Vector512<float>.Zero, o + xi * plane);
                    continue;
                }
                // G·g down each tap column t (half[5i + t]), then each row of that times Gᵀ.
                float* at = w + (nint)cc * k + j;
                for (int t = 0; t < 5; t++)
                {
                    Kernel6Of5(Vector512.Load(at + t * tapStride), Vector512.Load(at + (5 + t) * tapStride), Vector512.Load(at + (10 + t) * tapStride),
                        Vector512.Load(at + (15 + t) * tapStride), Vector512.Load(at + (20 + t) * tapStride),
                        out half[t], out half[5 + t], out half[10 + t], out half[15 + t], out half[20 + t], out half[25 + t]);
                }
                for (int i = 0; i < 6; i++)
                {
                    Vector512<float>* row = half + 5 * i;
                    Kernel6Of5(row[0], row[1], row[2], row[3], row[4], out var e0, out var e1, out var e2, out var e3, out var e4, out var e5);
                    Store6(o + 6 * i * plane, plane, e0, e1, e2, e3, e4, e5);
                }
            }
        }
    }

    /// <summary>F(2×2, 5×5)'s Gᵀ: <see cref="KernelAdjoint5"/>.</summary>
    private readonly struct FiveTaps : ISixPointWindow
    {
        public int Taps => 5;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Adjoint(Vector512<float> u0, Vector512<float> u1, Vector512<float> u2, Vector512<float> u3, Vector512<float> u4, Vector512<float> u5,
            Vector512<float>* t, int stride) => KernelAdjoint5(u0, u1, u2, u3, u4, u5, out t[0], out t[stride], out t[2 * stride], out t[3 * stride], out t[4 * stride]);
    }

    private sealed partial class Job<TAct>
    {
        /// <summary>Aᵀ·M·A + bias for 16 channels of one tile, M's 36 values <paramref name="plane"/> apart.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static void TileOutputs5(float* p, long plane, Vector512<float> bias,
            out Vector512<float> y00, out Vector512<float> y01, out Vector512<float> y10, out Vector512<float> y11)
        {
            // Aᵀ·M down each of M's six columns (two rows out), then each of those rows times A.
            Column(p, plane, out var a0, out var b0);
            Column(p + plane, plane, out var a1, out var b1);
            Column(p + 2 * plane, plane, out var a2, out var b2);
            Column(p + 3 * plane, plane, out var a3, out var b3);
            Column(p + 4 * plane, plane, out var a4, out var b4);
            Column(p + 5 * plane, plane, out var a5, out var b5);
            Output2Of6(a0, a1, a2, a3, a4, a5, out y00, out y01);
            Output2Of6(b0, b1, b2, b3, b4, b5, out y10, out y11);
            y00 += bias; y01 += bias; y10 += bias; y11 += bias;

            static void Column(float* col, long plane, out Vector512<float> top, out Vector512<float> bottom) =>
                Output2Of6(Vector512.Load(col), Vector512.Load(col + 6 * plane), Vector512.Load(col + 12 * plane),
                    Vector512.Load(col + 18 * plane), Vector512.Load(col + 24 * plane), Vector512.Load(col + 30 * plane), out top, out bottom);
        }
    }
}
