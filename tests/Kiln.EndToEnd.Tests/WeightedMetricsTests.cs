using System;
using System.Collections.Generic;
using System.Linq;
using Kiln;

namespace Kiln.EndToEnd.Tests;

/// <summary>
/// Keras' <c>compile(weighted_metrics=[...])</c> (keras/src/trainers/compile_utils.py, CompileMetrics):
/// each weighted metric is Mean.update_state(values, sample_weight), Σ wᵢ·vᵢ / Σ wᵢ, computed here
/// naively from the model's predictions; named after the metric, or weighted_ + name when an
/// unweighted metric already reports that name.
/// </summary>
public sealed class WeightedMetricsTests
{
    // Classes half as far apart as the other weighted tests' (some predictions wrong), and some weights 0.
    private static Dataset Classes(int count, int features, int classes, int seed) => WeightedData.Classes(count, features, classes, seed, separation: 0.4f);

    private static float[] RandomWeights(int count, int seed) => WeightedData.RandomWeights(count, seed, zeroEveryFourth: true);

    /// <summary>Σ wᵢ·[label in the top k of sample i's outputs] / Σ wᵢ, from Predict (k = 1: accuracy).</summary>
    private static double Naive(Model model, Dataset data, float[]? weights, int k)
    {
        float[] p = model.Predict(data);
        int classes = model.OutputSize;
        double hit = 0, total = 0;
        for (int i = 0; i < data.Count; i++)
        {
            double w = weights?[i] ?? 1;
            var row = p.AsSpan(i * classes, classes);
            float score = row[(int)data.Targets[i]];
            int above = 0;
            foreach (float v in row) if (v > score) above++;
            if (above < k) hit += w;
            total += w;
        }
        return hit / total;
    }

    [Fact]
    public void EvaluateWeighsTheWeightedMetricsOnlyAndNamesThemAsKeras3()
    {
        var model = new TinySparseLogits(batchSize: 4, seed: 2); // 10 samples: batches of 4, 4 and 2
        var data = Classes(10, 6, 3, 1);
        var weights = RandomWeights(10, 2);
        model.WeightedMetrics = [Metric.Accuracy, Metric.SparseTopKCategoricalAccuracy(2)];
        Assert.Equal(["accuracy", "weighted_accuracy", "sparse_top_k_categorical_accuracy"], model.WeightedMetrics.Select(m => m.Name).Prepend(model.Metrics[0].Name));

        var result = model.Evaluate(data.WithSampleWeights(weights));
        Assert.Equal(["accuracy", "weighted_accuracy", "sparse_top_k_categorical_accuracy"], result.Values.Select(v => v.Key));
        var values = result.Values.ToDictionary(v => v.Key, v => (double)v.Value);
        Assert.Equal(Naive(model, data, null, 1), values["accuracy"], 6);
        Assert.Equal(Naive(model, data, weights, 1), values["weighted_accuracy"], 6);
        Assert.Equal(Naive(model, data, weights, 2), values["sparse_top_k_categorical_accuracy"], 6);
        Assert.NotEqual(values["accuracy"], values["weighted_accuracy"], 6); // the weights do change it here

        // No weights: every weight is 1, so the weighted metric is the unweighted one.
        var plain = model.Evaluate(data).Values.ToDictionary(v => v.Key, v => v.Value);
        Assert.Equal(plain["accuracy"], plain["weighted_accuracy"], 6);
    }

