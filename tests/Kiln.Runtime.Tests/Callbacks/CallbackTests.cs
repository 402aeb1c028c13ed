using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using Kiln;
using Kiln.Runtime.Tests.Training;

namespace Kiln.Runtime.Tests.Callbacks;

public class CallbackTests
{
    private sealed class Recorder : ICallback
    {
        public List<string> Calls { get; } = [];
        public void OnTrainBegin(TrainingContext c) => Calls.Add("train_begin");
        public void OnEpochBegin(int epoch, TrainingContext c) => Calls.Add($"epoch_begin {epoch}");
        public void OnBatchBegin(int batch, TrainingContext c) => Calls.Add($"batch_begin {batch}");
        public void OnBatchEnd(int batch, Logs logs, TrainingContext c) => Calls.Add($"batch_end {batch} step {c.Step}");
        public void OnEpochEnd(int epoch, Logs logs, TrainingContext c) => Calls.Add($"epoch_end {epoch} {string.Join(",", logs.Names)} h{c.History.Epochs}");
        public void OnTrainEnd(TrainingContext c) => Calls.Add("train_end");
    }

    [Fact]
    public void HooksRunInKerasOrderWithZeroBasedIndices()
    {
        var r = new Recorder();
        new LinearModel(4, 3, 10, 1).Fit(FitTests.Blobs(20, 1), 2, new Sgd(), validationSplit: 0.5, verbose: 0, callbacks: [r]);
        Assert.Equal([
            "train_begin",
            "epoch_begin 0", "batch_begin 0", "batch_end 0 step 1", "epoch_end 0 loss,accuracy,val_loss,val_accuracy h1",
            "epoch_begin 1", "batch_begin 0", "batch_end 0 step 2", "epoch_end 1 loss,accuracy,val_loss,val_accuracy h2",
            "train_end"], r.Calls);
    }

    [Fact]
    public void StopTrainingEndsAfterTheBatchOrEpochThatSetIt()
    {
        var model = new LinearModel(4, 3, 10, 1);
        var data = FitTests.Blobs(50, 2);
        var midEpoch = new LambdaCallback { OnBatchEnd = (b, _, c) => c.StopTraining = b == 1 };
        model.ResetCounters();
        var h = model.Fit(data, 5, new Sgd(), validation: data, verbose: 0, callbacks: [midEpoch]);
        Assert.Equal(1, h.Epochs); // the epoch still ends: validation and epoch logs
        Assert.Equal(2, model.TrainingForwards);
        Assert.True(double.IsFinite(h["val_loss"][0]));

        var atEpoch = new LambdaCallback { OnEpochEnd = (e, _, c) => c.StopTraining = e == 2 };
        Assert.Equal(3, model.Fit(data, 10, new Sgd(), verbose: 0, callbacks: [atEpoch]).Epochs);
    }

    [Fact]
    public void EarlyStoppingFollowsKerasPatienceAndMinDelta()
    {
        var run = new CallbackHarness(["loss"]);
        var stop = new EarlyStopping("loss", minDelta: 0.05, patience: 2);
        run.Begin(stop);
        Assert.False(run.End(stop, 0, 1.0));  // first value always improves on +inf
        Assert.False(run.End(stop, 1, 0.9));  // 0.9 + 0.05 < 1.0: improvement, wait 0
        Assert.False(run.End(stop, 2, 0.86)); // 0.86 + 0.05 ≥ 0.9: not enough, wait 1
        Assert.True(run.End(stop, 3, 0.5 + 0.4)); // wait 2 = patience → stop
        Assert.Equal(3, stop.StoppedEpoch);
        Assert.Equal(1, stop.BestEpoch);
    }

    [Fact]
    public void EarlyStoppingAutoModeMaximizesAccuracyAndRestoresTheBestWeights()
    {
        var run = new CallbackHarness(["loss", "val_accuracy"]);
        var stop = new EarlyStopping("val_accuracy", patience: 1, restoreBestWeights: true, verbose: 1);
        run.Begin(stop);
        double[] accuracy = [0.5, 0.8, 0.7];
        for (int e = 0; e < accuracy.Length; e++)
        {
            run.Model.Parameters.Span.Fill(e); // the weights at the end of epoch e
            if (run.End(stop, e, 1.0, accuracy[e])) break;
        }
        Assert.Equal(2, stop.StoppedEpoch);
        Assert.All(run.Model.Parameters.Span.ToArray(), w => Assert.Equal(1f, w)); // epoch 1's
        ((ICallback)stop).OnTrainEnd(run.Context);
        Assert.Contains("Restoring model weights from the end of the best epoch: 2.", run.Output.ToString());
        Assert.Contains("Epoch 3: early stopping", run.Output.ToString());
    }

