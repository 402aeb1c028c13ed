using System;
using System.Linq;
using Kiln;
using Kiln.Samples.FashionMnist;
using Kiln.Samples.FashionMnistCnn;

namespace Kiln.EndToEnd.Tests;

/// <summary>What the generated class tells about itself, Predict/Evaluate, and the run-time argument errors.</summary>
public sealed class ModelApiTests
{
    [Fact]
    public void SummaryMatchesKeras()
    {
        string summary = FashionMlp.Summary;
        Assert.Contains("Total params: 266,610", summary);
        Assert.Contains("Trainable params: 266,610", summary);
        Assert.Contains("Non-trainable params: 0", summary);
        Assert.Contains("(None, 784)", summary);
        Assert.Contains("235500", summary); // 784·300 + 300
        Assert.Contains("30100", summary);
        Assert.Contains("1010", summary);
        Assert.Same(FashionMlp.Summary, new FashionMlp(1).Description.Summary);
    }

    [Fact]
    public void TensorsAreNamedAndLaidOutLikeKeras()
    {
        var model = new FashionMlp(batchSize: 2, seed: 0);
        var d = model.Description;
        Assert.Equal(["dense/kernel", "dense/bias", "dense_1/kernel", "dense_1/bias", "dense_2/kernel", "dense_2/bias"],
            d.Tensors.Select(t => t.Name).ToArray());
        Assert.Equal([784, 300], d.Tensors[0].Shape);
        Assert.Equal([300], d.Tensors[1].Shape);
        Assert.Equal([300, 100], d.Tensors[2].Shape);
        Assert.Equal([100], d.Tensors[3].Shape);
        Assert.Equal([100, 10], d.Tensors[4].Shape);
        Assert.Equal([10], d.Tensors[5].Shape);
        Assert.All(d.Tensors, t => Assert.True(t.Trainable));
        Assert.Equal(266_610, d.Tensors.Sum(t => t.Length));

        // Each tensor starts on a 64-byte line, in order, without overlap, inside the buffer.
        int end = 0;
        foreach (var t in d.Tensors)
        {
            Assert.Equal(0, t.Offset % 16);
            Assert.True(t.Offset >= end, $"{t.Name} at {t.Offset} overlaps the previous tensor ending at {end}");
            end = t.Offset + t.Length;
        }
        Assert.True(end <= d.ParameterCount);
        Assert.True(d.ParameterCount - 266_610 < 16 * d.Tensors.Count, "padding beyond one line per tensor");
        Assert.Equal(d.ParameterCount, model.Parameters.Length);
        Assert.Equal(d.ParameterCount, model.Gradients.Length);
        Assert.Equal(0, d.StateCount);
        Assert.Equal([28, 28], d.InputShape);
        Assert.Equal([10], d.OutputShape);
        Assert.Equal(784, model.InputSize);
        Assert.Equal(10, model.OutputSize);
        Assert.Equal(1, model.TargetSize);
        Assert.Equal(Loss.SparseCategoricalCrossentropy, d.Loss);
        Assert.Equal("accuracy", model.MetricName);
        Assert.Equal("FashionMlp", d.Name);

        // Tensor(name) is a view of Parameters at the described offset.
        model.Tensor("dense_1/bias")[3] = 42f;
        Assert.Equal(42f, model.Parameters.Span[d.Tensors[3].Offset + 3]);
    }

    [Fact]
    public void InitializationIsGlorotUniformWithZeroBiases()
    {
        var model = new FashionMlp(batchSize: 1, seed: 3);
        // Glorot uniform: U(−l, l), l = sqrt(6 / (fan_in + fan_out)).
        foreach (var (name, fanIn, fanOut) in new[] { ("dense/kernel", 784, 300), ("dense_1/kernel", 300, 100), ("dense_2/kernel", 100, 10) })
        {
            float[] k = model.Tensor(name).ToArray();
            double limit = Math.Sqrt(6.0 / (fanIn + fanOut));
            Assert.All(k, v => Assert.InRange(v, -limit, limit));
            double variance = k.Select(v => (double)v * v).Average();
            Assert.InRange(variance, limit * limit / 3 * 0.8, limit * limit / 3 * 1.2);
            Assert.True(k.Distinct().Count() > k.Length / 2, $"{name} looks constant");
        }
        foreach (string b in new[] { "dense/bias", "dense_1/bias", "dense_2/bias" })
            Assert.All(model.Tensor(b).ToArray(), v => Assert.Equal(0f, v));

        // The seed fixes the weights; another seed changes them.
        Assert.Equal(model.Parameters.Span.ToArray(), new FashionMlp(batchSize: 7, seed: 3).Parameters.Span.ToArray());
        Assert.NotEqual(model.Parameters.Span.ToArray(), new FashionMlp(batchSize: 1, seed: 4).Parameters.Span.ToArray());
    }

