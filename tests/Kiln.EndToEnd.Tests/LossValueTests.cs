using System;
using System.Linq;
using Kiln;

namespace Kiln.EndToEnd.Tests;

/// <summary>
/// Loss values of one-Dense models with weights set by hand, against the Keras formulas written
/// out here in double: the kernel layout (inputs, units), the activation, the loss and its
/// reduction (mean over outputs, then over the batch) all show up in these numbers.
/// </summary>
public sealed class LossValueTests
{
    // Two samples of two inputs; a deliberately asymmetric kernel so a transposed layout shows.
    /// <summary>The two samples of two features every model here (and in LabelSmoothingTests) is fed.</summary>
    internal static readonly float[] X = [1f, 2f, -1f, 0.5f];
    private static readonly float[] Kernel3 = [0.5f, -1f, 0.25f, 1.5f, 0.2f, -0.75f]; // (2, 3), row = input
    private static readonly float[] Bias3 = [0.1f, -0.2f, 0.3f];
    private static readonly float[] Kernel2 = [0.5f, -1f, 1.5f, 0.2f]; // (2, 2)
    private static readonly float[] Bias2 = [0.1f, -0.2f];

    private static void SetWeights(Model model, float[] kernel, float[] bias)
    {
        kernel.CopyTo(model.Tensor("dense/kernel"));
        bias.CopyTo(model.Tensor("dense/bias"));
    }

    /// <summary>The Dense's logits for <see cref="X"/>, in double.</summary>
    internal static double[] Logits(float[] kernel, float[] bias, int units)
    {
        var z = new double[2 * units];
        for (int s = 0; s < 2; s++)
            for (int j = 0; j < units; j++)
            {
                double v = bias[j];
                for (int i = 0; i < 2; i++) v += (double)X[s * 2 + i] * kernel[i * units + j];
                z[s * units + j] = v;
            }
        return z;
    }

    private static double[] Softmax(double[] z, int k)
    {
        var p = new double[z.Length];
        for (int s = 0; s < z.Length / k; s++)
        {
            double max = z.Skip(s * k).Take(k).Max(), sum = 0;
            for (int j = 0; j < k; j++) sum += p[s * k + j] = Math.Exp(z[s * k + j] - max);
            for (int j = 0; j < k; j++) p[s * k + j] /= sum;
        }
        return p;
    }

    private static double Sigmoid(double z) => 1 / (1 + Math.Exp(-z));

    private static void AssertClose(double expected, double actual, double tol = 2e-6)
        => Assert.True(Math.Abs(expected - actual) <= tol * Math.Max(1, Math.Abs(expected)), $"expected {expected:R}, got {actual:R}");

    [Fact]
    public void KernelLayoutIsInputsByUnits()
    {
        var model = new HandLinearMse(batchSize: 2, seed: 0);
        SetWeights(model, Kernel2, Bias2);
        float[] y = model.Forward(X, 2).ToArray();
        // Sample 0: (1·0.5 + 2·1.5 + 0.1, 1·(−1) + 2·0.2 − 0.2) = (3.6, −0.8), by hand.
        Assert.Equal(3.6f, y[0], 5);
        Assert.Equal(-0.8f, y[1], 5);
        // Sample 1: (−0.5 + 0.75 + 0.1, 1 + 0.1 − 0.2) = (0.35, 0.9).
        Assert.Equal(0.35f, y[2], 5);
        Assert.Equal(0.9f, y[3], 5);
    }

    [Fact]
    public void SparseCategoricalCrossentropyOnSoftmax()
    {
        var model = new HandSoftmaxSparse(batchSize: 4, seed: 0);
        SetWeights(model, Kernel3, Bias3);
        float[] labels = [0, 2];
        double[] p = Softmax(Logits(Kernel3, Bias3, 3), 3);

        float[] outputs = model.Forward(X, 2).ToArray();
        for (int i = 0; i < 6; i++) AssertClose(p[i], outputs[i]);
        double expected = -(Math.Log(p[0]) + Math.Log(p[5])) / 2;
        AssertClose(expected, model.ComputeLoss(labels, 2, gradient: false));
        // Same number with the gradient requested, and in training mode.
        model.Forward(X, 2, training: true);
        AssertClose(expected, model.ComputeLoss(labels, 2, gradient: true));
    }

