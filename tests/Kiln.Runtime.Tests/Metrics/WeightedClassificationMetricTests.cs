using Kiln.Tests;
using System;
using System.Collections.Generic;
using System.Linq;
using Kiln;
using Kiln.Runtime.Tests.Training;
using static Kiln.Runtime.Tests.Metrics.MetricReference;

namespace Kiln.Runtime.Tests.Metrics;

/// <summary>
/// The counting metrics in <see cref="Model.WeightedMetrics"/>: Keras' <c>update_state(..., sample_weight)</c>
/// multiplies each sample's contribution to TP/FP/FN (AUC's per-threshold counts, the IoU confusion
/// matrix) by its weight. Checked against naive whole-array references streamed in several batches,
/// and against the same data with each sample repeated as many times as its weight.
/// </summary>
public class WeightedClassificationMetricTests
{
    /// <summary>Every sixth weight 0, the others fractional in [0.25, 2.75).</summary>
    private static float[] Weights(int n, int seed)
    {
        var rng = new Random(seed);
        var w = new float[n];
        for (int i = 0; i < n; i++) w[i] = i % 6 == 0 ? 0 : (float)(0.25 + 2.5 * rng.NextDouble());
        return w;
    }

    [Fact]
    public void WeightedValuesAsKerasDocumentsThem()
    {
        // keras.metrics.Precision() and Recall(): update_state([0, 1, 1, 1], [1, 0, 1, 1], sample_weight=[0, 0, 1, 0]) → 1.0;
        // AUC(num_thresholds=3): update_state([0, 0, 1, 1], [0, 0.5, 0.3, 0.9], sample_weight=[1, 0, 0, 1]) → 1.0 (0.75 unweighted).
        var binary = new IdentityModel(1, Loss.BinaryCrossentropy)
        {
            Metrics = [Metric.Auc(3, name: "plain_auc")],
            WeightedMetrics = [Metric.Precision(), Metric.Recall(), Metric.Auc(3)],
        };
        var r = binary.Evaluate(new Dataset([1, 0, 1, 1], [0, 1, 1, 1], [1], 1).WithSampleWeights([0, 0, 1, 0]));
        Assert.Equal(1f, r["precision"]);
        Assert.Equal(1f, r["recall"]);
        r = binary.Evaluate(new Dataset([0, 0.5f, 0.3f, 0.9f], [0, 0, 1, 1], [1], 1).WithSampleWeights([1, 0, 0, 1]));
        Assert.Equal(1f, r["auc"]);
        Assert.Equal(0.75, r["plain_auc"], 1e-6);
        // MeanIoU(num_classes=2): update_state([0, 0, 1, 1], [0, 1, 0, 1], sample_weight=[0.3, 0.3, 0.3, 0.1]) → 0.23809525.
        var iou = new IdentityModel(2, Loss.SparseCategoricalCrossentropy) { Metrics = [], WeightedMetrics = [Metric.MeanIoU(2)] };
        r = iou.Evaluate(new Dataset([1, 0, 0, 1, 1, 0, 0, 1], [0, 0, 1, 1], [2], 1).WithSampleWeights([0.3f, 0.3f, 0.3f, 0.1f]));
        Assert.Equal(0.23809525, r["mean_io_u"], 1e-6);
    }

