using System;
using Kiln.Kernels;

namespace Kiln.Runtime.Tests.Kernels.Convolution;

[Collection(KernelCollection.Name)]
public class WinogradConv2DTests
{
    // n, h, w, c, f, same, window
    public static readonly TheoryData<int, int, int, int, int, bool, int> Shapes = new()
    {
        { 2, 8, 8, 16, 32, true, 3 },     // whole 2×2 tiles
        { 3, 7, 9, 16, 16, true, 3 },     // odd sizes: clipped edge tiles; F = 16: the 16-wide products
        { 2, 9, 6, 32, 48, false, 3 },    // valid: the data gradient needs a full (pad 2) correlation
        { 1, 3, 3, 48, 16, false, 3 },    // one output pixel
        { 1, 1, 1, 16, 16, true, 3 },     // a 1×1 image: one tile, three quarters of it outside the image
        { 2, 5, 11, 16, 64, true, 3 },
        { 5, 12, 12, 64, 32, true, 3 },   // several blocks of tiles per thread
        { 2, 8, 8, 16, 32, true, 5 },     // F(2×2, 5×5): pad 2, whole tiles
        { 3, 7, 9, 16, 16, true, 5 },     // odd sizes
        { 2, 9, 7, 32, 48, false, 5 },    // valid: the data gradient needs a full (pad 4) correlation
        { 1, 5, 5, 16, 16, false, 5 },    // one output pixel
        { 1, 2, 3, 16, 32, true, 5 },     // an image smaller than the window
        { 4, 12, 10, 48, 32, true, 5 },   // several blocks of tiles per thread
        { 2, 4, 6, 256, 256, true, 5 },   // wide: the kernel gradient's longer blocks
    };

    [Theory]
    [MemberData(nameof(Shapes))]
    public void ForwardAndBackwardMatchDirectReferenceAtEveryWidth(int n, int h, int w, int c, int f, bool same, int window)
    {
        Conv2DGeometry g = ConvReference.Keras(h, w, c, f, window, window, 1, 1, same);
        Assert.True(WinogradConv2D.Applies(g));
        float[] x = TestData.Random(n * g.InputSize, 1);
        float[] kernel = TestData.Random(g.PatchSize * f, 2);
        float[] bias = TestData.Random(f, 3);
        float[] dyIn = TestData.Random(n * g.OutputSize, 4);
        double[] z = ConvReference.Forward(x, kernel, bias, n, g);
        var relu = new double[z.Length];
        var dz = new double[z.Length];
        for (int i = 0; i < z.Length; i++)
        {
            relu[i] = Math.Max(z[i], 0);
            dz[i] = z[i] > 0 ? dyIn[i] : 0;
        }
        var (dkRef, dxRef) = ConvReference.Backward(x, kernel, dz, n, g);
        var dbRef = new double[f];
        for (int i = 0; i < dz.Length; i++) dbRef[i % f] += dz[i];
        // The transforms add and scale terms before the products (by up to 8 in F(4×4, 3×3), 16 in F(2×2, 5×5), 21/4 and 8 in F(4×4, 5×5)): allow a few more ulps than the direct sum.
        double fwdScale = 4 * Math.Sqrt(g.PatchSize), bwdScale = 2 * Math.Sqrt(n * g.OutputHeight * g.OutputWidth);

        foreach (int tile in Tiles)
        foreach (int bits in new[] { 512, 256, 0 })
        {
            using var _ = new KernelSwitches(bits, 2);
            using var __ = new TileSwitch(tile);
            string path = $"F({tile}x{tile}, {window}x{window}), {bits}-bit";
            var y = new float[n * g.OutputSize];
            WinogradConv2D.Forward(x, kernel, bias, y, n, g, new Relu());
            ConvReference.Close(relu, y, fwdScale, 1e-5, $"{path} forward");

            var yLinear = new float[y.Length];
            WinogradConv2D.Forward(x, kernel, ReadOnlySpan<float>.Empty, yLinear, n, g, new Identity());
            ConvReference.Close(ConvReference.Forward(x, kernel, Array.Empty<float>(), n, g), yLinear, fwdScale, 1e-5, $"{path} forward without bias");

            float[] dy = (float[])dyIn.Clone();
            var dk = new float[kernel.Length];
            var db = new float[f];
            var dx = new float[x.Length];
            dk.AsSpan().Fill(float.NaN); db.AsSpan().Fill(float.NaN); dx.AsSpan().Fill(float.NaN); // overwritten, never accumulated into
            WinogradConv2D.Backward(x, kernel, y, dy, dk, db, dx, n, g, new Relu());
            // The relu mask is this path's own y's: an output within rounding of 0 may land on either side of it.
            var (dzPath, dkPath, dbPath, dxPath) = (dz, dkRef, dbRef, dxRef);
            if (MaskDiffers(y, z))
            {
                dzPath = new double[z.Length];
                dbPath = new double[f];
                for (int i = 0; i < z.Length; i++)
                {
                    dzPath[i] = y[i] > 0 ? dyIn[i] : 0;
                    dbPath[i % f] += dzPath[i];
                }
                (dkPath, dxPath) = ConvReference.Backward(x, kernel, dzPath, n, g);
            }
            ConvReference.Close(dzPath, dy, 0, 0, $"{path} dz in place");
            ConvReference.Close(dkPath, dk, bwdScale, 1e-5, $"{path} dKernel");
            ConvReference.Close(dbPath, db, bwdScale, 1e-5, $"{path} dBias");
            ConvReference.Close(dxPath, dx, fwdScale, 1e-5, $"{path} dx");
        }
    }

