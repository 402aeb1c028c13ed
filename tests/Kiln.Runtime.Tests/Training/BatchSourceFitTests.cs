using System;
using System.Collections.Generic;
using System.IO;
using System.Threading;
using Kiln;
using Kiln.Runtime.Tests.Checkpoints;
using Kiln.Runtime.Tests.Pipelines;
using Kiln.Tests;

namespace Kiln.Runtime.Tests.Training;

public class BatchSourceFitTests
{
    [Fact]
    public void AnUnshuffledPipelineTrainsBitwiseAsTheDatasetWithoutShuffling()
    {
        // Same samples in the same order through the one training loop: same weights, same history.
        var train = FitTests.Blobs(100, 1);
        var valid = FitTests.Blobs(30, 2);
        var a = new LinearModel(4, 3, batchSize: 16, seed: 1);
        var b = new LinearModel(4, 3, batchSize: 16, seed: 1);
        var fromDataset = a.Fit(train, 3, new Adam(0.01f), validation: valid, shuffle: false, verbose: 0);
        using var trainBatches = Pipeline.From(train).Batch(16).Prefetch(threads: 2);
        using var validBatches = Pipeline.From(valid).Batch(16);
        var fromSource = b.Fit(trainBatches, 3, new Adam(0.01f), validation: validBatches, verbose: 0);

        Assert.Equal(a.Parameters.Span.ToArray(), b.Parameters.Span.ToArray());
        Assert.Equal(["loss", "accuracy", "val_loss", "val_accuracy"], fromDataset.Names);
        Assert.Equal(["loss", "accuracy", "val_loss", "val_accuracy", "data_wait", "val_data_wait"], fromSource.Names);
        foreach (string name in fromDataset.Names) Assert.Equal(fromDataset[name], fromSource[name]);
        foreach (double w in fromSource["data_wait"]) Assert.True(w >= 0 && double.IsFinite(w));
        Assert.True(fromSource["val_accuracy"][^1] > 0.9, fromSource.ToString());

        // Evaluate on a source is Evaluate on the dataset.
        var onDataset = a.Evaluate(valid);
        using var again = Pipeline.From(valid).Batch(7);
        var onSource = a.Evaluate(again);
        Assert.Equal(onDataset.Loss, onSource.Loss, 1e-6f);
        Assert.Equal(onDataset.Metric, onSource.Metric);
    }

    [Fact]
    public void StepsPerEpochBoundEachEpochAndAnEndlessSourceNeedsThem()
    {
        var data = FitTests.Blobs(64, 3);
        var model = new LinearModel(4, 3, batchSize: 16, seed: 1);
        using var endless = Pipeline.From(data).Shuffle(64, seed: 1).Repeat().Batch(16);
        var e = Assert.Throws<ArgumentException>(() => model.Fit(endless, 1, new Sgd(0.1f), verbose: 0));
        Assert.Contains("repeats forever", e.Message);
        Assert.Equal("stepsPerEpoch", e.ParamName);
        using var finite = Pipeline.From(data).Batch(16);
        var ev = Assert.Throws<ArgumentException>(() => model.Fit(finite, 1, new Sgd(0.1f), validation: endless, verbose: 0));
        Assert.Equal("validationSteps", ev.ParamName);
        Assert.Throws<ArgumentException>(() => model.Evaluate(endless));

        var optimizer = new Sgd(0.1f);
        var h = model.Fit(endless, 3, optimizer, validation: endless, stepsPerEpoch: 5, validationSteps: 2, verbose: 0);
        Assert.Equal(15, optimizer.Iterations);
        Assert.Equal(3, h.Epochs);
        Assert.True(float.IsFinite(model.Evaluate(endless, steps: 3).Loss));
    }