    [Theory]
    [InlineData(4, 21)]
    [InlineData(7, 22)]
    public void WeightedCountsMatchTheNaiveReferences(int batchSize, int seed)
    {
        const int classes = 4, n = 103;
        var (scores, labels) = Random(n, classes, seed);
        float[] oneHot = OneHot(labels, classes);
        float[] weights = Weights(n, seed);
        double[] w = weights.Select(x => (double)x).ToArray();
        var model = new IdentityModel(classes, Loss.SparseCategoricalCrossentropy, batchSize: batchSize)
        {
            Metrics = [Metric.Precision(), Metric.F1Score(MetricAverage.Macro)],
            WeightedMetrics =
            [
                Metric.Precision(), Metric.Recall(topK: 2, name: "r_k2"), Metric.Precision(classId: 1, name: "p_c1"), Metric.Recall(0.3, classId: 3, name: "r_c3"),
                Metric.F1Score(), Metric.F1Score(MetricAverage.Micro, name: "micro"), Metric.F1Score(MetricAverage.Macro, name: "macro"),
                Metric.F1Score(MetricAverage.Weighted, name: "by_support"), Metric.FBetaScore(2, MetricAverage.Macro, threshold: 0.3, name: "f2"),
                Metric.Auc(), Metric.Auc(curve: AucCurve.PR, name: "pr"), Metric.Auc(multiLabel: true, name: "ovr"), Metric.MeanIoU(),
            ],
        };
        var r = model.Evaluate(new Dataset(scores, labels, [classes], 1).WithSampleWeights(weights));

        // Metrics ignore the weights, as Keras' metrics= do.
        Assert.Equal(KerasPrecisionRecall(scores, oneHot, classes, recall: false), r["precision"], 1e-6);
        Assert.Equal(KerasFBeta(scores, oneHot, classes, 1).Macro, r["f1_score"], 1e-5);
        // WeightedMetrics weigh each (sample, class) entry; named weighted_ where Metrics took the name.
        Assert.Equal(KerasPrecisionRecall(scores, oneHot, classes, false, weights: w), r["weighted_precision"], 1e-6);
        Assert.NotEqual(r["precision"], r["weighted_precision"], 4);
        Assert.Equal(KerasPrecisionRecall(scores, oneHot, classes, true, topK: 2, weights: w), r["r_k2"], 1e-6);
        Assert.Equal(KerasPrecisionRecall(scores, oneHot, classes, false, classId: 1, weights: w), r["p_c1"], 1e-6);
        Assert.Equal(KerasPrecisionRecall(scores, oneHot, classes, true, 0.3f, classId: 3, weights: w), r["r_c3"], 1e-6);

        var f1 = KerasFBeta(scores, oneHot, classes, 1, w);
        for (int c = 0; c < classes; c++) Assert.Equal(f1.PerClass[c], r[$"weighted_f1_score_{c}"], 1e-5);
        Assert.Equal(f1.Micro, r["micro"], 1e-5);
        Assert.Equal(f1.Macro, r["macro"], 1e-5);
        Assert.Equal(f1.Weighted, r["by_support"], 1e-5);
        Assert.Equal(KerasFBeta(scores, oneHot, classes, 2, w, 0.3f).Macro, r["f2"], 1e-5);

        // AUC without multi_label: every (sample, class) value is a point with its sample's weight.
        double[] pointWeights = Enumerable.Range(0, n * classes).Select(j => w[j / classes]).ToArray();
        bool[] positive = oneHot.Select(t => t != 0).ToArray();
        Assert.Equal(KerasAuc(scores, positive, weights: pointWeights), r["auc"], 1e-6);
        Assert.Equal(KerasAuc(scores, positive, pr: true, weights: pointWeights), r["pr"], 1e-6);
        double perClass = Enumerable.Range(0, classes).Average(c =>
            KerasAuc(Column(scores, classes, c), labels.Select(l => l == c).ToArray(), weights: w));
        Assert.Equal(perClass, r["ovr"], 1e-6);

        int[] yTrue = labels.Select(l => (int)l).ToArray();
        Assert.Equal(MeanIoU(yTrue, ArgMax(scores, classes), classes, w), r["mean_io_u"], 1e-5);
    }

    private static float[] Column(float[] scores, int classes, int c) =>
        Enumerable.Range(0, scores.Length / classes).Select(i => scores[i * classes + c]).ToArray();

