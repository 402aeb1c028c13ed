using System;
using System.Linq;
using Kiln;

namespace Kiln.EndToEnd.Tests;

/// <summary>
/// <c>[Loss(..., LabelSmoothing = ls)]</c>: the generated loss, fused or not, against the Keras 3
/// formulas written out here in double (keras/src/losses/losses.py: the targets become
/// y·(1 − ls) + ls/classes, binary y·(1 − ls) + ls/2, sparse labels as their one-hot rows).
/// Gradients are checked in <see cref="GradientCheckTests"/>.
/// </summary>
public sealed class LabelSmoothingTests
{
    private static readonly float[] X = LossValueTests.X;
    private static readonly float[] Kernel3 = [0.5f, -1f, 0.25f, 1.5f, 0.2f, -0.75f];
    private static readonly float[] Bias3 = [0.1f, -0.2f, 0.3f];
    private static readonly float[] Kernel2 = [0.5f, -1f, 1.5f, 0.2f];
    private static readonly float[] Bias2 = [0.1f, -0.2f];

    private static double[] Logits(float[] kernel, float[] bias, int units) => LossValueTests.Logits(kernel, bias, units);

    private static double Crossentropy(double[] z, float[] oneHot, double ls)
    {
        double total = 0;
        for (int s = 0; s < 2; s++)
        {
            double lse = Math.Log(Enumerable.Range(0, 3).Sum(j => Math.Exp(z[s * 3 + j])));
            for (int j = 0; j < 3; j++) total -= (oneHot[s * 3 + j] * (1 - ls) + ls / 3) * (z[s * 3 + j] - lse);
        }
        return total / 2;
    }

    private static double Binary(double[] z, float[] t, double ls)
    {
        double total = 0;
        for (int i = 0; i < 4; i++)
        {
            double p = 1 / (1 + Math.Exp(-z[i])), y = t[i] * (1 - ls) + ls / 2;
            total -= y * Math.Log(p) + (1 - y) * Math.Log(1 - p);
        }
        return total / 4;
    }

    private static void AssertLoss(Model model, float[] kernel, float[] bias, float[] targets, double expected)
    {
        kernel.CopyTo(model.Tensor("dense/kernel"));
        bias.CopyTo(model.Tensor("dense/bias"));
        model.Forward(X, 2);
        double tol = 2e-6 * Math.Max(1, Math.Abs(expected));
        float reported = model.ComputeLoss(targets, 2, gradient: false);
        Assert.True(Math.Abs(expected - reported) <= tol, $"{model.GetType().Name}: expected {expected:R}, got {reported:R}");
        model.Forward(X, 2, training: true);
        float trained = model.ComputeLoss(targets, 2, gradient: true);
        Assert.True(Math.Abs(expected - trained) <= tol, $"{model.GetType().Name} (training): expected {expected:R}, got {trained:R}");
    }

    [Fact]
    public void CrossentropiesSmoothTheTargetsLikeKeras()
    {
        double[] z3 = Logits(Kernel3, Bias3, 3), z2 = Logits(Kernel2, Bias2, 2);
        float[] labels = [0, 2];
        float[] oneHot = [1, 0, 0, 0, 0, 1];
        float[] soft = [0.2f, 0.5f, 0.3f, 0f, 0f, 1f];
        float[] binary = [1f, 0f, 0.25f, 1f];

        AssertLoss(new SmoothSoftmaxSparse(2, seed: 0), Kernel3, Bias3, labels, Crossentropy(z3, oneHot, 0.1));
        AssertLoss(new SmoothLogitsSparse(2, seed: 0), Kernel3, Bias3, labels, Crossentropy(z3, oneHot, 0.1));
        AssertLoss(new SmoothSoftmaxCategorical(2, seed: 0), Kernel3, Bias3, soft, Crossentropy(z3, soft, 0.1));
        AssertLoss(new SmoothLogitsCategorical(2, seed: 0), Kernel3, Bias3, soft, Crossentropy(z3, soft, 0.1));
        AssertLoss(new SmoothSigmoidBinary(2, seed: 0), Kernel2, Bias2, binary, Binary(z2, binary, 0.2));
        AssertLoss(new SmoothLogitsBinary(2, seed: 0), Kernel2, Bias2, binary, Binary(z2, binary, 0.2));
        // Smoothing changes the number: the unsmoothed model on the same weights reports less for these confident rows.
        Assert.NotEqual(Crossentropy(z3, oneHot, 0.1), Crossentropy(z3, oneHot, 0));
    }

