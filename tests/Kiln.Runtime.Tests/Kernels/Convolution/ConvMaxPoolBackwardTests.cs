using System;
using System.Linq;
using Kiln.Kernels;

namespace Kiln.Runtime.Tests.Kernels.Convolution;

/// <summary>BatchNorm.ConvMaxPoolBackward: the first convolution's backward from the pooled gradients, against the three full-size kernels it replaces.</summary>
[Collection(KernelCollection.Name)]
public class ConvMaxPoolBackwardTests
{
    // n, height, width, input channels, filters, kernel size, stride, same padding. Filters past a multiple of 8
    // (the scalar tail), odd outputs whose last row and column valid pooling drops, strides, 5×5 kernels, several input channels.
    public static TheoryData<int, int, int, int, int, int, int, bool> Shapes => new()
    {
        { 3, 12, 12, 1, 21, 3, 1, true },
        { 2, 9, 11, 3, 16, 3, 1, false },
        { 2, 10, 10, 1, 8, 5, 1, true },
        { 2, 13, 13, 3, 12, 3, 2, true },
        { 1, 8, 8, 2, 5, 2, 1, false },
    };

    [Theory]
    [MemberData(nameof(Shapes))]
    public void GivesTheGradientsOfPoolingThenBatchNormThenConvolutionBackward(int n, int h, int w, int cin, int filters, int k, int stride, bool same)
    {
        var conv = ConvReference.Keras(h, w, cin, filters, k, k, stride, stride, same);
        var pool = ConvReference.Keras(conv.OutputHeight, conv.OutputWidth, filters, filters, 2, 2, 2, 2, false);
        // Pixels in [0, 1]: a mean far from zero, as images have, which the patches' covariance must centre away.
        AgainstTheFullSizePath(TestData.Random(n * conv.InputSize, 11, 0f, 1f), n, conv, pool);
        // And an input whose mean is eight times its spread: the centred sums must still hold.
        AgainstTheFullSizePath(TestData.Random(n * conv.InputSize, 18, 2f, 3f), n, conv, pool);
    }