    [Fact]
    public void UniformPredictionsGiveLogOfTheClassCount()
    {
        var model = new HandSoftmaxSparse(batchSize: 2, seed: 0);
        model.Parameters.Span.Clear();
        model.Forward(X, 2);
        Assert.Equal(1.0986123f, model.ComputeLoss([1, 2], 2, gradient: false), 6); // ln 3

        var binary = new HandSigmoidBinary(batchSize: 2, seed: 0);
        binary.Parameters.Span.Clear();
        binary.Forward(X, 2);
        Assert.Equal(0.6931472f, binary.ComputeLoss([0, 1, 1, 1], 2, gradient: false), 6); // ln 2
    }

    [Fact]
    public void CategoricalCrossentropyOnSoftmaxWithSoftTargets()
    {
        var model = new HandSoftmaxCategorical(batchSize: 2, seed: 0);
        SetWeights(model, Kernel3, Bias3);
        float[] t = [0.2f, 0.5f, 0.3f, 0f, 0f, 1f];
        double[] p = Softmax(Logits(Kernel3, Bias3, 3), 3);
        double expected = 0;
        for (int i = 0; i < 6; i++) expected -= t[i] * Math.Log(p[i]);
        expected /= 2;
        model.Forward(X, 2);
        AssertClose(expected, model.ComputeLoss(t, 2, gradient: false));
    }

    [Fact]
    public void CrossentropyFromLogits()
    {
        double[] z = Logits(Kernel3, Bias3, 3);
        double Lse(int s) => Math.Log(Math.Exp(z[s * 3]) + Math.Exp(z[s * 3 + 1]) + Math.Exp(z[s * 3 + 2]));

        var sparse = new HandLogitsSparse(batchSize: 2, seed: 0);
        SetWeights(sparse, Kernel3, Bias3);
        float[] outputs = sparse.Forward(X, 2).ToArray();
        for (int i = 0; i < 6; i++) AssertClose(z[i], outputs[i]); // no activation: the logits come out
        AssertClose(((Lse(0) - z[1]) + (Lse(1) - z[3])) / 2, sparse.ComputeLoss([1, 0], 2, gradient: false));

        var categorical = new HandLogitsCategorical(batchSize: 2, seed: 0);
        SetWeights(categorical, Kernel3, Bias3);
        categorical.Forward(X, 2);
        float[] t = [0.2f, 0.5f, 0.3f, 0f, 1f, 0f];
        double expected = 0;
        for (int s = 0; s < 2; s++)
            for (int j = 0; j < 3; j++) expected += t[s * 3 + j] * (Lse(s) - z[s * 3 + j]);
        AssertClose(expected / 2, categorical.ComputeLoss(t, 2, gradient: false));
    }

    [Fact]
    public void BinaryCrossentropyMeansOverOutputsThenBatch()
    {
        double[] z = Logits(Kernel2, Bias2, 2);
        float[] t = [1f, 0f, 0.25f, 1f];
        double expected = 0;
        for (int i = 0; i < 4; i++)
        {
            double p = Sigmoid(z[i]);
            expected -= t[i] * Math.Log(p) + (1 - t[i]) * Math.Log(1 - p);
        }
        expected /= 4; // Keras: mean over the 2 outputs, then over the 2 samples

        var probs = new HandSigmoidBinary(batchSize: 2, seed: 0);
        SetWeights(probs, Kernel2, Bias2);
        float[] outputs = probs.Forward(X, 2).ToArray();
        for (int i = 0; i < 4; i++) AssertClose(Sigmoid(z[i]), outputs[i]);
        AssertClose(expected, probs.ComputeLoss(t, 2, gradient: false));

        var logits = new HandLogitsBinary(batchSize: 2, seed: 0);
        SetWeights(logits, Kernel2, Bias2);
        logits.Forward(X, 2);
        AssertClose(expected, logits.ComputeLoss(t, 2, gradient: false));
    }

    [Fact]
    public void MeanSquaredErrorMeansOverOutputsThenBatch()
    {
        double[] z = Logits(Kernel2, Bias2, 2);
        float[] t = [3f, 0f, -1f, 2f];
        double expected = 0;
        for (int i = 0; i < 4; i++) expected += (z[i] - t[i]) * (z[i] - t[i]);
        expected /= 4;
        var model = new HandLinearMse(batchSize: 2, seed: 0);
        SetWeights(model, Kernel2, Bias2);
        model.Forward(X, 2);
        AssertClose(expected, model.ComputeLoss(t, 2, gradient: false));
        // (3.6−3)² + 0.8² + 1.35² + 1.1² = 0.36 + 0.64 + 1.8225 + 1.21 = 4.0325, / 4.
        AssertClose(1.008125, model.ComputeLoss(t, 2, gradient: false), 1e-5);

        var softmax = new HandSoftmaxMse(batchSize: 2, seed: 0);
        SetWeights(softmax, Kernel3, Bias3);
        double[] p = Softmax(Logits(Kernel3, Bias3, 3), 3);
        float[] t3 = [1, 0, 0, 0, 0, 1];
        double e3 = 0;
        for (int i = 0; i < 6; i++) e3 += (p[i] - t3[i]) * (p[i] - t3[i]);
        softmax.Forward(X, 2);
        AssertClose(e3 / 6, softmax.ComputeLoss(t3, 2, gradient: false));
    }