    [Fact]
    public void EarlyStoppingBaselineMustBeBeaten()
    {
        var run = new CallbackHarness(["val_loss"]);
        var stop = new EarlyStopping(patience: 2, baseline: 0.5);
        run.Begin(stop);
        // Keras counts the wait from the first epoch until the baseline is beaten: improving but
        // staying above 0.5 for `patience` epochs stops.
        Assert.False(run.End(stop, 0, 0.9));
        Assert.True(run.End(stop, 1, 0.8));

        var run2 = new CallbackHarness(["val_loss"]);
        var beaten = new EarlyStopping(patience: 2, baseline: 0.5);
        run2.Begin(beaten);
        Assert.False(run2.End(beaten, 0, 0.9));
        Assert.False(run2.End(beaten, 1, 0.4)); // past the baseline: the wait resets
        Assert.False(run2.End(beaten, 2, 0.45));
        Assert.True(run2.End(beaten, 3, 0.45));
    }

    [Fact]
    public void AMonitorThatIsNeverLoggedFailsAtTheStart()
    {
        var model = new LinearModel(4, 3, 10, 1);
        var e = Assert.Throws<InvalidOperationException>(() =>
            model.Fit(FitTests.Blobs(20, 1), 2, new Sgd(), verbose: 0, callbacks: [new EarlyStopping()]));
        Assert.Contains("'val_loss'", e.Message);
        Assert.Contains("loss, accuracy", e.Message);
        Assert.Contains("validation", e.Message);
    }

    [Fact]
    public void ReduceLROnPlateauWaitsReducesAndCoolsDown()
    {
        var run = new CallbackHarness(["val_loss"], new Sgd(1f));
        var plateau = new ReduceLROnPlateau(factor: 0.5f, patience: 2, cooldown: 1, minLearningRate: 0.2f, minDelta: 0.01);
        run.Begin(plateau);
        var rates = new List<float>();
        foreach (var (e, v) in new[] { 1.0, 0.995, 0.99, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9 }.Select((v, e) => (e, v)))
        {
            run.End(plateau, e, v);
            rates.Add(run.Optimizer.LearningRate);
        }
        // 0.995 and 0.99 are within min_delta of 1.0: reduce at epoch 2; the cooldown epoch 3
        // resets the wait (and 0.9 improves); flat epochs 4, 5 reduce at 5. As in Keras the
        // cooldown counter is spent before the wait is counted, so epoch 6 already waits and 7
        // reduces again, floored at 0.2; at the floor nothing changes.
        Assert.Equal([1f, 1f, 0.5f, 0.5f, 0.5f, 0.25f, 0.25f, 0.2f, 0.2f, 0.2f], rates);
        Assert.Throws<ArgumentOutOfRangeException>(() => new ReduceLROnPlateau(factor: 1f));
    }

    [Fact]
    public void LearningRateSchedulerSetsTheRateAtEachEpochStart()
    {
        var optimizer = new Sgd(0.1f);
        var seen = new List<float>();
        var scheduler = new LearningRateScheduler((epoch, lr) => epoch < 2 ? lr : lr * 0.5f);
        var probe = new LambdaCallback { OnEpochBegin = (_, c) => seen.Add(c.Optimizer.LearningRate) };
        new LinearModel(4, 3, 10, 1).Fit(FitTests.Blobs(20, 1), 4, optimizer, verbose: 0, callbacks: [scheduler, probe]);
        Assert.Equal([0.1f, 0.1f, 0.05f, 0.025f], seen);

        var scheduled = new Sgd(new ExponentialDecay(0.1f, 10, 0.5f));
        var e = Assert.Throws<InvalidOperationException>(() =>
            new LinearModel(4, 3, 10, 1).Fit(FitTests.Blobs(20, 1), 1, scheduled, verbose: 0, callbacks: [scheduler]));
        Assert.Contains("ExponentialDecay", e.Message);
    }

    [Fact]
    public void ModelCheckpointFormatsPathsAndSavesOnlyImprovements()
    {
        using var dir = new TempDirectory();
        var run = new CallbackHarness(["loss", "val_accuracy"]);
        var checkpoint = new ModelCheckpoint(dir.File("ckpt/model_{epoch:02d}-{val_accuracy:.2f}.safetensors"),
            monitor: "val_accuracy", saveBestOnly: true, saveWeightsOnly: true, verbose: 1);
        run.Begin(checkpoint);
        run.End(checkpoint, 0, 0.9, 0.61);
        run.End(checkpoint, 1, 0.8, 0.59);
        run.End(checkpoint, 2, 0.7, 0.8671);
        Assert.Equal(["model_01-0.61.safetensors", "model_03-0.87.safetensors"],
            Directory.GetFiles(dir.File("ckpt")).Select(Path.GetFileName).Order());
        Assert.Equal(0.8671, checkpoint.Best);
        string log = run.Output.ToString();
        Assert.Contains("Epoch 2: val_accuracy did not improve from 0.61000", log);
        Assert.Contains("Epoch 3: val_accuracy improved from 0.61000 to 0.86710, saving model to ", log);

        // Without SaveBestOnly every epoch saves; a fixed name is overwritten with the latest.
        var every = new ModelCheckpoint(dir.File("last.safetensors"));
        run.Begin(every);
        run.Model.Parameters.Span.Fill(3);
        run.End(every, 3, 0.6, 0.5);
        var loaded = new LinearModel(2, 2, 4, 9);
        loaded.LoadCheckpoint(dir.File("last.safetensors"), new Sgd());
        Assert.All(loaded.Parameters.Span.ToArray(), w => Assert.Equal(3f, w));
    }

