using System;
using Kiln.Kernels;

namespace Kiln.Runtime.Tests.Kernels.Convolution;

[Collection(KernelCollection.Name)]
public class BatchNormTests
{
    [Theory]
    [InlineData(512)]
    [InlineData(0)]
    public void TrainingNormalizesWithBiasedVarianceAndUpdatesMovingStatistics(int bits)
    {
        using var _ = new KernelSwitches(bits, 2);
        const int rows = 601, channels = 21; // more than two row blocks, channels past one vector
        float[] x = TestData.Random(rows * channels, 51, 2f, 5f); // non-zero mean
        float[] gamma = TestData.Random(channels, 52, 0.5f, 1.5f);
        float[] beta = TestData.Random(channels, 53);
        float[] movingMean = TestData.Random(channels, 54);
        float[] movingVar = TestData.Random(channels, 55, 0.5f, 2f);
        float[] mm0 = (float[])movingMean.Clone(), mv0 = (float[])movingVar.Clone();
        var y = new float[x.Length];
        var saved = new float[2 * channels];
        BatchNorm.ForwardTraining(x, y, gamma, beta, movingMean, movingVar, saved, rows, channels, 0.99f, 1e-3f, new Relu());
        for (int j = 0; j < channels; j++)
        {
            var (mean, v) = Moments(x, rows, channels, j); // biased variance, as Keras normalizes and tracks
            Near(mean, saved[j]);
            Near(1 / Math.Sqrt(v + 1e-3), saved[channels + j]);
            Near(mm0[j] * 0.99 + mean * 0.01, movingMean[j]);
            Near(mv0[j] * 0.99 + v * 0.01, movingVar[j]);
            for (int r = 0; r < rows; r++)
            {
                double expected = Math.Max(0, gamma[j] * (x[r * channels + j] - mean) / Math.Sqrt(v + 1e-3) + beta[j]);
                Assert.True(Math.Abs(expected - y[r * channels + j]) < 2e-5, $"y[{r}, {j}] = {y[r * channels + j]}, expected {expected}");
            }
        }
    }

    /// <summary>Channel <paramref name="j"/>'s mean and biased variance, in double, two passes.</summary>
    private static (double Mean, double Variance) Moments(float[] x, int rows, int channels, int j)
    {
        double mean = 0, v = 0;
        for (int r = 0; r < rows; r++) mean += x[r * channels + j];
        mean /= rows;
        for (int r = 0; r < rows; r++) v += Math.Pow(x[r * channels + j] - mean, 2);
        return (mean, v / rows);
    }

    /// <summary>
    /// A large mean and a small spread that drifts from row block to row block (each block's own mean
    /// differs): the per-block deviations combined with Chan's formula keep the variance as precise as two whole passes.
    /// </summary>
    [Theory]
    [InlineData(512)]
    [InlineData(256)]
    [InlineData(0)]
    public void VarianceStaysPreciseUnderALargeMeanThatDriftsAcrossBlocks(int bits)
    {
        using var _ = new KernelSwitches(bits, 2);
        const int rows = 1000, channels = 19;
        float[] noise = TestData.Random(rows * channels, 56);
        var x = new float[rows * channels];
        for (int r = 0; r < rows; r++)
            for (int j = 0; j < channels; j++)
                x[r * channels + j] = 1000f + 0.01f * noise[r * channels + j] + r * 2e-5f * (j + 1);
        float[] movingMean = new float[channels], movingVar = new float[channels];
        BatchNorm.ForwardTraining(x, new float[x.Length], default, default, movingMean, movingVar, new float[2 * channels], rows, channels, 0f, 1e-3f, new Identity());
        for (int j = 0; j < channels; j++)
        {
            var (mean, v) = Moments(x, rows, channels, j);
            // 1.3e-4 at worst here, from the float block sums' rounding (the two-pass reference's too); without
            // the cross term a float block mean leaves, 1.3e-2.
            Assert.True(Math.Abs(movingVar[j] - v) <= 5e-4 * v, $"channel {j}: variance {movingVar[j]}, expected {v}");
        }
    }