    /// <summary>
    /// A sigmoid output with binary cross-entropy is computed from the logits (as TF-Keras does
    /// through <c>_keras_logits</c>), so a confidently wrong sample costs its logit, not a clipped 15.9.
    /// </summary>
    [Fact]
    public void FusedSigmoidCrossentropyIsNotClipped()
    {
        var model = new HandSigmoidBinary(batchSize: 1, seed: 0);
        model.Parameters.Span.Clear();
        model.Tensor("dense/bias")[0] = 40f;
        model.Tensor("dense/bias")[1] = -40f;
        model.Forward([0f, 0f], 1);
        float loss = model.ComputeLoss([0f, 1f], 1, gradient: false);
        Assert.Equal(40f, loss, 4);
    }

    /// <summary>Evaluate's loss is the sample-weighted mean of the batch losses, batches of BatchSize plus a short last one.</summary>
    [Fact]
    public void EvaluateWeighsTheShortLastBatchBySampleCount()
    {
        var rng = new Random(5);
        var features = new float[7 * 2];
        for (int i = 0; i < features.Length; i++) features[i] = (float)(rng.NextDouble() * 4 - 2);
        float[] labels = [0, 1, 2, 2, 1, 0, 1];
        var data = new Dataset(features, labels, [2], 1);
        var model = new HandSoftmaxSparse(batchSize: 3, seed: 0);
        SetWeights(model, Kernel3, Bias3);

        double expected = 0;
        for (int s = 0; s < 7; s++)
        {
            double[] zs = new double[3];
            for (int j = 0; j < 3; j++)
                zs[j] = Bias3[j] + (double)features[s * 2] * Kernel3[j] + (double)features[s * 2 + 1] * Kernel3[3 + j];
            double[] p = Softmax(zs, 3);
            expected -= Math.Log(p[(int)labels[s]]);
        }
        expected /= 7;
        AssertClose(expected, model.Evaluate(data).Loss, 1e-5);
    }

    private static readonly float[] Identity2 = [1f, 0f, 0f, 1f];

    [Fact]
    public void LeakyReluUsesItsAlphaAndKerasDefault()
    {
        float[] x = [-1f, 2f, 3f, -0.5f];
        var leaky = new HandLeakyRelu(batchSize: 2, seed: 0);
        SetWeights(leaky, Identity2, [0f, 0f]);
        Assert.Equal([-0.2f, 2f, 3f, -0.1f], leaky.Forward(x, 2).ToArray());

        var byDefault = new HandLeakyReluDefault(batchSize: 2, seed: 0);
        SetWeights(byDefault, Identity2, [0f, 0f]);
        float[] y = byDefault.Forward(x, 2).ToArray();
        Assert.Equal(-0.3f, y[0], 6); // Keras' LeakyReLU layer defaults to alpha 0.3
        Assert.Equal(-0.15f, y[3], 6);
    }

    [Fact]
    public void ActivationValuesThroughAChain()
    {
        // relu(x) → tanh(relu · K2 + b2) → sigmoid.
        var model = new HandActivationChain(batchSize: 1, seed: 0);
        Identity2.CopyTo(model.Tensor("dense/kernel"));
        model.Tensor("dense/bias").Clear();
        float[] k2 = [0.5f, -1f, 2f, 0.25f];
        k2.CopyTo(model.Tensor("dense_1/kernel"));
        float[] b2 = [0.1f, -0.3f];
        b2.CopyTo(model.Tensor("dense_1/bias"));
        float[] y = model.Forward([-2f, 0.75f], 1).ToArray();
        double r0 = 0, r1 = 0.75; // relu
        double h0 = Math.Tanh(r0 * 0.5 + r1 * 2 + 0.1), h1 = Math.Tanh(r0 * -1 + r1 * 0.25 - 0.3);
        AssertClose(Sigmoid(h0), y[0]);
        AssertClose(Sigmoid(h1), y[1]);
    }
}
