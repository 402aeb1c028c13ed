using System;
using System.Linq;
using Kiln;
using Kiln.Tests;

namespace Kiln.EndToEnd.Tests;

/// <summary>
/// <c>KernelL1</c>/<c>KernelL2</c>/<c>BiasL1</c>/<c>BiasL2</c>, Keras' <c>L1L2</c> regularizers
/// (keras/src/regularizers/regularizers.py: l1·Σ|w| + l2·Σw²). Keras 3's
/// <c>Trainer.compute_loss</c> adds <c>model.losses</c> (the penalty of the trainable weights) to
/// the compiled loss once per batch, unscaled by the batch size or the sample weights; the
/// reference here is that formula written out over the named tensors.
/// </summary>
public sealed class RegularizerTests
{
    private static double NaivePenalty(Model model, params (string Tensor, double L1, double L2)[] factors)
    {
        double total = 0;
        foreach (var (name, l1, l2) in factors)
            foreach (float w in model.Tensor(name))
                total += l1 * Math.Abs((double)w) + l2 * (double)w * w;
        return total;
    }

    private static readonly (string, double, double)[] CnnFactors =
    [
        ("conv2d/kernel", 0.01, 0.02), ("conv2d_transpose/bias", 0, 0.05), ("dense/kernel", 0, 0.03), ("dense/bias", 0.01, 0),
    ];

    [Fact]
    public void TensorTableCarriesEachWeightsFactors()
    {
        var tensors = RegularizedCnn.Definition.Tensors.ToDictionary(t => t.Name);
        Assert.Equal((0.01, 0.02), (tensors["conv2d/kernel"].L1, tensors["conv2d/kernel"].L2));
        Assert.False(tensors["conv2d/bias"].Regularized);
        Assert.False(tensors["conv2d_transpose/kernel"].Regularized);
        Assert.Equal((0.0, 0.05), (tensors["conv2d_transpose/bias"].L1, tensors["conv2d_transpose/bias"].L2));
        Assert.Equal((0.0, 0.03), (tensors["dense/kernel"].L1, tensors["dense/kernel"].L2));
        Assert.Equal((0.01, 0.0), (tensors["dense/bias"].L1, tensors["dense/bias"].L2));
    }

    [Fact]
    public void PenaltyIsAddedOnceToTheLossAsKerasDoes()
    {
        const int n = 3;
        var model = new RegularizedCnn(n, seed: 1);
        GradientCheck.RandomizeBiases(model, 2);
        var rng = new Random(4);
        var x = Enumerable.Range(0, n * 16).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
        float[] y = [0, 2, 1];
        double penalty = NaivePenalty(model, CnnFactors);
        Assert.True(penalty > 0.01);
        // Float lanes summed into double per block: within float rounding of the double reference.
        Assert.True(Math.Abs(penalty - model.RegularizationLoss()) <= 1e-6 * penalty, $"{model.RegularizationLoss():R} vs {penalty:R}");

        model.Forward(x, n);
        float withPenalty = model.ComputeLoss(y, n, gradient: false);
        model.Trainable = false; // Keras regularizes trainable weights only: a frozen model adds nothing
        Assert.Equal(0, model.RegularizationLoss());
        float plain = model.ComputeLoss(y, n, gradient: false);
        model.Trainable = true;
        Assert.True(Math.Abs(withPenalty - (plain + penalty)) <= 2e-6 * (1 + Math.Abs(withPenalty)), $"{withPenalty} vs {plain} + {penalty}");

        // Not scaled by the batch size: the same samples in a batch of one or three add the same penalty.
        model.Forward(x.AsSpan(0, 16), 1);
        float single = model.ComputeLoss(y.AsSpan(0, 1), 1, gradient: false);
        model.Trainable = false;
        float singlePlain = model.ComputeLoss(y.AsSpan(0, 1), 1, gradient: false);
        model.Trainable = true;
        Assert.Equal(penalty, single - singlePlain, 5);

        // Nor by sample weights: weights of 0 leave the penalty alone.
        model.Forward(x, n);
        Assert.Equal(penalty, model.ComputeLoss(y, n, gradient: false, [0f, 0f, 0f]), 5);
    }

    [Fact]
    public void MlpLossEqualsItsUnregularizedTwinPlusThePenalty()
    {
        const int n = 4;
        var regularized = new RegularizedMlp(n, seed: 3);
        var plain = new PlainMlp(n, seed: 3);
        GradientCheck.RandomizeBiases(regularized, 5);
        regularized.Parameters.Span.CopyTo(plain.Parameters.Span);
        var rng = new Random(6);
        var x = Enumerable.Range(0, n * 6).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
        float[] y = [0, 1, 2, 1];
        regularized.Forward(x, n);
        plain.Forward(x, n);
        double penalty = NaivePenalty(regularized, ("dense/kernel", 0, 1e-3), ("dense_1/kernel", 1e-3, 0), ("dense_1/bias", 0, 1e-3));
        Assert.Equal(plain.ComputeLoss(y, n, false) + penalty, regularized.ComputeLoss(y, n, false), 5);
        // Evaluate reports the penalised loss too (Keras' test_step runs compute_loss).
        var data = new Dataset(x, y, [6], 1);
        Assert.Equal(plain.Evaluate(data).Loss + penalty, regularized.Evaluate(data).Loss, 5);
    }