    /// <summary>
    /// The block deviations moved to the batch mean, eight channels at a time in double vectors, against the scalar
    /// formula term by term: the same bits, whole groups and the channels after them.
    /// </summary>
    [Theory]
    [InlineData(256, 16)]
    [InlineData(97, 21)]
    [InlineData(1, 3)]
    public unsafe void BlockDeviationsMoveToTheBatchMeanWithTheScalarFormulasBits(int n, int channels)
    {
        float[] sums = TestData.Random(channels, 81, -50f, 300f), residuals = TestData.Random(channels, 82, -1e-3f, 1e-3f);
        float[] squares = TestData.Random(channels, 83, 0f, 40f), mean = TestData.Random(channels, 84, -0.5f, 1.5f);
        var expected = new float[channels];
        float inv = 1f / n;
        for (int j = 0; j < channels; j++)
        {
            double d = sums[j] * inv - (double)mean[j];
            expected[j] = (float)(squares[j] + 2 * d * residuals[j] + n * d * d);
        }
        fixed (float* s = sums, r = residuals, q = squares, m = mean)
            BatchNorm.AboutMean(s, r, q, m, 0, n, channels);
        TestData.SameBits(expected, squares, "squares about the batch mean");
    }

    /// <summary>The residual form adds the shortcut before the activation: y = relu(BN(x) + r), against the double reference.</summary>
    [Theory]
    [InlineData(512)]
    [InlineData(256)]
    [InlineData(0)]
    public void TrainingAddsAResidualBeforeTheActivation(int bits)
    {
        using var _ = new KernelSwitches(bits, 2);
        const int rows = 301, channels = 19;
        float[] x = TestData.Random(rows * channels, 61, 2f, 5f);
        float[] residual = TestData.Random(rows * channels, 62, -2f, 2f);
        float[] gamma = TestData.Random(channels, 63, 0.5f, 1.5f);
        float[] beta = TestData.Random(channels, 64);
        float[] movingMean = new float[channels], movingVar = new float[channels];
        var y = new float[x.Length];
        var saved = new float[2 * channels];
        BatchNorm.ForwardTraining(x, y, gamma, beta, movingMean, movingVar, saved, rows, channels, 0.99f, 1e-3f, residual, new Relu());
        for (int j = 0; j < channels; j++)
        {
            var (mean, v) = Moments(x, rows, channels, j);
            for (int r = 0; r < rows; r++)
            {
                int i = r * channels + j;
                double expected = Math.Max(0, gamma[j] * (x[i] - mean) / Math.Sqrt(v + 1e-3) + beta[j] + residual[i]);
                Assert.True(Math.Abs(expected - y[i]) < 3e-5, $"y[{r}, {j}] = {y[i]}, expected {expected}");
            }
        }
        Assert.Throws<ArgumentException>(() => BatchNorm.ForwardTraining(x, y, gamma, beta, movingMean, movingVar, saved, rows, channels, 0.99f, 1e-3f,
            residual.AsSpan(1), new Relu()));
    }

    [Theory]
    [InlineData(false, false)]
    [InlineData(true, false)]
    [InlineData(true, true)]
    public void BackwardPassesGradientCheck(bool relu, bool noScaleNoCenter)
    {
        using var _ = new KernelSwitches(512, 2);
        if (relu) Check(new Relu(), noScaleNoCenter);
        else Check(new Identity(), noScaleNoCenter);
    }

