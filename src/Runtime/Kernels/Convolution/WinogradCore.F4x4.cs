using System;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Kiln.Kernels;

/// <summary>
/// Winograd F(4×4, 3×3): each 4×4 block of outputs from the 6×6 input patch under it, with 36 products
/// per channel pair instead of 144 (F(2×2, 3×3) takes 64 for the same outputs). The same four steps as
/// F(2×2) with Lavin and Gray's matrices for the points 0, ±1, ±2:
/// <list type="bullet">
/// <item>Kernel: U = G·g·Gᵀ, 36 C × K' matrices.</item>
/// <item>Input: V = Bᵀ·d·B, each 6-point transform t0 = 4d0 − 5d2 + d4, t1,2 = (d4 − 4d2) ± (d3 − 4d1),
/// t3,4 = (d4 − d2) ± 2(d3 − d1), t5 = 4d1 − 5d3 + d5.</item>
/// <item>36 GEMMs M[ξ] = V[ξ]·U[ξ], by the shared <see cref="MultiplyPlanes"/>.</item>
/// <item>Output: y = act(Aᵀ·M·A + bias), 4×4 per tile clipped at the edges; or, fused with a 2×2 max
/// pooling, the tile's four windows.</item>
/// <item>Kernel gradient (WinogradCore.KernelGradient.cs): dM = A·dy·Aᵀ, 36 GEMMs dU[ξ] = Σ V[ξ]ᵀ·dM[ξ], dW = Gᵀ·dU·G.</item>
/// </list>
/// The transforms scale terms by up to 8 (F(2×2)'s by 1), so results round a little further from the
/// direct sum; the choice between the two depends only on the geometry, so a layer gives the same bits
/// in training and inference, pooled or not, at any thread count.
/// </summary>
internal static unsafe partial class WinogradCore
{
    /// <summary>
    /// F(4×4) where it does clearly less work than F(2×2): at most 80% of the products, counting the padded
    /// edge tiles. For a 3×3 window that is 36 per 4×4 tile against 16 per 2×2 (a 14×14 output takes 16
    /// tiles of 36 against 49 of 16; 5×5 to 10×10 gain too little); for a 5×5 window, 64 against 36, which
    /// pays on every output but the smallest. KernelSelection.WinogradTile in the Graph mirrors this, so the
    /// generated header names the tile.
    /// </summary>
    internal static bool FourByFour(in Conv2DGeometry g)
    {
        if (g.KernelHeight is not (3 or 5)) return false;
        int forced = WinogradConv2D.ForcedTile;
        if (forced != 0) return forced == 4;
        long f2 = (long)Algorithm(g.KernelHeight, false).Planes() * ((g.OutputHeight + 1) / 2) * ((g.OutputWidth + 1) / 2);
        long f4 = (long)Algorithm(g.KernelHeight, true).Planes() * ((g.OutputHeight + 3) / 4) * ((g.OutputWidth + 3) / 4);
        return 5 * f4 <= 4 * f2;
    }