    [Theory]
    [InlineData(3, 2)]
    [InlineData(3, 4)]
    [InlineData(5, 2)]
    [InlineData(5, 4)]
    public void TheKernelGradientMatchesTheReferenceWithAnyNumberOfGroups(int window, int tile)
    {
        // Beside the data gradient, one group per core: a machine with 1, 3 or 8 cores sums that many partials (512 tiles of 4×4 in blocks of 56: room for 8).
        const int n = 2, f = 32;
        Conv2DGeometry g = ConvReference.Keras(64, 64, 32, f, window, window, 1, 1, true);
        float[] x = TestData.Random(n * g.InputSize, 31);
        float[] kernel = TestData.Random(g.PatchSize * f, 32);
        float[] dyIn = TestData.Random(n * g.OutputSize, 33);
        var (dkRef, _) = ConvReference.Backward(x, kernel, Array.ConvertAll(dyIn, v => (double)v), n, g);
        double bwdScale = 4 * Math.Sqrt(n * g.OutputHeight * g.OutputWidth);
        using var _ = new KernelSwitches(512, 2);
        using var __ = new TileSwitch(tile);
        ConvReference.KernelGradientAtEveryGroupCount(dkRef, bwdScale, () =>
        {
            var dk = new float[kernel.Length];
            WinogradConv2D.Backward(x, kernel, new float[n * g.OutputSize], (float[])dyIn.Clone(), dk, new float[f], new float[x.Length], n, g, new Identity());
            return dk;
        }, $"F({tile}x{tile}, {window}x{window})");
    }

    private static bool MaskDiffers(float[] y, double[] z)
    {
        for (int i = 0; i < z.Length; i++)
            if (y[i] > 0 != z[i] > 0) return true;
        return false;
    }

    [Theory]
    [InlineData(true, 2, 3)]
    [InlineData(false, 2, 3)]
    [InlineData(true, 4, 3)]
    [InlineData(false, 4, 3)]
    [InlineData(true, 2, 5)]
    [InlineData(false, 2, 5)]
    [InlineData(true, 4, 5)]
    [InlineData(false, 4, 5)]
    public void GradientCheck(bool same, int tile, int window)
    {
        using var _ = new KernelSwitches(512, 2);
        using var __ = new TileSwitch(tile);
        // One small sample: the float forward's rounding over many outputs would swamp the central difference.
        const int n = 1, f = 16;
        Conv2DGeometry g = ConvReference.Keras(window + 2, window + 1, 16, f, window, window, 1, 1, same);
        float[] x = TestData.Random(n * g.InputSize, 21);
        float[] kernel = TestData.Random(g.PatchSize * f, 22, -0.2f, 0.2f);
        float[] bias = TestData.Random(f, 23, -0.5f, 0.5f);
        float[] r = TestData.Random(n * g.OutputSize, 24);
        var y = new float[n * g.OutputSize];
        WinogradConv2D.Forward(x, kernel, bias, y, n, g, new Tanh());
        float[] dy = (float[])r.Clone();
        var dk = new float[kernel.Length];
        var db = new float[f];
        var dx = new float[x.Length];
        WinogradConv2D.Backward(x, kernel, y, dy, dk, db, dx, n, g, new Tanh());

        // The central difference runs the double reference: the same function without float rounding,
        // which at ε = 1e-3 would be as large as the tolerance (and differ between vector widths).
        double Loss()
        {
            double[] z = ConvReference.Forward(x, kernel, bias, n, g);
            double s = 0;
            for (int i = 0; i < z.Length; i++) s += Math.Tanh(z[i]) * r[i];
            return s;
        }
        GradCheck.Check(x, dx, Loss, "dx");
        GradCheck.Check(bias, db, Loss, "dBias");
        GradCheck.Check(kernel, dk, Loss, "dKernel");
    }

