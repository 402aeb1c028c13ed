using System;
using Kiln.Kernels;

namespace Kiln.Runtime.Tests.Kernels.Convolution;

[Collection(KernelCollection.Name)]
public class DirectConv2DTests
{
    // n, h, w, c, f, kh, kw, stride, same
    public static readonly TheoryData<int, int, int, int, int, int, int, int, bool> Shapes = new()
    {
        { 3, 28, 28, 1, 32, 3, 3, 1, true },    // the Fashion CNN's first layer (bands of 4 rows, 14 tiles of 8 each)
        { 2, 9, 7, 1, 16, 3, 3, 1, true },      // odd sizes; F = 16: one 256-bit tile, the 512-bit 16-wide one
        { 2, 11, 13, 3, 48, 3, 3, 2, true },    // RGB, strided 'same' (pad only bottom/right); F = 48: a full and a padded 512-bit tile
        { 1, 17, 15, 3, 24, 7, 7, 2, true },    // a ResNet-style stem: pad 3 top/left
        { 2, 10, 9, 2, 8, 5, 5, 1, false },     // valid 5×5; F = 8 is narrower than any tile
        { 2, 8, 12, 4, 40, 2, 3, 1, true },     // even window height: the extra pad row is at the bottom
        { 1, 7, 8, 1, 3, 3, 3, 3, false },      // stride 3 valid: unread input rows and columns; F = 3
        { 5, 1, 1, 2, 64, 1, 1, 1, true },      // a 1×1 image: one pixel per sample, every tile partial
        { 2, 13, 5, 3, 33, 3, 1, 1, false },    // 3×1 window; F = 33: one lane past a whole tile
    };

    [Theory]
    [MemberData(nameof(Shapes))]
    public void ForwardMatchesDirectReferenceAtEveryWidth(int n, int h, int w, int c, int f, int kh, int kw, int stride, bool same)
    {
        Conv2DGeometry g = ConvReference.Keras(h, w, c, f, kh, kw, stride, stride, same);
        float[] x = TestData.Random(n * g.InputSize, 1);
        float[] kernel = TestData.Random(g.PatchSize * f, 2);
        float[] bias = TestData.Random(f, 3);
        double[] z = ConvReference.Forward(x, kernel, bias, n, g);
        var relu = new double[z.Length];
        for (int i = 0; i < z.Length; i++) relu[i] = Math.Max(z[i], 0);
        double[] linear = ConvReference.Forward(x, kernel, Array.Empty<float>(), n, g);
        double scale = Math.Sqrt(g.PatchSize);

        foreach (int bits in new[] { 512, 256, 0 })
            foreach (int threads in new[] { 1, 2 })
            {
                using var _ = new KernelSwitches(bits, threads);
                var y = new float[n * g.OutputSize];
                y.AsSpan().Fill(float.NaN); // every output is written
                DirectConv2D.Forward(x, kernel, bias, y, n, g, new Relu());
                ConvReference.Close(relu, y, scale, 1e-5, $"{bits}-bit, {threads} threads, relu");

                y.AsSpan().Fill(float.NaN);
                DirectConv2D.Forward(x, kernel, ReadOnlySpan<float>.Empty, y, n, g, new Identity());
                ConvReference.Close(linear, y, scale, 1e-5, $"{bits}-bit, {threads} threads, no bias");
            }
    }

    [Fact]
    public void AgreesWithTheImplicitGemmOnTheFirstLayerOfTheFashionCnn()
    {
        // The generator swaps one kernel for the other: at every width both give the reference's values (to rounding).
        const int n = 4;
        Conv2DGeometry g = ConvReference.Keras(28, 28, 1, 32, 3, 3, 1, 1, true);
        float[] x = TestData.Random(n * g.InputSize, 11, 0f, 1f);
        float[] kernel = TestData.Random(g.PatchSize * 32, 12);
        float[] bias = TestData.Random(32, 13);
        foreach (int bits in new[] { 512, 256, 0 })
        {
            using var _ = new KernelSwitches(bits, 2);
            var direct = new float[n * g.OutputSize];
            var gemm = new float[direct.Length];
            DirectConv2D.Forward(x, kernel, bias, direct, n, g, new Relu());
            Conv2D.Forward(x, kernel, bias, gemm, n, g, new Relu());
            TestData.Close(gemm, direct, 1e-5, 1e-6, $"{bits}-bit");
        }
    }

