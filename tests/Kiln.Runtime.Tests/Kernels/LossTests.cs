using System;
using Kiln.Kernels;

namespace Kiln.Runtime.Tests.Kernels;

[Collection(KernelCollection.Name)]
public class LossTests
{
    private const int N = 3, Classes = 5;

    [Fact]
    public void SparseCrossentropyFromLogitsOfKnownValues()
    {
        float[] logits = { 1, 2, 3, 1, 2, 3 };
        float[] labels = { 2, 0 };
        float loss = Losses.SparseCategoricalCrossentropyFromLogits(logits, labels, Span<float>.Empty, 2, 3);
        double lse = Math.Log(Math.Exp(1) + Math.Exp(2) + Math.Exp(3));
        Assert.Equal((lse - 3 + lse - 1) / 2, loss, 6);
        // Large logits must not overflow (log-sum-exp).
        float big = Losses.SparseCategoricalCrossentropyFromLogits(new float[] { 1000, 0 }, new float[] { 1 }, Span<float>.Empty, 1, 2);
        Assert.Equal(1000f, big, 3);
    }

    [Fact]
    public void ProbabilityLossesRenormalizeAndClipLikeKeras()
    {
        // Rows are renormalized by their sum: (2, 3, 5) is (0.2, 0.3, 0.5).
        Assert.Equal(-Math.Log(0.5), Losses.CategoricalCrossentropy(new float[] { 2, 3, 5 }, new float[] { 0, 0, 1 }, Span<float>.Empty, 1, 3), 6);
        Assert.Equal(-Math.Log(0.3), Losses.SparseCategoricalCrossentropy(new float[] { 2, 3, 5 }, new float[] { 1 }, Span<float>.Empty, 1, 3), 6);
        // A zero probability for the true class is clipped to 1e-7.
        Assert.Equal(16.118095f, Losses.SparseCategoricalCrossentropy(new float[] { 0, 1 }, new float[] { 0 }, Span<float>.Empty, 1, 2), 4);
        Assert.Equal(16.118095f, Losses.BinaryCrossentropy(new float[] { 0 }, new float[] { 1 }, Span<float>.Empty, 1, 1), 4);
        // Keras clips the top at 1 − 1e-7 in float32 (0.99999988), so this is −log(1.19e-7), not −log(1e-7).
        Assert.Equal(15.942385f, Losses.BinaryCrossentropy(new float[] { 1 }, new float[] { 0 }, Span<float>.Empty, 1, 1), 4);
        // Mean over features then batch.
        float bce = Losses.BinaryCrossentropy(new float[] { 0.5f, 0.9f, 0.2f, 0.6f }, new float[] { 1, 1, 0, 1 }, Span<float>.Empty, 2, 2);
        double expected = -(Math.Log(0.5) + Math.Log(0.9) + Math.Log(0.8) + Math.Log(0.6)) / 4;
        Assert.Equal(expected, bce, 5);
    }

    [Fact]
    public void LogitLossesAndMseOfKnownValues()
    {
        Assert.Equal(Math.Log(2), Losses.BinaryCrossentropyFromLogits(new float[] { 0 }, new float[] { 1 }, Span<float>.Empty, 1, 1), 6);
        Assert.Equal(100f, Losses.BinaryCrossentropyFromLogits(new float[] { 100 }, new float[] { 0 }, Span<float>.Empty, 1, 1), 4);
        Assert.Equal(0f, Losses.BinaryCrossentropyFromLogits(new float[] { -200 }, new float[] { 0 }, Span<float>.Empty, 1, 1), 6);
        Assert.Equal(2.5f, Losses.MeanSquaredError(new float[] { 1, 2 }, new float[] { 0, 0 }, Span<float>.Empty, 1, 2));
        Assert.Equal(1.25f, Losses.MeanSquaredError(new float[] { 1, 2, 0, 0 }, new float[] { 0, 0, 0, 0 }, Span<float>.Empty, 2, 2));
        double lse = Math.Log(Math.Exp(1) + Math.Exp(2));
        Assert.Equal(lse - 0.25 * 1 - 0.75 * 2, Losses.CategoricalCrossentropyFromLogits(new float[] { 1, 2 }, new float[] { 0.25f, 0.75f }, Span<float>.Empty, 1, 2), 6);
    }