    [Theory]
    [InlineData(3, 512, 6, 15, 32, 48)]
    [InlineData(5, 512, 6, 15, 32, 48)]
    [InlineData(3, 256, 6, 15, 32, 48)]   // the 256-bit path: 6-tile products, transforms as 256-bit halves
    [InlineData(5, 256, 6, 15, 32, 48)]
    [InlineData(3, 256, 1, 16, 64, 64)]   // few tiles: one block per thread, so each thread count cuts them differently
    [InlineData(5, 512, 1, 16, 64, 64)]
    [InlineData(3, 512, 1, 8, 160, 128)]  // a transformed kernel over half of any L2: made once, its channels split over the threads
    [InlineData(5, 256, 1, 8, 160, 128)]
    public void OneTwoAndThreeThreadsGiveTheSameBits(int window, int bits, int n, int height, int c, int f)
    {
        Conv2DGeometry g = ConvReference.Keras(height, 16, c, f, window, window, 1, 1, true);
        float[] x = TestData.Random(n * g.InputSize, 31);
        float[] kernel = TestData.Random(g.PatchSize * f, 32);
        float[] dyIn = TestData.Random(n * g.OutputSize, 34);
        float[][] Run(int threads, int tile)
        {
            using var _ = new KernelSwitches(bits, threads);
            using var __ = new TileSwitch(tile);
            var y = new float[n * g.OutputSize];
            WinogradConv2D.Forward(x, kernel, ReadOnlySpan<float>.Empty, y, n, g, new Relu());
            float[] dy = (float[])dyIn.Clone();
            var dk = new float[kernel.Length];
            var dx = new float[x.Length];
            WinogradConv2D.Backward(x, kernel, y, dy, dk, Span<float>.Empty, dx, n, g, new Relu());
            return new[] { y, dk, dx };
        }
        foreach (int tile in Tiles)
        {
            float[][] one = Run(1, tile), two = Run(2, tile), three = Run(3, tile);
            for (int i = 0; i < one.Length; i++)
            {
                Assert.Equal(one[i], two[i]);
                Assert.Equal(one[i], three[i]);
            }
        }
    }

    /// <summary>
    /// Every form of the transforms gives the same bits: in 16-lane registers, in scratch, and (the 256-bit path without
    /// 16-lane registers: the input transform's row pairs, the output transform, pooled or not) in 8-lane registers.
    /// </summary>
    [Theory]
    [InlineData(2, 8, 8, 16, 32, true, 3)]      // whole 4×4 tiles
    [InlineData(3, 7, 9, 16, 16, true, 3)]      // clipped edge tiles beside whole ones
    [InlineData(2, 14, 14, 32, 64, true, 3)]    // the Fashion CNN's second layer: a pooled row of one window in the last tile row
    [InlineData(2, 10, 6, 48, 32, false, 3)]    // valid: the data gradient's full correlation
    [InlineData(2, 9, 7, 32, 48, true, 5)]      // F(2×2, 5×5) shares the 6-point input transform
    public void TransformsInRegistersAndInScratchGiveTheSameBits(int n, int h, int w, int c, int f, bool same, int window)
    {
        Conv2DGeometry g = ConvReference.Keras(h, w, c, f, window, window, 1, 1, same);
        Conv2DGeometry pool = Pooling.TwoByTwoOver(g);
        float[] x = TestData.Random(n * g.InputSize, 51);
        float[] kernel = TestData.Random(g.PatchSize * f, 52);
        float[] bias = TestData.Random(f, 53);
        float[] dyIn = TestData.Random(n * g.OutputSize, 54);
        float[][] Run(bool registers, int bits)
        {
            using var _ = new KernelSwitches(bits, 2);
            using var __ = new TileSwitch(window == 3 ? 4 : 2);
            bool previous = WinogradCore.TransformsInRegisters;
            WinogradCore.TransformsInRegisters = registers;
            try
            {
                var y = new float[n * g.OutputSize];
                WinogradConv2D.Forward(x, kernel, bias, y, n, g, new Relu());
                var pooled = new float[n * pool.OutputSize];
                WinogradConv2D.ForwardMaxPool2x2(x, kernel, bias, pooled, n, g, new Relu());
                float[] dy = (float[])dyIn.Clone();
                var dk = new float[kernel.Length];
                var db = new float[f];
                var dx = new float[x.Length];
                WinogradConv2D.Backward(x, kernel, y, dy, dk, db, dx, n, g, new Relu());
                return new[] { y, pooled, dk, db, dx };
            }
            finally { WinogradCore.TransformsInRegisters = previous; }
        }
        string[] names = { "forward", "pooled forward", "dKernel", "dBias", "dx" };
        foreach (int bits in new[] { 512, 256 })
        {
            float[][] inRegisters = Run(true, bits), inScratch = Run(false, bits);
            for (int i = 0; i < names.Length; i++)
                TestData.SameBits(inScratch[i], inRegisters[i], $"{window}x{window}, {bits}-bit {names[i]}");
        }
    }

