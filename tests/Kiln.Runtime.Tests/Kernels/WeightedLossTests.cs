using System;
using System.Collections.Generic;
using Kiln.Kernels;

namespace Kiln.Runtime.Tests.Kernels;

/// <summary>
/// Keras' <c>sample_weight</c> in every loss kernel, against a naive reference written out here in
/// double: Keras 3 reduces with <c>"sum_over_batch_size"</c> (keras/src/losses/loss.py,
/// <c>reduce_weighted_values</c> and <c>reduce_values</c>), so the weighted loss is
/// Σ wᵢ·lossᵢ / n, divided by the batch size and not by Σ wᵢ, where lossᵢ is sample i's loss
/// (its mean over the features for binary cross-entropy and MSE).
/// </summary>
[Collection(KernelCollection.Name)]
public class WeightedLossTests
{
    private const int N = 3, Classes = 5;
    private static readonly float[] Weights = { 0.5f, 0f, 2.5f };

    private delegate float WeightedFn(ReadOnlySpan<float> input, ReadOnlySpan<float> targets, Span<float> grad, int n, int width, float ls, ReadOnlySpan<float> weights);

    /// <summary>One sample's loss in double, from its input row and target row (sparse: one label), with label smoothing ls.</summary>
    private delegate double NaiveSample(float[] input, float[] targets, int sample, double ls);

    private sealed record Case(string Name, WeightedFn Kernel, NaiveSample Naive, float[] Input, float[] Targets, bool Smooths = true);

    private static double[] Row(float[] input, int sample) => Array.ConvertAll(input[(sample * Classes)..((sample + 1) * Classes)], v => (double)v);

    private static double[] TargetRow(float[] targets, int sample, bool sparse, double ls, int classesForSmoothing)
    {
        var t = new double[Classes];
        for (int j = 0; j < Classes; j++)
            t[j] = sparse ? (j == (int)targets[sample] ? 1 : 0) : targets[sample * Classes + j];
        for (int j = 0; j < Classes; j++) t[j] = t[j] * (1 - ls) + ls / classesForSmoothing;
        return t;
    }

    private static NaiveSample Crossentropy(bool logits, bool sparse) => (input, targets, i, ls) =>
    {
        double[] z = Row(input, i), t = TargetRow(targets, i, sparse, ls, Classes);
        double[] p = new double[Classes];
        double sum = 0;
        for (int j = 0; j < Classes; j++) sum += p[j] = logits ? Math.Exp(z[j]) : z[j];
        double loss = 0;
        for (int j = 0; j < Classes; j++)
            loss -= t[j] * Math.Log(logits ? p[j] / sum : Math.Clamp(p[j] / sum, 1e-7, 1 - 1e-7));
        return loss;
    };

    private static NaiveSample Binary(bool logits) => (input, targets, i, ls) =>
    {
        double[] z = Row(input, i), t = TargetRow(targets, i, false, ls, 2);
        double loss = 0;
        for (int j = 0; j < Classes; j++)
        {
            double p = logits ? 1 / (1 + Math.Exp(-z[j])) : Math.Clamp(z[j], 1e-7, 1 - 1e-7);
            loss -= t[j] * Math.Log(p) + (1 - t[j]) * Math.Log(1 - p);
        }
        return loss / Classes;
    };

    private static double SquaredError(float[] input, float[] targets, int i, double ls)
    {
        double loss = 0;
        for (int j = 0; j < Classes; j++)
        {
            double d = (double)input[i * Classes + j] - targets[i * Classes + j];
            loss += d * d;
        }
        return loss / Classes;
    }

    private static IEnumerable<Case> Cases()
    {
        float[] labels = { 4, 0, 2 };
        float[] logits = TestData.Random(N * Classes, 191, -3f, 3f);
        float[] probs = TestData.Random(N * Classes, 192, 0.05f, 0.95f); // unnormalized on purpose
        float[] soft = TestData.Random(N * Classes, 193, 0f, 1f);
        float[] binary = TestData.Random(N * Classes, 194, 0f, 1f);
        float[] oneHot = new float[N * Classes];
        for (int i = 0; i < N; i++) oneHot[i * Classes + (int)labels[i]] = 1f;
        yield return new("sparse CE from logits", Losses.SparseCategoricalCrossentropyFromLogits, Crossentropy(true, true), logits, labels);
        yield return new("sparse CE", Losses.SparseCategoricalCrossentropy, Crossentropy(false, true), probs, labels);
        yield return new("CE from logits", Losses.CategoricalCrossentropyFromLogits, Crossentropy(true, false), logits, soft);
        yield return new("CE (one-hot)", Losses.CategoricalCrossentropy, Crossentropy(false, false), probs, oneHot);
        yield return new("CE (soft)", Losses.CategoricalCrossentropy, Crossentropy(false, false), probs, soft);
        yield return new("BCE from logits", Losses.BinaryCrossentropyFromLogits, Binary(true), logits, binary);
        yield return new("BCE", Losses.BinaryCrossentropy, Binary(false), probs, binary);
        yield return new("MSE", (x, t, g, n, w, ls, sw) => Losses.MeanSquaredError(x, t, g, n, w, sw), SquaredError, logits, soft, Smooths: false);
    }

