using System;
using System.Linq;
using Kiln;

namespace Kiln.EndToEnd.Tests;

// The streaming classification metrics on generated models: what Fit and Evaluate report is what
// the formulas give on the model's own predictions, for logits and for a fused sigmoid.
public class ClassificationMetricsTrainingTests
{
    private static (float[] X, float[] Labels) Blobs(int n, int features, int classes, int seed)
    {
        var rng = new Random(seed);
        var x = new float[n * features];
        var y = new float[n];
        for (int i = 0; i < n; i++)
        {
            int c = rng.Next(classes);
            y[i] = c;
            for (int f = 0; f < features; f++) x[i * features + f] = (float)((f % classes == c ? 1.5 : 0) + rng.NextDouble() - 0.5);
        }
        return (x, y);
    }

    [Fact]
    public void SparseLogitModelReportsWhatItsPredictionsGive()
    {
        const int classes = 3, n = 45;   // batches of 8: the last holds 5
        var (x, labels) = Blobs(n, 6, classes, 1);
        var data = new Dataset(x, labels, [6], 1);
        var model = new TinySparseLogits(8, 3)
        {
            Metrics = [Metric.Accuracy, Metric.Precision(classId: 0), Metric.F1Score(MetricAverage.Macro), Metric.MeanIoU()],
        };
        var history = model.Fit(data, 3, new Adam(0.05), verbose: 0);
        Assert.Equal(["loss", "accuracy", "precision", "f1_score", "mean_io_u"], history.Names);
        var r = model.Evaluate(data);

        // The references from Predict: logits → softmax probabilities, argmax classes.
        float[] logits = model.Predict(data);
        int[] predicted = new int[n], truth = labels.Select(l => (int)l).ToArray();
        double tp0 = 0, fp0 = 0;
        for (int i = 0; i < n; i++)
        {
            var row = logits.AsSpan(i * classes, classes);
            double max = double.NegativeInfinity, sum = 0;
            foreach (float v in row) max = Math.Max(max, v);
            foreach (float v in row) sum += Math.Exp(v - max);
            double p0 = Math.Exp(row[0] - max) / sum;
            if (p0 > 0.5) { if (truth[i] == 0) tp0++; else fp0++; }
            for (int c = 1; c < classes; c++) if (row[c] > row[predicted[i]]) predicted[i] = c;
        }
        double f1 = 0, iou = 0;
        for (int c = 0; c < classes; c++)
        {
            int tp = Enumerable.Range(0, n).Count(i => predicted[i] == c && truth[i] == c);
            int p = predicted.Count(v => v == c), t = truth.Count(v => v == c);
            f1 += tp == 0 ? 0 : 2.0 * tp / (p + t);
            iou += (double)tp / (p + t - tp);
        }
        Assert.Equal(tp0 + fp0 == 0 ? 0 : tp0 / (tp0 + fp0), r["precision"], 1e-6);
        Assert.Equal(f1 / classes, r["f1_score"], 1e-5);
        Assert.Equal(iou / classes, r["mean_io_u"], 1e-5);
        Assert.True(r["f1_score"] > 0.6, $"macro F1 {r["f1_score"]} after training on separable blobs");
        var cm = model.ConfusionMatrix(data);
        Assert.Equal(r.Accuracy, cm.Accuracy, 1e-6);
    }

    [Fact]
    public void BinaryModelAucIsTheThresholdedEstimateOfTheExactArea()
    {
        const int n = 61;
        var rng = new Random(4);
        var x = new float[n * 5];
        var y = new float[n];
        for (int i = 0; i < n; i++)
        {
            y[i] = rng.Next(2);
            for (int f = 0; f < 5; f++) x[i * 5 + f] = (float)(rng.NextDouble() - 0.5 + (f < 2 ? 0.8 * y[i] : 0));
        }
        var data = new Dataset(x, y, [5], 1);
        var model = new TinyBinary(16, 2) { Metrics = [Metric.Auc(), Metric.Precision(), Metric.Recall()] };
        model.Fit(data, 5, new Adam(0.05), verbose: 0);
        var r = model.Evaluate(data);
        float[] p = model.Predict(data);
        double wins = 0, pairs = 0, tp = 0, fp = 0, fn = 0;
        for (int i = 0; i < n; i++)
        {
            if (p[i] > 0.5f) { if (y[i] == 1) tp++; else fp++; }
            else if (y[i] == 1) fn++;
            if (y[i] != 1) continue;
            for (int j = 0; j < n; j++)
                if (y[j] == 0) { pairs++; wins += p[i] > p[j] ? 1 : p[i] == p[j] ? 0.5 : 0; }
        }
        Assert.Equal(wins / pairs, r["auc"], 0.02);
        Assert.Equal(tp + fp == 0 ? 0 : tp / (tp + fp), r["precision"], 1e-6);
        Assert.Equal(tp / (tp + fn), r["recall"], 1e-6);
    }

    [Fact]
    public void DataParallelFitSumsStatefulMetricsAndRefusesOneThatCannot()
    {
        var (x, labels) = Blobs(16, 6, 3, 2);
        var data = new Dataset(x, labels, [6], 1);
        // One rank: the sums over ranks are the identity, so the values are those of the plain Fit
        // (two ranks against one process: Kiln.Distributed.Tests).
        var plain = new TinySparseLogits(8, 3) { Metrics = [Metric.Accuracy, Metric.Auc(), Metric.F1Score(), Metric.MeanIoU()] };
        var ranked = new TinySparseLogits(8, 3) { Metrics = [Metric.Accuracy, Metric.Auc(), Metric.F1Score(), Metric.MeanIoU()] };
        var expected = plain.Fit(data, 2, new Adam(0.05), validation: data, verbose: 0);
        var actual = ranked.Fit(data, 2, new Adam(0.05), validation: data, verbose: 0, distributed: new OneRank());
        Assert.Equal(expected.Names, actual.Names);
        foreach (string name in expected.Names)
            for (int epoch = 0; epoch < 2; epoch++)
                Assert.Equal(expected[name][epoch], actual[name][epoch], 1e-6);

        // A custom stateful metric without SumOverRanks would report each rank's shard: refused before training.
        var model = new TinySparseLogits(8, 3) { Metrics = [Metric.Accuracy, new Seen()] };
        var before = model.Parameters.Span.ToArray();
        var e = Assert.Throws<NotSupportedException>(() => model.Fit(data, 1, new Adam(0.05), verbose: 0, distributed: new OneRank()));
        Assert.Contains("'seen'", e.Message);
        Assert.Contains("cannot sum over ranks", e.Message);
        Assert.Equal(before, model.Parameters.Span.ToArray());
    }

    private sealed class Seen() : StatefulMetric("seen")
    {
        private double _count;
        public override void Reset() => _count = 0;
        public override void Update(ReadOnlySpan<float> outputs, ReadOnlySpan<float> targets, int n, int outputSize, int targetSize) => _count += n;
        public override double Result() => _count;
    }

    // A group of one process: every collective is the identity.
    private sealed class OneRank : ICommunicator
    {
        public int Rank => 0;
        public int Size => 1;
        public void AllReduceSum(Span<float> values) { }
        public void AllReduceSum(Span<double> values) { }
        public void Broadcast(Span<byte> bytes, int root) { }
    }
}