    /// <summary>
    /// The 16-wide products of a last 16 filters (the rows in place, and at a depth of 16 the kernel plane in registers;
    /// the 256-bit path's half tile) give the bits of the 32-wide tile over zero-filled columns (FilterMultiple 32).
    /// </summary>
    [Theory]
    [InlineData(3, 7, 9, 16, 16, 3)]     // depth 16 both ways: the kernel plane in registers; a last block of rows not a multiple of 8
    [InlineData(2, 9, 6, 48, 16, 3)]     // 16 filters at depth 48; the data gradient 48 filters: a wide tile, then a narrow one
    [InlineData(2, 6, 10, 32, 48, 5)]    // F(2×2, 5×5) and F(4×4, 5×5) planes
    public void SixteenWideProductsGiveTheBitsOfTheWideTile(int n, int h, int w, int c, int f, int window)
    {
        Conv2DGeometry g = ConvReference.Keras(h, w, c, f, window, window, 1, 1, true);
        float[][] Run(int multiple, int bits, int tile)
        {
            using var _ = new KernelSwitches(bits, 2);
            using var __ = new TileSwitch(tile);
            int previous = WinogradCore.FilterMultiple;
            WinogradCore.FilterMultiple = multiple;
            try { return ForwardAndBackward(g, n); }
            finally { WinogradCore.FilterMultiple = previous; }
        }
        foreach (int tile in Tiles)
        foreach (int bits in new[] { 512, 256 })
        {
            float[][] wide = Run(32, bits, tile), narrow = Run(16, bits, tile);
            for (int i = 0; i < Products.Length; i++)
                TestData.SameBits(wide[i], narrow[i], $"F({tile}x{tile}, {window}x{window}), {bits}-bit {Products[i]}");
        }
    }

    private static readonly string[] Products = { "forward", "dKernel", "dx" };

    /// <summary>The forward pass (no bias, no activation) of fixed random data, then the kernel and data gradients of a fixed random dy.</summary>
    private static float[][] ForwardAndBackward(in Conv2DGeometry g, int n)
    {
        float[] x = TestData.Random(n * g.InputSize, 61);
        float[] kernel = TestData.Random(g.PatchSize * g.OutputChannels, 62);
        float[] dyIn = TestData.Random(n * g.OutputSize, 64);
        var y = new float[n * g.OutputSize];
        WinogradConv2D.Forward(x, kernel, default, y, n, g, new Identity());
        float[] dy = (float[])dyIn.Clone();
        var dk = new float[kernel.Length];
        var dx = new float[x.Length];
        WinogradConv2D.Backward(x, kernel, default, dy, dk, default, dx, n, g, new Identity());
        return new[] { y, dk, dx };
    }

    /// <summary>The input transforms prefetch from half the L3's size, or 4 MiB where the L3 is larger (a Zen 4 CCD's 32 MiB).</summary>
    [Theory]
    [InlineData(8, 4)]      // Zen 5 as this project's VMs report it: half the L3
    [InlineData(32, 4)]     // Zen 3, Zen 4: a CCD's L3, shared by eight cores
    [InlineData(4, 2)]
    public void InputsPrefetchFromHalfTheL3OrFourMiBWhicheverIsSmaller(int l3MiB, int thresholdMiB)
    {
        var caches = new CacheHierarchy(32 << 10, 1 << 20, (long)l3MiB << 20);
        Assert.Equal((long)thresholdMiB << 20, WinogradCore.PrefetchThreshold(caches));
    }

    /// <summary>
    /// The input transforms' prefetching of the rows ahead (forced on for any input size here, off below the threshold otherwise)
    /// changes no bit of the forward pass, the kernel gradient (both plane layouts) or the data gradient, at edge tiles,
    /// padding rows and the last rows of the last sample included.
    /// </summary>
    [Theory]
    [InlineData(2, 8, 8, 16, 32, true, 3, 4)]
    [InlineData(3, 7, 9, 16, 16, true, 3, 4)]
    [InlineData(2, 10, 6, 48, 32, false, 3, 4)]
    [InlineData(2, 9, 7, 32, 48, true, 5, 2)]
    [InlineData(2, 11, 9, 32, 48, true, 5, 4)]    // F(4×4, 5×5)'s 8-point input transform
    public void PrefetchingTheRowsAheadChangesNoBit(int n, int h, int w, int c, int f, bool same, int window, int tile)
    {
        Conv2DGeometry g = ConvReference.Keras(h, w, c, f, window, window, 1, 1, same);
        float[][] Run(bool prefetch, bool registers, int bits)
        {
            using var _ = new KernelSwitches(bits, 2);
            using var __ = new TileSwitch(tile);
            long previous = WinogradCore.PrefetchMinBytes;
            bool previousRegisters = WinogradCore.TransformsInRegisters;
            WinogradCore.PrefetchMinBytes = prefetch ? 0 : long.MaxValue;
            WinogradCore.TransformsInRegisters = registers;
            try { return ForwardAndBackward(g, n); }
            finally
            {
                WinogradCore.PrefetchMinBytes = previous;
                WinogradCore.TransformsInRegisters = previousRegisters;
            }
        }
        foreach (int bits in new[] { 512, 256 })
            foreach (bool registers in new[] { true, false })
            {
                float[][] off = Run(false, registers, bits), on = Run(true, registers, bits);
                for (int i = 0; i < Products.Length; i++)
                    TestData.SameBits(off[i], on[i], $"{window}x{window}, tile {tile}, {bits}-bit, registers {registers}: {Products[i]}");
            }
    }

