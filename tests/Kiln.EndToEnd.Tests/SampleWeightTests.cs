using System;
using System.Collections.Generic;
using System.Linq;
using Kiln;
using Kiln.Tests;

namespace Kiln.EndToEnd.Tests;

/// <summary>
/// Keras' <c>sample_weight</c> and <c>class_weight</c> through generated models, Fit, Evaluate and
/// TrainOnBatch. Keras 3 reduces with <c>"sum_over_batch_size"</c> (keras/src/losses/loss.py):
/// a batch's loss is Σ wᵢ·lossᵢ / n, so the reference below is each sample's loss computed alone,
/// weighted, summed, over n. Class weights become sample weights from the labels
/// (keras/src/trainers/data_adapters/data_adapter_utils.py, class_weight_to_sample_weights).
/// </summary>
public sealed class SampleWeightTests
{
    /// <summary>Σ wᵢ·(sample i's loss on its own) / n: the Keras reduction, from the unweighted loss of single samples.</summary>
    private static double Reference(Model model, float[] x, float[] y, float[] weights, int n)
    {
        double total = 0;
        for (int i = 0; i < n; i++)
        {
            model.Forward(x.AsSpan(i * model.InputSize, model.InputSize), 1);
            total += weights[i] * (double)model.ComputeLoss(y.AsSpan(i * model.TargetSize, model.TargetSize), 1, gradient: false);
        }
        return total / n;
    }

    [Fact]
    public void WeightedBatchLossIsKerasSumOverBatchSizeForEveryLoss()
    {
        const int n = 5;
        var weights = new float[] { 0.5f, 0f, 2f, 1f, 3.5f };
        var rng = new Random(3);
        foreach (Model model in new Model[]
        {
            new TinySparseMlp(n, seed: 1), new TinyCategorical(n, seed: 1), new TinyCategoricalLogits(n, seed: 1), new TinySparseLogits(n, seed: 1),
            new TinyBinary(n, seed: 1), new TinyMultiLabel(n, seed: 1), new TinyMultiLabelLogits(n, seed: 1),
            new SmoothSoftmaxSparse(n, seed: 1), new SmoothSigmoidBinary(n, seed: 1), new SmoothLogitsCategorical(n, seed: 1), new SmoothTwoHeads(n, seed: 1),
        })
        {
            var x = Enumerable.Range(0, n * model.InputSize).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
            var y = Targets(model, n, rng);
            double expected = Reference(model, x, y, weights, n);
            model.Forward(x, n);
            float loss = model.ComputeLoss(y, n, gradient: false, weights);
            Assert.True(Math.Abs(expected - loss) <= 2e-6 * Math.Max(1, Math.Abs(expected)), $"{model.GetType().Name}: expected {expected:R}, got {loss:R}");
            // Not divided by Σw (7): Keras' "sum_over_batch_size".
            Assert.NotEqual(expected * n / weights.Sum(), loss, 3);
        }
    }

    /// <summary>Targets that fit each output: class indices, one-hot rows or values in [0, 1] (and a size for the two-head model).</summary>
    private static float[] Targets(Model model, int n, Random rng)
    {
        var y = new float[n * model.TargetSize];
        int column = 0;
        foreach (var o in model.Description.Outputs)
        {
            for (int s = 0; s < n; s++)
            {
                var row = y.AsSpan(s * model.TargetSize + column, o.TargetSize);
                switch (o.Loss)
                {
                    case Loss.SparseCategoricalCrossentropy: row[0] = rng.Next(o.Size); break;
                    case Loss.CategoricalCrossentropy: row[rng.Next(o.Size)] = 1; break;
                    default: for (int j = 0; j < row.Length; j++) row[j] = (float)rng.NextDouble(); break;
                }
            }
            column += o.TargetSize;
        }
        return y;
    }

    [Fact]
    public void WeightedGradientPassesGradientCheck()
    {
        const int n = 4;
        var weights = new float[] { 0.25f, 2f, 0f, 1.5f };
        var rng = new Random(8);
        foreach (Model model in new Model[] { new TinySparseMlp(n, seed: 2), new TinyMultiLabelLogits(n, seed: 2), new SmoothTwoHeads(n, seed: 2), new TinyCategorical(n, seed: 2) })
        {
            GradientCheck.RandomizeBiases(model, 4);
            var x = Enumerable.Range(0, n * model.InputSize).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
            var y = Targets(model, n, rng);
            model.Forward(x, n, training: true);
            model.ComputeLoss(y, n, gradient: true, weights);
            var dx = new float[x.Length];
            model.Backward(n, dx);
            float[] analytic = model.Gradients.Span.ToArray();
            var result = GradientCheck.Check(model, x, analytic, dx, () =>
            {
                model.Forward(x, n, training: true);
                return model.ComputeLoss(y, n, gradient: false, weights);
            });
            Assert.True(result.Failures.Count == 0, $"{model.GetType().Name}: {result}");
            Assert.True(result.CheckedNonZero > 0, $"{model.GetType().Name}: {result}");
        }
    }