    /// <summary>
    /// Whole-number weights against the data with each sample repeated that many times (0: left out):
    /// the weighted counts are the repeated data's counts, so every value is the same, to the bit. Also
    /// for a segmentation map, where every pixel of a sample counts with its sample's weight.
    /// </summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void WeightTwoCountsASampleTwiceAndZeroLeavesItOut(bool segmentation)
    {
        const int n = 61;
        int[] shape = segmentation ? [2, 2, 3] : [4];
        int classes = shape[^1], size = shape.Aggregate(1, (a, b) => a * b), positions = size / classes;
        var (scores, labels) = Random(n * positions, classes, 23);
        float[] targets = OneHot(labels, classes); // one-hot: n × size values
        var rng = new Random(24);
        float[] weights = Enumerable.Range(0, n).Select(_ => (float)rng.Next(4)).ToArray(); // 0, 1, 2 or 3
        var repeatedScores = new List<float>();
        var repeatedTargets = new List<float>();
        for (int i = 0; i < n; i++)
            for (int k = 0; k < weights[i]; k++)
            {
                repeatedScores.AddRange(scores.AsSpan(i * size, size).ToArray());
                repeatedTargets.AddRange(targets.AsSpan(i * size, size).ToArray());
            }
        Assert.Contains(0f, weights);
        Assert.Contains(3f, weights);

        Model Build() => new ShapedIdentityModel(shape, Loss.CategoricalCrossentropy, batchSize: 5)
        {
            Metrics = [],
            WeightedMetrics =
            [
                Metric.Precision(), Metric.Recall(classId: 2), Metric.Precision(topK: 1, name: "p_k1"), Metric.F1Score(),
                Metric.FBetaScore(0.5, MetricAverage.Weighted), Metric.F1Score(MetricAverage.Micro, name: "micro"),
                Metric.Auc(50), Metric.Auc(curve: AucCurve.PR, multiLabel: true, name: "pr"), Metric.Auc(thresholds: [0.1, 0.35, 0.8], name: "uneven"),
                Metric.MeanIoU(),
            ],
        };
        var weighted = Build().Evaluate(new Dataset(scores, targets, shape, size).WithSampleWeights(weights));
        var repeated = Build().Evaluate(new Dataset([.. repeatedScores], [.. repeatedTargets], shape, size));
        Assert.Equal(repeated.Values.Select(v => v.Key), weighted.Values.Select(v => v.Key));
        foreach (var (name, value) in repeated.Values)
            Assert.True(value == weighted[name], $"{name}: repeated {value}, weighted {weighted[name]}");

        // The weights do matter: the unweighted values differ.
        var plain = Build().Evaluate(new Dataset(scores, targets, shape, size));
        Assert.Contains(plain.Values, v => Math.Abs(v.Value - weighted[v.Key]) > 1e-3);
    }

    [Fact]
    public void AucLabelWeightsWeighTheLabelsAsKerasDoes()
    {
        // Multi-label data: three independent labels, each scored by its own sigmoid.
        const int labels = 3, n = 157;
        var rng = new Random(25);
        var scores = new float[n * labels];
        var targets = new float[n * labels];
        for (int j = 0; j < n * labels; j++)
        {
            targets[j] = rng.NextDouble() < 0.3 + 0.15 * (j % labels) ? 1 : 0;
            scores[j] = (float)(1 / (1 + Math.Exp(-(Gaussian(rng) + (0.6 + 0.5 * (j % labels)) * targets[j]))));
        }
        float[] sampleWeights = Weights(n, 26);
        double[] lw = [1, 0.5, 3];
        var model = new IdentityModel(labels, Loss.BinaryCrossentropy, batchSize: 8)
        {
            Metrics =
            [
                Metric.Auc(multiLabel: true, labelWeights: lw, name: "ml"), Metric.Auc(labelWeights: lw, name: "flat"),
                Metric.Auc(curve: AucCurve.PR, multiLabel: true, labelWeights: lw, name: "ml_pr"), Metric.Auc(multiLabel: true, labelWeights: [0, 0, 2], name: "only_2"),
                Metric.Auc(multiLabel: true, name: "ml_mean"),
            ],
            WeightedMetrics = [Metric.Auc(multiLabel: true, labelWeights: lw, name: "w_ml"), Metric.Auc(labelWeights: lw, name: "w_flat")],
        };
        var r = model.Evaluate(new Dataset(scores, targets, [labels], labels).WithSampleWeights(sampleWeights));

        bool[] Positive(int c) => Column(targets, labels, c).Select(t => t != 0).ToArray();
        double Label(int c, bool pr = false, double[]? w = null) => KerasAuc(Column(scores, labels, c), Positive(c), pr: pr, weights: w);
        double[] sw = sampleWeights.Select(x => (double)x).ToArray();
        // multi_label: Σ lw·AUC_c / Σ lw.
        Assert.Equal(Enumerable.Range(0, labels).Sum(c => lw[c] * Label(c)) / lw.Sum(), r["ml"], 1e-6);
        Assert.Equal(Enumerable.Range(0, labels).Sum(c => lw[c] * Label(c, pr: true)) / lw.Sum(), r["ml_pr"], 1e-6);
        Assert.Equal(Label(2), r["only_2"], 1e-6);
        Assert.Equal(Enumerable.Range(0, labels).Average(c => Label(c)), r["ml_mean"], 1e-6);
        Assert.NotEqual(r["ml_mean"], r["ml"], 3);
        // Flattened: each value counts its label's weight (and its sample's, for a weighted metric).
        bool[] all = targets.Select(t => t != 0).ToArray();
        Assert.Equal(KerasAuc(scores, all, weights: Enumerable.Range(0, n * labels).Select(j => lw[j % labels]).ToArray()), r["flat"], 1e-6);
        Assert.Equal(Enumerable.Range(0, labels).Sum(c => lw[c] * Label(c, w: sw)) / lw.Sum(), r["w_ml"], 1e-6);
        Assert.Equal(KerasAuc(scores, all, weights: Enumerable.Range(0, n * labels).Select(j => sw[j / labels] * lw[j % labels]).ToArray()), r["w_flat"], 1e-6);
    }

