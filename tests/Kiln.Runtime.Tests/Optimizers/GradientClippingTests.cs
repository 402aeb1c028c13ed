using Kiln.Tests;
using System;
using Kiln;

namespace Kiln.Runtime.Tests.Optimizers;

// Keras 3, keras/src/optimizers/base_optimizer.py, BaseOptimizer._clip_gradients:
// clipnorm → _clip_by_norm per variable, g·clipnorm / max(‖g‖, clipnorm);
// global_clipnorm → clip_by_global_norm, g·clip·min(1/‖all‖, 1/clip); and __init__ allows only one
// of clipnorm, clipvalue and global_clipnorm. Checked with plain SGD at lr 1, so w − w' is the clipped g.
public class GradientClippingTests
{
    private static readonly TensorInfo[] Layout =
    [
        new("dense/kernel", [2], 0, true),
        new("dense/bias", [1], 2, true),
    ];

    private static float[] Clipped(Optimizer opt, float[] g)
    {
        var w = new float[g.Length];
        opt.Step(w, g);
        var applied = new float[g.Length];
        for (int i = 0; i < g.Length; i++) applied[i] = -w[i];
        return applied;
    }

    private static void Near(double[] expected, float[] actual, double tol = 1e-6)
    {
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - actual[i]) <= tol, $"element {i}: expected {expected[i]}, got {actual[i]}");
    }

    // Naive reference of Keras' _clip_by_norm on one variable.
    private static double[] ClipByNorm(double[] g, double c)
    {
        double norm = 0;
        foreach (double x in g) norm += x * x;
        norm = Math.Sqrt(norm);
        var r = new double[g.Length];
        for (int i = 0; i < g.Length; i++) r[i] = g[i] * c / Math.Max(norm, c);
        return r;
    }

    [Fact]
    public void ClipNormScalesEachVariableOnItsOwn()
    {
        var sgd = new Sgd(1.0, clipNorm: 1.0);
        sgd.Build(Layout);
        float[] g = [3f, 4f, 0.5f];
        var applied = Clipped(sgd, g);
        // kernel [3, 4] has norm 5 → [0.6, 0.8]; bias 0.5 is under 1 and stays.
        double[] kernel = ClipByNorm([3, 4], 1), bias = ClipByNorm([0.5], 1);
        Near([kernel[0], kernel[1], bias[0]], applied);
        Near([0.6, 0.8, 0.5], applied);
        Assert.Equal([3f, 4f, 0.5f], g); // the model's gradients are not written
    }

    [Fact]
    public void ClipNormOnVariablesLongerThanAVector()
    {
        // 37 and 21 elements: the vector loop and its scalar tail, against the naive reference.
        var rng = new Rng(5);
        var g = new float[58];
        for (int i = 0; i < g.Length; i++) g[i] = rng.NextNormal();
        var sgd = new Sgd(1.0, clipNorm: 2.0);
        sgd.Build([new TensorInfo("a/kernel", [37], 0, true), new TensorInfo("a/bias", [21], 37, true)]);
        var applied = Clipped(sgd, g);
        double[] a = ClipByNorm(Array.ConvertAll(g[..37], v => (double)v), 2), b = ClipByNorm(Array.ConvertAll(g[37..], v => (double)v), 2);
        Near([.. a, .. b], applied);
    }

    [Fact]
    public void GlobalClipNormScalesAllGradientsTogether()
    {
        // ‖[3, 4, 0]‖ = 5 > 2: every gradient × 2/5. No Build needed: the norm is over the whole buffer.
        var applied = Clipped(new Sgd(1.0, globalClipNorm: 2.0), [3f, 4f, 0f]);
        Near([1.2, 1.6, 0], applied);
        // Under the threshold the scale is clip·(1/clip), 1 up to rounding.
        Near([0.3, -0.4, 0.5], Clipped(new Sgd(1.0, globalClipNorm: 2.0), [0.3f, -0.4f, 0.5f]));
    }

    [Fact]
    public void GlobalClipNormSpreadsANonFiniteNormToEveryGradient()
    {
        // clip_by_global_norm adds (norm − norm), NaN for an infinite norm, so no variable gets a partial step.
        var applied = Clipped(new Sgd(1.0, globalClipNorm: 1.0), [float.PositiveInfinity, 1f, 2f]);
        Assert.All(applied, v => Assert.True(float.IsNaN(v)));
    }

    [Fact]
    public void AdamSeesTheClippedGradient()
    {
        // Adam with clipnorm equals Adam fed the clipped gradient by hand.
        var clipped = new Adam(0.01, clipNorm: 1.0);
        clipped.Build(Layout);
        var reference = new Adam(0.01);
        float[] a = [1f, 2f, 3f], b = [1f, 2f, 3f];
        float[] g = [3f, 4f, 0.5f];
        float[] byHand = [0.6f, 0.8f, 0.5f];
        for (int i = 0; i < 3; i++) { clipped.Step(a, g); reference.Step(b, byHand); }
        for (int i = 0; i < 3; i++) Assert.True(Math.Abs(a[i] - b[i]) < 1e-6, $"{a[i]} vs {b[i]}");
    }

    [Fact]
    public void ClipNormNeedsTheVariables()
    {
        var e = Assert.Throws<InvalidOperationException>(() => new Sgd(0.1, clipNorm: 1).Step(new float[3], new float[3]));
        Assert.Contains("Build", e.Message);
    }

    [Fact]
    public void OnlyOneClippingArgument()
    {
        Assert.Throws<ArgumentException>(() => new Sgd(0.1, clipNorm: 1, clipValue: 1));
        Assert.Throws<ArgumentException>(() => new RmsProp(clipValue: 1, globalClipNorm: 1));
        var adam = new Adam(globalClipNorm: 1);
        Assert.Throws<ArgumentException>(() => adam.ClipNorm = 1);
        adam.GlobalClipNorm = null;
        adam.ClipNorm = 1;
        Assert.Equal(1f, adam.ClipNorm);
        Assert.Throws<ArgumentOutOfRangeException>(() => new Adam(clipNorm: 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Adam(globalClipNorm: double.PositiveInfinity));
    }

    [Fact]
    public void ClippingAndWeightDecayAllocateNothingPerStep()
    {
        var opts = new Optimizer[] { new AdamW(0.01, clipNorm: 1), new Sgd(0.1, 0.9, weightDecay: 0.1, globalClipNorm: 1) };
        var layout = new TensorInfo[] { new("dense/kernel", [80], 0, true), new("dense/bias", [20], 80, true) };
        var w = new float[100];
        var g = new float[100];
        for (int i = 0; i < 100; i++) { w[i] = i * 0.01f; g[i] = 1 - i * 0.02f; }
        foreach (var opt in opts)
        {
            opt.Build(layout);
            opt.ExcludeFromWeightDecay("bias");
            opt.Step(w, g);
            Assert.Contains(0L, WarmUp.Windows(() => WarmUp.BytesOnThisThread(() => { for (int i = 0; i < 50; i++) opt.Step(w, g); })));
        }
    }
}