    // n, h, w, c, f, same, window: even and odd outputs (valid pooling drops the odd row and column), one and several blocks of tiles.
    public static readonly TheoryData<int, int, int, int, int, bool, int> PoolShapes = new()
    {
        { 2, 14, 14, 32, 64, true, 3 },
        { 3, 7, 9, 16, 16, true, 3 },
        { 2, 9, 6, 32, 48, false, 3 },
        { 1, 3, 3, 16, 32, true, 3 },
        { 5, 12, 12, 64, 32, true, 3 },
        { 2, 10, 6, 16, 16, true, 3 },    // F(4×4): the last tile row holds one pooled row of its two
        { 2, 14, 14, 32, 64, true, 5 },
        { 3, 7, 9, 16, 16, true, 5 },
        { 2, 11, 8, 32, 48, false, 5 },
    };

    [Theory]
    [MemberData(nameof(PoolShapes))]
    public void ForwardMaxPoolIsForwardThenPoolingBitForBit(int n, int h, int w, int c, int f, bool same, int side)
    {
        Conv2DGeometry g = ConvReference.Keras(h, w, c, f, side, side, 1, 1, same);
        Conv2DGeometry window = Pooling.TwoByTwoOver(g);
        Assert.Equal((g.OutputHeight / 2, g.OutputWidth / 2), (window.OutputHeight, window.OutputWidth));
        float[] x = TestData.Random(n * g.InputSize, 41);
        float[] kernel = TestData.Random(g.PatchSize * f, 42);
        float[] bias = TestData.Random(f, 43);
        // A zero kernel and no bias: every output is a sum of ±0, where the order of −0 and +0 decides the bits.
        float[] zeros = new float[kernel.Length];
        // Exact ties, zeros of both signs and NaNs in windows (ReLU and the identity pool before they apply, IActivation.CommutesWithMax).
        float[] tiesX = TestData.Ties(n * g.InputSize, 44, 1f, nanEvery: 97);
        float[] tiesKernel = TestData.Ties(kernel.Length, 45, 0.5f);
        float[] tiesBias = TestData.Ties(f, 46, 0.25f);
        foreach (int tile in Tiles)
        foreach (int bits in new[] { 512, 256, 0 })
            foreach (int threads in new[] { 1, 2 })
            {
                using var _ = new KernelSwitches(bits, threads);
                using var __ = new TileSwitch(tile);
                Check(x, kernel, bias, new Relu(), "relu");
                Check(x, kernel, bias, new Tanh(), "tanh");
                Check(x, kernel, ReadOnlySpan<float>.Empty, new Identity(), "no bias");
                Check(x, zeros, ReadOnlySpan<float>.Empty, new Identity(), "zero kernel");
                Check(tiesX, tiesKernel, tiesBias, new Relu(), "ties, relu");
                Check(tiesX, tiesKernel, tiesBias, new Identity(), "ties, identity");
                Check(tiesX, tiesKernel, tiesBias, new LeakyRelu(0f), "ties, leaky relu of slope 0");

                void Check<TAct>(float[] x, float[] k, ReadOnlySpan<float> b, TAct act, string what) where TAct : struct, IActivation
                {
                    var y = new float[n * g.OutputSize];
                    WinogradConv2D.Forward(x, k, b, y, n, g, act);
                    var expected = new float[n * window.OutputSize];
                    Pooling.MaxForward(y, expected, n, window);
                    var pooled = new float[expected.Length];
                    pooled.AsSpan().Fill(float.NaN);
                    WinogradConv2D.ForwardMaxPool2x2(x, k, b, pooled, n, g, act);
                    TestData.SameBits(expected, pooled, $"F({tile}x{tile}, {side}x{side}), {bits}-bit, {threads} threads, {what}: pooled");
                }
            }
    }