    [Fact]
    public void TinyModelsDescribeThemselves()
    {
        var noBias = new NoBias(1);
        Assert.Equal(["dense/kernel", "dense_1/kernel"], noBias.Description.Tensors.Select(t => t.Name).ToArray());
        Assert.Equal(5 * 6 + 6 * 3, noBias.Description.Tensors.Sum(t => t.Length));

        var reshapes = new Reshapes(1);
        Assert.Equal([12], reshapes.Description.InputShape);
        Assert.Equal([3], reshapes.Description.OutputShape);
        Assert.Equal(["dense/kernel", "dense/bias", "dense_1/kernel", "dense_1/bias", "dense_2/kernel", "dense_2/bias"],
            reshapes.Description.Tensors.Select(t => t.Name).ToArray());

        Assert.Equal(4, new TinyMultiLabel(1).TargetSize);
        Assert.Equal("mae", new TinyRegression(1).MetricName);
        Assert.True(new TinyCategoricalLogits(1).Description.FromLogits);
        Assert.False(new TinyCategorical(1).Description.FromLogits);
    }

    private static Dataset RandomImages(int count, int seed)
    {
        var rng = new Random(seed);
        var x = new float[count * 784];
        for (int i = 0; i < x.Length; i++) x[i] = (float)(rng.NextDouble() * 2 - 1);
        var y = new float[count];
        for (int i = 0; i < count; i++) y[i] = rng.Next(10);
        return new Dataset(x, y, [28, 28], 1);
    }

    [Fact]
    public void PredictReturnsProbabilityRowsAndMatchesForward()
    {
        var model = new FashionMlp(batchSize: 16, seed: 1);
        var data = RandomImages(37, 2); // two full batches and a short one
        float[] p = model.Predict(data);
        Assert.Equal(37 * 10, p.Length);
        for (int s = 0; s < 37; s++)
        {
            double sum = 0;
            for (int j = 0; j < 10; j++)
            {
                Assert.InRange(p[s * 10 + j], 0f, 1f);
                sum += p[s * 10 + j];
            }
            Assert.True(Math.Abs(sum - 1) < 1e-5, $"row {s} sums to {sum}");
        }
        // One sample at a time through Forward gives the same rows: batches do not mix samples.
        for (int s = 0; s < 37; s += 9)
        {
            float[] one = model.Forward(data.Sample(s), 1).ToArray();
            for (int j = 0; j < 10; j++)
                Assert.True(Math.Abs(one[j] - p[s * 10 + j]) <= 1e-6f, $"sample {s} class {j}: {one[j]} alone, {p[s * 10 + j]} in a batch");
        }
    }

    [Fact]
    public void EvaluateAgreesWithAManualComputationOverPredict()
    {
        var model = new FashionMlp(batchSize: 32, seed: 5);
        var data = RandomImages(100, 6);
        // Train a little so that accuracy is neither 0 nor chance by construction.
        model.Fit(data, epochs: 3, new Sgd(0.05f), verbose: 0);
        float[] p = model.Predict(data);
        double loss = 0;
        int correct = 0;
        for (int s = 0; s < 100; s++)
        {
            var row = p.AsSpan(s * 10, 10);
            int label = (int)data.Targets[s];
            loss -= Math.Log(Math.Clamp(row[label], 1e-7, 1 - 1e-7));
            int best = 0;
            for (int j = 1; j < 10; j++) if (row[j] > row[best]) best = j;
            if (best == label) correct++;
        }
        var result = model.Evaluate(data);
        Assert.Equal("accuracy", result.MetricName);
        Assert.Equal(correct / 100f, result.Accuracy, 6);
        Assert.True(Math.Abs(loss / 100 - result.Loss) < 1e-4 * Math.Max(1, loss / 100), $"manual loss {loss / 100}, Evaluate {result.Loss}");
        Assert.True(correct > 10, $"only {correct}/100 training samples right after 3 epochs");
    }

