using System;
using Kiln;
using Kiln.Runtime.Tests.Training;

namespace Kiln.Runtime.Tests.Optimizers;

// Keras 3, keras/src/optimizers/base_optimizer.py, BaseOptimizer._apply_weight_decay: before the
// update, variable -= variable * weight_decay * lr (lr = the step's scheduled rate), for each
// variable _use_weight_decay does not exclude. Expected values come from a naive double reference.
public class WeightDecayTests
{
    private const double Tol = 2e-6;
    private static readonly float[] G = [0.1f, -0.2f, 0.3f];

    private static float[] W0() => [1f, -2f, 0.5f];

    private static void Near(double[] expected, ReadOnlySpan<float> actual)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - actual[i]) <= Tol, $"element {i}: expected {expected[i]}, got {actual[i]}");
    }

    [Fact]
    public void SgdDecaysTheWeightsThenAppliesTheMomentumUpdate()
    {
        double lr = 0.1, wd = 0.2, mu = 0.9;
        var w = W0();
        var sgd = new Sgd(lr, momentum: mu, weightDecay: wd);
        double[] rw = [1, -2, 0.5], rm = new double[3];
        for (int step = 0; step < 3; step++)
        {
            sgd.Step(w, G);
            for (int i = 0; i < 3; i++)
            {
                rw[i] -= rw[i] * wd * lr;
                rm[i] = mu * rm[i] - lr * G[i];
                rw[i] += rm[i];
            }
            Near(rw, w);
        }
        Assert.Equal(0.2f, sgd.WeightDecay);
    }

    [Fact]
    public void RmsPropDecaysAtTheScheduledRate()
    {
        // The decay uses the same rate as the update: ExponentialDecay's rate at Iterations.
        var schedule = new ExponentialDecay(0.1, 1, 0.5);
        double wd = 0.3, rho = 0.9, eps = 1e-7;
        var w = W0();
        var rms = new RmsProp(schedule, weightDecay: wd);
        double[] rw = [1, -2, 0.5], rv = new double[3];
        for (int step = 0; step < 3; step++)
        {
            double lr = schedule.Rate(step);
            rms.Step(w, G);
            for (int i = 0; i < 3; i++)
            {
                rw[i] -= rw[i] * wd * lr;
                rv[i] = rho * rv[i] + (1 - rho) * G[i] * G[i];
                rw[i] -= lr * G[i] / Math.Sqrt(rv[i] + eps);
            }
            Near(rw, w);
        }
    }

    [Fact]
    public void AdamWIsAdamWithKerasDefaultDecay()
    {
        // keras/src/optimizers/adamw.py: AdamW(weight_decay=0.004), otherwise Adam's arguments and update.
        var adamw = new AdamW(0.01);
        Assert.Equal(0.004f, adamw.WeightDecay);
        Assert.Equal((0.9f, 0.999f, 1e-7f), (adamw.Beta1, adamw.Beta2, adamw.Epsilon));
        var adam = new Adam(0.01, weightDecay: 0.004);
        float[] a = W0(), b = W0();
        double[] rw = [1, -2, 0.5], rm = new double[3], rv = new double[3];
        for (int t = 1; t <= 3; t++)
        {
            adamw.Step(a, G);
            adam.Step(b, G);
            double alpha = 0.01 * Math.Sqrt(1 - Math.Pow(0.999, t)) / (1 - Math.Pow(0.9, t));
            for (int i = 0; i < 3; i++)
            {
                rw[i] -= rw[i] * 0.004 * 0.01;
                rm[i] += (G[i] - rm[i]) * 0.1;
                rv[i] += (G[i] * G[i] - rv[i]) * 0.001;
                rw[i] -= alpha * rm[i] / (Math.Sqrt(rv[i]) + 1e-7);
            }
            Near(rw, a);
            Assert.Equal(b, a);
        }
    }

    [Fact]
    public void AdamWDecayMatchesPyTorchsCoupling()
    {
        // torch.optim.AdamW (decoupled): param.mul_(1 - lr * weight_decay). With zero gradients Adam's
        // update is 0/(0 + ε) = 0, so one step is the decay alone: w·(1 − lr·wd) = w − w·wd·lr.
        var w = W0();
        new AdamW(0.5, weightDecay: 0.1).Step(w, new float[3]);
        Near([1 * (1 - 0.5 * 0.1), -2 * (1 - 0.5 * 0.1), 0.5 * (1 - 0.5 * 0.1)], w);
    }

    [Fact]
    public void ZeroWeightDecayLeavesTheUpdateBitwiseAsBefore()
    {
        float[] a = W0(), b = W0();
        var plain = new Adam(0.01);
        var zero = new Adam(0.01, weightDecay: 0);
        for (int i = 0; i < 3; i++) { plain.Step(a, G); zero.Step(b, G); }
        Assert.Equal(a, b);
    }

    private static readonly TensorInfo[] Layout =
    [
        new("dense/kernel", [2], 0, true),
        new("dense/bias", [1], 2, true),
        new("batch_normalization/moving_mean", [4], 0, false), // state, not a variable
    ];

    [Fact]
    public void ExcludedVariablesAreNotDecayed()
    {
        var sgd = new Sgd(0.1, weightDecay: 0.5);
        sgd.Build(Layout);
        sgd.ExcludeFromWeightDecay("bias");
        Assert.Equal(["dense/kernel", "dense/bias"], sgd.VariableNames);
        Assert.True(sgd.UsesWeightDecay("dense/kernel"));
        Assert.False(sgd.UsesWeightDecay("dense/bias"));
        var w = W0();
        sgd.Step(w, G);
        // kernel: w − w·0.5·0.1 − 0.1·g; bias: w − 0.1·g only.
        Near([1 - 0.05 - 0.01, -2 + 0.1 + 0.02, 0.5 - 0.03], w);
    }

    [Fact]
    public void PatternsAreRegularExpressionsSearchedInTheName()
    {
        // As Keras: re.compile("|".join(var_names)) and re.search in each name.
        var opt = new AdamW();
        opt.ExcludeFromWeightDecay("^batch_normalization/", "/gamma$");
        opt.Build([
            new TensorInfo("conv2d/kernel", [3], 0, true),
            new TensorInfo("batch_normalization/gamma", [1], 3, true),
            new TensorInfo("batch_normalization/beta", [1], 4, true),
            new TensorInfo("layer_norm/gamma", [1], 5, true),
            new TensorInfo("dense/bias", [1], 6, true),
        ]);
        Assert.True(opt.UsesWeightDecay("conv2d/kernel"));
        Assert.False(opt.UsesWeightDecay("batch_normalization/gamma"));
        Assert.False(opt.UsesWeightDecay("batch_normalization/beta"));
        Assert.False(opt.UsesWeightDecay("layer_norm/gamma"));
        Assert.True(opt.UsesWeightDecay("dense/bias")); // Keras decays biases unless told not to
    }

    [Fact]
    public void ExclusionsNeedTheVariables()
    {
        var sgd = new Sgd(0.1, weightDecay: 0.5);
        sgd.ExcludeFromWeightDecay("bias");
        var e = Assert.Throws<InvalidOperationException>(() => sgd.Step(W0(), G));
        Assert.Contains("Build", e.Message);
        Assert.Throws<ArgumentException>(() => sgd.ExcludeFromWeightDecay(""));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Adam(weightDecay: -0.1));
    }

    [Fact]
    public void ABuiltOptimizerRefusesABufferShorterThanItsVariables()
    {
        var sgd = new Sgd(0.1, weightDecay: 0.5);
        sgd.Build(Layout);
        var e = Assert.Throws<ArgumentException>(() => sgd.Step(new float[2], new float[2]));
        Assert.Contains("3 parameters", e.Message);
    }

    [Fact]
    public void PaddingAfterTheVariablesIsAllowed()
    {
        // Model.Parameters may be padded past the last variable; an excluded variable still is not decayed.
        var sgd = new Sgd(0.1, weightDecay: 0.5, clipNorm: 10);
        sgd.Build(Layout);
        sgd.ExcludeFromWeightDecay("bias");
        float[] w = [1f, -2f, 0.5f, 0f, 0f];
        sgd.Step(w, [0.1f, -0.2f, 0.3f, 0f, 0f]);
        Near([1 - 0.05 - 0.01, -2 + 0.1 + 0.02, 0.5 - 0.03, 0, 0], w);
    }

    [Fact]
    public void TrainOnBatchBuildsTheOptimizerOnTheModelsVariables()
    {
        // The same batch through TrainOnBatch and by hand: the kernel is decayed, the excluded bias is not.
        const double lr = 0.1, wd = 0.5;
        var trained = new LinearModel(3, 2, 2, seed: 5);
        var byHand = new LinearModel(3, 2, 2, seed: 5);
        float[] x = [0.5f, -1f, 2f, 1f, 0f, -0.5f];
        float[] y = [1f, 0f];
        var sgd = new Sgd(lr, weightDecay: wd);
        sgd.ExcludeFromWeightDecay("bias");
        trained.TrainOnBatch(x, y, 2, sgd);
        Assert.True(sgd.Built);
        Assert.Equal(["dense/kernel", "dense/bias"], sgd.VariableNames);

        byHand.Forward(x, 2, training: true);
        byHand.ComputeLoss(y, 2, gradient: true);
        byHand.Backward(2);
        var p = byHand.Parameters.Span;
        var g = byHand.Gradients.Span;
        var expected = new double[p.Length];
        for (int i = 0; i < p.Length; i++)
            expected[i] = (i < 6 ? p[i] - p[i] * wd * lr : p[i]) - lr * g[i];
        Near(expected, trained.Parameters.Span);
    }
}