    [Fact]
    public void ForwardMaxPoolChecksThePooledLength()
    {
        Conv2DGeometry g = ConvReference.Keras(6, 6, 16, 16, 3, 3, 1, 1, true);
        var e = Assert.Throws<ArgumentException>(() => WinogradConv2D.ForwardMaxPool2x2(new float[g.InputSize], new float[g.PatchSize * 16],
            ReadOnlySpan<float>.Empty, new float[Pooling.TwoByTwoOver(g).OutputSize - 1], 1, g, new Identity()));
        Assert.Contains("pooled", e.Message);
    }

    [Theory]
    [InlineData(14, 14, 4)]   // the Fashion CNN's second layer: 16 tiles of 36 products against 49 of 16
    [InlineData(32, 32, 4)]
    [InlineData(7, 7, 4)]
    [InlineData(4, 4, 4)]
    [InlineData(5, 5, 2)]     // 4 tiles of 36 = 9 of 16: no gain
    [InlineData(10, 10, 2)]   // 81% of F(2×2)'s products
    [InlineData(2, 2, 2)]
    [InlineData(16, 3, 4)]    // 3 columns: one 4-wide tile against two 2-wide ones
    public void FourByFourWhereItTakesAtMostFourFifthsOfTheProducts(int h, int w, int tile)
    {
        Conv2DGeometry g = ConvReference.Keras(h, w, 16, 16, 3, 3, 1, 1, true);
        using var _ = new TileSwitch(0);
        Assert.Equal(tile, WinogradConv2D.Tile(g));
    }

    // A 5×5 window: 64 products per 4×4 tile against 36 per 2×2, so F(4×4) wins on every output larger than 2×2.
    [Theory]
    [InlineData(32, 32, 4, 4)]   // the seed GAN's generator
    [InlineData(16, 16, 4, 4)]
    [InlineData(14, 14, 4, 2)]   // padded edge tiles: F(4×4) forward, F(2×2) kernel gradient
    [InlineData(5, 5, 4, 2)]     // 4 tiles of 64 against 9 of 36: 79%
    [InlineData(3, 3, 4, 2)]     // one tile of 64 against 4 of 36
    [InlineData(2, 2, 2, 2)]     // one tile either way: 36 against 64
    public void AFiveByFiveWindowTakesFourByFourWhereItTakesAtMostFourFifthsOfTheProducts(int h, int w, int forward, int kernelGradient)
    {
        Conv2DGeometry g = ConvReference.Keras(h, w, 16, 16, 5, 5, 1, 1, true);
        WinogradAlgorithm F(int tile) => tile == 4 ? WinogradAlgorithm.F4x4For5x5 : WinogradAlgorithm.F2x2For5x5;
        using (new TileSwitch(0))
        {
            Assert.Equal(forward, WinogradConv2D.Tile(g));
            Assert.Equal(F(forward), WinogradCore.ForwardAlgorithm(g));
            Assert.Equal(F(kernelGradient), WinogradCore.KernelGradientAlgorithm(g));
        }
        foreach (int forced in Tiles)
        {
            using var _ = new TileSwitch(forced); // tests and benchmarks can force either algorithm
            Assert.Equal(F(forced), WinogradCore.ForwardAlgorithm(g));
            Assert.Equal(F(forced), WinogradCore.KernelGradientAlgorithm(g));
        }
    }

    [Theory]
    [InlineData(28, 32, 32, true)]
    [InlineData(32, 64, 64, true)]
    [InlineData(16, 64, 128, true)]
    [InlineData(16, 128, 128, true)]
    [InlineData(14, 32, 64, false)]    // padded edge tiles: F(4×4) forward, F(2×2) kernel gradient
    [InlineData(7, 128, 128, false)]
    [InlineData(10, 16, 16, false)]    // F(2×2) forward
    public void TheKernelGradientTakesFourByFourOnWholeTiles(int size, int c, int f, bool expected)
    {
        Conv2DGeometry g = ConvReference.Keras(size, size, c, f, 3, 3, 1, 1, true);
        using var _ = new TileSwitch(0);
        Assert.Equal(expected, WinogradCore.FourByFourKernelGradient(g));
        using var __ = new TileSwitch(4);
        Assert.True(WinogradCore.FourByFourKernelGradient(g)); // tests and benchmarks can force every path
    }