    /// <summary>
    /// A filter's outputs do not depend on how many filters the layer has: a 16-filter layer (the 512-bit path's 16-wide
    /// tile, straight into y) gives the bits of the first 16 filters of a 32-filter one (the 32-wide tile), at every width.
    /// </summary>
    [Fact]
    public void SixteenFiltersGiveTheBitsOfTheSameFiltersInAWiderLayer()
    {
        Conv2DGeometry wide = ConvReference.Keras(11, 9, 1, 32, 3, 3, 1, 1, true), narrow = ConvReference.Keras(11, 9, 1, 16, 3, 3, 1, 1, true);
        const int n = 3;
        float[] x = TestData.Random(n * wide.InputSize, 41);
        float[] kernel = TestData.Random(wide.PatchSize * 32, 42), bias = TestData.Random(32, 43);
        var kernel16 = new float[wide.PatchSize * 16];
        for (int p = 0; p < wide.PatchSize; p++) Array.Copy(kernel, p * 32, kernel16, p * 16, 16);
        foreach (int bits in new[] { 512, 256, 0 })
        {
            using var _ = new KernelSwitches(bits, 2);
            var y32 = new float[n * wide.OutputSize];
            var y16 = new float[n * narrow.OutputSize];
            DirectConv2D.Forward(x, kernel, bias, y32, n, wide, new Relu());
            DirectConv2D.Forward(x, kernel16, bias.AsSpan(0, 16), y16, n, narrow, new Relu());
            var first16 = new float[y16.Length];
            for (int q = 0; q < y16.Length / 16; q++) Array.Copy(y32, q * 32, first16, q * 16, 16);
            TestData.SameBits(first16, y16, $"{bits}-bit");
        }
    }

    [Fact]
    public void OneTwoAndThreeThreadsGiveTheSameBits()
    {
        const int n = 7;
        Conv2DGeometry g = ConvReference.Keras(19, 23, 3, 48, 3, 3, 1, 1, true);
        float[] x = TestData.Random(n * g.InputSize, 31);
        float[] kernel = TestData.Random(g.PatchSize * 48, 32);
        float[] bias = TestData.Random(48, 33);
        foreach (int bits in new[] { 512, 256, 0 })
        {
            float[] Run(int threads)
            {
                using var _ = new KernelSwitches(bits, threads);
                var y = new float[n * g.OutputSize];
                DirectConv2D.Forward(x, kernel, bias, y, n, g, new LeakyRelu(0.1f));
                return y;
            }
            float[] one = Run(1);
            Assert.Equal(one, Run(2));
            Assert.Equal(one, Run(3));
        }
    }

    [Fact]
    public void GradientCheckThroughTheDirectForward()
    {
        // The generated backward of a direct layer is Conv2D's: checked here against central differences of the direct forward.
        using var _ = new KernelSwitches(512, 2);
        const int n = 1, f = 8;
        Conv2DGeometry g = ConvReference.Keras(5, 6, 2, f, 3, 3, 1, 1, true);
        float[] x = TestData.Random(n * g.InputSize, 51);
        float[] kernel = TestData.Random(g.PatchSize * f, 52, -0.3f, 0.3f);
        float[] bias = TestData.Random(f, 53, -0.5f, 0.5f);
        float[] r = TestData.Random(n * g.OutputSize, 54);
        var y = new float[n * g.OutputSize];
        DirectConv2D.Forward(x, kernel, bias, y, n, g, new Tanh());
        float[] dy = (float[])r.Clone();
        var dk = new float[kernel.Length];
        var db = new float[f];
        var dx = new float[x.Length];
        Conv2D.Backward(x, kernel, y, dy, dk, db, dx, n, g, new Tanh());
        var scratch = new float[y.Length];
        double Loss() { DirectConv2D.Forward(x, kernel, bias, scratch, n, g, new Tanh()); return GradCheck.Project(scratch, r); }
        GradCheck.Check(x, dx, Loss, "dx");
        GradCheck.Check(bias, db, Loss, "dBias");
        GradCheck.Check(kernel, dk, Loss, "dKernel");
    }