    [Theory]
    [InlineData(3f)]
    [InlineData(-1f)]
    [InlineData(1.5f)]
    [InlineData(float.NaN)]
    public void BadLabelsNameSampleValueAndClassCount(float bad)
    {
        float[] labels = { 0, bad };
        var ex = Assert.Throws<ArgumentException>(() => Losses.SparseCategoricalCrossentropyFromLogits(new float[6], labels, new float[6], 2, 3));
        Assert.Contains("sample 1", ex.Message);
        Assert.Contains(bad.ToString(), ex.Message);
        Assert.Contains("[0, 3)", ex.Message);
        Assert.Throws<ArgumentException>(() => Losses.SparseCategoricalCrossentropy(new float[6], labels, Span<float>.Empty, 2, 3));
    }

    // The rows split over threads from 2,048 logits on; the terms are added in row order afterwards, so the loss and
    // every gradient bit are those of one thread, with smoothing (two terms a sparse row) and weights too.
    [Fact]
    public void CrossentropyFromLogitsHasTheSameBitsAtAnyThreadCount()
    {
        foreach (var (n, classes) in new[] { (256, 10), (1000, 7), (3, 5), (40, 600) })
            foreach (float smoothing in new[] { 0f, 0.1f })
                foreach (bool weighted in new[] { false, true })
                {
                    float[] logits = TestData.Random(n * classes, 101, -4f, 4f);
                    float[] labels = new float[n];
                    for (int i = 0; i < n; i++) labels[i] = (i * 7 + 3) % classes;
                    float[] soft = TestData.Random(n * classes, 102, 0f, 1f);
                    float[] weights = weighted ? TestData.Random(n, 103, 0f, 2f) : Array.Empty<float>();
                    (float Sparse, float[] SparseGrad, float Soft, float[] SoftGrad) At(int threads)
                    {
                        using var _ = new KernelSwitches(512, threads);
                        var g1 = new float[n * classes];
                        var g2 = new float[n * classes];
                        float l1 = Losses.SparseCategoricalCrossentropyFromLogits(logits, labels, g1, n, classes, smoothing, weights);
                        float l2 = Losses.CategoricalCrossentropyFromLogits(logits, soft, g2, n, classes, smoothing, weights);
                        return (l1, g1, l2, g2);
                    }
                    var one = At(1);
                    foreach (int threads in new[] { 2, 3 })
                    {
                        var many = At(threads);
                        string what = $"{n}×{classes} smoothing={smoothing} weighted={weighted} threads={threads}";
                        Assert.True(BitConverter.SingleToInt32Bits(one.Sparse) == BitConverter.SingleToInt32Bits(many.Sparse), $"{what}: sparse loss {many.Sparse:R} against {one.Sparse:R}");
                        Assert.True(BitConverter.SingleToInt32Bits(one.Soft) == BitConverter.SingleToInt32Bits(many.Soft), $"{what}: loss {many.Soft:R} against {one.Soft:R}");
                        for (int i = 0; i < n * classes; i++)
                        {
                            Assert.True(BitConverter.SingleToInt32Bits(one.SparseGrad[i]) == BitConverter.SingleToInt32Bits(many.SparseGrad[i]), $"{what}: sparse gradient {i}");
                            Assert.True(BitConverter.SingleToInt32Bits(one.SoftGrad[i]) == BitConverter.SingleToInt32Bits(many.SoftGrad[i]), $"{what}: gradient {i}");
                        }
                    }
                }
    }