    [Fact]
    public void EvaluateAndPredictForMultiLabelAndRegression()
    {
        var model = new TinyMultiLabel(batchSize: 4, seed: 2);
        var rng = new Random(3);
        var x = new float[10 * 5];
        var y = new float[10 * 4];
        for (int i = 0; i < x.Length; i++) x[i] = (float)(rng.NextDouble() * 2 - 1);
        for (int i = 0; i < y.Length; i++) y[i] = rng.Next(2);
        var data = new Dataset(x, y, [5], 4);
        float[] p = model.Predict(data);
        double loss = 0, right = 0;
        for (int i = 0; i < p.Length; i++)
        {
            loss -= y[i] * Math.Log(p[i]) + (1 - y[i]) * Math.Log(1 - p[i]);
            if (p[i] > 0.5f == y[i] > 0.5f) right++;
        }
        var r = model.Evaluate(data);
        Assert.Equal(loss / p.Length, r.Loss, 4);
        Assert.Equal(right / p.Length, r.Accuracy, 5);

        var reg = new TinyRegression(batchSize: 3, seed: 1);
        var yr = new float[10 * 3];
        for (int i = 0; i < yr.Length; i++) yr[i] = (float)rng.NextDouble();
        var regData = new Dataset(x, yr, [5], 3);
        float[] o = reg.Predict(regData);
        double mse = 0, mae = 0;
        for (int i = 0; i < o.Length; i++) { mse += (o[i] - yr[i]) * (double)(o[i] - yr[i]); mae += Math.Abs(o[i] - yr[i]); }
        var rr = reg.Evaluate(regData);
        Assert.Equal(mse / o.Length, rr.Loss, 5);
        Assert.Equal(mae / o.Length, rr.Metric, 5);
        Assert.Throws<InvalidOperationException>(() => rr.Accuracy);
    }

    // ---- run-time errors ----

    [Fact]
    public void WrongInputLengthNamesTheExpectedShapeAndTheActualLength()
    {
        var model = new FashionMlp(batchSize: 4, seed: 0);
        var e = Assert.Throws<ArgumentException>(() => model.Forward(new float[1000], 2));
        Assert.Equal("input", e.ParamName);
        Assert.Contains("(28, 28)", e.Message);
        Assert.Contains("1568", e.Message); // 2 × 784 expected
        Assert.Contains("1000", e.Message); // what was passed

        var tiny = new TinySparseMlp(batchSize: 4, seed: 0);
        var e2 = Assert.Throws<ArgumentException>(() => tiny.Forward(new float[13], 1));
        Assert.Contains("(3, 4)", e2.Message);
        Assert.Contains("12", e2.Message);
        Assert.Contains("13", e2.Message);
    }

    [Fact]
    public void MisshapedDatasetNamesBothShapes()
    {
        var model = new FashionMlp(batchSize: 4, seed: 0);
        var wrong = new Dataset(new float[3 * 100], new float[3], [10, 10], 1);
        foreach (Action call in new Action[] { () => model.Predict(wrong), () => model.Evaluate(wrong), () => model.Fit(wrong, 1, new Sgd(), verbose: 0) })
        {
            var e = Assert.Throws<ArgumentException>(call);
            Assert.Contains("FashionMlp: input 'input' expected shape (None, 28, 28), found (None, 10, 10)", e.Message);
        }

        // Right images, one-hot targets for a sparse model.
        var oneHot = new Dataset(new float[3 * 784], new float[3 * 10], [28, 28], 10);
        var t = Assert.Throws<ArgumentException>(() => model.Fit(oneHot, 1, new Sgd(), verbose: 0));
        Assert.Contains("1 target", t.Message);
        Assert.Contains("10", t.Message);
    }