    [Fact]
    public void FitWeighsTrainingByTheClassWeightsAndValidationByItsSampleWeights()
    {
        // A learning rate of 0 keeps the weights, and the model has no dropout: each epoch's metrics are the model's on the data.
        var model = new TinySparseLogits(batchSize: 8, seed: 3);
        model.Metrics = [];
        model.WeightedMetrics = [Metric.Accuracy];
        var train = Classes(20, 6, 3, 4);
        var validation = Classes(11, 6, 3, 5);
        var validationWeights = RandomWeights(11, 6);
        var classWeight = new Dictionary<int, float> { [0] = 0.5f, [2] = 4f };
        var history = model.Fit(train, 2, new Sgd(0f), validation: validation.WithSampleWeights(validationWeights), verbose: 0, classWeight: classWeight);

        Assert.Equal(["loss", "accuracy", "val_loss", "val_accuracy"], history.Names);
        float[] trainWeights = train.Targets.Select(c => classWeight.TryGetValue((int)c, out float w) ? w : 1f).ToArray();
        for (int e = 0; e < 2; e++)
        {
            Assert.Equal(Naive(model, train, trainWeights, 1), history["accuracy"][e], 6);
            Assert.Equal(Naive(model, validation, validationWeights, 1), history["val_accuracy"][e], 6);
        }
    }

    [Fact]
    public void OneOutputOfSeveralIsNamedAfterItAndItsCountingMetricsAreWeighted()
    {
        var model = new SmoothTwoHeads(batchSize: 4, seed: 1);
        Assert.Contains("class_accuracy", model.Metrics.Select(m => m.Name));
        model.WeightedMetrics = [Metric.ForOutput("class", Metric.Accuracy), Metric.ForOutput("size", Metric.MeanSquaredError),
            Metric.ForOutput("class", Metric.Recall(topK: 1, classId: 1)), Metric.ForOutput("class", Metric.F1Score())];
        Assert.Equal(["class_weighted_accuracy", "size_mse", "class_recall", "class_f1_score_0", "class_f1_score_1", "class_f1_score_2"],
            model.WeightedMetrics.Select(m => m.Name));

        // The class head's recall of class 1, Σ wᵢ·[argmax is 1] / Σ wᵢ over the samples of class 1, from Predict.
        const int count = 40;
        var rng = new Random(3);
        var x = new float[count * 2];
        var y = new float[count * 2];
        for (int i = 0; i < x.Length; i++) x[i] = (float)(4 * rng.NextDouble() - 2);
        for (int i = 0; i < count; i++) (y[2 * i], y[2 * i + 1]) = (i % 3, (float)rng.NextDouble());
        var data = new Dataset(x, y, [2], 2);
        var weights = RandomWeights(count, 4);
        var result = model.Evaluate(data.WithSampleWeights(weights));
        float[] p = model.Predict(data);
        int outputs = model.OutputSize;
        double hit = 0, all = 0;
        for (int i = 0; i < count; i++)
        {
            if (y[2 * i] != 1) continue;
            var scores = p.AsSpan(i * outputs, 3);
            if (scores[1] > scores[0] && scores[1] > scores[2]) hit += weights[i];
            all += weights[i];
        }
        Assert.True(all > 0 && hit > 0, "the data has no recall to measure");
        Assert.Equal(hit / all, result["class_recall"], 1e-6);

        // A metric already weighted, from another model, is weighed again by this one's rule.
        var tiny = new TinySparseLogits(batchSize: 4, seed: 1);
        var other = new TinySparseLogits(4, seed: 1) { WeightedMetrics = [Metric.Accuracy] };
        tiny.WeightedMetrics = other.WeightedMetrics;
        Assert.Equal(["weighted_accuracy"], tiny.WeightedMetrics.Select(m => m.Name));
    }

    [Fact]
    public void WeightedMetricsAllocateNothingPerStep()
    {
        var model = new TinySparseLogits(16, seed: 7);
        // The means and the metrics that keep counts, with zero and fractional weights.
        model.WeightedMetrics = [Metric.Accuracy, Metric.SparseTopKCategoricalAccuracy(2), Metric.Precision(classId: 1), Metric.F1Score(),
            Metric.Auc(multiLabel: true, labelWeights: [1, 2, 0.5]), Metric.MeanIoU()];
        var data = Classes(16 * 40, 6, 3, 15);
        var probe = new BatchAllocationProbe();
        model.Fit(data.WithSampleWeights(RandomWeights(data.Count, 3)), 3, new Adam(1e-3f), verbose: 0, callbacks: [probe]);
        Assert.True(probe.Windows >= 2, $"measured {probe.Windows} windows");
        Assert.Equal(0, probe.Smallest);
    }
}