    // Checked before any row runs, so a batch split over threads still names its first bad label.
    [Fact]
    public void TheFirstBadLabelIsReportedWhenRowsAreSplit()
    {
        const int n = 512, classes = 10;
        float[] labels = new float[n];
        labels[300] = 12;
        labels[40] = -1;
        using var _ = new KernelSwitches(512, 2);
        var ex = Assert.Throws<ArgumentException>(() => Losses.SparseCategoricalCrossentropyFromLogits(new float[n * classes], labels, new float[n * classes], n, classes));
        Assert.Contains("sample 40", ex.Message);
    }

    private delegate float LossFn(ReadOnlySpan<float> input, ReadOnlySpan<float> targets, Span<float> grad, int n, int width);

    private static void CheckGradient(LossFn loss, float[] input, float[] targets, string what)
    {
        var grad = new float[input.Length];
        loss(input, targets, grad, N, Classes);
        GradCheck.Check(input, grad, () => loss(input, targets, Span<float>.Empty, N, Classes), what, abs: 1e-4);
    }

    private static float[] OneHot(float[] labels)
    {
        var t = new float[N * Classes];
        for (int i = 0; i < N; i++) t[i * Classes + (int)labels[i]] = 1f;
        return t;
    }

    [Fact]
    public void EveryLossGradientPassesGradientCheck()
    {
        float[] labels = { 4, 0, 2 };
        float[] logits = TestData.Random(N * Classes, 91, -3f, 3f);
        float[] probs = TestData.Random(N * Classes, 92, 0.05f, 0.95f); // unnormalized on purpose
        float[] soft = TestData.Random(N * Classes, 93, 0f, 1f);
        float[] binary = TestData.Random(N * Classes, 94, 0f, 1f);

        CheckGradient(Losses.SparseCategoricalCrossentropyFromLogits, logits, labels, "sparse CE from logits");
        CheckGradient(Losses.CategoricalCrossentropyFromLogits, logits, soft, "CE from logits (soft targets)");
        CheckGradient(Losses.BinaryCrossentropyFromLogits, logits, binary, "BCE from logits");
        CheckGradient(Losses.SparseCategoricalCrossentropy, probs, labels, "sparse CE");
        CheckGradient(Losses.CategoricalCrossentropy, probs, OneHot(labels), "CE");
        CheckGradient(Losses.CategoricalCrossentropy, probs, soft, "CE (soft targets)");
        CheckGradient(Losses.BinaryCrossentropy, probs, binary, "BCE");
        CheckGradient(Losses.MeanSquaredError, logits, soft, "MSE");
    }

    [Fact]
    public void SparseFromLogitsGradientIsSoftmaxMinusOneHotOverN()
    {
        float[] logits = { 1, 2, 3 };
        var grad = new float[3];
        Losses.SparseCategoricalCrossentropyFromLogits(logits, new float[] { 1 }, grad, 1, 3);
        double s = Math.Exp(1) + Math.Exp(2) + Math.Exp(3);
        Assert.Equal(Math.Exp(1) / s, grad[0], 1e-7);
        Assert.Equal(Math.Exp(2) / s - 1, grad[1], 1e-7);
        Assert.Equal(Math.Exp(3) / s, grad[2], 1e-7);
    }

    // A confident row's label gradient p − 1 keeps its digits: p rounds to within 6·10⁻⁸ of 1 in float, so the
    // difference is taken as −Σ of the other classes' probabilities.
    [Theory]
    [MemberData(nameof(ActivationTests.Paths), MemberType = typeof(ActivationTests))]
    public void ConfidentLabelGradientKeepsItsDigits(int bits)
    {
        using var _ = new KernelSwitches(bits, 1);
        float[] logits = { 0, 20, -3, 1 };
        var grad = new float[4];
        Losses.SparseCategoricalCrossentropyFromLogits(logits, new float[] { 1 }, grad, 1, 4);
        double s = 0;
        foreach (float z in logits) s += Math.Exp(z - 20);
        double want = 1 / s - 1; // −2.2·10⁻⁹
        Assert.True(Math.Abs(grad[1] - want) <= 1e-6 * Math.Abs(want), $"label gradient {grad[1]:E6}, expected {want:E6}");
    }