    [Fact]
    public void BadLabelWeightsSayWhatIsWrong()
    {
        var negative = Assert.Throws<ArgumentOutOfRangeException>(() => Metric.Auc(labelWeights: [1, -0.5]));
        Assert.Contains("label weight 1 is -0.5", negative.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => Metric.Auc(labelWeights: [double.NaN]));
        Assert.Throws<ArgumentOutOfRangeException>(() => Metric.Auc([0.5], labelWeights: [double.PositiveInfinity]));
        Assert.Contains("all 0", Assert.Throws<ArgumentException>(() => Metric.Auc(multiLabel: true, labelWeights: [0, 0])).Message);
        Assert.Throws<ArgumentException>(() => Metric.Auc(labelWeights: []));
        var model = new IdentityModel(3, Loss.BinaryCrossentropy);
        var length = Assert.Throws<ArgumentException>(() => model.Metrics = [Metric.Auc(multiLabel: true, labelWeights: [1, 2])]);
        Assert.Equal("IdentityModel: auc: label_weights has 2 values, but the output has 3 labels (its last axis); give one weight per label.", length.Message);
    }

    [Fact]
    public void FitWeighsCountingMetricsByTheSampleWeightsAndTheClassWeights()
    {
        // The identity model's outputs are its inputs and do not train: each epoch's values are the data's.
        const int classes = 3;
        var (scores, labels) = Random(41, classes, 27);
        var (validScores, validLabels) = Random(19, classes, 28);
        float[] trainWeights = Weights(41, 29), validWeights = Weights(19, 30);
        Metric[] counting = [Metric.Precision(), Metric.Recall(classId: 2), Metric.F1Score(), Metric.Auc(), Metric.MeanIoU()];
        var train = new Dataset(scores, labels, [classes], 1);
        var valid = new Dataset(validScores, validLabels, [classes], 1).WithSampleWeights(validWeights);
        var model = new IdentityModel(classes, Loss.SparseCategoricalCrossentropy, batchSize: 4) { Metrics = [], WeightedMetrics = counting };
        var history = model.Fit(train.WithSampleWeights(trainWeights), 2, new Sgd(), validation: valid, verbose: 0);
        var expected = model.Evaluate(train.WithSampleWeights(trainWeights));
        var expectedValid = model.Evaluate(valid);
        string[] names = ["loss", .. expected.Values.Select(v => v.Key), "val_loss", .. expected.Values.Select(v => "val_" + v.Key)];
        Assert.Equal(names, history.Names);
        foreach (var (name, value) in expected.Values)
            for (int epoch = 0; epoch < 2; epoch++)
            {
                Assert.Equal(value, history[name][epoch], 1e-6);
                Assert.Equal(expectedValid[name], history["val_" + name][epoch], 1e-6);
            }

        // class_weight becomes each training sample's weight, from its label; validation stays as it is.
        var classWeight = new Dictionary<int, float> { [0] = 0.5f, [2] = 3f };
        var byClass = model.Evaluate(train.WithSampleWeights(labels.Select(l => classWeight.GetValueOrDefault((int)l, 1f)).ToArray()));
        history = model.Fit(train, 1, new Sgd(), validation: valid, verbose: 0, classWeight: classWeight);
        foreach (var (name, value) in byClass.Values)
        {
            Assert.Equal(value, history[name][0], 1e-6);
            Assert.Equal(expectedValid[name], history["val_" + name][0], 1e-6);
        }
        Assert.NotEqual(expected["precision"], byClass["precision"], 4);
    }