    // Blocks of tiles: at least C·K' / (C + K') tiles (U's traffic per tile then falls below V's and M's), at most
    // 120, longer where V and M fit in 384 KiB, in whole row tiles of the width's micro-kernel (8 or 6 rows).
    [Theory]
    [InlineData(256, 256, 64, 512, 120)]   // the seed generator's F(4×4, 5×5): 128 by the balance, capped
    [InlineData(256, 256, 64, 256, 120)]
    [InlineData(128, 128, 36, 512, 64)]    // the CIFAR net's F(4×4, 3×3): 64 by the balance (8 fit in 384 KiB)
    [InlineData(128, 128, 36, 256, 66)]    // 11 six-row tiles, where 64 would multiply 2 rows of padding
    [InlineData(32, 32, 36, 512, 48)]      // narrow: 42 fit, rounded up to whole tiles
    [InlineData(32, 32, 36, 256, 42)]
    [InlineData(16, 32, 16, 256, 120)]
    public void ForwardBlocksBalanceTheKernelsTrafficInWholeRowTiles(int c, int kPadded, int planes, int bits, int expected)
    {
        using var _ = new KernelSwitches(bits, 1);
        Assert.Equal(bits == 512 ? 8 : 6, ConvCore.IndirectTileRows);
        Assert.Equal(expected, WinogradCore.TilesPerBlock(c, kPadded, planes));
    }

    // Few tiles are cut into one block of equal length per thread (whole row tiles); many keep the longest blocks.
    [Theory]
    [InlineData(512, 120, 2, 256, 120)]   // five blocks for two threads: not shortened
    [InlineData(128, 90, 2, 256, 66)]     // two blocks of 66 and 62, not 90 and 38
    [InlineData(128, 96, 2, 512, 64)]
    [InlineData(64, 120, 2, 256, 36)]     // a batch-1 32×32 5×5 layer: one block per thread
    [InlineData(64, 120, 3, 512, 24)]
    [InlineData(5, 120, 2, 256, 6)]       // fewer tiles than a row tile: one block
    [InlineData(64, 120, 1, 256, 66)]
    public void FewTilesAreCutIntoOneEvenBlockPerThread(long tiles, int longest, int threads, int bits, int expected)
    {
        using var _ = new KernelSwitches(bits, 1);
        Assert.Equal(expected, WinogradCore.EvenBlock(tiles, longest, threads));
    }

    // The kernel gradient's: at least 2·C·K / (C + K) tiles (its C × K sums are read and written once a block),
    // at most 64, or up to 128 where V and dM fit in 512 KiB; multiples of 8.
    [Theory]
    [InlineData(256, 256, 64, 64)]
    [InlineData(128, 128, 36, 64)]
    [InlineData(32, 64, 64, 40)]
    [InlineData(16, 16, 16, 128)]
    public void KernelGradientBlocksBalanceTheSumsTraffic(int c, int k, int planes, int expected) =>
        Assert.Equal(expected, WinogradCore.KernelTilesPerBlock(c, k, planes));

    // G of each algorithm (rows: transformed points; columns: taps), from Lavin and Gray's points 0, ±1, ±2, (±½), ∞.
    private static double[,] GOf(WinogradAlgorithm algorithm) => algorithm switch
    {
        WinogradAlgorithm.F2x2For3x3 => new double[,] { { 1, 0, 0 }, { 0.5, 0.5, 0.5 }, { 0.5, -0.5, 0.5 }, { 0, 0, 1 } },
        WinogradAlgorithm.F4x4For3x3 => new double[,]
        {
            { 1 / 4.0, 0, 0 }, { -1 / 6.0, -1 / 6.0, -1 / 6.0 }, { -1 / 6.0, 1 / 6.0, -1 / 6.0 },
            { 1 / 24.0, 1 / 12.0, 1 / 6.0 }, { 1 / 24.0, -1 / 12.0, 1 / 6.0 }, { 0, 0, 1 },
        },
        WinogradAlgorithm.F2x2For5x5 => new double[,]
        {
            { 1 / 4.0, 0, 0, 0, 0 }, { -1 / 6.0, -1 / 6.0, -1 / 6.0, -1 / 6.0, -1 / 6.0 }, { -1 / 6.0, 1 / 6.0, -1 / 6.0, 1 / 6.0, -1 / 6.0 },
            { 1 / 24.0, 2 / 24.0, 4 / 24.0, 8 / 24.0, 16 / 24.0 }, { 1 / 24.0, -2 / 24.0, 4 / 24.0, -8 / 24.0, 16 / 24.0 }, { 0, 0, 0, 0, 1 },
        },
        _ => new double[,]
        {
            { 1, 0, 0, 0, 0 }, { -2 / 9.0, -2 / 9.0, -2 / 9.0, -2 / 9.0, -2 / 9.0 }, { -2 / 9.0, 2 / 9.0, -2 / 9.0, 2 / 9.0, -2 / 9.0 },
            { 1 / 90.0, 2 / 90.0, 4 / 90.0, 8 / 90.0, 16 / 90.0 }, { 1 / 90.0, -2 / 90.0, 4 / 90.0, -8 / 90.0, 16 / 90.0 },
            { 32 / 45.0, 16 / 45.0, 8 / 45.0, 4 / 45.0, 2 / 45.0 }, { 32 / 45.0, -16 / 45.0, 8 / 45.0, -4 / 45.0, 2 / 45.0 }, { 0, 0, 0, 0, 1 },
        },
    };