    public static TheoryData<int, int> ClassCountsAndPaths()
    {
        var data = new TheoryData<int, int>();
        foreach (int bits in new[] { 512, 256, 0 })
            foreach (int classes in new[] { 7, 10, 16, 33, 1000 })
                data.Add(classes, bits);
        return data;
    }

    // Rows are vectors of 16 with the last partial one under a mask, and rows wider than the loss keeps on the stack
    // (512 classes) take a rented buffer: every class count and vector width must give softmax − one-hot and the mean of
    // lse − z[label], row by row, each row's gradient leaving its neighbours' alone. One logit sits 150 below its row's
    // max, where e^(z − max) is 0 in float.
    [Theory]
    [MemberData(nameof(ClassCountsAndPaths))]
    public void FromLogitsLossesMatchNaiveSoftmaxAtAnyClassCount(int classes, int bits)
    {
        using var _ = new KernelSwitches(bits, 1);
        const int n = 3;
        var rng = new Random(5);
        var logits = new float[n * classes];
        for (int i = 0; i < logits.Length; i++) logits[i] = (float)(rng.NextDouble() * 8 - 4);
        logits[classes + 1] = -150f;
        float[] labels = { 0, classes / 2, classes - 1 };
        var onehot = new float[n * classes];
        for (int i = 0; i < n; i++) onehot[i * classes + (int)labels[i]] = 1;
        var sparse = new float[n * classes];
        var dense = new float[n * classes];
        float sparseLoss = Losses.SparseCategoricalCrossentropyFromLogits(logits, labels, sparse, n, classes);
        float denseLoss = Losses.CategoricalCrossentropyFromLogits(logits, onehot, dense, n, classes);
        double expected = 0;
        for (int i = 0; i < n; i++)
        {
            double sum = 0;
            for (int j = 0; j < classes; j++) sum += Math.Exp(logits[i * classes + j]);
            expected += Math.Log(sum) - logits[i * classes + (int)labels[i]];
            for (int j = 0; j < classes; j++)
            {
                double g = (Math.Exp(logits[i * classes + j]) / sum - onehot[i * classes + j]) / n;
                Assert.Equal(g, sparse[i * classes + j], 1e-6);
                Assert.Equal(g, dense[i * classes + j], 1e-6);
            }
        }
        Assert.Equal(expected / n, sparseLoss, 1e-5);
        Assert.Equal(expected / n, denseLoss, 1e-5);
        // The loss alone (no gradient span) is the same number.
        Assert.Equal(sparseLoss, Losses.SparseCategoricalCrossentropyFromLogits(logits, labels, Span<float>.Empty, n, classes));
        Assert.Equal(denseLoss, Losses.CategoricalCrossentropyFromLogits(logits, onehot, Span<float>.Empty, n, classes));
    }

    // Label smoothing: the naive references below smooth the targets into a new array first, as
    // Keras 3 does (keras/src/losses/losses.py: categorical_crossentropy, binary_crossentropy).
    private const float Ls = 0.2f;

    private static double[] Smoothed(float[] t, double add) => Array.ConvertAll(t, v => v * (1.0 - Ls) + add);

    private static double NaiveCrossentropy(float[] input, float[] targets, bool logits)
    {
        double[] t = Smoothed(targets, (double)Ls / Classes);
        double total = 0;
        for (int i = 0; i < N; i++)
        {
            var row = new double[Classes];
            for (int j = 0; j < Classes; j++) row[j] = logits ? Math.Exp(input[i * Classes + j]) : input[i * Classes + j];
            double sum = 0;
            foreach (double v in row) sum += v;
            for (int j = 0; j < Classes; j++)
                total -= t[i * Classes + j] * Math.Log(Math.Clamp(row[j] / sum, logits ? 0 : 1e-7, logits ? 1 : 1 - 1e-7));
        }
        return total / N;
    }