    [Fact]
    public void RegularizedGradientPassesGradientCheck()
    {
        const int n = 2;
        foreach (Model model in new Model[] { new RegularizedCnn(n, seed: 5), new RegularizedMlp(n, seed: 5) })
        {
            GradientCheck.RandomizeBiases(model, 7); // L1 has a kink at 0, where Keras starts biases
            var rng = new Random(8);
            var x = Enumerable.Range(0, n * model.InputSize).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
            float[] y = [2, 0];
            var weights = new float[] { 0.5f, 2f };
            var (parameters, input) = Analytic(model, x, y, weights);
            var result = GradientCheck.Check(model, x, parameters, input, () =>
            {
                model.Forward(x, n, training: true);
                return model.ComputeLoss(y, n, gradient: false, weights);
            });
            Assert.True(result.Failures.Count == 0, $"{model.GetType().Name}: {result}");
        }

        static (float[], float[]) Analytic(Model model, float[] x, float[] y, float[] weights)
        {
            model.Forward(x, 2, training: true);
            model.ComputeLoss(y, 2, gradient: true, weights);
            var dx = new float[x.Length];
            model.Backward(2, dx);
            return (model.Gradients.Span.ToArray(), dx);
        }
    }

    [Fact]
    public void PenaltyGradientIsL1SignPlusTwiceL2W()
    {
        const int n = 2;
        var model = new RegularizedMlp(n, seed: 9);
        var plain = new PlainMlp(n, seed: 9);
        GradientCheck.RandomizeBiases(model, 1);
        model.Parameters.Span.CopyTo(plain.Parameters.Span);
        var x = new float[] { 0.1f, -0.2f, 0.3f, 0.5f, -0.4f, 0.2f, 0.7f, 0.1f, -0.3f, 0.2f, 0.6f, -0.1f };
        float[] y = [1, 2];
        foreach (var m in new Model[] { model, plain })
        {
            m.Forward(x, n, training: true);
            m.ComputeLoss(y, n, gradient: true);
            m.Backward(n);
        }
        foreach (var t in RegularizedMlp.Definition.Tensors)
        {
            var w = model.Tensor(t.Name);
            var g = model.Gradients.Span.Slice(t.Offset, t.Length);
            var g0 = plain.Gradients.Span.Slice(t.Offset, t.Length);
            for (int i = 0; i < t.Length; i++)
            {
                double expected = g0[i] + t.L1 * Math.Sign(w[i]) + 2 * t.L2 * w[i];
                Assert.True(Math.Abs(expected - g[i]) <= 1e-6, $"{t.Name}[{i}]: {g[i]} vs {expected}");
            }
        }
        // Frozen: no weight gradients at all, so nothing to add.
        model.Trainable = false;
        model.Gradients.Span.Clear();
        model.Forward(x, n, training: true);
        model.ComputeLoss(y, n, gradient: true);
        model.Backward(n);
        Assert.All(model.Gradients.Span.ToArray(), v => Assert.Equal(0f, v));
    }

    [Fact]
    public void UnreadLayersGradientIsItsPenaltysEveryStep()
    {
        const int n = 2;
        var model = new RegularizedUnreadBranch(n, seed: 3);
        GradientCheck.RandomizeBiases(model, 2);
        float[] x = [0.5f, -0.2f, 0.9f, 0.1f, 0.4f, -0.7f], y = [0.3f, -0.1f];
        var optimizer = new Sgd(0.1f);
        for (int step = 0; step < 3; step++)
        {
            model.TrainOnBatch(x, y, n, optimizer);
            foreach (var t in RegularizedUnreadBranch.Definition.Tensors.Where(t => t.Name.StartsWith("unread/", StringComparison.Ordinal)))
            {
                var w = model.Tensor(t.Name);
                var g = model.Gradients.Span.Slice(t.Offset, t.Length);
                for (int i = 0; i < t.Length; i++)
                {
                    // The gradient TrainOnBatch applied, from the weights before its update: w = w_before − 0.1·g.
                    double before = w[i] + 0.1 * g[i];
                    double expected = t.L1 * Math.Sign(before) + 2 * t.L2 * before;
                    Assert.True(Math.Abs(expected - g[i]) <= 1e-5, $"step {step} {t.Name}[{i}]: gradient {g[i]}, penalty's {expected}");
                }
            }
        }
    }

    [Fact]
    public void RegularizedTrainingStepAllocatesNothing()
    {
        const int batch = 8;
        var model = new RegularizedCnn(batch, seed: 2);
        var rng = new Random(3);
        var x = Enumerable.Range(0, batch * 16).Select(_ => (float)rng.NextDouble()).ToArray();
        var y = Enumerable.Range(0, batch).Select(_ => (float)rng.Next(3)).ToArray();
        var optimizer = new Sgd(0.05f);
        WarmUp.Run(() => model.TrainOnBatch(x, y, batch, optimizer), calls: 20);
        var (allocated, workers) = WarmUp.Allocations(() => { for (int i = 0; i < 20; i++) model.TrainOnBatch(x, y, batch, optimizer); });
        Assert.Equal(0, allocated);
        Assert.Equal(0, workers);
    }
}
