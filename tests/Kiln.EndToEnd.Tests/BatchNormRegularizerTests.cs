using System;
using System.Linq;
using Kiln;
using Kiln.Tests;

namespace Kiln.EndToEnd.Tests;

/// <summary>
/// <c>GammaL1</c>/<c>GammaL2</c>/<c>BetaL1</c>/<c>BetaL2</c>, Keras' <c>gamma_regularizer</c> and
/// <c>beta_regularizer</c> (keras/src/layers/normalization/batch_normalization.py passes them to
/// add_weight, so they join <c>model.losses</c> as any weight regularizer): l1·Σ|w| + l2·Σw² added to
/// the loss, its gradient l1·sign(w) + 2·l2·w to the weights', on a BatchNormalization fused into a
/// convolution's kernel and on one standing alone.
/// </summary>
public sealed class BatchNormRegularizerTests
{
    private static readonly (string Tensor, double L1, double L2)[] Factors =
    [
        ("batch_normalization/gamma", 0, 0.02), ("batch_normalization/beta", 0.01, 0),
        ("batch_normalization_1/gamma", 0.03, 0), ("batch_normalization_1/beta", 0, 0.04),
    ];

    private static double NaivePenalty(Model model)
    {
        double total = 0;
        foreach (var (name, l1, l2) in Factors)
            foreach (float w in model.Tensor(name))
                total += l1 * Math.Abs((double)w) + l2 * (double)w * w;
        return total;
    }

    /// <summary>Gammas and betas away from their initial 1 and 0 (L1's kink), the same for both twins.</summary>
    private static void Randomize(Model model, int seed)
    {
        var rng = new Random(seed);
        foreach (var (name, _, _) in Factors)
            foreach (ref float w in model.Tensor(name))
                w = (float)(name.EndsWith("gamma") ? 0.6 + rng.NextDouble() : rng.NextDouble() * 0.8 - 0.4);
    }

    private static float[] Inputs(int n, int seed)
    {
        var rng = new Random(seed);
        return Enumerable.Range(0, n * 16).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
    }

    [Fact]
    public void TheTensorTableAndTheLayerConfigCarryTheFactors()
    {
        var tensors = RegularizedBatchNorm.Definition.Tensors.ToDictionary(t => t.Name);
        foreach (var (name, l1, l2) in Factors) Assert.Equal((l1, l2), (tensors[name].L1, tensors[name].L2));
        Assert.False(tensors["batch_normalization/moving_mean"].Regularized);
        Assert.False(tensors["conv2d/kernel"].Regularized);
        var bn = RegularizedBatchNorm.Definition.Layers.Single(l => l.Name == "batch_normalization");
        Assert.Equal(RegularizedBatchNorm.Definition.Layers[0].Kernel, bn.Kernel); // fused into the convolution's kernel
        Assert.Equal((0.0, 0.02, 0.01, 0.0), ((double)bn.Config!["gamma_regularizer_l1"], (double)bn.Config["gamma_regularizer_l2"], (double)bn.Config["beta_regularizer_l1"], (double)bn.Config["beta_regularizer_l2"]));
        Assert.False(PlainBatchNorm.Definition.Layers.Single(l => l.Name == "batch_normalization").Config!.ContainsKey("gamma_regularizer_l2"));
    }

    [Fact]
    public void LossAndGradientAreTheUnregularizedTwinsPlusThePenalty()
    {
        const int n = 3;
        var model = new RegularizedBatchNorm(n, seed: 1);
        var plain = new PlainBatchNorm(n, seed: 1);
        Randomize(model, 2);
        model.Parameters.Span.CopyTo(plain.Parameters.Span);
        var x = Inputs(n, 3);
        float[] y = [0, 2, 1];
        double penalty = NaivePenalty(model);
        Assert.True(penalty > 0.05);
        Assert.True(Math.Abs(penalty - model.RegularizationLoss()) <= 1e-6 * penalty, $"{model.RegularizationLoss():R} vs {penalty:R}");

        float withPenalty = 0, without = 0;
        foreach (var m in new Model[] { model, plain })
        {
            m.Forward(x, n, training: true);
            float loss = m.ComputeLoss(y, n, gradient: true);
            m.Backward(n);
            if (m == model) withPenalty = loss; else without = loss;
        }
        Assert.True(Math.Abs(withPenalty - (without + penalty)) <= 2e-6 * (1 + Math.Abs(withPenalty)), $"{withPenalty} vs {without} + {penalty}");
        foreach (var t in RegularizedBatchNorm.Definition.Tensors.Where(t => t.Trainable))
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
    }

    [Fact]
    public void RegularizedBatchNormPassesGradientCheck()
    {
        const int n = 3;
        var model = new RegularizedBatchNorm(n, seed: 5);
        Randomize(model, 6);
        var x = Inputs(n, 7);
        float[] y = [2, 0, 1];
        model.Forward(x, n, training: true);
        model.ComputeLoss(y, n, gradient: true);
        var dx = new float[x.Length];
        model.Backward(n, dx);
        var parameters = model.Gradients.Span.ToArray();
        var result = GradientCheck.Check(model, x, parameters, dx, () =>
        {
            model.Forward(x, n, training: true);
            return model.ComputeLoss(y, n, gradient: false);
        });
        Assert.True(result.Failures.Count == 0, result.ToString());
    }

    [Fact]
    public void ATrainingStepAllocatesNothing()
    {
        const int batch = 8;
        var model = new RegularizedBatchNorm(batch, seed: 2);
        var x = Inputs(batch, 3);
        var y = Enumerable.Range(0, batch).Select(i => (float)(i % 3)).ToArray();
        var optimizer = new Sgd(0.05f);
        WarmUp.Run(() => model.TrainOnBatch(x, y, batch, optimizer), calls: 20);
        var (allocated, workers) = WarmUp.Allocations(() => { for (int i = 0; i < 20; i++) model.TrainOnBatch(x, y, batch, optimizer); });
        Assert.Equal(0, allocated);
        Assert.Equal(0, workers);
    }
}