    private static double NaiveBinary(float[] input, float[] targets, bool logits)
    {
        double[] t = Smoothed(targets, 0.5 * Ls);
        double total = 0;
        for (int i = 0; i < t.Length; i++)
        {
            double p = logits ? 1 / (1 + Math.Exp(-input[i])) : Math.Clamp(input[i], 1e-7, 1 - 1e-7);
            total -= t[i] * Math.Log(p) + (1 - t[i]) * Math.Log(1 - p);
        }
        return total / t.Length;
    }

    [Fact]
    public void LabelSmoothingMatchesNaiveReference()
    {
        float[] labels = { 4, 0, 2 };
        float[] logits = TestData.Random(N * Classes, 95, -3f, 3f);
        float[] probs = TestData.Random(N * Classes, 96, 0.05f, 0.95f);
        float[] soft = TestData.Random(N * Classes, 97, 0f, 1f);
        float[] binary = TestData.Random(N * Classes, 98, 0f, 1f);
        float[] hard = Array.ConvertAll(binary, v => v < 0.5f ? 0f : 1f);

        Assert.Equal(NaiveCrossentropy(logits, OneHot(labels), true), Losses.CategoricalCrossentropyFromLogits(logits, OneHot(labels), Span<float>.Empty, N, Classes, Ls), 5);
        Assert.Equal(NaiveCrossentropy(logits, soft, true), Losses.CategoricalCrossentropyFromLogits(logits, soft, Span<float>.Empty, N, Classes, Ls), 5);
        Assert.Equal(NaiveCrossentropy(probs, OneHot(labels), false), Losses.CategoricalCrossentropy(probs, OneHot(labels), Span<float>.Empty, N, Classes, Ls), 5);
        Assert.Equal(NaiveCrossentropy(probs, soft, false), Losses.CategoricalCrossentropy(probs, soft, Span<float>.Empty, N, Classes, Ls), 5);
        // Sparse labels smooth as their one-hot rows (Keras 3, keras-team/keras#23488).
        Assert.Equal(NaiveCrossentropy(logits, OneHot(labels), true), Losses.SparseCategoricalCrossentropyFromLogits(logits, labels, Span<float>.Empty, N, Classes, Ls), 5);
        Assert.Equal(NaiveCrossentropy(probs, OneHot(labels), false), Losses.SparseCategoricalCrossentropy(probs, labels, Span<float>.Empty, N, Classes, Ls), 5);
        Assert.Equal(NaiveBinary(logits, hard, true), Losses.BinaryCrossentropyFromLogits(logits, hard, Span<float>.Empty, N, Classes, Ls), 5);
        Assert.Equal(NaiveBinary(logits, binary, true), Losses.BinaryCrossentropyFromLogits(logits, binary, Span<float>.Empty, N, Classes, Ls), 5);
        Assert.Equal(NaiveBinary(probs, hard, false), Losses.BinaryCrossentropy(probs, hard, Span<float>.Empty, N, Classes, Ls), 5);
        // Smoothing raises the loss of a confident, correct prediction: it no longer aims at exactly 1.
        Assert.True(Losses.CategoricalCrossentropyFromLogits(new float[] { 10, 0 }, new float[] { 1, 0 }, Span<float>.Empty, 1, 2, Ls)
            > Losses.CategoricalCrossentropyFromLogits(new float[] { 10, 0 }, new float[] { 1, 0 }, Span<float>.Empty, 1, 2));
        // 0 is the overload without smoothing, bit for bit.
        Assert.Equal(Losses.BinaryCrossentropy(probs, binary, Span<float>.Empty, N, Classes), Losses.BinaryCrossentropy(probs, binary, Span<float>.Empty, N, Classes, 0f));
    }