    [Fact]
    public void FusedGradientIsProbabilityMinusSmoothedTarget()
    {
        var model = new SmoothSoftmaxSparse(2, seed: 0);
        Kernel3.CopyTo(model.Tensor("dense/kernel"));
        Bias3.CopyTo(model.Tensor("dense/bias"));
        model.Forward(X, 2, training: true);
        model.ComputeLoss([1, 2], 2, gradient: true);
        model.Backward(2);
        // dBias = Σ_samples (p − y_smoothed)/n, with y_smoothed = onehot·0.9 + 0.1/3.
        double[] z = Logits(Kernel3, Bias3, 3);
        float[] oneHot = [0, 1, 0, 0, 0, 1];
        var bias = model.Description.Tensors.Single(t => t.Name == "dense/bias");
        float[] dBias = model.Gradients.Span.Slice(bias.Offset, 3).ToArray();
        for (int j = 0; j < 3; j++)
        {
            double expected = 0;
            for (int s = 0; s < 2; s++)
            {
                double sum = Enumerable.Range(0, 3).Sum(k => Math.Exp(z[s * 3 + k]));
                expected += (Math.Exp(z[s * 3 + j]) / sum - (oneHot[s * 3 + j] * 0.9 + 0.1 / 3)) / 2;
            }
            Assert.Equal(expected, dBias[j], 5);
        }
    }

    [Fact]
    public void ProbabilityPathOfASeveralOutputModelSmoothsToo()
    {
        var model = new SmoothTwoHeads(2, seed: 3);
        float[] p = model.Forward(X, 2).ToArray(); // class (3) and size (1) side by side
        float[] targets = [2, 0.5f, 0, -0.25f]; // per sample: class index, size
        double expected = 0;
        for (int s = 0; s < 2; s++)
        {
            int label = (int)targets[s * 2];
            double sum = p[s * 4] + p[s * 4 + 1] + p[s * 4 + 2];
            for (int j = 0; j < 3; j++)
                expected -= ((j == label ? 0.9 : 0) + 0.1 / 3) * Math.Log(Math.Clamp(p[s * 4 + j] / sum, 1e-7, 1 - 1e-7)) / 2;
            double d = p[s * 4 + 3] - targets[s * 2 + 1];
            expected += 0.5 * d * d / 2;
        }
        float loss = model.ComputeLoss(targets, 2, gradient: false);
        Assert.True(Math.Abs(expected - loss) <= 2e-6 * Math.Max(1, expected), $"expected {expected:R}, got {loss:R}");
    }

    [Theory]
    [InlineData("sparse")]
    [InlineData("binary")]
    public void TrainOnBatchWithSmoothingAllocatesNothing(string kind)
    {
        const int batch = 32;
        Model model = kind == "sparse" ? new SmoothSoftmaxSparse(batch, seed: 1) : new SmoothSigmoidBinary(batch, seed: 1);
        var rng = new Random(5);
        var x = new float[batch * 2];
        for (int i = 0; i < x.Length; i++) x[i] = (float)rng.NextDouble();
        var y = new float[batch * model.TargetSize];
        for (int i = 0; i < y.Length; i++) y[i] = kind == "sparse" ? rng.Next(3) : rng.Next(2);
        var optimizer = new Adam(1e-3f);
        WarmUp.Run(() => model.TrainOnBatch(x, y, batch, optimizer), calls: 20);
        float loss = 0;
        var (allocated, workers) = WarmUp.Allocations(() => { for (int i = 0; i < 20; i++) loss += model.TrainOnBatch(x, y, batch, optimizer); });
        Assert.True(float.IsFinite(loss) && loss > 0, $"loss {loss}");
        Assert.Equal(0, allocated);
        Assert.Equal(0, workers);
    }
}