    private static void Check<TAct>(TAct act, bool noScaleNoCenter) where TAct : struct, IActivation
    {
        const int rows = 37, channels = 19;
        float[] x = TestData.Random(rows * channels, 61, -2f, 2f);
        float[] gamma = noScaleNoCenter ? Array.Empty<float>() : TestData.Random(channels, 62, 0.5f, 1.5f);
        float[] beta = noScaleNoCenter ? Array.Empty<float>() : TestData.Random(channels, 63, -0.3f, 0.3f);
        float[] r = TestData.Random(rows * channels, 64);
        var mm = new float[channels];
        var mv = new float[channels];
        var y = new float[x.Length];
        var saved = new float[2 * channels];
        BatchNorm.ForwardTraining(x, y, gamma, beta, mm, mv, saved, rows, channels, 0.9f, 1e-3f, act);
        float[] dy = (float[])r.Clone();
        var dGamma = new float[channels];
        var dBeta = new float[channels];
        // dx in dy's own memory, as the generator may plan it.
        BatchNorm.Backward(x, y, dy, gamma, saved, noScaleNoCenter ? Span<float>.Empty : dGamma, noScaleNoCenter ? Span<float>.Empty : dBeta, dy, rows, channels, act);
        float[] dx = dy;

        var scratch = new float[x.Length];
        var s2 = new float[2 * channels];
        double Loss()
        {
            BatchNorm.ForwardTraining(x, scratch, gamma, beta, mm, mv, s2, rows, channels, 0.9f, 1e-3f, act);
            return GradCheck.Project(scratch, r);
        }
        string name = typeof(TAct).Name;
        GradCheck.Check(x, dx, Loss, name + " dx", 2e-2, 5e-4);
        if (noScaleNoCenter) return;
        GradCheck.Check(gamma, dGamma, Loss, name + " dGamma", 2e-2, 5e-4);
        GradCheck.Check(beta, dBeta, Loss, name + " dBeta", 2e-2, 5e-4);
    }

    /// <summary>
    /// The derivative redone from BN's input has the bits of the one read from the stored output, and so do dx and the
    /// gamma and beta gradients, on every vector path, with and without gamma and beta, with dx in dy's memory or not.
    /// dy keeps its values (only the stored-output form masks it in place).
    /// </summary>
    [Theory]
    [InlineData(512, 1, false, false)]
    [InlineData(512, 2, false, true)]
    [InlineData(512, 2, true, false)]
    [InlineData(256, 2, false, false)]
    [InlineData(0, 1, true, true)]
    public void BackwardFromInputGivesTheBitsOfBackwardFromTheOutput(int bits, int threads, bool noScaleNoCenter, bool leaky)
    {
        using var _ = new KernelSwitches(bits, threads);
        if (leaky) FromInputMatches(new LeakyRelu(0.2f), noScaleNoCenter);
        else FromInputMatches(new Relu(), noScaleNoCenter);
    }

    private static void FromInputMatches<TAct>(TAct act, bool noScaleNoCenter) where TAct : struct, IActivation
    {
        const int rows = 601, channels = 37; // three row blocks, two vectors and a tail
        float[] x = TestData.Random(rows * channels, 71, -2f, 2f);
        float[] gamma = noScaleNoCenter ? Array.Empty<float>() : TestData.Random(channels, 72, -1.5f, 1.5f);
        float[] beta = noScaleNoCenter ? Array.Empty<float>() : TestData.Random(channels, 73, -0.5f, 0.5f);
        float[] dyIn = TestData.Random(rows * channels, 74);
        var y = new float[x.Length];
        var saved = new float[2 * channels];
        BatchNorm.ForwardTraining(x, y, gamma, beta, new float[channels], new float[channels], saved, rows, channels, 0.9f, 1e-3f, act);
        Assert.Contains(y, v => v == 0f || v < 0f); // some derivatives are not 1
        float[] Gradients(bool fromInput, bool inPlace, out float[] dy, out float[] dGamma, out float[] dBeta)
        {
            dy = (float[])dyIn.Clone();
            dGamma = new float[noScaleNoCenter ? 0 : channels];
            dBeta = new float[noScaleNoCenter ? 0 : channels];
            float[] dx = inPlace ? dy : new float[x.Length];
            if (fromInput) BatchNorm.BackwardFromInput(x, dy, gamma, beta, saved, dGamma, dBeta, dx, rows, channels, act);
            else BatchNorm.Backward(x, y, dy, gamma, saved, dGamma, dBeta, dx, rows, channels, act);
            return dx;
        }
        float[] expected = Gradients(false, false, out _, out var expectedGamma, out var expectedBeta);
        foreach (bool inPlace in new[] { false, true })
        {
            float[] dx = Gradients(true, inPlace, out var dy, out var dGamma, out var dBeta);
            Assert.Equal(expected, dx);
            Assert.Equal(expectedGamma, dGamma);
            Assert.Equal(expectedBeta, dBeta);
            if (!inPlace) Assert.Equal(dyIn, dy);
        }
    }