    [Fact]
    public void RejectsWrongLengthsNamingTheArgument()
    {
        Conv2DGeometry g = ConvReference.Keras(8, 8, 1, 32, 3, 3, 1, 1, true);
        var e = Assert.Throws<ArgumentException>(() =>
            DirectConv2D.Forward(new float[g.InputSize], new float[g.PatchSize * 16], ReadOnlySpan<float>.Empty, new float[g.OutputSize], 1, g, new Identity()));
        Assert.Equal("kernel", e.ParamName);
        Assert.Throws<ArgumentException>(() =>
            DirectConv2D.Forward(new float[g.InputSize], new float[g.PatchSize * 32], new float[31], new float[g.OutputSize], 1, g, new Identity()));
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    [InlineData(2, 9, 150, 1, 16, 3, 3, 1, true)]   // rows wider than a band: one row per band, made two to pair them
    [InlineData(3, 13, 40, 3, 32, 3, 3, 1, true)]   // bands of 2 rows, an odd last row dropped by the valid pooling
    public void ForwardMaxPoolIsForwardThenPoolingBitForBit(int n, int h, int w, int c, int f, int kh, int kw, int stride, bool same)
    {
        Conv2DGeometry g = ConvReference.Keras(h, w, c, f, kh, kw, stride, stride, same);
        if (g.OutputHeight < 2 || g.OutputWidth < 2)
        {
            // No 2×2 window fits: refused, as MaxPooling2D's shape inference refuses it.
            Assert.Throws<ArgumentOutOfRangeException>(() => DirectConv2D.ForwardMaxPool2x2(new float[n * g.InputSize], new float[g.PatchSize * f],
                ReadOnlySpan<float>.Empty, new float[n * g.OutputSize], n, g, new Identity()));
            return;
        }
        Conv2DGeometry window = Pooling.TwoByTwoOver(g);
        float[] x = TestData.Random(n * g.InputSize, 51);
        float[] kernel = TestData.Random(g.PatchSize * f, 52);
        float[] bias = TestData.Random(f, 53);
        // Exact ties, zeros of both signs and NaNs in windows (ReLU and the identity pool before they apply, IActivation.CommutesWithMax).
        float[] tiesX = TestData.Ties(n * g.InputSize, 54, 1f, nanEvery: 29);
        float[] tiesKernel = TestData.Ties(g.PatchSize * f, 55, 0.5f);
        float[] tiesBias = TestData.Ties(f, 56, 0.25f);
        foreach (int bits in new[] { 512, 256, 0 })
            foreach (int threads in new[] { 1, 2 })
            {
                using var _ = new KernelSwitches(bits, threads);
                Check(x, kernel, bias, new Relu(), "relu");
                Check(x, kernel, ReadOnlySpan<float>.Empty, new Identity(), "no bias");
                Check(tiesX, tiesKernel, tiesBias, new Relu(), "ties, relu");
                Check(tiesX, tiesKernel, tiesBias, new Identity(), "ties, identity");
                Check(tiesX, tiesKernel, tiesBias, new LeakyRelu(0f), "ties, leaky relu of slope 0");

                void Check<TAct>(float[] x, float[] kernel, ReadOnlySpan<float> b, TAct act, string what) where TAct : struct, IActivation
                {
                    var y = new float[n * g.OutputSize];
                    DirectConv2D.Forward(x, kernel, b, y, n, g, act);
                    var expected = new float[n * window.OutputSize];
                    Pooling.MaxForward(y, expected, n, window);
                    var pooled = new float[expected.Length];
                    pooled.AsSpan().Fill(float.NaN);
                    DirectConv2D.ForwardMaxPool2x2(x, kernel, b, pooled, n, g, act);
                    TestData.SameBits(expected, pooled, $"{bits}-bit, {threads} threads, {what}: pooled");

                    // Training's variant: the same values, and the winners Pooling's argmax gives (ReLU's zeros tie: the first stays).
                    var expectedArgmax = new int[expected.Length];
                    Pooling.MaxForward(y, expected, expectedArgmax, n, window);
                    var argmax = new int[expected.Length];
                    argmax.AsSpan().Fill(-1);
                    pooled.AsSpan().Fill(float.NaN);
                    DirectConv2D.ForwardMaxPool2x2(x, kernel, b, pooled, argmax, n, g, act);
                    TestData.SameBits(expected, pooled, $"{bits}-bit, {threads} threads, {what}: pooled with winners");
                    Assert.Equal(expectedArgmax, argmax);
                }
            }
    }
}