    [Fact]
    public void NamesFollowKeras3AndOtherModelsMetricsGetTheirOwnCounts()
    {
        var a = new IdentityModel(3, Loss.SparseCategoricalCrossentropy)
        {
            Metrics = [Metric.F1Score(), Metric.Auc()],
            WeightedMetrics = [Metric.F1Score(), Metric.Auc(), Metric.Recall()],
        };
        Assert.Equal(["weighted_f1_score_0", "weighted_f1_score_1", "weighted_f1_score_2", "weighted_auc", "recall"], a.WeightedMetrics.Select(m => m.Name));
        var b = new IdentityModel(3, Loss.SparseCategoricalCrossentropy) { Metrics = [], WeightedMetrics = a.WeightedMetrics };
        Assert.Equal(["f1_score_0", "f1_score_1", "f1_score_2", "auc", "recall"], b.WeightedMetrics.Select(m => m.Name));
        // b's counts are its own: evaluating b leaves a's untouched.
        var right = new Dataset([0.9f, 0.05f, 0.05f], [0], [3], 1).WithSampleWeights([2]);
        var wrong = new Dataset([0.9f, 0.05f, 0.05f], [1], [3], 1).WithSampleWeights([2]);
        Assert.Equal(1, a.Evaluate(right)["weighted_f1_score_0"], 1e-5);
        Assert.Equal(0f, b.Evaluate(wrong)["f1_score_0"]);
        Assert.Equal(1, a.Evaluate(right)["weighted_f1_score_0"], 1e-5);
    }

    /// <summary>A custom stateful metric takes part by weighing its own state; one that does not is refused, naming the way out.</summary>
    [Fact]
    public void CustomStatefulMetricsAreWeightedWhenTheySupportIt()
    {
        var model = new IdentityModel(2, Loss.SparseCategoricalCrossentropy) { WeightedMetrics = [new WeightSum()] };
        var data = new Dataset([1, 0, 0, 1, 1, 0, 0, 1, 1, 0], [0, 1, 0, 1, 1], [2], 1);
        Assert.Equal(4.5f, model.Evaluate(data.WithSampleWeights([0.5f, 1, 0, 2, 1]))["weight_sum"]);
        Assert.Equal(5f, model.Evaluate(data)["weight_sum"]);

        var before = model.WeightedMetrics;
        var e = Assert.Throws<ArgumentException>(() => model.WeightedMetrics = [Metric.Precision(), new SamplesSeen()]);
        Assert.StartsWith("IdentityModel: 'samples_seen' keeps state that it cannot weigh by sample; implement StatefulMetric.SupportsSampleWeights", e.Message);
        Assert.Equal(before.Select(m => m.Name), model.WeightedMetrics.Select(m => m.Name)); // unchanged
        // In Metrics it ignores weights, as every unweighted metric does.
        model.Metrics = [new SamplesSeen()];
        Assert.Equal(5f, model.Evaluate(data.WithSampleWeights([0.5f, 1, 0, 2, 1]))["samples_seen"]);
    }

    private sealed class WeightSum() : StatefulMetric("weight_sum")
    {
        private double _sum;
        public override void Reset() => _sum = 0;
        public override void Update(ReadOnlySpan<float> outputs, ReadOnlySpan<float> targets, int n, int outputSize, int targetSize) => _sum += n;
        public override bool SupportsSampleWeights => true;