    [Fact]
    public void WrongTargetAndGradientLengthsAreRejected()
    {
        var model = new TinyCategorical(batchSize: 4, seed: 0);
        model.Forward(new float[2 * 6], 2, training: true);
        var e = Assert.Throws<ArgumentException>(() => model.ComputeLoss(new float[2], 2, gradient: true)); // sparse-style labels for a one-hot loss
        Assert.Equal("targets", e.ParamName);
        Assert.Contains("8", e.Message);
        Assert.Throws<ArgumentException>(() => model.Backward(2, new float[5]));
        Assert.Throws<ArgumentException>(() => model.BackwardFromOutputGradient(2, new float[13]));
    }

    [Fact]
    public void LabelsOutsideTheClassesAreRejected()
    {
        var model = new TinySparseMlp(batchSize: 2, seed: 0);
        model.Forward(new float[2 * 12], 2);
        var e = Assert.Throws<ArgumentException>(() => model.ComputeLoss([0f, 3f], 2, gradient: false));
        Assert.Contains("3", e.Message);
        Assert.Throws<ArgumentException>(() => model.ComputeLoss([0.5f, 1f], 2, gradient: false));
        Assert.Throws<ArgumentException>(() => model.ComputeLoss([-1f, 1f], 2, gradient: false));
    }

    [Theory]
    [InlineData(5)]
    [InlineData(0)]
    [InlineData(-1)]
    public void BatchLargerThanBuiltOrEmptyIsAClearError(int n)
    {
        var model = new FashionMlp(batchSize: 4, seed: 0);
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => model.Forward(new float[Math.Max(n, 0) * 784], n));
        Assert.Equal("n", e.ParamName);
        Assert.Contains("at most 4", e.Message);
        Assert.Contains(n.ToString(), e.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => model.ComputeLoss(new float[Math.Max(n, 0)], n, gradient: true));
        Assert.Throws<ArgumentOutOfRangeException>(() => model.Backward(n));
        Assert.Throws<ArgumentOutOfRangeException>(() => model.OutputGradient(n));
    }

    /// <summary>
    /// Backward works in place on what the forward pass left: a second Backward from one forward read overwritten values (in the
    /// CIFAR-style pooled block, an argmax the first had clobbered, reported as a corrupted argmax). It is a clear error instead.
    /// </summary>
    [Fact]
    public void SecondBackwardFromOneForwardIsAClearError()
    {
        var model = new FashionCnn(batchSize: 2, seed: 1);
        var x = new float[2 * model.InputSize];
        for (int i = 0; i < x.Length; i++) x[i] = (i % 17) / 17f;
        float[] y = [3, 8];
        model.Forward(x, 2, training: true);
        model.ComputeLoss(y, 2, gradient: true);
        model.Backward(2, new float[x.Length]);
        var e = Assert.Throws<InvalidOperationException>(() => model.Backward(2));
        Assert.Contains("Backward already ran", e.Message);
        Assert.Throws<InvalidOperationException>(() => model.BackwardFromOutputGradient(2));
        // A new forward pass is all it takes.
        model.Forward(x, 2, training: true);
        model.ComputeLoss(y, 2, gradient: true);
        model.Backward(2);
        Assert.All(model.Gradients.Span.ToArray(), v => Assert.True(float.IsFinite(v)));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-3)]
    public void NonPositiveBatchSizeInTheConstructorThrows(int batchSize)
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => new FashionMlp(batchSize: batchSize, seed: 0));
        Assert.Equal("batchSize", e.ParamName);
        Assert.Contains("FashionMlp", e.Message);
    }

    [Fact]
    public void HugeBatchSizeIsRefusedBeforeAllocating()
    {
        // 1,632 floats per sample: two million samples need more than one array holds.
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => new FashionMlp(batchSize: 2_000_000, seed: 0));
        Assert.Contains("smaller batch", e.Message);
    }

    [Fact]
    public void UnknownTensorNameThrows()
    {
        var model = new FashionMlp(1);
        var e = Assert.Throws<ArgumentException>(() => model.Tensor("dense_3/kernel"));
        Assert.Contains("dense_3/kernel", e.Message);
    }
}