    private static void AgainstTheFullSizePath(float[] x, int n, Conv2DGeometry conv, Conv2DGeometry pool)
    {
        int filters = conv.OutputChannels;
        float[] kernel = TestData.Random(conv.PatchSize * filters, 12);
        float[] gamma = TestData.Random(filters, 13, 0.5f, 1.5f), beta = TestData.Random(filters, 14);
        // A bias BN takes out again: the gradients must not depend on it.
        float[] bias = TestData.Random(filters, 17);
        float[] dPooled = TestData.Random(n * pool.OutputSize, 15);
        Check(default(Relu), "relu");
        Check(new LeakyRelu(0.2f), "leaky relu");
        Check(default(Identity), "no activation");

        void Check<TAct>(TAct act, string name) where TAct : struct, IActivation
        {
            var (z, pooled, argmax, saved) = Forward(x, kernel, bias, gamma, beta, n, conv, pool, act);
            // The full-size path, as the generated code runs it when the input gradient is asked for.
            var dz = new float[z.Length];
            Pooling.MaxBackward(dPooled, pooled, argmax, dz, n, pool, act);
            float[] dGamma = new float[filters], dBeta = new float[filters], dKernel = new float[kernel.Length], dBias = new float[filters];
            BatchNorm.Backward(z, default, dz, gamma, saved, dGamma, dBeta, dz, n * conv.OutputHeight * conv.OutputWidth, filters, default(Identity));
            Conv2D.Backward(x, kernel, default, dz, dKernel, dBias, default, n, conv, default(Identity));
            float scale = dKernel.Max(MathF.Abs);

            float[]? first = null;
            foreach (int bits in new[] { 512, 256, 0 })
                foreach (int threads in new[] { 1, 2 })
                {
                    using var _ = new KernelSwitches(bits, threads);
                    float[] g = new float[filters], b = new float[filters], dk = new float[kernel.Length], dBiasFused = TestData.Random(filters, 16);
                    BatchNorm.ConvMaxPoolBackward(x, kernel, dPooled, pooled, argmax, gamma, saved, dk, dBiasFused, g, b, n, conv, pool, act);
                    string what = $"{name}, {conv}, {bits}-bit, {threads} thread(s)";
                    TestData.Close(dKernel, dk, 2e-4, 2e-5 * scale, what + ": kernel gradient");
                    TestData.Close(dGamma, g, 1e-4, 1e-5, what + ": gamma gradient");
                    TestData.Close(dBeta, b, 1e-4, 1e-5, what + ": beta gradient");
                    // BN takes the mean out again, so a bias before it has no gradient (the full-size path's is rounding).
                    Assert.All(dBiasFused, v => Assert.Equal(0f, v));
                    TestData.Close(dBias, dBiasFused, 0, 1e-4 * scale, what + ": bias gradient");
                    // Per-sample sums added in sample order: the thread count does not change a bit.
                    if (threads == 1) first = dk;
                    else TestData.SameBits(first, dk, what + ": against 1 thread");
                }
        }
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void StatisticsFromThePatchesAreThoseOfTheOutputAndTheFoldedConvolutionPoolsLikeBatchNorm(int n, int h, int w, int cin, int filters, int k, int stride, bool same)
    {
        var conv = ConvReference.Keras(h, w, cin, filters, k, k, stride, stride, same);
        var pool = ConvReference.Keras(conv.OutputHeight, conv.OutputWidth, filters, filters, 2, 2, 2, 2, false);
        // A mean far from zero and a large bias: the covariance must centre both away.
        float[] x = TestData.Random(n * conv.InputSize, 31, 2f, 3f);
        float[] kernel = TestData.Random(conv.PatchSize * filters, 32), bias = TestData.Random(filters, 33, 5f, 6f);
        float[] gamma = TestData.Random(filters, 34, 0.5f, 1.5f), beta = TestData.Random(filters, 35);
        var z = new float[n * conv.OutputSize];
        Conv2D.Forward(x, kernel, bias, z, n, conv, default(Identity));
        float[] mm = TestData.Random(filters, 36), mv = TestData.Random(filters, 37, 0.5f, 2f), saved = new float[2 * filters];
        var y = new float[z.Length];
        BatchNorm.ForwardTraining(z, y, gamma, beta, mm, mv, saved, n * conv.OutputHeight * conv.OutputWidth, filters, 0.9f, 1e-3f, default(Relu));
        var expected = new float[n * pool.OutputSize];
        Pooling.MaxForward(y, expected, n, pool);
        foreach (int bits in new[] { 512, 256, 0 })
            foreach (int threads in new[] { 1, 2 })
            {
                using var _ = new KernelSwitches(bits, threads);
                string what = $"{conv}, {bits}-bit, {threads} thread(s)";
                float[] mm2 = TestData.Random(filters, 36), mv2 = TestData.Random(filters, 37, 0.5f, 2f), saved2 = new float[2 * filters];
                float[] folded = new float[kernel.Length], foldedBias = new float[filters];
                BatchNorm.ConvStatistics(x, kernel, bias, gamma, beta, mm2, mv2, saved2, folded, foldedBias, n, conv, 0.9f, 1e-3f);
                TestData.Close(saved, saved2, 2e-5, 1e-6, what + ": mean and 1/σ");
                TestData.Close(mm, mm2, 2e-5, 1e-6, what + ": moving mean");
                TestData.Close(mv, mv2, 2e-5, 1e-6, what + ": moving variance");
                var pooled = new float[expected.Length];
                var argmax = new int[expected.Length];
                DirectConv2D.ForwardMaxPool2x2(x, folded, foldedBias, pooled, argmax, n, conv, default(Relu));
                TestData.Close(expected, pooled, 1e-4, 1e-4, what + ": pooled");
                // Each winner is a maximum of BN's output up to rounding (near-ties may pick the other).
                for (int i = 0; i < pooled.Length; i++)
                {
                    int sample = i / pool.OutputSize;
                    Assert.True(Math.Abs(y[sample * conv.OutputSize + argmax[i]] - expected[i]) <= 1e-4 + 1e-4 * Math.Abs(expected[i]), $"{what}: winner {i}");
                }
            }
    }

    /// <summary>
    /// Pixels whose mean dwarfs their spread, on a larger image: the patches' moments are taken about a shift per input channel,
    /// so the statistics and the kernel gradient keep the digits of the full-size path on every path. Taken about zero, the
    /// one-pass covariance subtracted two nearly equal sums of 12,288 floats per sample, and 1/σ lost them.
    /// </summary>
    [Theory]
    [InlineData(512)]
    [InlineData(256)]
    [InlineData(0)]
    public void MomentsKeepTheirDigitsWhenTheMeanDwarfsTheSpread(int bits)
    {
        const int n = 2, filters = 16;
        var conv = ConvReference.Keras(64, 64, 3, filters, 3, 3, 1, 1, true);
        var pool = ConvReference.Keras(64, 64, filters, filters, 2, 2, 2, 2, false);
        float[] x = TestData.Random(n * conv.InputSize, 41, 10f, 11f);
        float[] kernel = TestData.Random(conv.PatchSize * filters, 42);
        float[] gamma = TestData.Random(filters, 43, 0.5f, 1.5f), beta = TestData.Random(filters, 44);
        float[] dPooled = TestData.Random(n * pool.OutputSize, 45);
        var (z, pooled, argmax, saved) = Forward(x, kernel, null, gamma, beta, n, conv, pool, default(Relu));
        var dz = new float[z.Length];
        Pooling.MaxBackward(dPooled, pooled, argmax, dz, n, pool, default(Relu));
        float[] dGamma = new float[filters], dBeta = new float[filters], dKernel = new float[kernel.Length];
        BatchNorm.Backward(z, default, dz, gamma, saved, dGamma, dBeta, dz, n * conv.OutputHeight * conv.OutputWidth, filters, default(Identity));
        Conv2D.Backward(x, kernel, default, dz, dKernel, default, default, n, conv, default(Identity));

        using var _ = new KernelSwitches(bits, 2);
        float[] mm = new float[filters], mv = new float[filters], moments = new float[2 * filters];
        BatchNorm.ConvStatistics(x, kernel, default, gamma, beta, mm, mv, moments, new float[kernel.Length], new float[filters], n, conv, 0.99f, 1e-3f);
        for (int c = 0; c < filters; c++)
        {
            float sigma = 1 / saved[filters + c];
            Assert.True(Math.Abs(moments[c] - saved[c]) <= 1e-6 * sigma + 2e-7 * Math.Abs(saved[c]), $"{bits}-bit: mean {c} is {moments[c]}, the full-size path's {saved[c]}");
            Assert.True(Math.Abs(moments[filters + c] / saved[filters + c] - 1) <= 5e-6, $"{bits}-bit: 1/σ {c} is {moments[filters + c]}, the full-size path's {saved[filters + c]}");
        }
        float[] dk = new float[kernel.Length];
        BatchNorm.ConvMaxPoolBackward(x, kernel, dPooled, pooled, argmax, gamma, saved, dk, default, new float[filters], new float[filters], n, conv, pool, default(Relu));
        TestData.Close(dKernel, dk, 0, 1e-5 * dKernel.Max(MathF.Abs), $"{bits}-bit kernel gradient");
    }

    [Fact]
    public void MatchesFiniteDifferencesThroughTheWholeBlock()
    {
        const int n = 2;
        var conv = ConvReference.Keras(8, 8, 1, 6, 3, 3, 1, 1, true);
        var pool = ConvReference.Keras(8, 8, 6, 6, 2, 2, 2, 2, false);
        float[] x = TestData.Random(n * conv.InputSize, 21, 0f, 1f);
        float[] kernel = TestData.Random(conv.PatchSize * 6, 22);
        float[] gamma = TestData.Random(6, 23, 0.5f, 1.5f), beta = TestData.Random(6, 24);
        float[] r = TestData.Random(n * pool.OutputSize, 25);
        double Loss()
        {
            var (_, pooled, _, _) = Forward(x, kernel, default, gamma, beta, n, conv, pool, default(Relu));
            return GradCheck.Project(pooled, r);
        }
        var (_, pooled, argmax, saved) = Forward(x, kernel, default, gamma, beta, n, conv, pool, default(Relu));
        float[] dk = new float[kernel.Length], dg = new float[6], db = new float[6];
        BatchNorm.ConvMaxPoolBackward(x, kernel, r, pooled, argmax, gamma, saved, dk, default, dg, db, n, conv, pool, default(Relu));
        GradCheck.Check(kernel, dk, Loss, "kernel");
        GradCheck.Check(gamma, dg, Loss, "gamma");
        GradCheck.Check(beta, db, Loss, "beta");
    }

    [Fact]
    public void RejectsPoolingsAndPatchesItDoesNotTake()
    {
        var conv = ConvReference.Keras(8, 8, 1, 4, 3, 3, 1, 1, true);
        var pool = ConvReference.Keras(8, 8, 4, 4, 2, 2, 2, 2, false);
        var x = new float[2 * conv.InputSize];
        var pooled = new float[2 * pool.OutputSize];
        var argmax = new int[pooled.Length];
        var saved = new float[8];
        ArgumentException Call(in Conv2DGeometry c, in Conv2DGeometry p, int kernelLength)
        {
            var cc = c;
            var pp = p;
            return Assert.ThrowsAny<ArgumentException>(() => BatchNorm.ConvMaxPoolBackward(x, new float[kernelLength], pooled, pooled, argmax, default, saved,
                new float[kernelLength], default, default, default, 2, cc, pp, default(Relu)));
        }
        Assert.Contains("2×2", Call(conv, ConvReference.Keras(8, 8, 4, 4, 3, 3, 2, 2, false), 36).Message);
        Assert.Contains("taps", Call(ConvReference.Keras(8, 8, 4, 4, 3, 3, 1, 1, true), pool, 144).Message);
        Assert.Contains("kernel", Call(conv, pool, 35).Message);
    }

    [Theory]
    [InlineData(16, 512)] // the 16-channel path
    [InlineData(16, 0)]   // the scalar path
    [InlineData(5, 512)]  // channels past the vectors
    public void RejectsWinnersOutsideTheirWindowInsteadOfReadingPastThePatches(int filters, int bits)
    {
        using var _ = new KernelSwitches(bits, 1);
        var conv = ConvReference.Keras(6, 6, 2, filters, 3, 3, 1, 1, true);
        var pool = ConvReference.Keras(6, 6, filters, filters, 2, 2, 2, 2, false);
        float[] x = TestData.Random(2 * conv.InputSize, 21), kernel = TestData.Random(conv.PatchSize * filters, 22);
        var (_, pooled, argmax, saved) = Forward(x, kernel, null, TestData.Random(filters, 23, 0.5f, 1.5f), TestData.Random(filters, 24), 2, conv, pool, default(Relu));
        float[] dPooled = TestData.Random(pooled.Length, 25);
        foreach (int wrong in new[] { 3 * filters - 1, -filters, int.MaxValue - 7, 1 })
        {
            var bad = (int[])argmax.Clone();
            // The last channel of the second sample's first window: a pixel past its window, before the sample, far past it, another channel.
            int at = pool.OutputSize + filters - 1;
            bad[at] = wrong == 1 ? argmax[at] - 1 : wrong;
            var e = Assert.Throws<ArgumentException>(() => BatchNorm.ConvMaxPoolBackward(x, kernel, dPooled, pooled, bad, default, saved,
                new float[kernel.Length], default, default, default, 2, conv, pool, default(Relu)));
            Assert.Contains("argmax", e.Message);
        }
    }

    /// <summary>The block's training forward pass: z = conv(x), then BN with batch statistics, act and the pooling with its winners.</summary>
    private static (float[] Z, float[] Pooled, int[] Argmax, float[] Saved) Forward<TAct>(float[] x, float[] kernel, float[]? bias, float[] gamma, float[] beta,
        int n, Conv2DGeometry conv, Conv2DGeometry pool, TAct act) where TAct : struct, IActivation
    {
        int filters = conv.OutputChannels;
        var z = new float[n * conv.OutputSize];
        Conv2D.Forward(x, kernel, bias, z, n, conv, default(Identity));
        float[] mm = new float[filters], mv = new float[filters], saved = new float[2 * filters];
        var pooled = new float[n * pool.OutputSize];
        var argmax = new int[pooled.Length];
        BatchNorm.ForwardTrainingMaxPool(z, pooled, argmax, gamma, beta, mm, mv, saved, n, pool, 0.99f, 1e-3f, act);
        return (z, pooled, argmax, saved);
    }
}