    [Fact]
    public void LabelSmoothingGradientsPassGradientCheck()
    {
        float[] labels = { 4, 0, 2 };
        float[] logits = TestData.Random(N * Classes, 91, -3f, 3f);
        float[] probs = TestData.Random(N * Classes, 92, 0.05f, 0.95f);
        float[] soft = TestData.Random(N * Classes, 93, 0f, 1f);
        float[] binary = TestData.Random(N * Classes, 94, 0f, 1f);

        CheckGradient((x, t, g, n, w) => Losses.CategoricalCrossentropyFromLogits(x, t, g, n, w, Ls), logits, OneHot(labels), "CE from logits, smoothed");
        CheckGradient((x, t, g, n, w) => Losses.CategoricalCrossentropyFromLogits(x, t, g, n, w, Ls), logits, soft, "CE from logits (soft targets), smoothed");
        CheckGradient((x, t, g, n, w) => Losses.BinaryCrossentropyFromLogits(x, t, g, n, w, Ls), logits, binary, "BCE from logits, smoothed");
        CheckGradient((x, t, g, n, w) => Losses.CategoricalCrossentropy(x, t, g, n, w, Ls), probs, OneHot(labels), "CE, smoothed");
        CheckGradient((x, t, g, n, w) => Losses.BinaryCrossentropy(x, t, g, n, w, Ls), probs, binary, "BCE, smoothed");
        CheckGradient((x, t, g, n, w) => Losses.SparseCategoricalCrossentropyFromLogits(x, t, g, n, w, Ls), logits, labels, "sparse CE from logits, smoothed");
        CheckGradient((x, t, g, n, w) => Losses.SparseCategoricalCrossentropy(x, t, g, n, w, Ls), probs, labels, "sparse CE, smoothed");
    }

    [Fact]
    public void SmoothedFromLogitsGradientIsProbabilityMinusSmoothedTarget()
    {
        float[] z = { 1, 2, 3 };
        var grad = new float[3];
        Losses.CategoricalCrossentropyFromLogits(z, new float[] { 0, 1, 0 }, grad, 1, 3, 0.3f);
        double s = Math.Exp(1) + Math.Exp(2) + Math.Exp(3);
        Assert.Equal(Math.Exp(1) / s - 0.1, grad[0], 1e-7);
        Assert.Equal(Math.Exp(2) / s - 0.8, grad[1], 1e-7);
        Assert.Equal(Math.Exp(3) / s - 0.1, grad[2], 1e-7);

        // The sparse form takes the label's p − 1 as −Σ of the other p, so it agrees to float rounding, not bit for bit.
        var sparse = new float[3];
        Losses.SparseCategoricalCrossentropyFromLogits(z, new float[] { 1 }, sparse, 1, 3, 0.3f);
        for (int j = 0; j < 3; j++) Assert.Equal(grad[j], sparse[j], 2e-7);

        var g = new float[1];
        Losses.BinaryCrossentropyFromLogits(new float[] { 0 }, new float[] { 1 }, g, 1, 1, 0.3f);
        Assert.Equal(0.5 - 0.85, g[0], 6);
    }

    [Theory]
    [InlineData(-0.1f)]
    [InlineData(1.5f)]
    [InlineData(float.NaN)]
    public void LabelSmoothingOutsideZeroToOneThrows(float bad)
    {
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => Losses.CategoricalCrossentropyFromLogits(new float[2], new float[2], Span<float>.Empty, 1, 2, bad));
        Assert.Equal("labelSmoothing", ex.ParamName);
        Assert.Throws<ArgumentOutOfRangeException>(() => Losses.BinaryCrossentropy(new float[2], new float[2], Span<float>.Empty, 1, 2, bad));
        Assert.Throws<ArgumentOutOfRangeException>(() => Losses.SparseCategoricalCrossentropy(new float[2], new float[1], Span<float>.Empty, 1, 2, bad));
    }
}