    [Theory]
    [InlineData("F2x2For3x3")]
    [InlineData("F4x4For3x3")]
    [InlineData("F2x2For5x5")]
    [InlineData("F4x4For5x5")]
    public unsafe void KernelTransformIsGTimesTheKernelTimesGTransposedForItsChannelsOnly(string name)
    {
        var algorithm = Enum.Parse<WinogradAlgorithm>(name);
        // The pool cuts the transform into channel ranges (the 3 × 3 ones then write a row of planes at a time over each):
        // a range must write all of its own channels' planes, and no other channel's.
        double[,] gm = GOf(algorithm);
        int points = gm.GetLength(0), r = gm.GetLength(1), c = 5, k = 32;
        Assert.Equal(algorithm.Planes(), points * points);
        float[] w = TestData.Random(r * r * c * k, 7);
        var u = new float[points * points * c * k];
        Array.Fill(u, float.NaN);
        fixed (float* pw = w, pu = u)
        {
            WinogradCore.TransformKernelFor(algorithm, pw, pu, c, k, k, 1, 3);
            WinogradCore.TransformKernelFor(algorithm, pw, pu, c, k, k, 3, 4);
        }
        for (int cc = 0; cc < c; cc++)
        for (int j = 0; j < k; j++)
        for (int a = 0; a < points; a++)
        for (int b = 0; b < points; b++)
        {
            float got = u[((a * points + b) * c + cc) * k + j];
            if (cc is 0 or 4)
            {
                Assert.True(float.IsNaN(got), $"{algorithm}: channel {cc} is outside the range, yet plane ({a}, {b}) was written");
                continue;
            }
            double want = 0, scale = 0;
            for (int s = 0; s < r; s++)
            for (int t = 0; t < r; t++)
            {
                double term = gm[a, s] * w[((s * r + t) * c + cc) * k + j] * gm[b, t];
                want += term;
                scale += Math.Abs(term);
            }
            Assert.True(Math.Abs(got - want) <= 1e-6 * scale + 1e-30, $"{algorithm}: plane ({a}, {b}), channel {cc}, filter {j}: {got} against {want}");
        }
    }

    [Fact]
    public void TheTileVariableTakesTwoOrFour()
    {
        Assert.Equal(0, WinogradConv2D.ParseTile(null));
        Assert.Equal(0, WinogradConv2D.ParseTile(" "));
        Assert.Equal(2, WinogradConv2D.ParseTile("2"));
        Assert.Equal(4, WinogradConv2D.ParseTile(" 4 "));
        var e = Assert.Throws<ArgumentException>(() => WinogradConv2D.ParseTile("6"));
        Assert.Contains(WinogradConv2D.TileVariable, e.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => WinogradConv2D.ForcedTile = 3);
    }

    [Fact]
    public void RefusesWindowsItDoesNotCompute()
    {
        var strided = ConvReference.Keras(8, 8, 16, 16, 3, 3, 2, 2, true);
        var sevenBySeven = ConvReference.Keras(8, 8, 16, 16, 7, 7, 1, 1, true);
        var oblong = ConvReference.Keras(8, 8, 16, 16, 3, 5, 1, 1, true);
        var oddChannels = ConvReference.Keras(8, 8, 3, 16, 3, 3, 1, 1, true);
        var oddFilters = ConvReference.Keras(8, 8, 16, 24, 5, 5, 1, 1, true);
        foreach (var g in new[] { strided, sevenBySeven, oblong, oddChannels, oddFilters })
        {
            Assert.False(WinogradConv2D.Applies(g));
            var e = Assert.Throws<ArgumentException>(() =>
                WinogradConv2D.Forward(new float[g.InputSize], new float[g.PatchSize * 16], ReadOnlySpan<float>.Empty, new float[g.OutputSize], 1, g, new Identity()));
            Assert.Contains("Winograd", e.Message);
        }
    }

    // Each window size's two algorithms: F(2×2, 3×3) and F(4×4, 3×3), F(2×2, 5×5) and F(4×4, 5×5).
    private static readonly int[] Tiles = { 2, 4 };

    /// <summary>Forces Winograd F(2×2) or F(4×4) (0: the geometry's choice) and restores the previous setting.</summary>
    private readonly struct TileSwitch : IDisposable
    {
        private readonly int _previous;

        public TileSwitch(int tile)
        {
            _previous = WinogradConv2D.ForcedTile;
            WinogradConv2D.ForcedTile = tile;
        }

        public void Dispose() => WinogradConv2D.ForcedTile = _previous;
    }
}