        public override void Update(ReadOnlySpan<float> outputs, ReadOnlySpan<float> targets, ReadOnlySpan<float> sampleWeights, int n, int outputSize, int targetSize)
        {
            if (sampleWeights.IsEmpty) _sum += n;
            else foreach (float w in sampleWeights) _sum += w;
        }

        public override double Result() => _sum;
    }

    private sealed class SamplesSeen() : StatefulMetric("samples_seen")
    {
        private double _count;
        public override void Reset() => _count = 0;
        public override void Update(ReadOnlySpan<float> outputs, ReadOnlySpan<float> targets, int n, int outputSize, int targetSize) => _count += n;
        public override double Result() => _count;
    }

    [Fact]
    public void WeightedUpdatesAllocateNothingAfterResolving()
    {
        const int classes = 5, batch = 8;
        var (scores, labels) = Random(batch, classes, 31);
        float[] weights = Weights(batch, 32);
        var model = new IdentityModel(classes, Loss.SparseCategoricalCrossentropy, fromLogits: true, batchSize: batch)
        {
            Metrics = [],
            WeightedMetrics =
            [
                Metric.Precision(), Metric.Recall(topK: 2), Metric.F1Score(), Metric.FBetaScore(0.5, MetricAverage.Weighted),
                Metric.Auc(), Metric.Auc(curve: AucCurve.PR, multiLabel: true, labelWeights: [1, 2, 0, 1, 1], name: "pr"), Metric.MeanIoU(),
            ],
        };
        var metrics = model.WeightedMetrics.ToArray();   // an array: foreach over the interface would allocate enumerators
        double check = 0;
        void Epoch()
        {
            foreach (var m in metrics) m.ResetState();
            for (int b = 0; b < 3; b++)
            {
                // Two full batches and a partial one, with the values read after each as Fit does.
                int n = b < 2 ? batch : 3;
                foreach (var m in metrics)
                {
                    m.WeightedSum(scores.AsSpan(0, n * classes), labels.AsSpan(0, n), weights.AsSpan(0, n), n, classes, 1);
                    check += m.StateResult();
                }
            }
        }
        WarmUp.Run(Epoch);
        var (allocated, workers) = WarmUp.Allocations(Epoch);
        Assert.True(check > 0);
        Assert.Equal(0, allocated);
        Assert.Equal(0, workers);
    }

    [Fact]
    public void FitWithWeightedCountingMetricsAllocatesNothingPerBatch()
    {
        // As ClassificationMetricTests.FitWithStatefulMetricsAllocatesNothingPerBatch, weighted.
        var train = FitTests.Blobs(300, 11);
        var valid = FitTests.Blobs(50, 12);
        var rng = new Random(33);
        train = train.WithSampleWeights(Enumerable.Range(0, train.Count).Select(i => i % 5 == 0 ? 0f : (float)rng.NextDouble() * 2).ToArray());
        valid = valid.WithSampleWeights(Enumerable.Range(0, valid.Count).Select(i => 0.5f + i % 3).ToArray());
        var model = new LinearModel(4, 3, batchSize: 16, seed: 1)
        {
            Metrics = [],
            WeightedMetrics = [Metric.Precision(), Metric.Auc(), Metric.F1Score(), Metric.MeanIoU()],
        };
        var optimizer = new Adam(0.01f);
        model.Fit(train, 1, optimizer, validation: valid, verbose: 0);

        // History reserves a double per column per epoch: loss + precision + auc + 3 F1 columns +
        // mean IoU, and their val_ copies, for 5 more epochs. Nothing else may grow.
        const long historyReserve = 14 * 5 * sizeof(double);
        long[] extra = WarmUp.ExtraForFiveEpochs(epochs => model.Fit(train, epochs, optimizer, validation: valid, verbose: 0), historyReserve);
        Assert.True(extra.Contains(historyReserve),
            $"5 extra epochs (95 batches) allocated {string.Join(", ", extra)} bytes (expected {historyReserve}, the history's reserve)");
    }
}