    [Fact]
    public void FitWithAllOnesWeightsIsBitwiseFitWithout()
    {
        var data = WeightedData.Classes(50, 6, 3, 1);
        var ones = Enumerable.Repeat(1f, 50).ToArray();
        var a = new TinySparseLogits(8, seed: 3);
        var b = new TinySparseLogits(8, seed: 3);
        var ha = a.Fit(data, 3, new Adam(1e-2f), validationSplit: 0.2, verbose: 0);
        var hb = b.Fit(data.WithSampleWeights(ones), 3, new Adam(1e-2f), validationSplit: 0.2, verbose: 0);
        Assert.Equal(a.Parameters.Span.ToArray(), b.Parameters.Span.ToArray());
        Assert.Equal(ha["loss"], hb["loss"]);
        Assert.Equal(ha["val_loss"], hb["val_loss"]);
        // Weights that are not all ones do change the run.
        var c = new TinySparseLogits(8, seed: 3);
        c.Fit(data.WithSampleWeights(WeightedData.RandomWeights(50, 2)), 3, new Adam(1e-2f), validationSplit: 0.2, verbose: 0);
        Assert.NotEqual(a.Parameters.Span.ToArray(), c.Parameters.Span.ToArray());
    }

    [Fact]
    public void ClassWeightTrainsExactlyAsTheEquivalentSampleWeights()
    {
        var classWeight = new Dictionary<int, float> { [0] = 2f, [2] = 0.25f }; // class 1 left out: weight 1, as Keras
        // Sparse labels, one-hot targets (argmax) and a single sigmoid unit (rounded).
        var sparse = WeightedData.Classes(40, 6, 3, 5);
        var oneHot = WeightedData.Classes(40, 6, 4, 6, oneHot: true);
        var binary = WeightedData.Classes(40, 5, 2, 7);
        AssertSame(() => new TinySparseLogits(8, seed: 4), sparse, classWeight, s => sparse.Targets[s]);
        AssertSame(() => new TinyCategorical(8, seed: 4), oneHot, classWeight, s => Array.IndexOf(oneHot.Targets, 1f, s * 4, 4) - s * 4);
        AssertSame(() => new TinyBinary(8, seed: 4), binary, new Dictionary<int, float> { [1] = 3f }, s => binary.Targets[s]);

        static void AssertSame(Func<Model> create, Dataset data, Dictionary<int, float> classWeight, Func<int, float> classOf)
        {
            var weights = Enumerable.Range(0, data.Count).Select(s => classWeight.TryGetValue((int)classOf(s), out float w) ? w : 1f).ToArray();
            Model a = create(), b = create();
            var ha = a.Fit(data, 2, new Sgd(0.1f), validationSplit: 0.25, verbose: 0, classWeight: classWeight);
            // Keras converts class_weight for the training part only: the held-out tail is validated unweighted.
            var validationWeights = weights.ToArray();
            int splitAt = (int)Math.Floor(data.Count * 0.75);
            Array.Fill(validationWeights, 1f, splitAt, data.Count - splitAt);
            var hb = b.Fit(data.WithSampleWeights(validationWeights), 2, new Sgd(0.1f), validationSplit: 0.25, verbose: 0);
            Assert.Equal(a.Parameters.Span.ToArray(), b.Parameters.Span.ToArray());
            Assert.Equal(ha["loss"], hb["loss"]);
            Assert.Equal(ha["val_loss"], hb["val_loss"]);
        }
    }

