using Kiln;

namespace Kiln.Runtime.Tests.Training;

// The identity model's outputs are its inputs, so each test picks exactly what the metric sees.
public class MetricTests
{
    [Fact]
    public void SparseAccuracyComparesArgmaxWithTheLabel()
    {
        var model = new IdentityModel(3, Loss.SparseCategoricalCrossentropy);
        var data = new Dataset(
            [0.1f, 0.7f, 0.2f,   0.5f, 0.2f, 0.3f,   0.3f, 0.3f, 0.4f,   0.4f, 0.4f, 0.2f,   0, 0, 1],
            [1, 2, 2, 1, 2], [3], 1);
        // argmax: 1 ✓, 0 ✗, 2 ✓, 0 (tie: the first wins) ✗, 2 ✓ → 3/5; 5 samples in batches of 4 and 1
        Assert.Equal(0.6f, model.Evaluate(data).Accuracy, 1e-6f);
    }

    [Fact]
    public void CategoricalAccuracyComparesArgmaxes()
    {
        var model = new IdentityModel(2, Loss.CategoricalCrossentropy);
        var data = new Dataset([0.9f, 0.1f, 0.2f, 0.8f, 0.6f, 0.4f], [1, 0, 0, 1, 0, 1], [2], 2);
        // argmax 0 = 0 ✓, 1 = 1 ✓, 0 ≠ 1 ✗
        Assert.Equal(2f / 3, model.Evaluate(data).Accuracy, 1e-6f);
    }

    [Fact]
    public void BinaryAccuracyThresholdsProbabilitiesAtHalfAndLogitsAtZero()
    {
        float[] outputs = [0.6f, 0.4f, 0.2f, 0.9f];
        float[] targets = [1, 1, 0, 0];
        var data = new Dataset(outputs, targets, [2], 2);
        // probabilities: > 0.5 → [1, 0, 0, 1] vs [1, 1, 0, 0]: 2 of 4
        Assert.Equal(0.5f, new IdentityModel(2, Loss.BinaryCrossentropy).Evaluate(data).Accuracy, 1e-6f);
        // logits: > 0 → all 1 vs [1, 1, 0, 0]: 2 of 4; with a negative logit it differs
        var logits = new Dataset([0.6f, -0.4f, -0.2f, 0.9f], targets, [2], 2);
        Assert.Equal(0.5f, new IdentityModel(2, Loss.BinaryCrossentropy, fromLogits: true).Evaluate(logits).Accuracy, 1e-6f);
        var logits2 = new Dataset([0.6f, 0.4f, -0.2f, -0.9f], targets, [2], 2);
        Assert.Equal(1f, new IdentityModel(2, Loss.BinaryCrossentropy, fromLogits: true).Evaluate(logits2).Accuracy, 1e-6f);
    }

    [Fact]
    public void MeanAbsoluteErrorForMse()
    {
        var model = new IdentityModel(2, Loss.MeanSquaredError);
        var data = new Dataset([1, 2, 3, 4, 5, 6], [1.5f, 2, 3, 3, 5, 8], [2], 2);
        // |errors| = 0.5, 0, 0, 1, 0, 2 → mean 3.5/6
        var r = model.Evaluate(data);
        Assert.Equal("mae", r.MetricName);
        Assert.Equal(3.5f / 6, r.Metric, 1e-6f);
    }
}
