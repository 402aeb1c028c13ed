using System;
using Kiln.Kernels;

namespace Kiln.Runtime.Tests.Kernels.Convolution;

[Collection(KernelCollection.Name)]
public class Conv2DTests
{
    // n, h, w, c, f, kh, kw, stride, same
    public static readonly TheoryData<int, int, int, int, int, int, int, int, bool> Shapes = new()
    {
        { 2, 7, 9, 3, 5, 3, 3, 1, true },
        { 2, 7, 9, 3, 5, 3, 3, 1, false },
        { 2, 9, 8, 5, 7, 3, 3, 2, true },
        { 2, 9, 8, 5, 7, 3, 3, 2, false },
        { 1, 8, 8, 4, 3, 2, 2, 2, true },     // even kernel
        { 2, 7, 6, 6, 33, 4, 4, 2, true },    // even kernel, stride 2, extra pad bottom/right; F past one 32-tile
        { 3, 6, 5, 17, 37, 2, 3, 1, true },   // even × odd kernel, C ≥ 16 (pointer table path)
        { 2, 11, 10, 2, 9, 5, 5, 2, true },
        { 1, 13, 12, 3, 8, 7, 7, 2, true },
        { 2, 9, 9, 1, 4, 7, 7, 1, false },
        { 3, 5, 7, 19, 40, 1, 1, 1, false },  // pointwise fast path
        { 2, 7, 7, 6, 10, 1, 1, 2, true },    // 1×1 but strided: not pointwise
        { 2, 10, 10, 20, 64, 3, 3, 1, true },
        { 1, 5, 21, 3, 8, 3, 3, 1, true },    // 21 columns: tiles inside one output row (padded, then not), then across two
        { 2, 9, 19, 4, 8, 3, 3, 2, true },    // the same at stride 2: 10 output columns
        { 2, 9, 7, 24, 40, 3, 3, 1, true },   // whole 8-channel blocks: the kernel gradient reads its patches in place
        { 2, 9, 8, 1, 32, 3, 3, 1, true },    // K = 9 below 16 and whole 32-filter blocks: the kernel gradient sums outer products itself
        { 3, 7, 9, 1, 64, 3, 3, 2, false },   // the same, strided and valid, two filter blocks, an odd last pixel count
        { 2, 7, 8, 3, 32, 2, 2, 2, true },    // the same with three channels (K = 12): taps gathered at a stride of 6 floats
        { 2, 9, 8, 1, 16, 3, 3, 1, true },    // 16 filters (the Fashion ResNet's stem): taps two at a time, the ninth alone
        { 3, 7, 7, 2, 48, 2, 2, 2, false },   // a 32-filter block and a last 16, K = 8: taps in pairs only, 27 pixels (an odd last one)
        { 2, 5, 6, 7, 16, 1, 1, 1, false },   // 16 filters through the pointwise path (K = C = 7)
        { 1, 6, 5, 2, 32, 1, 3, 1, true },    // two channels under a 1×3 window (K = 6), padded left and right
        { 2, 5, 6, 5, 32, 1, 1, 1, false },   // the same through the pointwise path (K = C = 5)
        { 2, 8, 9, 16, 33, 3, 2, 2, false },  // the same, strided and valid, with an even kernel width
        { 1, 3, 3, 16, 1, 3, 3, 1, false },   // one output pixel, one filter
        { 1, 1, 1, 1, 1, 3, 3, 1, true },     // a 1×1 image, one channel, one filter: all padding but the centre
        { 1, 1, 2, 1, 33, 3, 3, 2, true },    // two pixels in, one out; F one past a 32-wide tile
        { 3, 9, 11, 32, 3, 7, 7, 1, true },   // at most 4 filters on whole vectors of channels: the dot-product forward (a generator's RGB layer)
        { 2, 8, 7, 16, 4, 3, 3, 2, false },   // dot-product forward, strided
        { 1, 5, 5, 48, 2, 5, 5, 1, true },    // dot-product forward, 25 pixels: a last tile of one
        { 2, 6, 5, 80, 3, 3, 3, 1, true },    // 80 channels: the kernel gradient's 64-channel block and a 16-channel rest
        { 2, 6, 7, 10, 72, 3, 3, 1, true },   // 72 filters: two whole 32-filter tiles and a rest of 8, channels not in 8-blocks
        { 2, 4, 5, 12, 72, 1, 1, 1, false },  // the same through the pointwise path
        { 1, 3, 4, 520, 8, 3, 3, 1, true },   // K = 4,680 rows of the kernel gradient: more than one packed band of A
        { 2, 9, 9, 16, 32, 3, 3, 2, true },   // the Fashion ResNet's strided 3×3 on 16 channels: the data gradient adds its 16-channel runs into dx, K = 144 ending in half a tile
        { 3, 8, 8, 32, 24, 1, 1, 2, true },   // its strided 1×1 shortcut on 32 channels: one tap, whole 32-column tiles, 48 pixels (no partial tile)
        { 2, 9, 10, 3, 64, 3, 3, 1, true },   // the CIFAR net's first layer (K = 27): the kernel gradient's tap blocks of 14 and 13, four 16-filter slices
        { 2, 11, 13, 3, 16, 5, 5, 2, true },  // K = 75 in four tap blocks, stride 2: the gathered rows split by column phase
        { 1, 13, 12, 3, 32, 7, 7, 2, true },  // K = 147 (a 7 × 7 stem on RGB) in seven blocks of 21
        { 1, 7, 9, 1, 16, 5, 5, 1, false },   // K = 25 on one channel, valid: two blocks, no padding
        { 2, 6, 7, 7, 16, 3, 3, 1, true },    // seven channels (K = 63), the most below whole 8-channel blocks
        { 1, 9, 9, 6, 16, 7, 4, 1, true },    // K = 168, past the tap blocks' 160: the packed GEMM
    };