    [Fact]
    public void ClassWeightOnABatchSourceTrainsAsOnTheDataset()
    {
        var data = WeightedData.Classes(40, 6, 3, 17);
        var classWeight = new Dictionary<int, float> { [0] = 0.5f, [1] = 3f };
        var a = new TinySparseLogits(8, seed: 8);
        var b = new TinySparseLogits(8, seed: 8);
        var ha = a.Fit(data, 2, new Sgd(0.1f), shuffle: false, verbose: 0, classWeight: classWeight);
        using var batches = Pipeline.From(data).Batch(8);
        var hb = b.Fit(batches, 2, new Sgd(0.1f), verbose: 0, classWeight: classWeight);
        Assert.Equal(a.Parameters.Span.ToArray(), b.Parameters.Span.ToArray());
        Assert.Equal(ha["loss"], hb["loss"]);
        // A pipeline of a weighted dataset carries its weights, so class weights on top are refused, as Keras refuses both.
        using var weighted = Pipeline.From(data.WithSampleWeights(WeightedData.RandomWeights(40, 1))).Batch(8);
        var e = Assert.Throws<InvalidOperationException>(() => new TinySparseLogits(8, seed: 8).Fit(weighted, 1, new Sgd(0.1f), verbose: 0, classWeight: classWeight));
        Assert.Contains("carry sample weights, and class weights were given too", e.Message);
    }

    [Fact]
    public void EvaluateWeighsTheLossButNotTheMetrics()
    {
        var data = WeightedData.Classes(37, 6, 3, 9); // 37: the last batch of 8 is short
        var weights = WeightedData.RandomWeights(37, 10);
        var model = new TinySparseLogits(8, seed: 5);
        model.Fit(data, 2, new Adam(1e-2f), verbose: 0);
        var plain = model.Evaluate(data);
        var weighted = model.Evaluate(data.WithSampleWeights(weights));
        // Σ over batches of (Σ wᵢ·lossᵢ / n_b)·n_b, over all samples: Σ wᵢ·lossᵢ / N.
        double expected = Reference(model, data.Features, data.Targets, weights, data.Count);
        Assert.True(Math.Abs(expected - weighted.Loss) <= 2e-6 * Math.Max(1, expected), $"expected {expected:R}, got {weighted.Loss:R}");
        Assert.NotEqual(plain.Loss, weighted.Loss);
        // Keras' metrics= are unweighted (only weighted_metrics= see sample_weight).
        Assert.Equal(plain.Metric, weighted.Metric);
    }

    [Fact]
    public void ValidationSplitAndValidationDataKeepTheirWeights()
    {
        var data = WeightedData.Classes(40, 6, 3, 11).WithSampleWeights(WeightedData.RandomWeights(40, 12));
        var model = new TinySparseLogits(8, seed: 6);
        var history = model.Fit(data, 2, new Adam(1e-2f), validationSplit: 0.25, verbose: 0);
        // The tail (samples 30..39) validated with its own weights, in inference mode, after the last epoch.
        var tail = data.Skip(30);
        Assert.Equal(data.SampleWeights!.AsSpan(30).ToArray(), tail.SampleWeights);
        Assert.Equal(model.Evaluate(tail).Loss, (float)history["val_loss"][^1], 5);
        // validation_data=(x, y, w): the same through the validation argument.
        var again = new TinySparseLogits(8, seed: 6);
        var second = again.Fit(data.Take(30), 2, new Adam(1e-2f), validation: tail, verbose: 0);
        Assert.Equal(history["val_loss"], second["val_loss"]);
        Assert.Equal(model.Parameters.Span.ToArray(), again.Parameters.Span.ToArray());
    }

    [Fact]
    public void ScalingADatasetKeepsItsWeights()
    {
        var data = WeightedData.Classes(10, 6, 3, 13).WithSampleWeights(WeightedData.RandomWeights(10, 14));
        var scaler = new StandardScaler();
        var scaled = scaler.FitTransform(data);
        Assert.Equal(data.SampleWeights, scaled.SampleWeights);
        Assert.Null(data.WithSampleWeights(null).SampleWeights);
    }

