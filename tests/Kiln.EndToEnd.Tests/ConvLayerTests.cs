using System;
using System.Linq;
using Kiln;

namespace Kiln.EndToEnd.Tests;

/// <summary>
/// The generated forward of the convolutional layers against direct loop-nest references written
/// from Keras' rules (the gradient checks only prove that backward matches forward): 'same'
/// padding puts the extra pixel bottom/right, padding never wins a max and is not counted in an
/// average, transposed convolutions are laid out (kh, kw, filters, in).
/// </summary>
public sealed class ConvLayerTests
{
    private const int BatchSize = 4;
    private const int N = 3;

    private static float[] Input(Model model, int seed, double low = -1.5, double high = 1.5)
    {
        var rng = new Random(seed);
        var x = new float[N * model.InputSize];
        for (int i = 0; i < x.Length; i++) x[i] = (float)(low + rng.NextDouble() * (high - low));
        return x;
    }

    /// <summary>Keras' output size and top/left padding of a window along one axis.</summary>
    private static (int Out, int Before) Axis(int size, int window, int stride, bool same) =>
        same
            ? ((size + stride - 1) / stride, Math.Max(((size + stride - 1) / stride - 1) * stride + window - size, 0) / 2)
            : ((size - window) / stride + 1, 0);

    internal static double[] Conv(float[] x, int h, int w, int c, float[] kernel, float[] bias, int f,
        int kh, int kw, int sh, int sw, bool same, out int oh, out int ow, int n = N)
    {
        (oh, int top) = Axis(h, kh, sh, same);
        (ow, int left) = Axis(w, kw, sw, same);
        var y = new double[n * oh * ow * f];
        for (int b = 0; b < n; b++)
            for (int oy = 0; oy < oh; oy++)
                for (int ox = 0; ox < ow; ox++)
                    for (int o = 0; o < f; o++)
                    {
                        double s = bias.Length == 0 ? 0 : bias[o];
                        for (int i = 0; i < kh; i++)
                            for (int j = 0; j < kw; j++)
                            {
                                int iy = oy * sh - top + i, ix = ox * sw - left + j;
                                if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue;
                                for (int ch = 0; ch < c; ch++)
                                    s += (double)x[((b * h + iy) * w + ix) * c + ch] * kernel[((i * kw + j) * c + ch) * f + o];
                            }
                        y[((b * oh + oy) * ow + ox) * f + o] = s;
                    }
        return y;
    }

    /// <summary>Keras Conv2DTranspose: kernel (kh, kw, filters, in); output same h·s, valid (h−1)·s + max(k, s).</summary>
    private static double[] ConvTranspose(float[] x, int h, int w, int c, float[] kernel, float[] bias, int f,
        int kh, int kw, int sh, int sw, bool same, out int oh, out int ow)
    {
        oh = same ? h * sh : (h - 1) * sh + Math.Max(kh, sh);
        ow = same ? w * sw : (w - 1) * sw + Math.Max(kw, sw);
        int top = same ? Math.Max(kh - sh, 0) / 2 : 0, left = same ? Math.Max(kw - sw, 0) / 2 : 0;
        var y = new double[N * oh * ow * f];
        for (int b = 0; b < N; b++)
        {
            for (int p = 0; p < oh * ow; p++)
                for (int o = 0; o < f; o++) y[(b * oh * ow + p) * f + o] = bias.Length == 0 ? 0 : bias[o];
            for (int iy = 0; iy < h; iy++)
                for (int ix = 0; ix < w; ix++)
                    for (int i = 0; i < kh; i++)
                        for (int j = 0; j < kw; j++)
                        {
                            int oy = iy * sh - top + i, ox = ix * sw - left + j;
                            if (oy < 0 || oy >= oh || ox < 0 || ox >= ow) continue;
                            for (int o = 0; o < f; o++)
                                for (int ch = 0; ch < c; ch++)
                                    y[((b * oh + oy) * ow + ox) * f + o] +=
                                        (double)x[((b * h + iy) * w + ix) * c + ch] * kernel[((i * kw + j) * f + o) * c + ch];
                        }
        }
        return y;
    }