    [Fact]
    public void WeightedLossIsSumOfWeightedSampleLossesOverBatchSize()
    {
        foreach (var c in Cases())
            foreach (float ls in c.Smooths ? new[] { 0f, 0.2f } : new[] { 0f })
            {
                double expected = 0;
                for (int i = 0; i < N; i++) expected += Weights[i] * c.Naive(c.Input, c.Targets, i, ls);
                expected /= N; // the batch size, not Σw = 3
                float loss = c.Kernel(c.Input, c.Targets, Span<float>.Empty, N, Classes, ls, Weights);
                Assert.True(Math.Abs(expected - loss) <= 2e-6 * Math.Max(1, Math.Abs(expected)), $"{c.Name}, ls {ls}: expected {expected:R}, got {loss:R}");
                // With a gradient span the loss is the same number.
                Assert.Equal(loss, c.Kernel(c.Input, c.Targets, new float[N * Classes], N, Classes, ls, Weights));
            }
    }

    [Fact]
    public void WeightedGradientPassesGradientCheckAndScalesEachRow()
    {
        foreach (var c in Cases())
            foreach (float ls in c.Smooths ? new[] { 0f, 0.2f } : new[] { 0f })
            {
                var weighted = new float[N * Classes];
                c.Kernel(c.Input, c.Targets, weighted, N, Classes, ls, Weights);
                GradCheck.Check(c.Input, weighted, () => c.Kernel(c.Input, c.Targets, Span<float>.Empty, N, Classes, ls, Weights), $"{c.Name}, ls {ls}", abs: 1e-4);
                // Row i is wᵢ times the unweighted row: each sample's gradient scaled by its weight.
                var plain = new float[N * Classes];
                c.Kernel(c.Input, c.Targets, plain, N, Classes, ls, default);
                for (int k = 0; k < plain.Length; k++)
                    Assert.True(Math.Abs(weighted[k] - Weights[k / Classes] * (double)plain[k]) <= 1e-6 * (1 + Math.Abs(plain[k])),
                        $"{c.Name}, ls {ls}: gradient {k} is {weighted[k]}, expected {Weights[k / Classes]} × {plain[k]}");
            }
    }

    [Fact]
    public void AllOnesWeightsAreBitwiseTheUnweightedLoss()
    {
        float[] ones = { 1f, 1f, 1f };
        foreach (var c in Cases())
            foreach (float ls in c.Smooths ? new[] { 0f, 0.2f } : new[] { 0f })
            {
                var a = new float[N * Classes];
                var b = new float[N * Classes];
                float plain = c.Kernel(c.Input, c.Targets, a, N, Classes, ls, default);
                float weighted = c.Kernel(c.Input, c.Targets, b, N, Classes, ls, ones);
                Assert.Equal(BitConverter.SingleToInt32Bits(plain), BitConverter.SingleToInt32Bits(weighted));
                Assert.Equal(a, b);
            }
        // And the overloads without a weights argument are the empty-weights path.
        float[] labels = { 4, 0, 2 };
        float[] logits = TestData.Random(N * Classes, 191, -3f, 3f);
        Assert.Equal(Losses.SparseCategoricalCrossentropyFromLogits(logits, labels, Span<float>.Empty, N, Classes),
            Losses.SparseCategoricalCrossentropyFromLogits(logits, labels, Span<float>.Empty, N, Classes, 0f, ones));
    }

    [Theory]
    [InlineData(-1f)]
    [InlineData(float.NaN)]
    [InlineData(float.PositiveInfinity)]
    public void BadWeightsAreRefusedByName(float bad)
    {
        float[] weights = { 1f, bad, 1f };
        var ex = Assert.Throws<ArgumentException>(() => Losses.MeanSquaredError(new float[N], new float[N], Span<float>.Empty, N, 1, weights));
        Assert.Equal("sampleWeights", ex.ParamName);
        Assert.Contains("sample weight 1", ex.Message);
        var wrongLength = Assert.Throws<ArgumentException>(() => Losses.SparseCategoricalCrossentropy(new float[N * 2], new float[N], Span<float>.Empty, N, 2, 0f, new float[2]));
        Assert.Equal("sampleWeights", wrongLength.ParamName);
        Assert.Contains("2 values but the batch has 3", wrongLength.Message);
    }
}