    [Theory]
    [MemberData(nameof(Shapes))]
    public void ForwardAndBackwardMatchDirectReferenceAtEveryWidth(int n, int h, int w, int c, int f, int kh, int kw, int s, bool same)
    {
        Conv2DGeometry g = ConvReference.Keras(h, w, c, f, kh, kw, s, s, same);
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
        // Terms are products of values in [-1, 1]: scale tolerance by the number of terms summed.
        double fwdScale = Math.Sqrt(g.PatchSize), bwdScale = Math.Sqrt(n * g.OutputHeight * g.OutputWidth);

        foreach (int bits in new[] { 512, 256, 0 })
        {
            using var _ = new KernelSwitches(bits, 2);
            var y = new float[n * g.OutputSize];
            Conv2D.Forward(x, kernel, bias, y, n, g, new Relu());
            ConvReference.Close(relu, y, fwdScale, 1e-5, $"{bits}-bit forward");

            var yLinear = new float[y.Length];
            Conv2D.Forward(x, kernel, ReadOnlySpan<float>.Empty, yLinear, n, g, new Identity());
            var zNoBias = ConvReference.Forward(x, kernel, Array.Empty<float>(), n, g);
            ConvReference.Close(zNoBias, yLinear, fwdScale, 1e-5, $"{bits}-bit forward without bias");

            float[] dy = (float[])dyIn.Clone();
            var dk = new float[kernel.Length];
            var db = new float[f];
            var dx = new float[x.Length];
            dk.AsSpan().Fill(float.NaN); db.AsSpan().Fill(float.NaN); dx.AsSpan().Fill(float.NaN); // overwritten, never accumulated into
            Conv2D.Backward(x, kernel, y, dy, dk, db, dx, n, g, new Relu());
            ConvReference.Close(dz, dy, 0, 0, $"{bits}-bit dz in place");
            ConvReference.Close(dkRef, dk, bwdScale, 1e-5, $"{bits}-bit dKernel");
            ConvReference.Close(dbRef, db, bwdScale, 1e-5, $"{bits}-bit dBias");
            ConvReference.Close(dxRef, dx, fwdScale, 1e-5, $"{bits}-bit dx");
        }
    }