    [Fact]
    public void FilePathTemplatesFollowPythonFormat()
    {
        var logs = new Logs(["loss", "val_loss"]);
        logs.Values[0] = 0.123456;
        logs.Values[1] = 12.5;
        Assert.Equal("m_007-0.1235.st", FilePathTemplate.Format("m_{epoch:03d}-{loss:.4f}.st", 7, logs));
        Assert.Equal("e7 12.5 {x} 1.25e+01 1250.0%", FilePathTemplate.Format("e{epoch} {val_loss} {{x}} {val_loss:.2e} {val_loss:.1%}", 7, logs));
        Assert.Equal("  7|0012.50", FilePathTemplate.Format("{epoch:3d}|{val_loss:07.2f}", 7, logs));
        var e = Assert.Throws<KeyNotFoundException>(() => FilePathTemplate.Format("{val_accuracy:.2f}", 1, logs));
        Assert.Contains("epoch, loss, val_loss", e.Message);
        Assert.Throws<FormatException>(() => FilePathTemplate.Format("{loss:d}", 1, logs));
        Assert.Throws<FormatException>(() => FilePathTemplate.Format("{loss", 1, logs));
    }

    [Fact]
    public void CsvLoggerWritesSortedColumnsAndAppendsWithoutASecondHeader()
    {
        using var dir = new TempDirectory();
        string path = dir.File("logs/training.csv");
        var data = FitTests.Blobs(40, 3);
        var model = new LinearModel(4, 3, 8, 1);
        var h = model.Fit(data, 2, new Sgd(0.1f), validationSplit: 0.25, verbose: 0, callbacks: [new CsvLogger(path)]);
        var lines = File.ReadAllLines(path);
        Assert.Equal("epoch,accuracy,loss,val_accuracy,val_loss", lines[0]);
        Assert.Equal(3, lines.Length);
        var row = lines[2].Split(',');
        Assert.Equal("1", row[0]);
        Assert.Equal(h["loss"][1], double.Parse(row[2], System.Globalization.CultureInfo.InvariantCulture)); // full precision

        model.Fit(data, 4, new Sgd(0.1f), validationSplit: 0.25, verbose: 0, initialEpoch: 2, callbacks: [new CsvLogger(path, append: true)]);
        lines = File.ReadAllLines(path);
        Assert.Equal(5, lines.Length);
        Assert.Single(lines, l => l.StartsWith("epoch", StringComparison.Ordinal));
        Assert.Equal(["0", "1", "2", "3"], lines.Skip(1).Select(l => l.Split(',')[0]));

        model.Fit(data, 1, new Sgd(0.1f), verbose: 0, callbacks: [new CsvLogger(path, separator: ';')]);
        Assert.Equal(["epoch;accuracy;loss", "0" ], File.ReadAllLines(path).Select(l => l.Split(';')[0] == "epoch" ? l : l.Split(';')[0]));
    }

    [Fact]
    public void NoAllocationPerBatchWithBuiltInCallbacksAndBatchTensorBoard()
    {
        using var dir = new TempDirectory();
        var train = FitTests.Blobs(400, 11);
        var valid = FitTests.Blobs(50, 12);
        var model = new LinearModel(4, 3, batchSize: 8, seed: 1);
        var optimizer = new Adam(0.01f);
        long first = 0, last = 0;
        int batches = 50;
        // Measures from the end of batch 1 to the end of the last batch: every batch between
        // (training step, running logs, every callback's batch hooks) must allocate nothing.
        var probe = new LambdaCallback
        {
            OnBatchEnd = (b, _, _) =>
            {
                if (b == 1) first = GC.GetAllocatedBytesForCurrentThread();
                if (b == batches - 1) last = GC.GetAllocatedBytesForCurrentThread();
            },
        };
        ICallback[] callbacks =
        [
            probe,
            new ModelCheckpoint(dir.File("best.safetensors"), saveBestOnly: true),
            new EarlyStopping(patience: 100, restoreBestWeights: true),
            new ReduceLROnPlateau(patience: 100),
            new LearningRateScheduler((_, lr) => lr),
            new CsvLogger(dir.File("log.csv")),
            new TensorBoard(dir.File("tb"), updateFrequency: 1, histogramFrequency: 1, writeImages: true),
        ];
        // Warm-up past tiered compilation. Then a few measured runs: a real per-batch allocation
        // shows in every window, while another thread's GC retiring this thread's allocation
        // context can move the counter once with nothing allocated.
        for (int i = 0; i < 3; i++) model.Fit(train, 1, optimizer, validation: valid, verbose: 0, callbacks: callbacks);
        var windows = new List<long>();
        for (int attempt = 0; attempt < 4 && !windows.Contains(0); attempt++)
        {
            first = last = 0;
            model.Fit(train, 1, optimizer, validation: valid, verbose: 0, callbacks: callbacks);
            Assert.True(first > 0 && last > 0);
            windows.Add(last - first);
        }
        Assert.True(windows.Contains(0), $"batches 2..{batches} allocated {string.Join(", ", windows)} bytes");
    }
}
