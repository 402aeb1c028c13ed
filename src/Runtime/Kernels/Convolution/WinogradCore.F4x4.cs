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
        u0 = Kernel6At(0, p, q, r); u1 = Kernel6At(1, p, q, r); u2 = Kernel6At(2, p, q, r);
        u3 = Kernel6At(3, p, q, r); u4 = Kernel6At(4, p, q, r); u5 = Kernel6At(5, p, q, r);
    }

    /// <summary>(G·(p, q, r))[<paramref name="i"/>] alone: the kernel transform's row passes take one row of G·g per column with it; <see cref="Kernel6"/> is all six.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Kernel6At(int i, Vector512<float> p, Vector512<float> q, Vector512<float> r) => i switch
    {
        0 => p * Vector512.Create(0.25f),
        1 => (p + r + q) * Vector512.Create(-1f / 6),
        2 => (p + r - q) * Vector512.Create(-1f / 6),
        3 => p * Vector512.Create(1f / 24) + r * Vector512.Create(1f / 6) + q * Vector512.Create(1f / 12),
        4 => p * Vector512.Create(1f / 24) + r * Vector512.Create(1f / 6) - q * Vector512.Create(1f / 12),
        _ => r,
    };

    /// <summary>Six transformed values of one row, <paramref name="plane"/> floats apart (consecutive ξ).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store6(float* at, long plane, Vector512<float> e0, Vector512<float> e1, Vector512<float> e2, Vector512<float> e3, Vector512<float> e4, Vector512<float> e5) =>
        Store6(at, plane, e0, e1, e2, e3, e4, e5, default(ChannelRows));

    /// <summary>Six planes' values from <paramref name="at"/>, <paramref name="plane"/> floats apart, each stored as <typeparamref name="TLayout"/> stores.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store6<TLayout>(float* at, long plane, Vector512<float> e0, Vector512<float> e1, Vector512<float> e2, Vector512<float> e3,
        Vector512<float> e4, Vector512<float> e5, TLayout layout) where TLayout : struct, IPlaneLayout
    {
        layout.Store(e0, at);
        layout.Store(e1, at + plane);
        layout.Store(e2, at + 2 * plane);
        layout.Store(e3, at + 3 * plane);
        layout.Store(e4, at + 4 * plane);
        layout.Store(e5, at + 5 * plane);
    }

    /// <summary>
    /// Bᵀ·(d0 … d5), the input transform along one axis, at <typeparamref name="TV"/>'s width. 4d0 − 5d2 + d4 = 4d0 + (a − d2)
    /// and 4d1 − 5d3 + d5 = (d5 − b) − 4d3: two operations each.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Input6<TV>(TV d0, TV d1, TV d2, TV d3, TV d4, TV d5, out TV t0, out TV t1, out TV t2, out TV t3, out TV t4, out TV t5)
        where TV : struct, ILanes<TV>
    {
        var a = TV.MultiplyAdd(-4f, d2, d4);
        var b = TV.MultiplyAdd(-4f, d1, d3);
        var e = d4 - d2;
        var f = d3 - d1;
        f += f;
        t0 = TV.MultiplyAdd(4f, d0, a - d2);
        t1 = a + b;
        t2 = a - b;
        t3 = e + f;
        t4 = e - f;
        t5 = TV.MultiplyAdd(-4f, d3, d5 - b);
    }

    /// <summary>Bᵀ·(d0 … d5), the input transform along one axis: <see cref="Input6{TV}"/> on 16 lanes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Input6(Vector512<float> d0, Vector512<float> d1, Vector512<float> d2, Vector512<float> d3, Vector512<float> d4, Vector512<float> d5,
        out Vector512<float> t0, out Vector512<float> t1, out Vector512<float> t2, out Vector512<float> t3, out Vector512<float> t4, out Vector512<float> t5)
    {
        Input6(new Lanes16(d0), new Lanes16(d1), new Lanes16(d2), new Lanes16(d3), new Lanes16(d4), new Lanes16(d5),
            out var u0, out var u1, out var u2, out var u3, out var u4, out var u5);
        t0 = u0.V; t1 = u1.V; t2 = u2.V; t3 = u3.V; t4 = u4.V; t5 = u5.V;
    }

    /// <summary>Aᵀ·(m0 … m5), the output transform along one axis: with s, d = m1 ± m2 and S, D = m3 ± m4, (m0 + s + S, d + 2D, s + 4S, d + 8D + m5).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Output6<TV>(TV m0, TV m1, TV m2, TV m3, TV m4, TV m5, out TV y0, out TV y1, out TV y2, out TV y3)
        where TV : struct, ILanes<TV>
    {
        var s = m1 + m2; var d = m1 - m2;
        var bigS = m3 + m4; var bigD = m3 - m4;
        y0 = m0 + s + bigS;
        y1 = TV.MultiplyAdd(2f, bigD, d);
        y2 = TV.MultiplyAdd(4f, bigS, s);
        y3 = TV.MultiplyAdd(8f, bigD, d) + m5;
    }

    /// <summary>
    /// <see cref="Output6{TV}"/> on the scratch forms' Vector512 intermediates (TileOutputs4). Through <see cref="Lanes16"/>'s
    /// wrapper even where the runtime carries Vector512 out through memory: against a copy on Vector512 itself, the 256-bit
    /// path's pooled Fashion CNN inference ran 1.013–1.028× and a 5×5 F(4×4) forward 0.994–0.995× (stop 56).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Output6(Vector512<float> m0, Vector512<float> m1, Vector512<float> m2, Vector512<float> m3, Vector512<float> m4, Vector512<float> m5,
        out Vector512<float> y0, out Vector512<float> y1, out Vector512<float> y2, out Vector512<float> y3)
    {
        Output6(new Lanes16(m0), new Lanes16(m1), new Lanes16(m2), new Lanes16(m3), new Lanes16(m4), new Lanes16(m5),
            out var z0, out var z1, out var z2, out var z3);
        y0 = z0.V; y1 = z1.V; y2 = z2.V; y3 = z3.V;
    }

    /// <summary>
    /// v[ξ][r][c] = (Bᵀ·d·B)[ξ] for the 6×6 input patch d under tile t0 + r (zeros outside the image),
    /// tiles <paramref name="tile"/> outputs apart: 4 for F(4×4, 3×3), 2 for F(2×2, 5×5), which share
    /// these 6 points; ξ planes are <paramref name="plane"/> floats apart.
    /// Bᵀ·d's 36 vectors do not fit the 32 registers, and parking them in scratch doubled the stores
    /// (72 per 16 channels, against 1 store and 2 loads a cycle). Instead Bᵀ·d is made a pair of rows
    /// at a time from the patch, which is reread (loads are the cheap side): 36 stores, the same
    /// operations in the same order, so the same bits. The CIFAR net's step 3 % faster (paired, Zen 5, stop 46).
    /// Without 32 vector registers (<see cref="TransformsInRegisters"/>) the 256-bit path makes two rows at a time in 8-lane
    /// registers (<see cref="InputTransform6InRows{TV}"/>); the scratch form, <paramref name="tmp"/> holding its 36 vectors, is left
    /// for 16 lanes outside registers.
    /// Both forms prefetch the rows ahead with <paramref name="prefetch"/> (<see cref="PrefetchNextRows"/>).
    /// </summary>
    private static void InputTransform6(float* x, in Conv2DGeometry g, int tile, int tileCols, long tilesPerSample, long plane, long t0, int count,
        float* v, float* zeros, float** rows, Vector512<float>* tmp, bool prefetch)
    {
        if (!TransformsInRegisters)
        {
            // 8 channels at a time in ymm registers, two rows of the transform at a time, where 16-lane code would go through memory.
            if (Simd.Use256) InputTransform6InRows<Lanes8>(x, g, tile, tileCols, tilesPerSample, plane, t0, count, v, zeros, rows, prefetch);
            else InputTransform6Scratch(x, g, tile, tileCols, tilesPerSample, plane, t0, count, v, zeros, rows, tmp, prefetch);
            return;
        }
        InputTransform6(x, g, tile, tileCols, tilesPerSample, plane, t0, count, v, zeros, rows, default(ChannelRows), prefetch);
    }

    /// <summary>
    /// <see cref="InputTransform6(float*, in Conv2DGeometry, int, int, long, long, long, int, float*, float*, float**, Vector512{float}*, bool)"/>'s
    /// register form, each plane laid out as <typeparamref name="TLayout"/> says: rows of channels, or the kernel gradient's
    /// GEMM panels (<see cref="Panels8"/>). With <paramref name="prefetch"/> each tile prefetches its share of the image rows
    /// the next row of tiles adds (<see cref="PrefetchNextRows"/>).
    /// </summary>
    private static void InputTransform6<TLayout>(float* x, in Conv2DGeometry g, int tile, int tileCols, long tilesPerSample, long plane, long t0, int count,
        float* v, float* zeros, float** rows, TLayout layout, bool prefetch) where TLayout : struct, IPlaneLayout
    {
        int c = g.InputChannels;
        for (int r = 0; r < count; r++)
        {
            PatchRows(x, g, tile, 6, t0 + r, tileCols, tilesPerSample, zeros, rows);
            if (prefetch) PrefetchNextRows(x, g, tile, 6, t0 + r, tileCols, tilesPerSample);
            for (int cc = 0; cc < c; cc += 16)
            {
                float* at = layout.At(v, r, cc, c, count);
                // Rows 1 to 4 of Bᵀ·d from each column's shared terms, then rows 0 and 5 (three pixels each).
                MiddleTerms(rows, 0, cc, out var a0, out var b0, out var e0, out var f0);
                MiddleTerms(rows, 1, cc, out var a1, out var b1, out var e1, out var f1);
                MiddleTerms(rows, 2, cc, out var a2, out var b2, out var e2, out var f2);
                MiddleTerms(rows, 3, cc, out var a3, out var b3, out var e3, out var f3);
                MiddleTerms(rows, 4, cc, out var a4, out var b4, out var e4, out var f4);
                MiddleTerms(rows, 5, cc, out var a5, out var b5, out var e5, out var f5);
                InputRow(at, plane, 1, a0 + b0, a1 + b1, a2 + b2, a3 + b3, a4 + b4, a5 + b5, layout);
                InputRow(at, plane, 2, a0 - b0, a1 - b1, a2 - b2, a3 - b3, a4 - b4, a5 - b5, layout);
                InputRow(at, plane, 3, e0 + f0, e1 + f1, e2 + f2, e3 + f3, e4 + f4, e5 + f5, layout);
                InputRow(at, plane, 4, e0 - f0, e1 - f1, e2 - f2, e3 - f3, e4 - f4, e5 - f5, layout);
                InputRow(at, plane, 0, TopTerm(rows, 0, cc), TopTerm(rows, 1, cc), TopTerm(rows, 2, cc),
                    TopTerm(rows, 3, cc), TopTerm(rows, 4, cc), TopTerm(rows, 5, cc), layout);
                InputRow(at, plane, 5, BottomTerm(rows, 0, cc), BottomTerm(rows, 1, cc), BottomTerm(rows, 2, cc),
                    BottomTerm(rows, 3, cc), BottomTerm(rows, 4, cc), BottomTerm(rows, 5, cc), layout);
            }
        }
    }

    /// <summary><see cref="Input6"/>'s a, b, e, f down patch column <paramref name="j"/>: rows 1 to 4 of Bᵀ·d are a ± b and e ± f.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void MiddleTerms(float** rows, int j, int cc, out Vector512<float> a, out Vector512<float> b, out Vector512<float> e, out Vector512<float> f)
    {
        var d1 = Vector512.Load(rows[6 + j] + cc); var d2 = Vector512.Load(rows[12 + j] + cc);
        var d3 = Vector512.Load(rows[18 + j] + cc); var d4 = Vector512.Load(rows[24 + j] + cc);
        var minusFour = Vector512.Create(-4f);
        a = Vector512.FusedMultiplyAdd(minusFour, d2, d4);
        b = Vector512.FusedMultiplyAdd(minusFour, d1, d3);
        e = d4 - d2;
        f = d3 - d1;
        f += f;
    }

    /// <summary>Row 0 of Bᵀ·d in patch column <paramref name="j"/>, as <see cref="Input6"/> makes t0.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> TopTerm(float** rows, int j, int cc)
    {
        var d0 = Vector512.Load(rows[j] + cc); var d2 = Vector512.Load(rows[12 + j] + cc); var d4 = Vector512.Load(rows[24 + j] + cc);
        var a = Vector512.FusedMultiplyAdd(Vector512.Create(-4f), d2, d4);
        return Vector512.FusedMultiplyAdd(Vector512.Create(4f), d0, a - d2);
    }

    /// <summary>Row 5 of Bᵀ·d in patch column <paramref name="j"/>, as <see cref="Input6"/> makes t5.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> BottomTerm(float** rows, int j, int cc)
    {
        var d1 = Vector512.Load(rows[6 + j] + cc); var d3 = Vector512.Load(rows[18 + j] + cc); var d5 = Vector512.Load(rows[30 + j] + cc);
        var minusFour = Vector512.Create(-4f);
        var b = Vector512.FusedMultiplyAdd(minusFour, d1, d3);
        return Vector512.FusedMultiplyAdd(minusFour, d3, d5 - b);
    }

    /// <summary>Row <paramref name="i"/> of Bᵀ·d times B, stored at ξ = 6i .. 6i + 5.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void InputRow<TLayout>(float* at, long plane, int i, Vector512<float> t0, Vector512<float> t1, Vector512<float> t2, Vector512<float> t3,
        Vector512<float> t4, Vector512<float> t5, TLayout layout) where TLayout : struct, IPlaneLayout
    {
        Input6(t0, t1, t2, t3, t4, t5, out var e0, out var e1, out var e2, out var e3, out var e4, out var e5);
        Store6(at + 6 * i * plane, plane, e0, e1, e2, e3, e4, e5, layout);
    }

    /// <summary>Where a plane's 16 channels from <c>cc</c> of tile <c>r</c> go, and how they are stored.</summary>
    private interface IPlaneLayout
    {
        float* At(float* v, int r, int cc, int c, int count);
        void Store(Vector512<float> values, float* at);
    }

    /// <summary>Rows of channels: tile r's channels at r·C, as the plane products (<see cref="MultiplyPlanes"/>) read them.</summary>
    private readonly struct ChannelRows : IPlaneLayout
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public float* At(float* v, int r, int cc, int c, int count) => v + (nint)r * c + cc;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Store(Vector512<float> values, float* at) => Vector512.Store(values, at);
    }

    /// <summary>
    /// The plane transposed into the 512-bit GEMM's packed A (GemmPacking.PackA with 8-row panels, one k block): channel ch of
    /// tile r at (ch − ch mod 8)·count + 8r + ch mod 8, so the kernel gradient's C × K products read it without packing.
    /// </summary>
    private readonly struct Panels8(long half) : IPlaneLayout
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public float* At(float* v, int r, int cc, int c, int count) => v + (nint)cc * count + 8 * r;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Store(Vector512<float> values, float* at)
        {
            Vector256.Store(values.GetLower(), at);
            Vector256.Store(values.GetUpper(), at + half);
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
    /// <paramref name="plane"/> floats apart. As in <see cref="InputTransform6"/>, A·dy is made a pair of
    /// rows at a time from dy, never parked in scratch: 36 stores per 16 channels instead of 60, same bits.
    /// Without 32 vector registers it goes through <paramref name="tmp"/> (24 vectors; <see cref="TransformsInRegisters"/>).
    /// </summary>
    private static void GradientTransform4(float* dz, in Conv2DGeometry g, int tileCols, long tilesPerSample, long plane, long t0, int count,
        float* dm, float* zeros, Vector512<float>* tmp)
    {
        if (!TransformsInRegisters)
        {
            GradientTransform4Scratch(dz, g, tileCols, tilesPerSample, plane, t0, count, dm, zeros, tmp);
            return;
        }
        int k = g.OutputChannels;
        float** at = stackalloc float*[16];
        for (int r = 0; r < count; r++)
        {
            FourByFourOutputs(dz, g, t0 + r, tileCols, tilesPerSample, zeros, at);
            float* o = dm + (nint)r * k;
            for (int j = 0; j < k; j += 16)
            {
                float* to = o + j;
                // Rows 0 and 5 of A·dy are dy's rows 0 and 3; rows 1, 2 and rows 3, 4 share sums down each column.
                GradientRow(to, plane, 0, Vector512.Load(at[0] + j), Vector512.Load(at[1] + j), Vector512.Load(at[2] + j), Vector512.Load(at[3] + j));
                GradientRow(to, plane, 5, Vector512.Load(at[12] + j), Vector512.Load(at[13] + j), Vector512.Load(at[14] + j), Vector512.Load(at[15] + j));
                GradientSums(at, j, 0, false, out var e0, out var o0); GradientSums(at, j, 1, false, out var e1, out var o1);
                GradientSums(at, j, 2, false, out var e2, out var o2); GradientSums(at, j, 3, false, out var e3, out var o3);
                GradientRow(to, plane, 1, e0 + o0, e1 + o1, e2 + o2, e3 + o3);
                GradientRow(to, plane, 2, e0 - o0, e1 - o1, e2 - o2, e3 - o3);
                GradientSums(at, j, 0, true, out e0, out o0); GradientSums(at, j, 1, true, out e1, out o1);
                GradientSums(at, j, 2, true, out e2, out o2); GradientSums(at, j, 3, true, out e3, out o3);
                GradientRow(to, plane, 3, e0 + o0, e1 + o1, e2 + o2, e3 + o3);
                GradientRow(to, plane, 4, e0 - o0, e1 - o1, e2 - o2, e3 - o3);
            }
        }
    }

    /// <summary><see cref="Gradient6"/>'s sums down output column <paramref name="q"/>: even, odd (rows 1, 2 of A·dy) or, <paramref name="weighted"/>, even2, odd2 (rows 3, 4).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void GradientSums(float** at, int j, int q, bool weighted, out Vector512<float> even, out Vector512<float> odd)
    {
        var y0 = Vector512.Load(at[q] + j); var y1 = Vector512.Load(at[4 + q] + j);
        var y2 = Vector512.Load(at[8 + q] + j); var y3 = Vector512.Load(at[12 + q] + j);
        if (weighted)
        {
            even = y0 + Vector512.Create(4f) * y2;
            odd = Vector512.Create(2f) * y1 + Vector512.Create(8f) * y3;
        }
        else
        {
            even = y0 + y2;
            odd = y1 + y3;
        }
    }

    /// <summary>Row <paramref name="a"/> of A·dy times Aᵀ, stored at ξ = 6a .. 6a + 5.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void GradientRow(float* at, long plane, int a, Vector512<float> r0, Vector512<float> r1, Vector512<float> r2, Vector512<float> r3)
    {
        Gradient6(r0, r1, r2, r3, out var e0, out var e1, out var e2, out var e3, out var e4, out var e5);
        Store6(at + 6 * a * plane, plane, e0, e1, e2, e3, e4, e5);
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

        /// <summary>t[q·<paramref name="stride"/>] = (Gᵀ·u)[q], q &lt; r.</summary>
        void Adjoint(Vector512<float> u0, Vector512<float> u1, Vector512<float> u2, Vector512<float> u3, Vector512<float> u4, Vector512<float> u5,
            Vector512<float>* t, int stride);
    }

    /// <summary>F(4×4, 3×3)'s Gᵀ: <see cref="KernelAdjoint3"/>.</summary>
    private readonly struct ThreeTaps : ISixPointWindow
    {
        public int Taps => 3;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Adjoint(Vector512<float> u0, Vector512<float> u1, Vector512<float> u2, Vector512<float> u3, Vector512<float> u4, Vector512<float> u5,
            Vector512<float>* t, int stride) => KernelAdjoint3(u0, u1, u2, u3, u4, u5, out t[0], out t[stride], out t[2 * stride]);
    }

    /// <summary>
    /// u[ξ][c][j] = (G·g·Gᵀ)[ξ] for the 3 × 3 kernel g of input channels c0 ≤ c &lt; c1 and filter j, 36 planes; columns ≥ K are zero.
    /// One row of the 6 × 6 transform per pass over the channels (<see cref="TransformKernelFor"/>).
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static void TransformKernel6(float* w, float* u, int c, int k, int kp, int c0, int c1)
    {
        long plane = (long)c * kp;
        nint tapStride = (nint)c * k;
        for (int i = 0; i < 6; i++)
        {
            for (int cc = c0; cc < c1; cc++)
            {
                for (int j = 0; j < kp; j += 16)
                {
                    float* o = u + (nint)cc * kp + j + 6 * i * plane;
                    if (j >= k)
                    {
                        Store6(o, plane, default, default, default, default, default, default);
                        continue;
                    }
                    // Row i of G·g (G times each tap column), then that row times Gᵀ.
                    float* at = w + (nint)cc * k + j;
                    var h0 = Kernel6At(i, Vector512.Load(at), Vector512.Load(at + 3 * tapStride), Vector512.Load(at + 6 * tapStride));
                    var h1 = Kernel6At(i, Vector512.Load(at + tapStride), Vector512.Load(at + 4 * tapStride), Vector512.Load(at + 7 * tapStride));
                    var h2 = Kernel6At(i, Vector512.Load(at + 2 * tapStride), Vector512.Load(at + 5 * tapStride), Vector512.Load(at + 8 * tapStride));
                    Kernel6(h0, h1, h2, out var u0, out var u1, out var u2, out var u3, out var u4, out var u5);
                    Store6(o, plane, u0, u1, u2, u3, u4, u5);
                }
            }
        }
    }

    /// <summary>dW = Gᵀ·dU·G for the 36 planes of dU (C × K each), into the (r, r, C, K) kernel gradient's input channels c0 ≤ c &lt; c1.</summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static void KernelFromTransformed6<TWindow>(float* du, float* dKernel, int c, int k, int c0, int c1) where TWindow : struct, ISixPointWindow
    {
        int r = default(TWindow).Taps;
        long plane = (long)c * k;
        nint tap = (nint)c * k;
        Vector512<float>* half = stackalloc Vector512<float>[30];
        Vector512<float>* outs = stackalloc Vector512<float>[5];
        for (int cc = c0; cc < c1; cc++)
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
            bool registers = TransformsInRegisters && Algorithm == WinogradAlgorithm.F4x4For3x3;
            bool eightLanes = !registers && Simd.Use256 && Algorithm == WinogradAlgorithm.F4x4For3x3;
            for (int r = 0; r < count; r++)
            {
                TileOrigin(t0 + r, out long sample, out int ty, out int tx);
                int oy = 4 * ty, ox = 4 * tx;
                int rowsIn = Math.Min(4, oh - oy), colsIn = Math.Min(4, ow - ox);
                float* ys = Y + sample * g.OutputSize + ((nint)oy * ow + ox) * k;
                float* src = m + (nint)r * kp;
                bool whole = rowsIn == 4 && colsIn == 4;
                nint row = (nint)ow * k;
                if (registers)
                {
                    TileChannelsInRegisters<Lanes16>(src, plane, ys, k, row, rowsIn, colsIn);
                    continue;
                }
                if (eightLanes)
                {
                    // 8 channels at a time in ymm registers, where 16-lane code would go through memory.
                    TileChannelsInRegisters<Lanes8>(src, plane, ys, k, row, rowsIn, colsIn);
                    continue;
                }
                for (int j = 0; j < k; j += 16)
                {
                    var bias = Bias == null ? Vector512<float>.Zero : Vector512.Load(Bias + j);
                    FourByFourTile(src + j, plane, bias, half, outs);
                    if (whole) StoreTile4(ys + j, k, row, outs, 4, 4);
                    else StoreTile4(ys + j, k, row, outs, rowsIn, colsIn);
                }
            }
        }

        /// <summary>
        /// act(Aᵀ·M·A + bias) of an F(4×4, 3×3) tile for 16 channels, stored straight to y (pixels
        /// <paramref name="k"/> floats apart, rows <paramref name="row"/>): its <paramref name="rowsIn"/> ×
        /// <paramref name="colsIn"/> outputs inside the image (a tile the edge clips: a 14 × 14 image has 7 of
        /// its 16). Like <see cref="InputTransform6"/>, Aᵀ·M is made a pair of rows at a time from M and never
        /// parked in scratch: 16 stores instead of 56, the same operations as <see cref="TileOutputs4"/>, so
        /// the same bits. Clipped tiles took the scratch path before: the Fashion CNN's step 2–3 % slower (stop 51).
        /// 16 lanes in zmm registers, or 8 in ymm on the 256-bit path (<see cref="ILanes{TSelf}"/>).
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private void Tile4InRegisters<TV>(float* p, long plane, TV bias, float* y, nint k, nint row, int rowsIn, int colsIn)
            where TV : struct, ILanes<TV>
        {
            RowPair(p, plane, bias, false, out var y00, out var y01, out var y02, out var y03, out var y10, out var y11, out var y12, out var y13);
            StoreRow4(y, k, colsIn, y00, y01, y02, y03);
            if (rowsIn > 1) StoreRow4(y + row, k, colsIn, y10, y11, y12, y13);
            if (rowsIn < 3) return;
            RowPair(p, plane, bias, true, out y00, out y01, out y02, out y03, out y10, out y11, out y12, out y13);
            StoreRow4(y + 2 * row, k, colsIn, y00, y01, y02, y03);
            if (rowsIn > 3) StoreRow4(y + 3 * row, k, colsIn, y10, y11, y12, y13);
        }

        /// <summary>
        /// One tile's outputs for every channel, <typeparamref name="TV"/>'s lanes at a time (<see cref="Tile4InRegisters{TV}"/>).
        /// Whole and clipped tiles are methods of their own: inlined into <see cref="OutputTransform4"/> at both widths, the
        /// transform passed the JIT's limit of locals (512) there and its vector helpers became calls (`Kiln.Benchmarks
        /// --only inlining` lists them, "too many locals", when they are put back).
        /// </summary>
        private void TileChannelsInRegisters<TV>(float* src, long plane, float* ys, nint k, nint row, int rowsIn, int colsIn)
            where TV : struct, ILanes<TV>
        {
            // Constant counts for a whole tile: its stores' conditions compile away.
            if (rowsIn == 4 && colsIn == 4) WholeTileChannels<TV>(src, plane, ys, k, row);
            else ClippedTileChannels<TV>(src, plane, ys, k, row, rowsIn, colsIn);
        }

        [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
        private void WholeTileChannels<TV>(float* src, long plane, float* ys, nint k, nint row) where TV : struct, ILanes<TV>
        {
            for (int j = 0; j < k; j += TV.Count)
                Tile4InRegisters(src + j, plane, Bias == null ? default : TV.Load(Bias + j), ys + j, k, row, 4, 4);
        }

        [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
        private void ClippedTileChannels<TV>(float* src, long plane, float* ys, nint k, nint row, int rowsIn, int colsIn) where TV : struct, ILanes<TV>
        {
            for (int j = 0; j < k; j += TV.Count)
                Tile4InRegisters(src + j, plane, Bias == null ? default : TV.Load(Bias + j), ys + j, k, row, rowsIn, colsIn);
        }

        /// <summary>act of a tile row's first <paramref name="colsIn"/> outputs.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private void StoreRow4<TV>(float* y, nint k, int colsIn, TV y0, TV y1, TV y2, TV y3) where TV : struct, ILanes<TV>
        {
            TV.Store(y0.Apply(Act), y);
            if (colsIn > 1) TV.Store(y1.Apply(Act), y + k);
            if (colsIn > 2) TV.Store(y2.Apply(Act), y + 2 * k);
            if (colsIn > 3) TV.Store(y3.Apply(Act), y + 3 * k);
        }

        /// <summary>
        /// Rows 0 and 1 of a tile's (Aᵀ·M·A) + bias, each from M's rows 0 to 4, or with <paramref name="lower"/>
        /// rows 2 and 3, each from M's rows 1 to 5 (a constant at every call, so one branch compiles away).
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static void RowPair<TV>(float* p, long plane, TV bias, bool lower, out TV y00, out TV y01, out TV y02, out TV y03,
            out TV y10, out TV y11, out TV y12, out TV y13) where TV : struct, ILanes<TV>
        {
            RowPairTerms<TV>(p, plane, lower, out var a0, out var b0); RowPairTerms<TV>(p + plane, plane, lower, out var a1, out var b1);
            RowPairTerms<TV>(p + 2 * plane, plane, lower, out var a2, out var b2); RowPairTerms<TV>(p + 3 * plane, plane, lower, out var a3, out var b3);
            RowPairTerms<TV>(p + 4 * plane, plane, lower, out var a4, out var b4); RowPairTerms<TV>(p + 5 * plane, plane, lower, out var a5, out var b5);
            RowOutputs(bias, a0, a1, a2, a3, a4, a5, out y00, out y01, out y02, out y03);
            RowOutputs(bias, b0, b1, b2, b3, b4, b5, out y10, out y11, out y12, out y13);
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static void RowPairTerms<TV>(float* col, long plane, bool lower, out TV first, out TV second) where TV : struct, ILanes<TV>
        {
            if (lower) LowerTerms(col, plane, out first, out second);
            else UpperTerms(col, plane, out first, out second);
        }

        /// <summary><see cref="Output6"/>'s y0 and y1 down M's column at <paramref name="col"/>.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static void UpperTerms<TV>(float* col, long plane, out TV y0, out TV y1) where TV : struct, ILanes<TV>
        {
            var m0 = TV.Load(col); var m1 = TV.Load(col + 6 * plane); var m2 = TV.Load(col + 12 * plane);
            var m3 = TV.Load(col + 18 * plane); var m4 = TV.Load(col + 24 * plane);
            var s = m1 + m2; var d = m1 - m2;
            var bigS = m3 + m4; var bigD = m3 - m4;
            y0 = m0 + s + bigS;
            y1 = TV.MultiplyAdd(2f, bigD, d);
        }

        /// <summary><see cref="Output6"/>'s y2 and y3 down M's column at <paramref name="col"/>.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static void LowerTerms<TV>(float* col, long plane, out TV y2, out TV y3) where TV : struct, ILanes<TV>
        {
            var m1 = TV.Load(col + 6 * plane); var m2 = TV.Load(col + 12 * plane);
            var m3 = TV.Load(col + 18 * plane); var m4 = TV.Load(col + 24 * plane); var m5 = TV.Load(col + 30 * plane);
            var s = m1 + m2; var d = m1 - m2;
            var bigS = m3 + m4; var bigD = m3 - m4;
            y2 = TV.MultiplyAdd(4f, bigS, s);
            y3 = TV.MultiplyAdd(8f, bigD, d) + m5;
        }

        /// <summary>One row of Aᵀ·M times A, + bias.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static void RowOutputs<TV>(TV bias, TV r0, TV r1, TV r2, TV r3, TV r4, TV r5, out TV y0, out TV y1, out TV y2, out TV y3)
            where TV : struct, ILanes<TV>
        {
            Output6(r0, r1, r2, r3, r4, r5, out y0, out y1, out y2, out y3);
            y0 += bias; y1 += bias; y2 += bias; y3 += bias;
        }

        /// <summary>
        /// act of a tile's <paramref name="rowsIn"/> × <paramref name="colsIn"/> outputs inside the image from <paramref name="outs"/>,
        /// pixels <paramref name="k"/> floats apart and rows <paramref name="row"/>. A whole tile passes constant counts: four stores a
        /// row where loops testing both bounds for each had been (the CIFAR net's step 1–2.6 % faster in five paired measurements on
        /// Zen 5, stop 45, before 3×3 tiles took <see cref="Tile4InRegisters"/>).
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private void StoreTile4(float* y, nint k, nint row, Vector512<float>* outs, int rowsIn, int colsIn)
        {
            for (int i = 0; i < rowsIn; i++, y += row, outs += 4)
                StoreRow4(y, k, colsIn, new Lanes16(outs[0]), new Lanes16(outs[1]), new Lanes16(outs[2]), new Lanes16(outs[3]));
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
            bool registers = TransformsInRegisters && Algorithm == WinogradAlgorithm.F4x4For3x3;
            bool eightLanes = !registers && Simd.Use256 && Algorithm == WinogradAlgorithm.F4x4For3x3;
            for (int r = 0; r < count; r++)
            {
                TileOrigin(t0 + r, out long sample, out int ty, out int tx);
                int py = 2 * ty, px = 2 * tx;
                if (py >= ph || px >= pw) continue;
                int rowsIn = Math.Min(2, ph - py), colsIn = Math.Min(2, pw - px);
                float* ys = Y + ((sample * ph + py) * pw + px) * k;
                float* src = m + (nint)r * kp;
                if (registers)
                {
                    PooledTileInRegisters<Lanes16>(src, plane, ys, k, (nint)pw * k, rowsIn, colsIn);
                    continue;
                }
                if (eightLanes)
                {
                    // 8 channels at a time in ymm registers, where 16-lane code would go through memory.
                    PooledTileInRegisters<Lanes8>(src, plane, ys, k, (nint)pw * k, rowsIn, colsIn);
                    continue;
                }
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

        /// <summary>
        /// <see cref="Tile4InRegisters"/> pooled: the tile's <paramref name="rowsIn"/> × <paramref name="colsIn"/> windows inside,
        /// each compared as <see cref="PooledOutputTransform4"/> does, a row of windows at a time for every channel. In 8-lane
        /// registers on the 256-bit path, the Fashion CNN's batch-64 Predict ran 1.19× (2 threads) and 1.07× (1 thread) faster
        /// than with the scratch form (AVX-512 off on Zen 5, stop 57); at 512 bits level with one root per tile.
        /// </summary>
        private void PooledTileInRegisters<TV>(float* src, long plane, float* ys, nint k, nint row, int rowsIn, int colsIn)
            where TV : struct, ILanes<TV>
        {
            PooledUpperWindows<TV>(src, plane, ys, k, colsIn);
            if (rowsIn > 1) PooledLowerWindows<TV>(src, plane, ys + row, k, colsIn);
        }

        // One row of windows per method: with both rows' windows inlined into one, the JIT reached its limit of
        // locals (512) and left the vector helpers as calls (its inlining-failure events said "too many locals").
        [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
        private void PooledUpperWindows<TV>(float* src, long plane, float* ys, nint k, int colsIn) where TV : struct, ILanes<TV>
        {
            for (int j = 0; j < k; j += TV.Count)
                PooledWindowRow(src + j, plane, Bias == null ? default : TV.Load(Bias + j), ys + j, k, colsIn, lower: false);
        }

        [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
        private void PooledLowerWindows<TV>(float* src, long plane, float* ys, nint k, int colsIn) where TV : struct, ILanes<TV>
        {
            for (int j = 0; j < k; j += TV.Count)
                PooledWindowRow(src + j, plane, Bias == null ? default : TV.Load(Bias + j), ys + j, k, colsIn, lower: true);
        }

        /// <summary>
        /// The windows over the tile's output rows 0 and 1, or with <paramref name="lower"/> rows 2 and 3 (a constant at
        /// every call, so <see cref="RowPair"/>'s other branch compiles away): the first <paramref name="colsIn"/> of two.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private void PooledWindowRow<TV>(float* p, long plane, TV bias, float* y, nint k, int colsIn, bool lower) where TV : struct, ILanes<TV>
        {
            RowPair(p, plane, bias, lower, out var y00, out var y01, out var y02, out var y03, out var y10, out var y11, out var y12, out var y13);
            TV.Store(Pooling.WindowMax(Act, y00, y01, y10, y11), y);
            if (colsIn > 1) TV.Store(Pooling.WindowMax(Act, y02, y03, y12, y13), y + k);
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
                Vector512<float>* row = half + 6 * i, o = outs + 4 * i;
                Output6(row[0], row[1], row[2], row[3], row[4], row[5], out o[0], out o[1], out o[2], out o[3]);
                o[0] += bias; o[1] += bias; o[2] += bias; o[3] += bias;
            }
        }
    }
}