    /// <summary>
    /// With accumulate, dx gains the input gradient on top of what it held (another reader's part): col2im adds
    /// into it as it is, the pointwise product accumulates, and a stride-1 layer leaves its overwriting path.
    /// </summary>
    [Theory]
    [MemberData(nameof(Shapes))]
    public void AccumulatingBackwardAddsTheInputGradientToWhatDxHeld(int n, int h, int w, int c, int f, int kh, int kw, int s, bool same)
    {
        Conv2DGeometry g = ConvReference.Keras(h, w, c, f, kh, kw, s, s, same);
        float[] x = TestData.Random(n * g.InputSize, 51);
        float[] kernel = TestData.Random(g.PatchSize * f, 52);
        float[] dyIn = TestData.Random(n * g.OutputSize, 53);
        float[] held = TestData.Random(x.Length, 54);
        var (_, dxRef) = ConvReference.Backward(x, kernel, Array.ConvertAll(dyIn, v => (double)v), n, g);
        for (int i = 0; i < dxRef.Length; i++) dxRef[i] += held[i];
        foreach (int bits in new[] { 512, 256, 0 })
        {
            using var _ = new KernelSwitches(bits, 2);
            var dx = (float[])held.Clone();
            Conv2D.Backward(x, kernel, ReadOnlySpan<float>.Empty, (float[])dyIn.Clone(), new float[kernel.Length], new float[f], dx, n, g, new Identity(), accumulate: true);
            ConvReference.Close(dxRef, dx, Math.Sqrt(g.PatchSize) + 1, 1e-5, $"{bits}-bit dx added to");
        }
    }

    [Theory]
    [InlineData(4, 24, 24, 20, 64, 3)]   // the packed GEMM kernel gradient
    [InlineData(4, 24, 24, 24, 40, 3)]   // whole 8-channel blocks: patches read in place, a last tile of 8 filters
    [InlineData(16, 64, 64, 1, 32, 3)]   // K below 16: the outer-product kernel gradient in tap blocks
    [InlineData(8, 32, 32, 3, 64, 3)]    // K = 27 in two tap blocks, chunks of 96 pixels ending inside output rows
    [InlineData(4, 24, 24, 128, 64, 1)]  // the pointwise path
    public void TheKernelGradientMatchesTheReferenceWithAnyNumberOfGroups(int n, int h, int w, int c, int f, int window)
    {
        // The most groups (8 here, fewer if set): 1, 3 and 8 each sum their own partials in their own order.
        Conv2DGeometry g = ConvReference.Keras(h, w, c, f, window, window, 1, 1, true);
        float[] x = TestData.Random(n * g.InputSize, 41);
        float[] kernel = TestData.Random(g.PatchSize * f, 42);
        float[] dyIn = TestData.Random(n * g.OutputSize, 43);
        var (dkRef, _) = ConvReference.Backward(x, kernel, Array.ConvertAll(dyIn, v => (double)v), n, g);
        double bwdScale = Math.Sqrt(n * g.OutputHeight * g.OutputWidth);
        using var _ = new KernelSwitches(512, 2);
        ConvReference.KernelGradientAtEveryGroupCount(dkRef, bwdScale, () =>
        {
            var dk = new float[kernel.Length];
            Conv2D.Backward(x, kernel, new float[n * g.OutputSize], (float[])dyIn.Clone(), dk, new float[f], new float[x.Length], n, g, new Identity());
            return dk;
        }, $"{h}x{w}, {c} -> {f}, {window}x{window}");
    }

    [Fact]
    public void BackwardSkipsDxAndBiasWhenEmpty()
    {
        using var _ = new KernelSwitches(512, 2);
        Conv2DGeometry g = ConvReference.Keras(6, 6, 3, 4, 3, 3, 1, 1, true);
        const int n = 2;
        float[] x = TestData.Random(n * g.InputSize, 11);
        float[] kernel = TestData.Random(g.PatchSize * 4, 12);
        float[] dy = TestData.Random(n * g.OutputSize, 13);
        var dk = new float[kernel.Length];
        var (dkRef, _) = ConvReference.Backward(x, kernel, Array.ConvertAll(dy, v => (double)v), n, g);
        // Identity: y is not needed and may be empty.
        Conv2D.Backward(x, kernel, ReadOnlySpan<float>.Empty, dy, dk, Span<float>.Empty, Span<float>.Empty, n, g, new Identity());
        ConvReference.Close(dkRef, dk, 10, 1e-5, "dKernel");
    }

    [Theory]
    [InlineData(1, true)]
    [InlineData(2, true)]
    [InlineData(2, false)]
    public void GradientCheck(int stride, bool same)
    {
        using var _ = new KernelSwitches(512, 2);
        const int n = 2;
        Conv2DGeometry g = ConvReference.Keras(6, 5, 3, 4, 3, 3, stride, stride, same);
        float[] x = TestData.Random(n * g.InputSize, 21);
        float[] kernel = TestData.Random(g.PatchSize * 4, 22, -0.5f, 0.5f);
        float[] bias = TestData.Random(4, 23, -0.5f, 0.5f);
        float[] r = TestData.Random(n * g.OutputSize, 24);
        var y = new float[n * g.OutputSize];
        Conv2D.Forward(x, kernel, bias, y, n, g, new Tanh());
        float[] dy = (float[])r.Clone();
        var dk = new float[kernel.Length];
        var db = new float[4];
        var dx = new float[x.Length];
        Conv2D.Backward(x, kernel, y, dy, dk, db, dx, n, g, new Tanh());

        var scratch = new float[y.Length];
        double Loss() { Conv2D.Forward(x, kernel, bias, scratch, n, g, new Tanh()); return GradCheck.Project(scratch, r); }
        GradCheck.Check(kernel, dk, Loss, "dKernel");
        GradCheck.Check(bias, db, Loss, "dBias");
        GradCheck.Check(x, dx, Loss, "dx");
    }