    [Fact]
    public void WeightedTrainOnBatchAndWeightedFitStepsAllocateNothing()
    {
        const int batch = 16;
        var model = new TinySparseLogits(batch, seed: 7);
        var rng = new Random(1);
        var x = Enumerable.Range(0, batch * model.InputSize).Select(_ => (float)rng.NextDouble()).ToArray();
        var y = Enumerable.Range(0, batch).Select(_ => (float)rng.Next(3)).ToArray();
        var weights = WeightedData.RandomWeights(batch, 2);
        var optimizer = new Adam(1e-3f);
        WarmUp.Run(() => model.TrainOnBatch(x, y, batch, optimizer, weights), calls: 20);
        var (allocated, workers) = WarmUp.Allocations(() => { for (int i = 0; i < 20; i++) model.TrainOnBatch(x, y, batch, optimizer, weights); });
        Assert.Equal(0, allocated);
        Assert.Equal(0, workers);

        // Inside Fit, with class weights turned into sample weights batch by batch.
        var data = WeightedData.Classes(16 * 40, 6, 3, 15);
        var probe = new BatchAllocationProbe();
        var fitted = new TinySparseLogits(batch, seed: 7);
        fitted.Fit(data, 3, new Adam(1e-3f), verbose: 0, callbacks: [probe], classWeight: new Dictionary<int, float> { [1] = 2f });
        Assert.True(probe.Windows >= 2, $"measured {probe.Windows} windows");
        Assert.Equal(0, probe.Smallest);
        var weighted = new TinySparseLogits(batch, seed: 7);
        var second = new BatchAllocationProbe();
        weighted.Fit(data.WithSampleWeights(WeightedData.RandomWeights(data.Count, 3)), 3, new Adam(1e-3f), verbose: 0, callbacks: [second]);
        Assert.Equal(0, second.Smallest);
    }

    [Fact]
    public void BadWeightsAreArgumentErrorsThatNameTheArgument()
    {
        var data = WeightedData.Classes(10, 6, 3, 16);
        var e = Assert.Throws<ArgumentException>(() => data.WithSampleWeights(new float[9]));
        Assert.Equal("sampleWeights", e.ParamName);
        Assert.Contains("9 sample weights for a dataset of 10", e.Message);
        foreach (float bad in new[] { -1f, float.NaN, float.PositiveInfinity })
        {
            var w = Enumerable.Repeat(1f, 10).ToArray();
            w[4] = bad;
            e = Assert.Throws<ArgumentException>(() => data.WithSampleWeights(w));
            Assert.Equal("sampleWeights", e.ParamName);
            Assert.Contains("sample weight 4", e.Message);
        }
        var model = new TinySparseLogits(8, seed: 1);
        e = Assert.Throws<ArgumentException>(() => model.Fit(data, 1, new Sgd(), verbose: 0, classWeight: new Dictionary<int, float> { [3] = 1f }));
        Assert.Equal("classWeight", e.ParamName);
        Assert.Contains("class weight for class 3", e.Message);
        Assert.Contains("classes 0..2", e.Message);
        e = Assert.Throws<ArgumentException>(() => model.Fit(data, 1, new Sgd(), verbose: 0, classWeight: new Dictionary<int, float> { [0] = -2f }));
        Assert.Equal("classWeight", e.ParamName);
        e = Assert.Throws<ArgumentException>(() => model.Fit(data.WithSampleWeights(Enumerable.Repeat(1f, 10).ToArray()), 1, new Sgd(), verbose: 0, classWeight: new Dictionary<int, float> { [0] = 2f }));
        Assert.Equal("classWeight", e.ParamName);
        Assert.Contains("not both", e.Message);
        // A regression loss has no classes; several outputs take sample weights only, as in Keras.
        var regression = new Dataset(new float[10 * 5], new float[10 * 3], [5], 3);
        e = Assert.Throws<ArgumentException>(() => new TinyRegression(8, seed: 1).Fit(regression, 1, new Sgd(), verbose: 0, classWeight: new Dictionary<int, float> { [0] = 2f }));
        Assert.Equal("classWeight", e.ParamName);
        Assert.Contains("regression loss", e.Message);
        var twoHeads = new Dataset(new float[10 * 2], new float[10 * 2], [2], 2);
        e = Assert.Throws<ArgumentException>(() => new SmoothTwoHeads(8, seed: 1).Fit(twoHeads, 1, new Sgd(), verbose: 0, classWeight: new Dictionary<int, float> { [0] = 2f }));
        Assert.Equal("classWeight", e.ParamName);
        Assert.Contains("single output", e.Message);
        // A batch's weights: one per sample, finite, ≥ 0.
        model.Forward(data.Features.AsSpan(0, 8 * 6), 8);
        e = Assert.Throws<ArgumentException>(() => model.ComputeLoss(data.Targets.AsSpan(0, 8), 8, false, new float[7]));
        Assert.Equal("sampleWeights", e.ParamName);
        e = Assert.Throws<ArgumentException>(() => model.TrainOnBatch(data.Features.AsSpan(0, 8 * 6), data.Targets.AsSpan(0, 8), 8, new Sgd(), [1, 1, 1, -1, 1, 1, 1, 1]));
        Assert.Equal("sampleWeights", e.ParamName);
        Assert.Contains("sample weight 3 is -1", e.Message);
    }
}