    /// <summary>
    /// Rows of one or two whole vectors (16 and 32 channels) take the passes slice by slice, with each slice's
    /// values in registers: their outputs, sums and in-place masked gradient have the bits of the row-by-row
    /// passes (whose values the tests above check), forward with a residual and every backward form, at both widths.
    /// </summary>
    [Theory]
    [InlineData(512, 16)]
    [InlineData(512, 32)]
    [InlineData(256, 16)]
    [InlineData(256, 32)]
    public void SliceBySlicePassesGiveTheBitsOfRowByRowPasses(int bits, int channels)
    {
        using var _ = new KernelSwitches(bits, 2);
        const int rows = 601; // three row blocks, the last one ending inside a slice's run of rows
        float[] x = TestData.Random(rows * channels, 81, -2f, 3f);
        float[] residual = TestData.Random(rows * channels, 82);
        float[] gamma = TestData.Random(channels, 83, 0.5f, 1.5f);
        float[] beta = TestData.Random(channels, 84);
        float[] dyIn = TestData.Random(rows * channels, 85);
        float[][] Run(int sliceMaxChannels)
        {
            int before = BatchNorm.SliceMaxChannels;
            BatchNorm.SliceMaxChannels = sliceMaxChannels;
            try
            {
                var y = new float[x.Length];
                var saved = new float[2 * channels];
                BatchNorm.ForwardTraining(x, y, gamma, beta, new float[channels], new float[channels], saved, rows, channels, 0.9f, 1e-3f, residual, new Relu());
                float[] dzStored = (float[])dyIn.Clone(), dxStored = new float[x.Length], dGammaStored = new float[channels], dBetaStored = new float[channels];
                BatchNorm.Backward(x, y, dzStored, gamma, saved, dGammaStored, dBetaStored, dxStored, rows, channels, new Relu());
                float[] dy = (float[])dyIn.Clone(), dxInput = new float[x.Length], dGammaInput = new float[channels], dBetaInput = new float[channels];
                BatchNorm.BackwardFromInput(x, dy, gamma, beta, saved, dGammaInput, dBetaInput, dxInput, rows, channels, new Relu());
                return new[] { y, saved, dzStored, dxStored, dGammaStored, dBetaStored, dxInput, dGammaInput, dBetaInput };
            }
            finally { BatchNorm.SliceMaxChannels = before; }
        }
        float[][] rowByRow = Run(0), slices = Run(32);
        for (int i = 0; i < rowByRow.Length; i++) Assert.Equal(rowByRow[i], slices[i]);
    }

    [Fact]
    public void InferenceUsesMovingStatisticsAndFoldingIntoConvMatches()
    {
        using var _ = new KernelSwitches(512, 2);
        const int n = 2;
        Conv2DGeometry g = ConvReference.Keras(7, 6, 5, 20, 3, 3, 1, 1, true);
        int f = g.OutputChannels;
        float[] x = TestData.Random(n * g.InputSize, 71);
        float[] kernel = TestData.Random(g.PatchSize * f, 72, -0.3f, 0.3f);
        float[] bias = TestData.Random(f, 73);
        float[] gamma = TestData.Random(f, 74, 0.5f, 1.5f);
        float[] beta = TestData.Random(f, 75);
        float[] mean = TestData.Random(f, 76);
        float[] variance = TestData.Random(f, 77, 0.2f, 2f);
        const float eps = 1e-3f;

        var z = new float[n * g.OutputSize];
        Conv2D.Forward(x, kernel, bias, z, n, g, new Identity());
        var bn = new float[z.Length];
        BatchNorm.ForwardInference(z, bn, gamma, beta, mean, variance, n * g.OutputHeight * g.OutputWidth, f, eps, new Relu());
        for (int i = 0; i < z.Length; i++)
        {
            int j = i % f;
            double e = Math.Max(0, gamma[j] * (z[i] - mean[j]) / Math.Sqrt(variance[j] + eps) + beta[j]);
            Assert.True(Math.Abs(e - bn[i]) < 1e-5, $"inference {i}: {bn[i]} vs {e}");
        }

        var foldedKernel = new float[kernel.Length];
        var foldedBias = new float[f];
        BatchNorm.Fold(kernel, bias, gamma, beta, mean, variance, eps, foldedKernel, foldedBias, f);
        var folded = new float[z.Length];
        Conv2D.Forward(x, foldedKernel, foldedBias, folded, n, g, new Relu());
        TestData.Close(bn, folded, 1e-5, 1e-5, "folded conv vs conv then BN");

        // Dense layout (in, units), no bias, no scale/center.
        float[] dense = TestData.Random(4 * f, 78);
        var fk = new float[dense.Length];
        BatchNorm.Fold(dense, ReadOnlySpan<float>.Empty, ReadOnlySpan<float>.Empty, ReadOnlySpan<float>.Empty, mean, variance, eps, fk, foldedBias, f);
        for (int i = 0; i < dense.Length; i++) Near(dense[i] / MathF.Sqrt(variance[i % f] + eps), fk[i]);
        for (int j = 0; j < f; j++) Near(-mean[j] / MathF.Sqrt(variance[j] + eps), foldedBias[j]);
    }

