using System;
using Kiln;
using Kiln.Samples.FashionMnist;
using Kiln.Samples.FashionMnistCnn;

namespace Kiln.EndToEnd.Tests;

/// <summary>
/// TrainOnBatch and Fit lend the caller's input to backward instead of copying it (Model.LentInput.cs);
/// a separate Forward(training: true) still keeps its copy for a later Backward.
/// </summary>
public class LentInputTests
{
    /// <summary>Random inputs, and class i mod the classes for sample i: a label, or one-hot for a categorical loss.</summary>
    private static (float[] X, float[] Y) Data(Model model, int n, ulong seed)
    {
        var rng = new Rng(seed);
        var x = new float[n * model.InputSize];
        for (int i = 0; i < x.Length; i++) x[i] = rng.NextFloat(-1f, 1f);
        var y = new float[n * model.TargetSize];
        for (int i = 0; i < n; i++)
            if (model.TargetSize == 1) y[i] = i % model.OutputSize;
            else y[i * model.TargetSize + i % model.TargetSize] = 1f;
        return (x, y);
    }

    public static TheoryData<string> Models => new() { "mlp", "cnn", "input batchnorm" };

    private static Model Make(string name, int seed) => name switch
    {
        "mlp" => new FashionMlp(batchSize: 8, seed: seed),
        "cnn" => new FashionCnn(batchSize: 8, seed: seed),   // the first convolution's backward reads the input twice
        _ => new InputBn(batchSize: 8, seed: seed),           // BatchNormalization's backward reads it as x
    };

    [Theory]
    [MemberData(nameof(Models))]
    public void TrainOnBatchHasTheBitsOfTheSeparateCalls(string name)
    {
        Model lent = Make(name, 3), copied = Make(name, 3);
        // TrainOnBatch fuses the step into backward, which gives the separate update's bits (SgdInBackwardTests).
        var lentOptimizer = new Sgd(0.05f);
        var copiedOptimizer = new Sgd(0.05f);
        int n = 6;
        for (int step = 0; step < 3; step++)
        {
            var (x, y) = Data(lent, n, 10 + (ulong)step);
            lent.TrainOnBatch(x, y, n, lentOptimizer);

            copied.Forward(x, n, training: true);
            copied.ComputeLoss(y, n, gradient: true);
            x.AsSpan().Fill(float.NaN);   // the copy, not the caller's span, is what backward reads here
            copied.Backward(n);
            copiedOptimizer.Step(copied.Parameters.Span, copied.Gradients.Span);
        }
        Assert.True(copied.Parameters.Span.SequenceEqual(lent.Parameters.Span), $"{name}: parameters differ after three steps");
        Assert.All(lent.Parameters.Span.ToArray(), v => Assert.True(float.IsFinite(v)));
    }

    [Fact]
    public void BackwardAfterTrainOnBatchIsRefused()
    {
        // The step kept no copy of its input, so a later Backward would read a stale one: it is refused.
        var model = new FashionMlp(batchSize: 4, seed: 1);
        var (x, y) = Data(model, 4, 5);
        model.TrainOnBatch(x, y, 4, new Sgd(0.01f));
        var e = Assert.Throws<InvalidOperationException>(() => model.Backward(4));
        Assert.Contains("training: true", e.Message);

        // A training forward of its own makes Backward legal again.
        model.Forward(x, 4, training: true);
        model.ComputeLoss(y, 4, gradient: true);
        model.Backward(4);
    }
}