    [Fact]
    public void AnEpochEndsAtTheEndOfThePassOrAtItsStepCount()
    {
        // 4 batches a pass. Steps 3: the first epoch leaves one batch, which the second finishes.
        // Steps 4: every epoch ends exactly on a pass boundary and the next starts a new pass.
        // Steps 9: more than a pass, so each epoch is one pass.
        var data = FitTests.Blobs(64, 4);
        foreach (var (steps, expected) in new[] { (3L, new[] { 3, 1, 3, 1 }), (4L, new[] { 4, 4, 4, 4 }), (9L, new[] { 4, 4, 4, 4 }) })
        {
            var model = new LinearModel(4, 3, batchSize: 16, seed: 1);
            using var source = Pipeline.From(data).Batch(16).Prefetch(bufferSize: 2);
            var batches = new List<int>();
            int count = 0;
            var counter = new LambdaCallback
            {
                OnEpochBegin = (_, _) => count = 0,
                OnBatchEnd = (_, _, _) => count++,
                OnEpochEnd = (_, _, _) => batches.Add(count),
            };
            model.Fit(source, 4, new Sgd(0.1f), stepsPerEpoch: steps, verbose: 0, callbacks: [counter]);
            Assert.Equal(expected, batches);
        }
    }

    [Fact]
    public void MismatchedSourcesAreExplainedWithBothShapes()
    {
        var model = new LinearModel(4, 3, batchSize: 8, seed: 1);
        using var wrongInputs = Pipeline.From(new Dataset(new float[10 * 6], new float[10], [2, 3], 1)).Batch(8);
        var e = Assert.Throws<ArgumentException>(() => model.Fit(wrongInputs, 1, new Sgd(), verbose: 0));
        Assert.Contains("expected shape (None, 4), found (None, 2, 3) in the batch source's samples", e.Message);
        Assert.Contains("the input takes 4 values per sample, the data has 6", e.Message);
        Assert.Equal("train", e.ParamName);

        using var oneHot = Pipeline.From(FitTests.Blobs(10, 1, oneHot: true)).Batch(8);
        var e2 = Assert.Throws<ArgumentException>(() => model.Evaluate(oneHot));
        Assert.Contains("expects 1 target value(s) per sample", e2.Message);
        Assert.Contains("the batch source gives 3", e2.Message);

        using var tooBig = Pipeline.From(FitTests.Blobs(40, 1)).Batch(32);
        using var fine = Pipeline.From(FitTests.Blobs(40, 1)).Batch(8);
        var e3 = Assert.Throws<ArgumentException>(() => model.Fit(fine, 1, new Sgd(), validation: tooBig, verbose: 0));
        Assert.Contains("batches of up to 32 samples of shape (4)", e3.Message);
        Assert.Contains("at most 8 of shape (4)", e3.Message);
        Assert.Equal("validation", e3.ParamName);

        using var empty = Pipeline.From(FitTests.Blobs(10, 1)).Take(0).Batch(8);
        Assert.Throws<ArgumentException>(() => model.Fit(empty, 1, new Sgd(), verbose: 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => model.Fit(fine, 1, new Sgd(), stepsPerEpoch: 0, verbose: 0));
    }

    [Fact]
    public void DataWaitIsTheTimeSpentInsideNext()
    {
        // Every sample takes 5 ms to read and nothing loads ahead: the epoch waits at least
        // 8 × 5 ms for its training batches and 4 × 5 ms for its validation batches.
        var model = new LinearModel(2, 3, batchSize: 4, seed: 1);
        using var train = Pipeline.From(new SlowSource(8, TimeSpan.FromMilliseconds(5))).Batch(4);
        using var valid = Pipeline.From(new SlowSource(4, TimeSpan.FromMilliseconds(5))).Batch(4);
        var output = new StringWriter();
        var h = model.Fit(train, 2, new Sgd(0.01f), validation: valid, verbose: 2, output: output);
        for (int e = 0; e < 2; e++)
        {
            Assert.InRange(h["data_wait"][e], 0.040, 5);
            Assert.InRange(h["val_data_wait"][e], 0.020, 5);
        }
        Assert.Contains(" - data_wait: 0.", output.ToString());
        Assert.StartsWith("Train on 8 samples, validate on 4 samples", output.ToString());
    }

    [Fact]
    public void CallbacksCheckpointsAndCsvSeeTheSourceEpochs()
    {
        using var dir = new TempDirectory();
        var data = FitTests.Blobs(96, 5);
        var model = new LinearModel(4, 3, batchSize: 16, seed: 1);
        using var train = Pipeline.From(data).Shuffle(96, seed: 3).Batch(16).Prefetch();
        using var valid = Pipeline.From(FitTests.Blobs(32, 6)).Batch(16);
        string last = dir.File("last.safetensors");
        ICallback[] callbacks = [new ModelCheckpoint(last), new CsvLogger(dir.File("log.csv")), new EarlyStopping(patience: 100)];
        model.Fit(train, 2, new Adam(0.01f), validation: valid, verbose: 0, callbacks: callbacks);
        string[] csv = File.ReadAllLines(dir.File("log.csv"));
        Assert.Equal("epoch,accuracy,data_wait,loss,val_accuracy,val_data_wait,val_loss", csv[0]);
        Assert.Equal(3, csv.Length);

        // Resuming restores the model and the history; the source goes on with its own orders.
        var resumed = new LinearModel(4, 3, batchSize: 16, seed: 7);
        var h = resumed.Fit(train, 4, new Adam(0.01f), validation: valid, verbose: 0, resumeFrom: last);
        Assert.Equal(4, h.Epochs);
        Assert.True(h["val_accuracy"][^1] > 0.9, h.ToString());
    }

    [Fact]
    public void NoAllocationPerBatchFromAPrefetchingPipeline()
    {
        // 400 samples in batches of 8 through a prefetching shuffled, scaled in-memory pipeline:
        // 50 batches an epoch. From the end of batch 1 to the end of the last one, the consumer
        // thread (Next, the training step, the running logs, the callbacks) must allocate nothing.
        var data = FitTests.Blobs(400, 11);
        var scaler = new StandardScaler(perFeature: true).Fit(data);
        using var train = Pipeline.From(data).Shuffle(400, seed: 1).Map(scaler).Batch(8).Prefetch(bufferSize: 2, threads: 2);
        using var valid = Pipeline.From(FitTests.Blobs(50, 12)).Map(scaler).Batch(8).Prefetch();
        var model = new LinearModel(4, 3, batchSize: 8, seed: 1);
        var optimizer = new Adam(0.01f);
        long first = 0, last = 0;
        const int batches = 50;
        var probe = new LambdaCallback
        {
            OnBatchEnd = (b, _, _) =>
            {
                if (b == 1) first = GC.GetAllocatedBytesForCurrentThread();
                if (b == batches - 1) last = GC.GetAllocatedBytesForCurrentThread();
            },
        };
        ICallback[] callbacks = [probe];
        // Warm-up past tiered compilation. Then a few measured runs: a real per-batch allocation
        // shows in every window, while another thread's GC retiring this thread's allocation
        // context can move the counter once with nothing allocated.
        for (int i = 0; i < 3; i++) model.Fit(train, 2, optimizer, validation: valid, verbose: 0, callbacks: callbacks);
        var windows = new List<long>();
        for (int attempt = 0; attempt < 4 && !windows.Contains(0); attempt++)
        {
            first = last = 0;
            model.Fit(train, 1, optimizer, validation: valid, verbose: 0, callbacks: callbacks);
            Assert.True(first > 0 && last > 0);
            windows.Add(last - first);
        }
        Assert.True(windows.Contains(0), $"batches 2..{batches} allocated {string.Join(", ", windows)} bytes");

        // Whole epochs, validation included: 5 more epochs add only the history's reserve
        // (6 columns × 5 epochs × 8 bytes), so the per-epoch bookkeeping allocates nothing either.
        const long historyReserve = 6 * 5 * sizeof(double);
        long[] extra = WarmUp.ExtraForFiveEpochs(epochs => model.Fit(train, epochs, optimizer, validation: valid, verbose: 0), historyReserve);
        Assert.True(extra.Contains(historyReserve), $"5 extra epochs allocated {string.Join(", ", extra)} bytes (expected {historyReserve}, the history's reserve)");
        Assert.Equal(0, train.Stats.Dropped);
    }

    /// <summary>Samples that take a fixed time to read, as a slow disk or decoder would.</summary>
    private sealed class SlowSource(int count, TimeSpan delay) : ISampleSource
    {
        public int[] SampleShape => [2];
        public int SampleSize => 2;
        public int TargetSize => 1;
        public int Count => count;

        public bool TryRead(int index, Span<float> features, Span<float> targets)
        {
            Thread.Sleep(delay);
            features[0] = index;
            features[1] = -index;
            targets[0] = index % 3;
            return true;
        }
    }
}