    private static double[] Pool(float[] x, int h, int w, int c, int ph, int pw, int sh, int sw, bool same, bool max)
    {
        var (oh, top) = Axis(h, ph, sh, same);
        var (ow, left) = Axis(w, pw, sw, same);
        var y = new double[N * oh * ow * c];
        for (int b = 0; b < N; b++)
            for (int oy = 0; oy < oh; oy++)
                for (int ox = 0; ox < ow; ox++)
                    for (int ch = 0; ch < c; ch++)
                    {
                        double acc = max ? double.NegativeInfinity : 0;
                        int count = 0;
                        for (int i = 0; i < ph; i++)
                            for (int j = 0; j < pw; j++)
                            {
                                int iy = oy * sh - top + i, ix = ox * sw - left + j;
                                if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue;
                                double v = x[((b * h + iy) * w + ix) * c + ch];
                                acc = max ? Math.Max(acc, v) : acc + v;
                                count++;
                            }
                        y[((b * oh + oy) * ow + ox) * c + ch] = max ? acc : acc / count;
                    }
        return y;
    }

    private static void AssertClose(double[] expected, ReadOnlySpan<float> actual, string what, double tolerance = 1e-5)
    {
        Assert.True(expected.Length == actual.Length, $"{what}: {actual.Length} outputs, expected {expected.Length}");
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - actual[i]) <= tolerance * Math.Max(1, Math.Abs(expected[i])),
                $"{what}[{i}]: {actual[i]}, expected {expected[i]}");
    }

    private static float[] RandomBias(Model model, string name, int seed)
    {
        GradientCheck.RandomizeBiases(model, seed);
        return model.Tensor(name).ToArray();
    }

    [Fact]
    public void Conv2DValidMatchesTheReference()
    {
        var m = new ConvValid(BatchSize, 1);
        float[] x = Input(m, 10), bias = RandomBias(m, "conv2d/bias", 1);
        double[] y = Conv(x, 5, 6, 2, m.Tensor("conv2d/kernel").ToArray(), bias, 3, 3, 3, 1, 1, false, out int oh, out int ow);
        Assert.Equal((3, 4), (oh, ow));
        Assert.Equal([3, 4, 3], m.Description.OutputShape);
        AssertClose(y, m.Forward(x, N), "ConvValid");
        AssertClose(y, m.Forward(x, N, training: true), "ConvValid (training)");
    }

    /// <summary>Kernel 4, stride 2 on 5×6: Keras pads 1 row on top and 2 below, 1 column each side.</summary>
    [Fact]
    public void Conv2DSameStride2EvenKernelPadsBottomRight()
    {
        var m = new RawConvSameStride2Kernel4(BatchSize, 2);
        float[] x = Input(m, 11), bias = RandomBias(m, "conv2d/bias", 2);
        double[] y = Conv(x, 5, 6, 2, m.Tensor("conv2d/kernel").ToArray(), bias, 3, 4, 4, 2, 2, true, out int oh, out int ow);
        Assert.Equal((3, 3), (oh, ow));
        AssertClose(y, m.Forward(x, N), "Conv2D(3, 4, strides 2, same)");

        var m2 = new ConvSameStride2Kernel2(BatchSize, 3);
        float[] bias2 = RandomBias(m2, "conv2d/bias", 3);
        double[] y2 = Conv(x, 5, 6, 2, m2.Tensor("conv2d/kernel").ToArray(), bias2, 3, 2, 2, 2, 2, true, out oh, out ow);
        Assert.Equal((3, 3), (oh, ow)); // one padding row, at the bottom
        AssertClose(y2, m2.Forward(x, N), "Conv2D(3, 2, strides 2, same)");
    }

    [Fact]
    public void Conv2DRectangularKernelsAndStridesMatchTheReference()
    {
        var tall = new ConvTallKernelStrideHeight(BatchSize, 4);
        float[] x = Input(tall, 12);
        double[] y = Conv(x, 5, 6, 2, tall.Tensor("conv2d/kernel").ToArray(), RandomBias(tall, "conv2d/bias", 4), 4, 3, 1, 2, 1, false, out int oh, out int ow);
        Assert.Equal((2, 6), (oh, ow));
        AssertClose(y, tall.Forward(x, N), "Conv2D(4, (3, 1), stride_h 2)");

        var tallSame = new ConvTallKernelSame(BatchSize, 5);
        y = Conv(x, 5, 6, 2, tallSame.Tensor("conv2d/kernel").ToArray(), RandomBias(tallSame, "conv2d/bias", 5), 2, 3, 1, 2, 1, true, out oh, out ow);
        Assert.Equal((3, 6), (oh, ow));
        AssertClose(y, tallSame.Forward(x, N), "Conv2D(2, (3, 1), stride_h 2, same)");

        var rect = new RawConvRectSame(BatchSize, 6);
        y = Conv(x, 5, 6, 2, rect.Tensor("conv2d/kernel").ToArray(), RandomBias(rect, "conv2d/bias", 6), 2, 2, 3, 2, 3, true, out oh, out ow);
        Assert.Equal((3, 2), (oh, ow));
        AssertClose(y, rect.Forward(x, N), "Conv2D(2, (2, 3), strides (2, 3), same)");
    }

    [Theory]
    [InlineData("same4")]
    [InlineData("same3")]
    [InlineData("valid")]
    [InlineData("gaps")]
    public void Conv2DTransposeMatchesTheReference(string which)
    {
        Model m = which switch
        {
            "same4" => new RawConvTransposeSame4(BatchSize, 7),
            "same3" => new RawConvTransposeSame3(BatchSize, 8),
            "valid" => new RawConvTransposeValid(BatchSize, 9),
            _ => new RawConvTransposeGaps(BatchSize, 10),
        };
        var (h, w, c, f, k, s, same, oh, ow) = which switch
        {
            "same4" => (3, 3, 2, 2, 4, 2, true, 6, 6),
            "same3" => (3, 2, 2, 3, 3, 2, true, 6, 4),
            "valid" => (3, 2, 2, 3, 3, 2, false, 7, 5),
            _ => (2, 3, 1, 2, 2, 3, false, 6, 9),
        };
        float[] x = Input(m, 13);
        float[] kernel = m.Tensor("conv2d_transpose/kernel").ToArray();
        Assert.Equal([k, k, f, c], m.Description.Tensors.First(t => t.Name == "conv2d_transpose/kernel").Shape);
        double[] y = ConvTranspose(x, h, w, c, kernel, RandomBias(m, "conv2d_transpose/bias", 11), f, k, k, s, s, same, out int rh, out int rw);
        Assert.Equal((oh, ow), (rh, rw));
        Assert.Equal([oh, ow, f], m.Description.OutputShape);
        AssertClose(y, m.Forward(x, N), $"Conv2DTranspose {which}");
        AssertClose(y, m.Forward(x, N, training: true), $"Conv2DTranspose {which} (training)");
    }

    /// <summary>All inputs negative: a max over a window that overlaps the padding must still be one of the real values, never 0.</summary>
    [Theory]
    [InlineData("same", true)]
    [InlineData("same", false)]
    [InlineData("rect", true)]
    [InlineData("rect", false)]
    [InlineData("valid", false)]
    public void MaxPoolingNeverLetsThePaddingWin(string which, bool negative)
    {
        Model m = which switch
        {
            "same" => new RawMaxPoolSame(BatchSize),
            "rect" => new RawMaxPoolRect(BatchSize),
            _ => new RawMaxPoolValid(BatchSize),
        };
        var (h, w, ph, pw, sh, sw, same) = which switch
        {
            "same" => (5, 6, 3, 3, 2, 2, true),
            "rect" => (5, 6, 2, 3, 1, 2, true),
            _ => (5, 7, 3, 3, 2, 2, false),
        };
        float[] x = negative ? Input(m, 14, -2, -0.5) : Input(m, 14);
        double[] y = Pool(x, h, w, 2, ph, pw, sh, sw, same, max: true);
        AssertClose(y, m.Forward(x, N), $"MaxPooling2D {which}", 0);
        AssertClose(y, m.Forward(x, N, training: true), $"MaxPooling2D {which} (training)", 0);
        if (negative) Assert.All(m.Forward(x, N).ToArray(), v => Assert.True(v < 0, $"a padded zero won: {v}"));
    }

    /// <summary>'same' average pooling divides by the real elements of each window, not by the window size.</summary>
    [Fact]
    public void AveragePoolingSameDividesByTheRealElementCount()
    {
        var m = new RawAvgPoolSame(BatchSize);
        float[] x = Input(m, 15);
        AssertClose(Pool(x, 5, 6, 2, 3, 3, 2, 2, true, max: false), m.Forward(x, N), "AveragePooling2D(3, strides 2, same)");

        var even = new RawAvgPoolSameEven(BatchSize);
        AssertClose(Pool(x, 5, 6, 2, 2, 2, 2, 2, true, max: false), even.Forward(x, N), "AveragePooling2D(2, same)");
        // Ones in, ones out: every window averages only real ones.
        float[] ones = Enumerable.Repeat(1f, x.Length).ToArray();
        Assert.All(m.Forward(ones, N).ToArray(), v => Assert.Equal(1f, v, 6));
        Assert.All(even.Forward(ones, N).ToArray(), v => Assert.Equal(1f, v, 6));
    }

    [Fact]
    public void GlobalPoolingMatchesTheReference()
    {
        var avg = new RawGlobalAvgPool(BatchSize);
        var max = new RawGlobalMaxPool(BatchSize);
        float[] x = Input(avg, 16, -2, -0.5);
        AssertClose(Pool(x, 3, 4, 5, 3, 4, 1, 1, false, max: false), avg.Forward(x, N), "GlobalAveragePooling2D");
        AssertClose(Pool(x, 3, 4, 5, 3, 4, 1, 1, false, max: true), max.Forward(x, N), "GlobalMaxPooling2D", 0);
        Assert.Equal([5], avg.Description.OutputShape);
    }

    [Fact]
    public void UpSamplingRepeatsRowsAndColumns()
    {
        var m = new RawUpSampling(BatchSize);
        float[] x = Input(m, 17);
        float[] y = m.Forward(x, N).ToArray();
        Assert.Equal([4, 9, 2], m.Description.OutputShape);
        for (int b = 0; b < N; b++)
            for (int oy = 0; oy < 4; oy++)
                for (int ox = 0; ox < 9; ox++)
                    for (int c = 0; c < 2; c++)
                        Assert.Equal(x[((b * 2 + oy / 2) * 3 + ox / 3) * 2 + c], y[((b * 4 + oy) * 9 + ox) * 2 + c]);
    }

    /// <summary>ZeroPadding2D(top 0, bottom 2, left 1, right 0) on (3, 4, 2) → (5, 5, 2).</summary>
    [Fact]
    public void ZeroPaddingIsAsymmetric()
    {
        var m = new ZeroPaddingOutput(BatchSize);
        float[] x = Input(m, 18, 0.5, 2);
        float[] y = m.Forward(x, N).ToArray();
        Assert.Equal([5, 5, 2], m.Description.OutputShape);
        for (int b = 0; b < N; b++)
            for (int oy = 0; oy < 5; oy++)
                for (int ox = 0; ox < 5; ox++)
                    for (int c = 0; c < 2; c++)
                    {
                        int iy = oy, ix = ox - 1;
                        float expected = iy < 3 && ix >= 0 ? x[((b * 3 + iy) * 4 + ix) * 2 + c] : 0f;
                        Assert.Equal(expected, y[((b * 5 + oy) * 5 + ox) * 2 + c]);
                    }
    }
}
