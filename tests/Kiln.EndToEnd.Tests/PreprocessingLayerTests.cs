using System;
using System.Linq;
using Kiln;

namespace Kiln.EndToEnd.Tests;

// Keras' preprocessing layers as attributes: fixed affine maps whose statistics are state.
[Sequential(2, 3)]
[Rescaling(0.5, Offset = 1)]
[Normalization]
[Flatten]
[Dense(4, Activation.Tanh)]
[Dense(2)]
[Loss(Loss.MeanSquaredError)]
public partial class PreprocessedRegression { }

[Sequential(2, 2)]
[Normalization(Axis = new int[0], Mean = new[] { 3.0 }, Variance = new[] { 4.0 })]
[Flatten]
[Dense(1)]
public partial class GloballyNormalized { }

public sealed class PreprocessingLayerTests
{
    [Fact]
    public void RescalingThenNormalizationComputeKerasFormulas()
    {
        var model = new PreprocessedRegression(batchSize: 2, seed: 1);
        Assert.Contains("rescaling (Rescaling)", PreprocessedRegression.Summary);
        Assert.Contains("normalization (Normalization)", PreprocessedRegression.Summary);
        // Per-channel statistics (axis -1 keeps the 3 channels), as state with Keras' names.
        var mean = model.Tensor("normalization/mean");
        var variance = model.Tensor("normalization/variance");
        Assert.Equal(3, mean.Length);
        Assert.Equal(new float[] { 1, 1, 1 }, variance.ToArray());
        float[] m = { 1.5f, 2f, -1f }, v = { 4f, 0.25f, 0f };
        m.CopyTo(mean);
        v.CopyTo(variance);

        // Zero the dense head's weights but one path, so the output exposes the normalized input.
        model.Parameters.Span.Clear();
        var kernel = model.Tensor("dense/kernel"); // (6, 4)
        kernel[0 * 4 + 0] = 1; // normalized x[0, 0] → unit 0
        kernel[5 * 4 + 1] = 1; // normalized x[1, 2] → unit 1
        var head = model.Tensor("dense_1/kernel"); // (4, 2)
        head[0 * 2 + 0] = 1;
        head[1 * 2 + 1] = 1;

        float[] x = { 7, 0, 0, 0, 0, -4 };
        var y = model.Forward(x, 1);
        // rescaled: 7·0.5 + 1 = 4.5 → (4.5 − 1.5)/√4 = 1.5; −4·0.5 + 1 = −1 → (−1 − (−1))/max(√0, 1e-7) = 0.
        Assert.Equal(MathF.Tanh(1.5f), y[0], 5);
        Assert.Equal(0f, y[1], 5);
    }

    [Fact]
    public void StatisticsWrittenInTheAttributeAreTheInitialState()
    {
        var model = new GloballyNormalized(batchSize: 1, seed: 0);
        Assert.Equal(new[] { 3f }, model.Tensor("normalization/mean").ToArray());
        Assert.Equal(new[] { 4f }, model.Tensor("normalization/variance").ToArray());
        Assert.Contains("Non-trainable params: 2", GloballyNormalized.Summary);
    }

    [Fact]
    public void AdaptedStatisticsNormalizeTheTrainingData()
    {
        var rng = new Rng(3);
        var features = new float[200 * 6];
        for (int i = 0; i < features.Length; i++) features[i] = rng.NextNormal() * (1 + i % 3) + 10 * (i % 3);
        var data = new Dataset(features, new float[200 * 2], new[] { 2, 3 }, 2);
        var model = new PreprocessedRegression(batchSize: 200, seed: 2);
        // Keras: layer.adapt(x) on what the layer sees, here the rescaled data.
        var rescaled = new Rescale(0.5f).Transform(data);
        for (int i = 0; i < rescaled.Features.Length; i++) rescaled.Features[i] += 1;
        Normalization.Adapt(rescaled).CopyTo(model);

        // Channel c of the raw data has std 1 + c, so after rescaling by 0.5 its variance is (0.5·(1 + c))².
        var variance = model.Tensor("normalization/variance").ToArray();
        for (int c = 0; c < 3; c++)
        {
            double expected = 0.25 * (1 + c) * (1 + c); // (0.5 · std)²
            Assert.InRange(variance[c], expected * 0.8, expected * 1.2);
        }
    }

    [Fact]
    public void InputGradientMatchesFiniteDifferences()
    {
        var model = new PreprocessedRegression(batchSize: 4, seed: 5);
        new float[] { 0.5f, -1f, 2f }.CopyTo(model.Tensor("normalization/mean"));
        new float[] { 2f, 0.5f, 3f }.CopyTo(model.Tensor("normalization/variance"));
        var rng = new Random(9);
        int n = 3;
        var x = Enumerable.Range(0, n * 6).Select(_ => (float)(rng.NextDouble() * 4 - 2)).ToArray();
        var y = Enumerable.Range(0, n * 2).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
        var (parameters, input) = GradientCheck.Analytic(model, x, y, n);
        var result = GradientCheck.Check(model, x, parameters, input, () => GradientCheck.Loss(model, x, y, n));
        GradientCheck.AssertPasses(result, nameof(PreprocessedRegression));
    }
}