    [Theory]
    [InlineData(2, 2, 3, 5)]
    [InlineData(3, 3, 4, 4)]
    [InlineData(4, 4, 1, 7)]
    public void FoldIntoATransposedConvolutionScalesItsFilterAxis(int kh, int kw, int filters, int inputs)
    {
        // Keras' transposed kernel is (kh, kw, filters, inputs): weight i belongs to filter (i / inputs) % filters.
        float[] kernel = TestData.Random(kh * kw * filters * inputs, 81, -0.3f, 0.3f);
        float[] bias = TestData.Random(filters, 82);
        float[] gamma = TestData.Random(filters, 83, 0.5f, 1.5f);
        float[] beta = TestData.Random(filters, 84);
        float[] mean = TestData.Random(filters, 85);
        float[] variance = TestData.Random(filters, 86, 0.2f, 2f);
        const float eps = 1e-3f;
        var foldedKernel = new float[kernel.Length];
        var foldedBias = new float[filters];
        BatchNorm.FoldTransposed(kernel, bias, gamma, beta, mean, variance, eps, foldedKernel, foldedBias, filters, inputs);
        for (int i = 0; i < kernel.Length; i++)
        {
            int j = i / inputs % filters;
            Near(kernel[i] * gamma[j] / Math.Sqrt(variance[j] + eps), foldedKernel[i]);
        }
        for (int j = 0; j < filters; j++) Near((bias[j] - mean[j]) * gamma[j] / Math.Sqrt(variance[j] + eps) + beta[j], foldedBias[j]);
        Assert.Throws<ArgumentException>(() => BatchNorm.FoldTransposed(kernel.AsSpan(1), bias, gamma, beta, mean, variance, eps, foldedKernel.AsSpan(1), foldedBias, filters, inputs));
    }

    /// <summary>Relative 1e-6: float statistics against a double reference.</summary>
    private static void Near(double expected, double actual)
    {
        if (!(Math.Abs(expected - actual) <= 1e-6 * (1 + Math.Abs(expected))))
            Assert.Fail($"{actual} is not within 1e-6 of {expected}");
    }

    [Fact]
    public void OneAndTwoThreadsGiveTheSameBits()
    {
        const int rows = 64 * 8 * 8, channels = 48;
        float[] x = TestData.Random(rows * channels, 81);
        float[] dyIn = TestData.Random(rows * channels, 82);
        float[] gamma = TestData.Random(channels, 83);
        float[][] Run(int threads)
        {
            using var _ = new KernelSwitches(512, threads);
            var y = new float[x.Length];
            var mm = new float[channels];
            var mv = new float[channels];
            var saved = new float[2 * channels];
            BatchNorm.ForwardTraining(x, y, gamma, ReadOnlySpan<float>.Empty, mm, mv, saved, rows, channels, 0.99f, 1e-3f, new Relu());
            float[] dy = (float[])dyIn.Clone();
            var dg = new float[channels];
            var db = new float[channels];
            var dx = new float[x.Length];
            BatchNorm.Backward(x, y, dy, gamma, saved, dg, db, dx, rows, channels, new Relu());
            return new[] { y, mm, mv, saved, dg, db, dx };
        }
        float[][] one = Run(1), two = Run(2);
        for (int i = 0; i < one.Length; i++) Assert.Equal(one[i], two[i]);
    }

