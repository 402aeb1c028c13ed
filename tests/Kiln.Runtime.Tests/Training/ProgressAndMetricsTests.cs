using System;
using System.IO;
using System.Linq;
using System.Text.RegularExpressions;
using Kiln;

namespace Kiln.Runtime.Tests.Training;

public class ProgressAndMetricsTests
{
    [Fact]
    public void ProgressBarRedrawsInPlaceAndEndsWithTheKerasEpochLine()
    {
        var output = new StringWriter();
        var bar = new ProgressBar(output, interval: 0);
        var logs = new Logs(["loss", "accuracy"]);
        var epoch = new Logs(["loss", "accuracy", "val_loss", "val_accuracy"]);
        bar.TrainBegin(55000, 5000);
        bar.EpochBegin(1, 10);
        foreach (int seen in new[] { 640, 27500, 55000 })
        {
            logs.Values[0] = 0.5;
            logs.Values[1] = 0.8;
            bar.BatchEnd(seen, 55000, logs);
        }
        new[] { 0.3912, 0.8603, 0.3692, 0.8670 }.CopyTo(epoch.Values);
        bar.EpochEnd(1, 55000, 8.2, epoch);
        string text = output.ToString();
        string[] draws = text.Split('\r');
        Assert.StartsWith($"Train on 55000 samples, validate on 5000 samples{Environment.NewLine}Epoch 1/10{Environment.NewLine}", draws[0]);
        Assert.Matches(@"^  640/55000 \[\.{30}\] - ETA: \d+s - loss: 0\.5000 - accuracy: 0\.8000 *$", draws[1]);
        Assert.Matches(@"^27500/55000 \[={14}>\.{15}\] - ETA: \d+s - loss: 0\.5000", draws[2]);
        Assert.Matches(@"^55000/55000 \[={30}\] - \d+s - loss", draws[3]);
        Assert.Matches(@"^55000/55000 \[={30}\] - 8s 149us/sample - loss: 0\.3912 - accuracy: 0\.8603 - val_loss: 0\.3692 - val_accuracy: 0\.8670 *" + Regex.Escape(Environment.NewLine) + "$", draws[4]);
    }

    [Fact]
    public void ProgressBarAllocatesNothingPerBatch()
    {
        var bar = new ProgressBar(new StreamWriter(Stream.Null), interval: 0);
        var logs = new Logs(["loss", "accuracy"]);
        bar.EpochBegin(1, 1);
        long Window()
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            for (int i = 2; i < 500; i++)
            {
                logs.Values[0] = 1.0 / i;
                logs.Values[1] = 1e-5 * i;
                bar.BatchEnd(i, 1000, logs);
            }
            return GC.GetAllocatedBytesForCurrentThread() - before;
        }
        for (int i = 0; i < 3; i++) Window(); // warm-up past tiered compilation
        // Another thread's GC can move this thread's counter once with nothing allocated; a real
        // allocation per call shows in every window.
        long[] windows = [Window(), Window(), Window()];
        Assert.Contains(0L, windows);
    }

    [Fact]
    public void RedirectedOutputGetsOneLinePerEpochEvenAtVerbose1()
    {
        var output = new StringWriter();
        new LinearModel(4, 3, 8, 1).Fit(FitTests.Blobs(64, 1), 2, new Sgd(), verbose: 1, output: output);
        Assert.DoesNotContain("\r", output.ToString());
        Assert.Equal(5, output.ToString().Split(Environment.NewLine, StringSplitOptions.RemoveEmptyEntries).Length);
    }

    [Fact]
    public void TopKCountsTiesAtTheBoundaryAsInTensorFlow()
    {
        var model = new IdentityModel(4, Loss.SparseCategoricalCrossentropy) { Metrics = [Metric.SparseTopKCategoricalAccuracy(2), Metric.Accuracy] };
        var data = new Dataset(
            [0.1f, 0.5f, 0.3f, 0.1f,   0.1f, 0.5f, 0.3f, 0.1f,   0.4f, 0.2f, 0.2f, 0.2f,   0.4f, 0.3f, 0.2f, 0.1f],
            [2, 3, 3, 3], [4], 1);
        // 2 is 2nd ✓; 3 is last ✗; 3 ties with 1 and 2 for 2nd: all count ✓; 3 is 4th ✗ → 2/4
        var r = model.Evaluate(data);
        Assert.Equal(0.5f, r["sparse_top_k_categorical_accuracy"], 1e-6f);
        Assert.Equal(0f, r["accuracy"], 1e-6f);
        Assert.Equal("sparse_top_k_categorical_accuracy", r.MetricName);
        Assert.Equal(["loss", "sparse_top_k_categorical_accuracy", "accuracy", "val_loss", "val_sparse_top_k_categorical_accuracy", "val_accuracy"],
            model.Fit(data, 1, new Sgd(), validation: data, verbose: 0).Names);

        var oneHot = new IdentityModel(3, Loss.CategoricalCrossentropy) { Metrics = [Metric.TopKCategoricalAccuracy(1), Metric.CategoricalAccuracy] };
        var r2 = oneHot.Evaluate(new Dataset([0.2f, 0.7f, 0.1f, 0.6f, 0.3f, 0.1f], [0, 1, 0, 0, 1, 0], [3], 3));
        Assert.Equal(0.5f, r2["top_k_categorical_accuracy"], 1e-6f);
        Assert.Equal(0.5f, r2["categorical_accuracy"], 1e-6f);
    }

    [Fact]
    public void RegressionAndBinaryMetrics()
    {
        var mse = new IdentityModel(2, Loss.MeanSquaredError) { Metrics = [Metric.MeanSquaredError, Metric.MeanAbsoluteError] };
        var r = mse.Evaluate(new Dataset([1, 2, 3, 4], [1.5f, 2, 3, 2], [2], 2));
        Assert.Equal((0.25f + 4) / 4, r["mse"], 1e-6f);
        Assert.Equal(2.5f / 4, r["mae"], 1e-6f);
        Assert.Equal("loss: 0.0000 - mse: 1.0625 - mae: 0.6250", r.ToString());

        // 0.6 is below the 0.7 threshold though its target is 1: 3 of 4.
        var binary = new IdentityModel(2, Loss.BinaryCrossentropy) { Metrics = [Metric.BinaryAccuracy(0.7f)] };
        Assert.Equal(0.75f, binary.Evaluate(new Dataset([0.6f, 0.8f, 0.2f, 0.9f], [1, 1, 0, 1], [2], 2)).Metric, 1e-6f);
    }

    [Fact]
    public void MetricsThatCannotReadTheTargetsAreRefusedWhenSet()
    {
        var sparse = new IdentityModel(3, Loss.SparseCategoricalCrossentropy);
        var e = Assert.Throws<ArgumentException>(() => sparse.Metrics = [Metric.CategoricalAccuracy]);
        Assert.Contains("sparse categorical accuracy", e.Message);
        Assert.Throws<ArgumentException>(() => sparse.Metrics = [Metric.Accuracy, Metric.Accuracy]);
        var oneHot = new IdentityModel(3, Loss.CategoricalCrossentropy);
        Assert.Throws<ArgumentException>(() => oneHot.Metrics = [Metric.SparseTopKCategoricalAccuracy()]);
        Assert.Equal("accuracy", oneHot.Metrics.Single().Name);
    }
}
