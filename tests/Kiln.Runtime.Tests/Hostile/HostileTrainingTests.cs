using System;
using System.Linq;
using Kiln.Runtime.Tests.Checkpoints;
using Kiln.Runtime.Tests.Training;

namespace Kiln.Runtime.Tests.Hostile;

/// <summary>Issue 16's training findings: a NaN batch in TrainOnBatch, bad samples found only when their batch came up.</summary>
public class HostileTrainingTests
{
    [Fact]
    public void TrainOnBatchRefusesANonFiniteStepAndChangesNothing()
    {
        var model = new NoisyModel(4, 3, 8, 1);
        var adam = new Adam(0.01f);
        var data = FitTests.Blobs(8, 2);
        model.TrainOnBatch(data.Features, data.Targets, 8, adam); // warm: the optimizer has state
        var parameters = model.Parameters.Span.ToArray();
        var state = model.State.Span.ToArray();
        var moments = adam.StateBuffers.Select(b => (float[])b.Clone()).ToArray();

        var x = (float[])data.Features.Clone();
        x[5] = float.NaN; // one pixel
        var e = Assert.Throws<TrainingDivergedException>(() => model.TrainOnBatch(x, data.Targets, 8, adam));
        Assert.True(float.IsNaN(e.Loss));
        Assert.Contains("not applied", e.Message);
        Assert.Equal(parameters, model.Parameters.Span.ToArray());
        Assert.Equal(state, model.State.Span.ToArray()); // the moving mean the forward pass had updated is put back
        Assert.Equal(1, adam.Iterations);
        for (int i = 0; i < moments.Length; i++) Assert.Equal(moments[i], adam.StateBuffers[i]);
    }

    [Theory]
    [InlineData(3f, "label 3")]
    [InlineData(-1f, "label -1")]
    [InlineData(2.5f, "label 2.5")]
    [InlineData(float.NaN, "target 0 = NaN")]
    public void FitRefusesABadLabelBeforeTheFirstStep(float label, string expected)
    {
        var model = new NoisyModel(4, 3, 8, 1);
        var data = FitTests.Blobs(48, 3);
        data.Targets[40] = label; // in the sixth batch of eight
        var before = model.Parameters.Span.ToArray();
        var sgd = new Sgd(0.1f);
        var e = Assert.Throws<ArgumentException>(() => model.Fit(data, 1, sgd, verbose: 0, shuffle: false));
        Assert.Contains("train sample 40", e.Message);
        Assert.Contains(expected, e.Message);
        Assert.Equal(before, model.Parameters.Span.ToArray());
        Assert.Equal(0, sgd.Iterations);
        Assert.Throws<ArgumentException>(() => model.Evaluate(data));
    }

    [Fact]
    public void FitRefusesANonFiniteFeatureWithItsSample()
    {
        var model = new NoisyModel(4, 3, 8, 1);
        var data = FitTests.Blobs(48, 3);
        var valid = FitTests.Blobs(16, 4);
        valid.Features[4 * 9 + 2] = float.PositiveInfinity;
        var e = Assert.Throws<ArgumentException>(() => model.Fit(data, 1, new Sgd(0.1f), validation: valid, verbose: 0));
        Assert.Contains("validation sample 9 has feature 2 = ", e.Message);
    }
}