    [Theory]
    [InlineData(512)]
    [InlineData(256)]   // Tile256's 2-pixel passes and the 16-channel kernel gradient
    public void FewFiltersGiveTheSameBitsAtAnyThreadCount(int bits)
    {
        // The dot-product forward and kernel gradient (in several pixel groups), and the data gradient run as a direct convolution of dz.
        const int n = 5, f = 3;
        Conv2DGeometry g = ConvReference.Keras(13, 11, 80, f, 7, 7, 1, 1, true);
        float[] x = TestData.Random(n * g.InputSize, 35);
        float[] kernel = TestData.Random(g.PatchSize * f, 36);
        float[] bias = TestData.Random(f, 37);
        float[] dyIn = TestData.Random(n * g.OutputSize, 38);
        float[][] Run(int threads)
        {
            using var _ = new KernelSwitches(bits, threads);
            Assert.True(ConvCore.UsesFewFilters(g));
            var y = new float[n * g.OutputSize];
            Conv2D.Forward(x, kernel, bias, y, n, g, new Tanh());
            float[] dy = (float[])dyIn.Clone();
            var dk = new float[kernel.Length];
            var dx = new float[x.Length];
            Conv2D.Backward(x, kernel, y, dy, dk, Span<float>.Empty, dx, n, g, new Tanh());
            return new[] { y, dk, dx };
        }
        SameAtOneTwoAndThreeThreads(Run);
    }

    [Theory]
    [InlineData(4, 16, 24, 40, 512)]
    [InlineData(8, 48, 1, 32, 512)]   // one input channel: the kernel gradient sums outer products itself, in two pixel groups
    [InlineData(4, 16, 24, 40, 256)]  // the 256-bit path's 6-pixel tiles
    [InlineData(8, 48, 1, 32, 256)]   // the outer-product kernel gradient in 256-bit halves, over L1-sized chunks
    public void OneAndTwoThreadsGiveTheSameBits(int n, int size, int c, int f, int bits)
    {
        // Large enough that every kernel splits; every element is computed by one thread in an order
        // that does not depend on the split, so the bits must match exactly.
        Conv2DGeometry g = ConvReference.Keras(size, size, c, f, 3, 3, 1, 1, true);
        float[] x = TestData.Random(n * g.InputSize, 31);
        float[] kernel = TestData.Random(g.PatchSize * f, 32);
        float[] bias = TestData.Random(f, 33);
        float[] dyIn = TestData.Random(n * g.OutputSize, 34);
        float[][] Run(int threads)
        {
            using var _ = new KernelSwitches(bits, threads);
            var y = new float[n * g.OutputSize];
            Conv2D.Forward(x, kernel, bias, y, n, g, new Relu());
            float[] dy = (float[])dyIn.Clone();
            var dk = new float[kernel.Length];
            var db = new float[f];
            var dx = new float[x.Length];
            Conv2D.Backward(x, kernel, y, dy, dk, db, dx, n, g, new Relu());
            var yt = new float[n * g.InputSize];
            Conv2DTranspose.Forward(y, kernel, ReadOnlySpan<float>.Empty, yt, n, g, new Identity());
            return new[] { y, dk, db, dx, yt };
        }
        SameAtOneTwoAndThreeThreads(Run);
    }

    /// <summary>Every array <paramref name="run"/> returns at 2 and 3 threads equals its 1-thread result, element for element.</summary>
    private static void SameAtOneTwoAndThreeThreads(Func<int, float[][]> run)
    {
        float[][] one = run(1), two = run(2), three = run(3);
        for (int i = 0; i < one.Length; i++)
        {
            Assert.Equal(one[i], two[i]);
            Assert.Equal(one[i], three[i]);
        }
    }