    [Theory]
    [MemberData(nameof(PoolingTests.Shapes), MemberType = typeof(PoolingTests))]
    public void TrainingPooledAsItNormalizesGivesTheBitsOfNormalizingThenPooling(int n, int h, int w, int c, int pool, int stride, bool same)
    {
        Conv2DGeometry g = ConvReference.Keras(h, w, c, c, pool, pool, stride, stride, same);
        int rows = n * h * w;
        // Repeated values, so windows hold ties (the first must win, as in Pooling.MaxForward) and ReLU zeros.
        float[] x = TestData.Random(rows * c, 91);
        for (int i = 0; i < x.Length; i += 7) x[i] = x[i / 2];
        float[] gamma = TestData.Random(c, 92, 0.5f, 1.5f), beta = TestData.Random(c, 93);
        Check(default(Relu), "relu", beta);
        Check(new LeakyRelu(0.2f), "leaky relu", beta);
        Check(default(Tanh), "tanh", ReadOnlySpan<float>.Empty);
        Check(default(Sigmoid), "sigmoid", beta);
        Check(default(Identity), "no activation", beta);

        void Check<TAct>(TAct act, string name, ReadOnlySpan<float> shift) where TAct : struct, IActivation
        {
            foreach (int bits in new[] { 512, 256, 0 })
                foreach (int threads in new[] { 1, 2 })
                {
                    using var _ = new KernelSwitches(bits, threads);
                    var y = new float[x.Length];
                    float[] mm = TestData.Random(c, 94), mv = TestData.Random(c, 95, 0.5f, 2f), saved = new float[2 * c];
                    var pooled = new float[n * g.OutputSize];
                    var argmax = new int[pooled.Length];
                    BatchNorm.ForwardTraining(x, y, gamma, shift, mm, mv, saved, rows, c, 0.9f, 1e-3f, act);
                    Pooling.MaxForward(y, pooled, argmax, n, g);

                    float[] mm2 = TestData.Random(c, 94), mv2 = TestData.Random(c, 95, 0.5f, 2f), saved2 = new float[2 * c];
                    var pooled2 = new float[pooled.Length];
                    var argmax2 = new int[argmax.Length];
                    argmax2.AsSpan().Fill(-1);
                    BatchNorm.ForwardTrainingMaxPool(x, pooled2, argmax2, gamma, shift, mm2, mv2, saved2, n, g, 0.9f, 1e-3f, act);
                    string what = $"{name}, {bits}-bit, {threads} thread(s)";
                    TestData.SameBits(pooled, pooled2, what + ": pooled");
                    Assert.Equal(argmax, argmax2);
                    TestData.SameBits(saved, saved2, what + ": saved statistics");
                    TestData.SameBits(mm, mm2, what + ": moving mean");
                    TestData.SameBits(mv, mv2, what + ": moving variance");
                }
        }
    }

    [Fact]
    public void TrainingPooledAsItNormalizesRejectsBuffersThatDoNotFitTheWindow()
    {
        Conv2DGeometry g = ConvReference.Keras(4, 4, 3, 3, 2, 2, 2, 2, false);
        var x = new float[2 * 4 * 4 * 3];
        var saved = new float[6];
        var e = Assert.Throws<ArgumentException>(() => BatchNorm.ForwardTrainingMaxPool(x, new float[2 * 2 * 2 * 3], new int[5], default, default,
            new float[3], new float[3], saved, 2, g, 0.9f, 1e-3f, default(Relu)));
        Assert.Contains("argmax", e.Message);
        e = Assert.Throws<ArgumentException>(() => BatchNorm.ForwardTrainingMaxPool(x, new float[2 * 2 * 2 * 3], new int[24], default, default,
            new float[3], new float[3], saved, 3, g, 0.9f, 1e-3f, default(Relu)));
        Assert.Contains("x", e.Message);
    }
}