    /// <summary>G·(p, q, r): p/4, −(p + q + r)/6, −(p − q + r)/6, p/24 + q/12 + r/6, p/24 − q/12 + r/6, r.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Kernel6(Vector512<float> p, Vector512<float> q, Vector512<float> r,
        out Vector512<float> u0, out Vector512<float> u1, out Vector512<float> u2, out Vector512<float> u3, out Vector512<float> u4, out Vector512<float> u5)
    {
        var pr = p + r;
        u0 = p * Vector512.Create(0.25f);
        u1 = (pr + q) * Vector512.Create(-1f / 6);
        u2 = (pr - q) * Vector512.Create(-1f / 6);
        var even = p * Vector512.Create(1f / 24) + r * Vector512.Create(1f / 6);
        var odd = q * Vector512.Create(1f / 12);
        u3 = even + odd;
        u4 = even - odd;
        u5 = r;
    }

    /// <summary>Six transformed values of one row, <paramref name="plane"/> floats apart (consecutive ξ).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store6(float* at, long plane, Vector512<float> e0, Vector512<float> e1, Vector512<float> e2, Vector512<float> e3, Vector512<float> e4, Vector512<float> e5)
    {
        Vector512.Store(e0, at);
        Vector512.Store(e1, at + plane);
        Vector512.Store(e2, at + 2 * plane);
        Vector512.Store(e3, at + 3 * plane);
        Vector512.Store(e4, at + 4 * plane);
        Vector512.Store(e5, at + 5 * plane);
    }

    /// <summary>Bᵀ·(d0 … d5), the input transform along one axis.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Input6(Vector512<float> d0, Vector512<float> d1, Vector512<float> d2, Vector512<float> d3, Vector512<float> d4, Vector512<float> d5,
        out Vector512<float> t0, out Vector512<float> t1, out Vector512<float> t2, out Vector512<float> t3, out Vector512<float> t4, out Vector512<float> t5)
    {
        var minusFour = Vector512.Create(-4f);
        var a = Vector512.FusedMultiplyAdd(minusFour, d2, d4);
        var b = Vector512.FusedMultiplyAdd(minusFour, d1, d3);
        var e = d4 - d2;
        var f = d3 - d1;
        f += f;
        // 4d0 − 5d2 + d4 = 4d0 + (a − d2) and 4d1 − 5d3 + d5 = (d5 − b) − 4d3: two operations each.
        t0 = Vector512.FusedMultiplyAdd(Vector512.Create(4f), d0, a - d2);
        t1 = a + b;
        t2 = a - b;
        t3 = e + f;
        t4 = e - f;
        t5 = Vector512.FusedMultiplyAdd(minusFour, d3, d5 - b);
    }

    /// <summary>Aᵀ·(m0 … m5), the output transform along one axis: with s, d = m1 ± m2 and S, D = m3 ± m4, (m0 + s + S, d + 2D, s + 4S, d + 8D + m5).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Output6(Vector512<float> m0, Vector512<float> m1, Vector512<float> m2, Vector512<float> m3, Vector512<float> m4, Vector512<float> m5,
        out Vector512<float> y0, out Vector512<float> y1, out Vector512<float> y2, out Vector512<float> y3)
    {
        var s = m1 + m2; var d = m1 - m2;
        var bigS = m3 + m4; var bigD = m3 - m4;
        y0 = m0 + s + bigS;
        y1 = Vector512.FusedMultiplyAdd(Vector512.Create(2f), bigD, d);
        y2 = Vector512.FusedMultiplyAdd(Vector512.Create(4f), bigS, s);
        y3 = Vector512.FusedMultiplyAdd(Vector512.Create(8f), bigD, d) + m5;
    }

    /// <summary>
    /// v[ξ][r][c] = (Bᵀ·d·B)[ξ] for the 6×6 input patch d under tile t0 + r (zeros outside the image),
    /// tiles <paramref name="tile"/> outputs apart: 4 for F(4×4, 3×3), 2 for F(2×2, 5×5), which share
    /// these 6 points; ξ planes are <paramref name="plane"/> floats apart. <paramref name="tmp"/> holds 36 vectors.
    /// </summary>
    private static void InputTransform6(float* x, in Conv2DGeometry g, int tile, int tileCols, long tilesPerSample, long plane, long t0, int count,
        float* v, float* zeros, float** rows, Vector512<float>* tmp)
    {
        int c = g.InputChannels;
        for (int r = 0; r < count; r++)
        {
            PatchRows(x, g, tile, 6, t0 + r, tileCols, tilesPerSample, zeros, rows);
            float* o = v + (nint)r * c;
            for (int cc = 0; cc < c; cc += 16)
            {
                // Bᵀ·d down each column of the patch, then each row of that times B.
                for (int j = 0; j < 6; j++)
                {
                    Input6(Vector512.Load(rows[j] + cc), Vector512.Load(rows[6 + j] + cc), Vector512.Load(rows[12 + j] + cc),
                        Vector512.Load(rows[18 + j] + cc), Vector512.Load(rows[24 + j] + cc), Vector512.Load(rows[30 + j] + cc),
                        out tmp[j], out tmp[6 + j], out tmp[12 + j], out tmp[18 + j], out tmp[24 + j], out tmp[30 + j]);
                }
                for (int i = 0; i < 6; i++)
                {
                    Vector512<float>* row = tmp + 6 * i;
                    Input6(row[0], row[1], row[2], row[3], row[4], row[5],
                        out var e0, out var e1, out var e2, out var e3, out var e4, out var e5);
                    Store6(o + cc + 6 * i * plane, plane, e0, e1, e2, e3, e4, e5);
                }
            }
        }
    }

    /// <summary>A·(y0 … y3), the output transform's adjoint along one axis: y0, y0 ± y1 + y2 ± y3, y0 ± 2y1 + 4y2 ± 8y3, y3.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Gradient6(Vector512<float> y0, Vector512<float> y1, Vector512<float> y2, Vector512<float> y3,
        out Vector512<float> a0, out Vector512<float> a1, out Vector512<float> a2, out Vector512<float> a3, out Vector512<float> a4, out Vector512<float> a5)
    {
        var even = y0 + y2; var odd = y1 + y3;
        var even2 = y0 + Vector512.Create(4f) * y2; var odd2 = Vector512.Create(2f) * y1 + Vector512.Create(8f) * y3;
        a0 = y0;
        a1 = even + odd;
        a2 = even - odd;
        a3 = even2 + odd2;
        a4 = even2 - odd2;
        a5 = y3;
    }

    /// <summary>
    /// dm[ξ][r][k] = (A·dy·Aᵀ)[ξ] for the 4×4 outputs of tile t0 + r (zeros past the edge); ξ planes are
    /// <paramref name="plane"/> floats apart. <paramref name="tmp"/> holds 24 vectors.
    /// </summary>
    private static void GradientTransform4(float* dz, in Conv2DGeometry g, int tileCols, long tilesPerSample, long plane, long t0, int count,
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
                // A·dy down each of the four output columns, then each of the six rows of that times Aᵀ.
                for (int q = 0; q < 4; q++)
                {
                    Gradient6(Vector512.Load(at[q] + j), Vector512.Load(at[4 + q] + j), Vector512.Load(at[8 + q] + j), Vector512.Load(at[12 + q] + j),
                        out tmp[q], out tmp[4 + q], out tmp[8 + q], out tmp[12 + q], out tmp[16 + q], out tmp[20 + q]);
                }
                for (int a = 0; a < 6; a++)
                {
                    Vector512<float>* row = tmp + 4 * a;
                    Gradient6(row[0], row[1], row[2], row[3], out var e0, out var e1, out var e2, out var e3, out var e4, out var e5);
                    Store6(o + j + 6 * a * plane, plane, e0, e1, e2, e3, e4, e5);
                }
            }
        }
    }

    /// <summary>at[4i + q] = output (i, q) (all K channels) of 4×4 tile t of <paramref name="dz"/>, or <paramref name="zeros"/> past the bottom or right edge.</summary>
    private static void FourByFourOutputs(float* dz, in Conv2DGeometry g, long t, int tileCols, long tilesPerSample, float* zeros, float** at)
    {
        int k = g.OutputChannels, oh = g.OutputHeight, ow = g.OutputWidth;
        TileOrigin(t, tileCols, tilesPerSample, out long sample, out int ty, out int tx);
        int oy = 4 * ty, ox = 4 * tx;
        float* ds = dz + sample * g.OutputSize;
        for (int i = 0; i < 4; i++)
            for (int q = 0; q < 4; q++)
                at[4 * i + q] = oy + i < oh && ox + q < ow ? ds + ((nint)(oy + i) * ow + ox + q) * k : zeros;
    }

    /// <summary>Gᵀ·(u0 … u5): u0/4 − (u1 + u2)/6 + (u3 + u4)/24, (u2 − u1)/6 + (u3 − u4)/12, (u3 + u4 − u1 − u2)/6 + u5.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void KernelAdjoint3(Vector512<float> u0, Vector512<float> u1, Vector512<float> u2, Vector512<float> u3, Vector512<float> u4, Vector512<float> u5,
        out Vector512<float> t0, out Vector512<float> t1, out Vector512<float> t2)
    {
        var sixth = Vector512.Create(1f / 6);
        var s12 = u1 + u2; var s34 = u3 + u4;
        t0 = u0 * Vector512.Create(0.25f) - s12 * sixth + s34 * Vector512.Create(1f / 24);
        t1 = (u2 - u1) * sixth + (u3 - u4) * Vector512.Create(1f / 12);
        t2 = (s34 - s12) * sixth + u5;
    }

    /// <summary>One axis of the 6-point kernel transform (G) and its adjoint (Gᵀ) for an r-tap window: F(4×4, 3×3) and F(2×2, 5×5) share everything else.</summary>
    private interface ISixPointWindow
    {
        /// <summary>r.</summary>
        int Taps { get; }

        /// <summary>u[i·<paramref name="uStride"/>] = (G·g)[i], i &lt; 6, for the r taps g[t·<paramref name="gStride"/>].</summary>
        void Transform(Vector512<float>* g, int gStride, Vector512<float>* u, int uStride);

        /// <summary>t[q·<paramref name="stride"/>] = (Gᵀ·u)[q], q &lt; r.</summary>
        void Adjoint(Vector512<float> u0, Vector512<float> u1, Vector512<float> u2, Vector512<float> u3, Vector512<float> u4, Vector512<float> u5,
            Vector512<float>* t, int stride);
    }

    /// <summary>F(4×4, 3×3)'s G: <see cref="Kernel6"/> and <see cref="KernelAdjoint3"/>.</summary>
    private readonly struct ThreeTaps : ISixPointWindow
    {
        public int Taps => 3;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Transform(Vector512<float>* g, int gStride, Vector512<float>* u, int uStride) =>
            Kernel6(g[0], g[gStride], g[2 * gStride], out u[0], out u[uStride], out u[2 * uStride], out u[3 * uStride], out u[4 * uStride], out u[5 * uStride]);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Adjoint(Vector512<float> u0, Vector512<float> u1, Vector512<float> u2, Vector512<float> u3, Vector512<float> u4, Vector512<float> u5,
            Vector512<float>* t, int stride) => KernelAdjoint3(u0, u1, u2, u3, u4, u5, out t[0], out t[stride], out t[2 * stride]);
    }

    /// <summary>u[ξ][c][j] = (G·g·Gᵀ)[ξ] for the r × r kernel g of input channel c and filter j, 36 planes; columns ≥ K are zero.</summary>
    private static void TransformKernel6<TWindow>(float* w, float* u, int c, int k, int kp) where TWindow : struct, ISixPointWindow
    {
        int r = default(TWindow).Taps;
        long plane = (long)c * kp;
        nint tapStride = (nint)c * k;
        Vector512<float>* taps = stackalloc Vector512<float>[25];
        Vector512<float>* half = stackalloc Vector512<float>[30];
        Vector512<float>* row = stackalloc Vector512<float>[6];
        for (int cc = 0; cc < c; cc++)
        {
            for (int j = 0; j < kp; j += 16)
            {
                float* o = u + (nint)cc * kp + j;
                if (j >= k)
                {
                    for (int xi = 0; xi < 36; xi++) Vector512.Store(Vector512<float>.Zero, o + xi * plane);
                    continue;
                }
                // g[t] for 16 filters; G·g down each tap column (half[i·r + t]), then each row of that times Gᵀ.
                float* at = w + (nint)cc * k + j;
                for (int t = 0; t < r * r; t++) taps[t] = Vector512.Load(at + t * tapStride);
                for (int t = 0; t < r; t++) default(TWindow).Transform(taps + t, r, half + t, r);
                for (int i = 0; i < 6; i++)
                {
                    default(TWindow).Transform(half + r * i, 1, row, 1);
                    Store6(o + 6 * i * plane, plane, row[0], row[1], row[2], row[3], row[4], row[5]);
                }
            }
        }
    }

    /// <summary>dW = Gᵀ·dU·G for the 36 planes of dU (C × K each), into the (r, r, C, K) kernel gradient.</summary>
    private static void KernelFromTransformed6<TWindow>(float* du, float* dKernel, int c, int k) where TWindow : struct, ISixPointWindow
    {
        int r = default(TWindow).Taps;
        long plane = (long)c * k;
        nint tap = (nint)c * k;
        Vector512<float>* half = stackalloc Vector512<float>[30];
        Vector512<float>* outs = stackalloc Vector512<float>[5];
        for (int cc = 0; cc < c; cc++)
        {
            for (int j = 0; j < k; j += 16)
            {
                // Gᵀ·dU down each of the six columns (half[t·6 + b]), then each of the r rows of that times G.
                float* p = du + (nint)cc * k + j;
                for (int b = 0; b < 6; b++)
                {
                    float* col = p + b * plane;
                    default(TWindow).Adjoint(Vector512.Load(col), Vector512.Load(col + 6 * plane), Vector512.Load(col + 12 * plane),
                        Vector512.Load(col + 18 * plane), Vector512.Load(col + 24 * plane), Vector512.Load(col + 30 * plane), half + b, 6);
                }
                float* o = dKernel + (nint)cc * k + j;
                for (int t = 0; t < r; t++)
                {
                    Vector512<float>* row = half + 6 * t;
                    default(TWindow).Adjoint(row[0], row[1], row[2], row[3], row[4], row[5], outs, 1);
                    for (int q = 0; q < r; q++) Vector512.Store(outs[q], o + (r * t + q) * tap);
                }
            }
        }
    }

    private sealed partial class Job<TAct>
    {
        /// <summary>y = act(Aᵀ·M·A + bias) for each tile, clipped at the edges.</summary>
        private void OutputTransform4(long t0, int count, float* m, Vector512<float>* half, Vector512<float>* outs)
        {
            ref readonly Conv2DGeometry g = ref G;
            int k = g.OutputChannels, oh = g.OutputHeight, ow = g.OutputWidth, kp = Kp;
            long plane = MPlane;
            for (int r = 0; r < count; r++)
            {
                TileOrigin(t0 + r, out long sample, out int ty, out int tx);
                int oy = 4 * ty, ox = 4 * tx;
                int rowsIn = Math.Min(4, oh - oy), colsIn = Math.Min(4, ow - ox);
                float* ys = Y + sample * g.OutputSize + ((nint)oy * ow + ox) * k;
                float* src = m + (nint)r * kp;
                bool whole = rowsIn == 4 && colsIn == 4;
                nint row = (nint)ow * k;
                for (int j = 0; j < k; j += 16)
                {
                    var bias = Bias == null ? Vector512<float>.Zero : Vector512.Load(Bias + j);
                    FourByFourTile(src + j, plane, bias, half, outs);
                    if (whole)
                    {
                        StoreTile4(ys + j, k, row, outs);
                        continue;
                    }
                    for (int i = 0; i < rowsIn; i++)
                    {
                        float* yr = ys + j + i * row;
                        for (int q = 0; q < colsIn; q++) Vector512.Store(Act.Apply(outs[4 * i + q]), yr + (nint)q * k);
                    }
                }
            }
        }

        /// <summary>
        /// act of a whole 4×4 tile's 16 outputs, pixels <paramref name="k"/> floats apart and rows <paramref name="row"/>:
        /// four stores a row where the edge tiles' loops test both bounds for each (the CIFAR net's step 1–2.6 %
        /// faster in five paired measurements on Zen 5, stop 45).
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private void StoreTile4(float* y, nint k, nint row, Vector512<float>* outs)
        {
            for (int i = 0; i < 4; i++, y += row, outs += 4)
            {
                Vector512.Store(Act.Apply(outs[0]), y);
                Vector512.Store(Act.Apply(outs[1]), y + k);
                Vector512.Store(Act.Apply(outs[2]), y + 2 * k);
                Vector512.Store(Act.Apply(outs[3]), y + 3 * k);
            }
        }

        /// <summary>
        /// pooled = the 2×2 max pooling of act(Aᵀ·M·A + bias): a tile holds four windows, each compared in
        /// Pooling's order with its comparison (a later value wins only when greater). A window over an odd
        /// edge is in no pooling output (valid pooling drops that row or column) and is skipped.
        /// </summary>
        private void PooledOutputTransform4(long t0, int count, float* m, Vector512<float>* half, Vector512<float>* outs)
        {
            int k = G.OutputChannels, ph = G.OutputHeight / 2, pw = G.OutputWidth / 2, kp = Kp;
            long plane = MPlane;
            for (int r = 0; r < count; r++)
            {
                TileOrigin(t0 + r, out long sample, out int ty, out int tx);
                int py = 2 * ty, px = 2 * tx;
                if (py >= ph || px >= pw) continue;
                int rowsIn = Math.Min(2, ph - py), colsIn = Math.Min(2, pw - px);
                float* ys = Y + ((sample * ph + py) * pw + px) * k;
                float* src = m + (nint)r * kp;
                for (int j = 0; j < k; j += 16)
                {
                    var bias = Bias == null ? Vector512<float>.Zero : Vector512.Load(Bias + j);
                    FourByFourTile(src + j, plane, bias, half, outs);
                    for (int wy = 0; wy < rowsIn; wy++)
                    {
                        for (int wx = 0; wx < colsIn; wx++)
                        {
                            Vector512<float>* top = outs + 8 * wy + 2 * wx;
                            Vector512.Store(Pooling.WindowMax(Act, top[0], top[1], top[4], top[5]), ys + j + ((nint)wy * pw + wx) * k);
                        }
                    }
                }
            }
        }

        /// <summary>A 4×4 tile's outputs + bias for 16 channels, from F(4×4, 3×3)'s 36 planes or F(4×4, 5×5)'s 64.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private void FourByFourTile(float* p, long plane, Vector512<float> bias, Vector512<float>* half, Vector512<float>* outs)
        {
            if (Algorithm == WinogradAlgorithm.F4x4For5x5) TileOutputs8(p, plane, bias, half, outs);
            else TileOutputs4(p, plane, bias, half, outs);
        }

        /// <summary>outs[4i + q] = (Aᵀ·M·A)[i][q] + bias for 16 channels of one tile, M's 36 values <paramref name="plane"/> apart.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static void TileOutputs4(float* p, long plane, Vector512<float> bias, Vector512<float>* half, Vector512<float>* outs)
        {
            // Aᵀ·M down each of M's six columns, then each of the four rows of that times A.
            for (int j = 0; j < 6; j++)
            {
                float* col = p + j * plane;
                Output6(Vector512.Load(col), Vector512.Load(col + 6 * plane), Vector512.Load(col + 12 * plane),
                    Vector512.Load(col + 18 * plane), Vector512.Load(col + 24 * plane), Vector512.Load(col + 30 * plane),
                    out half[j], out half[6 + j], out half[12 + j], out half[18 + j]);
            }
            for (int i = 0; i < 4; i++)
            {
                Vector512<float>* row = half + 6 * i;
                Output6(row[0], row[1], row[2], row[3], row[4], row[5], out var y0, out var y1, out var y2, out var y3);
                outs[4 * i] = y0 + bias;
                outs[4 * i + 1] = y1 + bias;
                outs[4 * i + 2] = y2 + bias;
                outs[4 * i + 3] = y3 + bias;
            }
        }
    }
}