    /// <summary>
    /// The vector table builder gives every tile (8 rows, as the forward builds them) and every chunk (32 rows, as
    /// the kernel gradient builds them), partial ones and ones across rows and samples included, the pointers the
    /// scalar builder gives: same address, or the zero row, for every tap and row.
    /// </summary>
    [Theory]
    [MemberData(nameof(Shapes))]
    public unsafe void TileTableMatchesTheScalarTable(int n, int h, int w, int c, int f, int kh, int kw, int s, bool same)
    {
        Conv2DGeometry g = ConvReference.Keras(h, w, c, f, kh, kw, s, s, same);
        long pixels = (long)n * g.OutputHeight * g.OutputWidth;
        int taps = kh * kw;
        float* x = (float*)0x10000, zeros = (float*)0x8;   // never read: the builders only compute addresses
        foreach (int stride in new[] { ConvCore.MR, 4 * ConvCore.MR })
        {
            var vector = new nint[taps * stride];
            var scalar = new nint[taps * stride];
            fixed (nint* pv = vector, ps = scalar)
            {
                for (long q0 = 0; q0 < pixels; q0 += stride)
                {
                    // A whole table, the last one as it is, and shorter counts of rows at this position.
                    for (int valid = (int)Math.Min(stride, pixels - q0); valid >= 1; valid -= stride == ConvCore.MR ? 1 : 7)
                    {
                        ConvCore.BuildTileTable(x, g, q0, valid, zeros, (float**)pv, stride);
                        ConvCore.BuildTableScalar(x, g, q0, valid, zeros, (float**)ps, stride);
                        for (int i = 0; i < taps * stride; i++)
                            Assert.True(vector[i] == scalar[i], $"{g}, {stride}-row table at pixel {q0}, {valid} rows: slot {i} (tap {i / stride}, row {i % stride})");
                    }
                }
            }
        }
    }

    /// <summary>
    /// The flipped kernel (taps reversed, the two channel axes swapped) against the definition, for sizes off the
    /// 16 × 16 blocks and for the channel ranges that threads flip for themselves.
    /// </summary>
    [Theory]
    [InlineData(3, 5, 9, 0, 3)]
    [InlineData(37, 21, 4, 0, 37)]
    [InlineData(37, 21, 4, 5, 23)]
    [InlineData(64, 128, 9, 16, 48)]
    [InlineData(1, 1, 25, 0, 1)]
    public unsafe void FlipKernelRotatesTapsAndSwapsChannels(int c, int k, int taps, int c0, int c1)
    {
        var src = new float[taps * k * c];
        for (int i = 0; i < src.Length; i++) src[i] = i + 1;
        var dst = new float[taps * c * k];
        fixed (float* ps = src, pd = dst) ConvCore.FlipKernel(ps, pd, c, k, taps, c0, c1);
        for (int tap = 0; tap < taps; tap++)
            for (int cc = 0; cc < c; cc++)
                for (int kk = 0; kk < k; kk++)
                {
                    float expected = cc >= c0 && cc < c1 ? src[((taps - 1 - tap) * k + kk) * c + cc] : 0f;
                    Assert.True(expected == dst[(tap * c + cc) * k + kk], $"tap {tap}, channel {cc}, filter {kk}");
                }
    }

    [Fact]
    public void GeometryValidatesAndReportsImpliedPadding()
    {
        Conv2DGeometry g = ConvReference.Keras(7, 7, 3, 8, 4, 4, 2, 2, true);
        Assert.Equal(4, g.OutputHeight);
        Assert.Equal(1, g.PadTop);
        Assert.Equal(2, g.PadBottom); // total 3: the extra pixel goes to the bottom
        Assert.Equal(7 * 7 * 3, g.InputSize);
        Assert.Equal(4 * 4 * 8, g.OutputSize);
        Assert.Throws<ArgumentOutOfRangeException>(() => new Conv2DGeometry(0, 7, 3, 4, 4, 8, 3, 3, 1, 1, 0, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Conv2DGeometry(7, 7, 3, 7, 7, 8, 3, 3, 1, 1, 3, 1));
        Assert.Throws<ArgumentException>(() => new Conv2DGeometry(7, 7, 3, 9, 7, 8, 3, 3, 1, 1, 1, 1));
        Assert.Throws<ArgumentException>(() => Conv2D.Forward(new float[10], new float[3], ReadOnlySpan<float>.Empty, new float[1000], 1, g, new Identity()));
    }
}
