using System;
using System.Linq;
using Kiln;

namespace Kiln.EndToEnd.Tests;

/// <summary>
/// BatchNormalization against Keras' semantics (batch statistics and the biased variance in
/// training, moving = moving·momentum + batch·(1 − momentum) starting from 0 and 1, moving
/// statistics in inference), and inference folding against an unfused twin.
/// </summary>
public sealed class BatchNormTests
{
    private static float[] Random(int count, int seed, double low = -1.5, double high = 1.5)
    {
        var rng = new Random(seed);
        var x = new float[count];
        for (int i = 0; i < x.Length; i++) x[i] = (float)(low + rng.NextDouble() * (high - low));
        return x;
    }

    private static void Fill(Span<float> values, int seed, double low, double high) => Random(values.Length, seed, low, high).CopyTo(values);

    /// <summary>Per-channel mean and biased variance of a rows × channels matrix (channels last), in double.</summary>
    private static (double[] Mean, double[] Variance) Statistics(ReadOnlySpan<double> z, int channels)
    {
        int rows = z.Length / channels;
        var mean = new double[channels];
        var variance = new double[channels];
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < channels; c++) mean[c] += z[r * channels + c];
        for (int c = 0; c < channels; c++) mean[c] /= rows;
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < channels; c++) variance[c] += Math.Pow(z[r * channels + c] - mean[c], 2);
        for (int c = 0; c < channels; c++) variance[c] /= rows;
        return (mean, variance);
    }

    private static double[] ToDouble(ReadOnlySpan<float> v)
    {
        var d = new double[v.Length];
        for (int i = 0; i < v.Length; i++) d[i] = v[i];
        return d;
    }

    private static void AssertClose(ReadOnlySpan<double> expected, ReadOnlySpan<float> actual, string what, double tolerance = 2e-6)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - actual[i]) <= tolerance * Math.Max(1, Math.Abs(expected[i])),
                $"{what}[{i}]: {actual[i]}, expected {expected[i]}");
    }

    /// <summary>y = gamma·(z − mean)/√(var + eps) + beta per channel.</summary>
    private static double[] Normalize(ReadOnlySpan<double> z, double[] mean, double[] variance, ReadOnlySpan<float> gamma, ReadOnlySpan<float> beta, double epsilon)
    {
        int channels = mean.Length;
        var y = new double[z.Length];
        for (int i = 0; i < z.Length; i++)
        {
            int c = i % channels;
            y[i] = (gamma.IsEmpty ? 1 : gamma[c]) * (z[i] - mean[c]) / Math.Sqrt(variance[c] + epsilon) + (beta.IsEmpty ? 0 : beta[c]);
        }
        return y;
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void MovingStatisticsFollowKerasAndInferenceUsesThem(bool custom)
    {
        // BnOnly: (2, 3, 4), Keras defaults (momentum 0.99, epsilon 1e-3). BnCustom: (5), momentum 0.8, epsilon 0.1.
        Model m = custom ? new BnCustom(batchSize: 4) : new BnOnly(batchSize: 4);
        double momentum = custom ? 0.8 : 0.99, epsilon = custom ? 0.1 : 1e-3;
        int channels = custom ? 5 : 4;
        Assert.Equal(["batch_normalization/gamma", "batch_normalization/beta", "batch_normalization/moving_mean", "batch_normalization/moving_variance"],
            m.Description.Tensors.Select(t => t.Name).ToArray());
        Assert.All(m.Tensor("batch_normalization/moving_mean").ToArray(), v => Assert.Equal(0f, v));
        Assert.All(m.Tensor("batch_normalization/moving_variance").ToArray(), v => Assert.Equal(1f, v));
        Fill(m.Tensor("batch_normalization/gamma"), 1, 0.5, 2);
        Fill(m.Tensor("batch_normalization/beta"), 2, -1, 1);
        float[] gamma = m.Tensor("batch_normalization/gamma").ToArray(), beta = m.Tensor("batch_normalization/beta").ToArray();

        var movingMean = new double[channels];
        var movingVariance = Enumerable.Repeat(1.0, channels).ToArray();
        // A full batch, then a partial one (its statistics must not see the full batch's 4th sample), then another.
        int[] sizes = [4, 3, 2];
        for (int step = 0; step < sizes.Length; step++)
        {
            int n = sizes[step];
            // Channels with different offsets and scales, as real features have.
            float[] x = Random(n * m.InputSize, 10 + step);
            for (int i = 0; i < x.Length; i++) x[i] = x[i] * (1 + i % channels) + 3 * (i % channels) - 2;
            double[] z = ToDouble(x);
            var (mean, variance) = Statistics(z, channels);

            float[] y = m.Forward(x, n, training: true).ToArray();
            AssertClose(Normalize(z, mean, variance, gamma, beta, epsilon), y, $"training output, step {step}", 1e-5);
            for (int c = 0; c < channels; c++)
            {
                movingMean[c] = movingMean[c] * momentum + mean[c] * (1 - momentum);
                movingVariance[c] = movingVariance[c] * momentum + variance[c] * (1 - momentum); // biased
            }
            AssertClose(movingMean, m.Tensor("batch_normalization/moving_mean"), $"moving_mean after step {step}");
            AssertClose(movingVariance, m.Tensor("batch_normalization/moving_variance"), $"moving_variance after step {step}");
        }

        // Inference: the moving statistics, which an inference pass leaves alone.
        float[] xi = Random(3 * m.InputSize, 20, -3, 3);
        float[] inference = m.Forward(xi, 3, training: false).ToArray();
        AssertClose(Normalize(ToDouble(xi), movingMean, movingVariance, gamma, beta, epsilon), inference, "inference output", 1e-5);
        AssertClose(movingMean, m.Tensor("batch_normalization/moving_mean"), "moving_mean after inference");
        AssertClose(movingVariance, m.Tensor("batch_normalization/moving_variance"), "moving_variance after inference");
        Assert.Equal(inference, m.Predict(xi, 3));
    }

    /// <summary>Fused Conv2D + BN (+ ReLU): the statistics are those of the convolution's output.</summary>
    [Fact]
    public void FusedConvBatchNormalizationUpdatesTheMovingStatisticsFromTheConvolution()
    {
        var m = new ConvBnRelu(batchSize: 4, seed: 3); // Conv2D(3, 3, no bias) + BN + ReLU on (5, 6, 2)
        Fill(m.Tensor("batch_normalization/gamma"), 4, 0.5, 2);
        Fill(m.Tensor("batch_normalization/beta"), 5, -1, 1);
        const int n = 3;
        float[] x = Random(n * m.InputSize, 30, -1, 2);
        double[] z = ConvLayerTests.Conv(x, 5, 6, 2, m.Tensor("conv2d/kernel").ToArray(), [], 3, 3, 3, 1, 1, false, out _, out _, n);
        var (mean, variance) = Statistics(z, 3);
        m.Forward(x, n, training: true);
        AssertClose(mean.Select(v => 0.01 * v).ToArray(), m.Tensor("batch_normalization/moving_mean"), "moving_mean", 1e-5);
        AssertClose(variance.Select(v => 0.99 + 0.01 * v).ToArray(), m.Tensor("batch_normalization/moving_variance"), "moving_variance", 1e-5);
    }

    /// <summary>Fused Dense (with a bias) + BN(momentum 0.9, epsilon 0.01) + ReLU: statistics, and the folded inference against a direct computation.</summary>
    [Fact]
    public void FusedDenseBatchNormalizationHonoursMomentumAndEpsilon()
    {
        var m = new FoldedDenseBn(batchSize: 4, seed: 4); // Dense(6) + BN + ReLU, Dense(3) on (7)
        GradientCheck.RandomizeBiases(m, 4);
        Fill(m.Tensor("batch_normalization/gamma"), 6, 0.5, 2);
        Fill(m.Tensor("batch_normalization/beta"), 7, -0.5, 1);
        float[] k = m.Tensor("dense/kernel").ToArray(), b = m.Tensor("dense/bias").ToArray();
        double[] Dense(float[] input, int n)
        {
            var z = new double[n * 6];
            for (int s = 0; s < n; s++)
                for (int o = 0; o < 6; o++)
                {
                    double acc = b[o];
                    for (int i = 0; i < 7; i++) acc += (double)input[s * 7 + i] * k[i * 6 + o];
                    z[s * 6 + o] = acc;
                }
            return z;
        }

        float[] x = Random(4 * 7, 40, -1, 2);
        var (mean, variance) = Statistics(Dense(x, 4), 6);
        m.Forward(x, 4, training: true);
        AssertClose(mean.Select(v => 0.1 * v).ToArray(), m.Tensor("batch_normalization/moving_mean"), "moving_mean", 1e-5);
        AssertClose(variance.Select(v => 0.9 + 0.1 * v).ToArray(), m.Tensor("batch_normalization/moving_variance"), "moving_variance", 1e-5);

        // Inference, folded: relu(gamma·(z − mm)/√(mv + 0.01) + beta) then Dense(3).
        float[] xi = Random(3 * 7, 41, -1, 2);
        double[] h = Normalize(Dense(xi, 3), ToDouble(m.Tensor("batch_normalization/moving_mean")), ToDouble(m.Tensor("batch_normalization/moving_variance")),
            m.Tensor("batch_normalization/gamma"), m.Tensor("batch_normalization/beta"), 0.01);
        float[] k1 = m.Tensor("dense_1/kernel").ToArray(), b1 = m.Tensor("dense_1/bias").ToArray();
        var expected = new double[3 * 3];
        for (int s = 0; s < 3; s++)
            for (int o = 0; o < 3; o++)
            {
                double acc = b1[o];
                for (int i = 0; i < 6; i++) acc += Math.Max(0, h[s * 6 + i]) * k1[i * 3 + o];
                expected[s * 3 + o] = acc;
            }
        AssertClose(expected, m.Forward(xi, 3, training: false), "folded inference", 1e-5);
    }

    /// <summary>Backward needs the batch statistics of a training forward: after an inference forward it refuses.</summary>
    [Fact]
    public void BackwardAfterAnInferenceForwardIsRefused()
    {
        var m = new ConvBnRelu(batchSize: 4, seed: 1);
        float[] x = Random(3 * m.InputSize, 80), y = Random(3 * m.TargetSize, 81);
        m.Forward(x, 3, training: true);
        m.Forward(x, 3, training: false);
        m.ComputeLoss(y, 3, gradient: true);
        Assert.Throws<InvalidOperationException>(() => m.Backward(3));
    }

    /// <summary>One sample through Dense + BN in training: zero batch variance, x̂ = 0, the output is beta's; everything finite.</summary>
    [Fact]
    public void ASingleSampleBatchNormalizesToBeta()
    {
        var m = new DenseBnRelu(batchSize: 4, seed: 2); // Dense(5, no bias) + BN + ReLU, Dense(3)
        Fill(m.Tensor("batch_normalization/beta"), 82, 0.1, 1);
        float[] beta = m.Tensor("batch_normalization/beta").ToArray();
        float[] k1 = m.Tensor("dense_1/kernel").ToArray(), b1 = m.Tensor("dense_1/bias").ToArray();
        float[] x = Random(6, 83), y = Random(3, 84);
        float[] output = m.Forward(x, 1, training: true).ToArray();
        for (int o = 0; o < 3; o++)
        {
            double expected = b1[o];
            for (int i = 0; i < 5; i++) expected += beta[i] * k1[i * 3 + o];
            Assert.Equal(expected, output[o], 5);
        }
        m.ComputeLoss(y, 1, gradient: true);
        var dx = new float[6];
        m.Backward(1, dx);
        Assert.All(m.Gradients.Span.ToArray(), g => Assert.True(float.IsFinite(g)));
        Assert.All(dx, g => Assert.True(Math.Abs(g) < 1e-3, $"input gradient {g} through a one-sample batch norm")); // the output does not depend on x
    }

    private static void CopyTensors(Model from, Model to)
    {
        foreach (var t in from.Description.Tensors)
            from.Tensor(t.Name).CopyTo(to.Tensor(t.Name));
    }

    /// <summary>Largest |a − b| relative to the largest |b|, over all outputs.</summary>
    private static double RelativeDifference(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        double diff = 0, scale = 0;
        for (int i = 0; i < a.Length; i++)
        {
            diff = Math.Max(diff, Math.Abs(a[i] - b[i]));
            scale = Math.Max(scale, Math.Abs(b[i]));
        }
        return diff / scale;
    }

    /// <summary>
    /// BN folded into the preceding Conv2D/Dense (one kernel in inference) against a twin whose no-op
    /// Reshape keeps BN a layer of its own: same weights and state, same inference outputs, before
    /// and after training steps that move the moving statistics; the training passes (fused
    /// statistics + normalize vs standalone BN) agree too, outputs and gradients.
    /// </summary>
    [Theory]
    [InlineData("conv")]
    [InlineData("dense")]
    public void InferenceFoldingMatchesAnUnfusedTwin(string kind)
    {
        const int batch = 8;
        Model folded = kind == "conv" ? new FoldedConvBn(batch, seed: 5) : new FoldedDenseBn(batch, seed: 5);
        Model twin = kind == "conv" ? new UnfusedConvBn(batch, seed: 99) : new UnfusedDenseBn(batch, seed: 99);
        Assert.Equal(folded.Description.Tensors.Select(t => (t.Name, t.Length)), twin.Description.Tensors.Select(t => (t.Name, t.Length)));
        // The first shares one kernel between the layer and BN; the twin runs them as two.
        string layer = kind == "conv" ? "conv2d (Conv2D)" : "dense (Dense)";
        Assert.Equal(KernelOf(folded.Description.Summary, layer), KernelOf(folded.Description.Summary, "batch_normalization (BatchNormalization)"));
        Assert.NotEqual(KernelOf(twin.Description.Summary, layer), KernelOf(twin.Description.Summary, "batch_normalization (BatchNormalization)"));
        GradientCheck.RandomizeBiases(folded, 5);
        Fill(folded.Tensor("batch_normalization/gamma"), 8, 0.5, 2);
        Fill(folded.Tensor("batch_normalization/beta"), 9, -0.5, 1);

        float[] xi = Random(5 * folded.InputSize, 50, -1, 2);
        void Compare(string when)
        {
            CopyTensors(folded, twin);
            float[] a = folded.Forward(xi, 5, training: false).ToArray();
            float[] b = twin.Forward(xi, 5, training: false).ToArray();
            double rel = RelativeDifference(a, b);
            Assert.True(rel <= 1e-5, $"{kind} {when}: folded and unfused inference differ by {rel:G3} of the output scale");
            Console.WriteLine($"BN folding ({kind}) {when}: relative difference {rel:G3}");
        }
        Compare("at initialization (moving statistics 0 and 1)");

        // Training steps move the weights and the moving statistics (Dense+BN: momentum 0.9).
        var optimizer = new Adam(1e-2f);
        float[] y = Random(batch * folded.TargetSize, 51);
        for (int step = 0; step < 5; step++)
        {
            float[] x = Random(batch * folded.InputSize, 60 + step, -1, 3);
            folded.TrainOnBatch(x, y, batch, optimizer);
        }
        Assert.Contains(folded.Tensor("batch_normalization/moving_mean").ToArray(), v => Math.Abs(v) > 1e-3);
        Compare("after 5 training steps");

        // Training mode: fused and standalone BN compute the same thing, forward and backward.
        CopyTensors(folded, twin);
        float[] xt = Random(6 * folded.InputSize, 70, -1, 2), yt = Random(6 * folded.TargetSize, 71);
        float[] ta = folded.Forward(xt, 6, training: true).ToArray();
        float[] tb = twin.Forward(xt, 6, training: true).ToArray();
        Assert.True(RelativeDifference(ta, tb) <= 1e-5, $"{kind}: training outputs differ by {RelativeDifference(ta, tb):G3}");
        folded.ComputeLoss(yt, 6, gradient: true);
        twin.ComputeLoss(yt, 6, gradient: true);
        float[] dxa = new float[xt.Length], dxb = new float[xt.Length];
        folded.Backward(6, dxa);
        twin.Backward(6, dxb);
        Assert.True(RelativeDifference(dxa, dxb) <= 1e-4, $"{kind}: input gradients differ by {RelativeDifference(dxa, dxb):G3}");
        foreach (var t in folded.Description.Tensors.Where(t => t.Trainable))
        {
            var ga = folded.Gradients.Span.Slice(t.Offset, t.Length);
            var gb = twin.Gradients.Span.Slice(twin.Description.Tensors.First(u => u.Name == t.Name).Offset, t.Length);
            if (kind == "dense" && t.Name == "dense/bias")
            {
                // The bias right before BN: the batch mean absorbs it, its gradient is zero up to rounding.
                foreach (float g in ga) Assert.True(Math.Abs(g) < 1e-5, $"{t.Name} gradient {g}");
                continue;
            }
            Assert.True(RelativeDifference(ga, gb) <= 1e-4, $"{kind} {t.Name}: gradients differ by {RelativeDifference(ga, gb):G3}");
        }
    }

    /// <summary>The Kernel column of a layer's row in the summary.</summary>
    private static string KernelOf(string summary, string layer) =>
        summary.Split('\n').Single(l => l.TrimStart().StartsWith(layer, StringComparison.Ordinal)).Trim().Split(' ').Last();
}
