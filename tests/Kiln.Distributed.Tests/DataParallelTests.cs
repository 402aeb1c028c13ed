using System;
using System.Globalization;
using System.IO;
using System.Linq;
using Kiln.Distributed.Worker;

namespace Kiln.Distributed.Tests;

/// <summary>
/// Data-parallel training over Open MPI, two ranks on this machine (tests/Kiln.Distributed.Worker
/// is one rank). Each test starts one or two mpirun jobs of a few seconds.
/// </summary>
public sealed class DataParallelTests
{
    [Fact]
    public void TwoRanksOfBatch16TrainAsOneProcessOfBatch32()
    {
        string dir = MpiRun.Directory("equivalence");
        var run = MpiRun.Start(2, "equivalence", dir);
        Assert.True(run.ExitCode == 0, run.Output);

        // The same run in this process: one rank, the global batch of 32, the same sample weights.
        KilnSettings.Threads = 1;
        var reference = new ReplicaMlp(batchSize: 32, seed: 3);
        var history = reference.Fit(ReplicaData.Weighted(ReplicaData.Make(193, 7)), 3, new Sgd(0.05, momentum: 0.9), validation: ReplicaData.Make(37, 8), verbose: 0);

        var replica = new ReplicaMlp(batchSize: 32, seed: 99);
        replica.LoadWeights(Path.Combine(dir, "weights.safetensors"));
        var expected = reference.Parameters.Span;
        var actual = replica.Parameters.Span;
        Assert.False(expected.SequenceEqual(new ReplicaMlp(batchSize: 32, seed: 3).Parameters.Span), "training changed nothing");
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - actual[i]) <= 1e-5f + 1e-5f * Math.Abs(expected[i]),
                $"parameter {i}: one process {expected[i]}, two ranks {actual[i]}");

        // Loss, accuracy and validation reduced over the ranks; one file, written by rank 0 alone.
        var lines = File.ReadAllLines(Path.Combine(dir, "history.csv"));
        Assert.Equal(1 + 3, lines.Length);
        var names = lines[0].Split(',');
        foreach (string name in new[] { "loss", "accuracy", "val_loss", "val_accuracy" })
        {
            int column = Array.IndexOf(names, name);
            Assert.True(column >= 0, $"history.csv has no column {name}: {lines[0]}");
            for (int epoch = 0; epoch < 3; epoch++)
            {
                double logged = double.Parse(lines[1 + epoch].Split(',')[column], CultureInfo.InvariantCulture);
                Assert.True(Math.Abs(logged - history[name][epoch]) <= 1e-5, $"{name} epoch {epoch + 1}: one process {history[name][epoch]}, two ranks {logged}");
            }
        }
    }

    /// <summary>
    /// Synchronized BatchNormalization (fused into Conv2D and into Dense, and standalone): 2 ranks ×
    /// batch 16 give the weights, moving statistics and logs of 1 process × batch 32 with plain BN,
    /// over 3 epochs whose last step of 1 sample leaves rank 0 without samples; with per-rank
    /// statistics the same run does not.
    /// </summary>
    [Fact]
    public void TwoRanksWithSynchronizedBatchNormTrainAsOneProcessOfTheGlobalBatch()
    {
        string dir = MpiRun.Directory("syncbn");
        var run = MpiRun.Start(2, "syncbn", dir);
        Assert.True(run.ExitCode == 0, run.Output);
        var plain = MpiRun.Start(2, "plainbn", dir);
        Assert.True(plain.ExitCode == 0, plain.Output);

        KilnSettings.Threads = 1;
        var reference = new ReplicaPlainBnNet(batchSize: 32, seed: 3);
        Assert.True(reference.Parameters.Span.SequenceEqual(new ReplicaSyncBnNet(batchSize: 16, seed: 3).Parameters.Span), "the two models start from different weights");
        var history = reference.Fit(ReplicaData.Images(193, 7), 3, new Sgd(0.05, momentum: 0.9), validation: ReplicaData.Images(37, 8), verbose: 0);

        var synchronized = new ReplicaPlainBnNet(batchSize: 32, seed: 99);
        synchronized.LoadWeights(Path.Combine(dir, "syncbn.safetensors"));
        Assert.False(reference.Parameters.Span.SequenceEqual(new ReplicaPlainBnNet(batchSize: 32, seed: 3).Parameters.Span), "training changed nothing");
        AssertClose(reference.Parameters.Span, synchronized.Parameters.Span, "parameter");
        AssertClose(reference.State.Span, synchronized.State.Span, "moving statistic");
        var lines = File.ReadAllLines(Path.Combine(dir, "syncbn-history.csv"));
        Assert.Equal(1 + 3, lines.Length);
        var names = lines[0].Split(',');
        foreach (string name in new[] { "loss", "accuracy", "val_loss", "val_accuracy" })
        {
            int column = Array.IndexOf(names, name);
            Assert.True(column >= 0, $"syncbn-history.csv has no column {name}: {lines[0]}");
            for (int epoch = 0; epoch < 3; epoch++)
            {
                double logged = double.Parse(lines[1 + epoch].Split(',')[column], CultureInfo.InvariantCulture);
                Assert.True(Math.Abs(logged - history[name][epoch]) <= 1e-5 * (1 + Math.Abs(history[name][epoch])),
                    $"{name} epoch {epoch + 1}: one process {history[name][epoch]}, two ranks {logged}");
            }
        }

        // Per-rank statistics normalize each rank's 16 samples by their own mean: another training.
        var perRank = new ReplicaPlainBnNet(batchSize: 32, seed: 99);
        perRank.LoadWeights(Path.Combine(dir, "plainbn.safetensors"));
        double largest = 0;
        var expected = reference.Parameters.Span;
        for (int i = 0; i < expected.Length; i++)
            largest = Math.Max(largest, Math.Abs(expected[i] - perRank.Parameters.Span[i]) / (1e-5 + Math.Abs(expected[i])));
        Assert.True(largest > 1e-3, $"per-rank BatchNormalization trained within {largest:G3} (relative) of one process: the comparison cannot tell them apart");
    }

    /// <summary>
    /// Precision, recall, F1 (macro and per class), AUC and mean IoU keep counts over batches: summed
    /// over the ranks after every step and after validation, every logged value is one process's.
    /// </summary>
    [Fact]
    public void StatefulMetricsReportTheGlobalValuesOfOneProcess()
    {
        string dir = MpiRun.Directory("stateful");
        var run = MpiRun.Start(2, "stateful", dir);
        Assert.True(run.ExitCode == 0, run.Output);

        KilnSettings.Threads = 1;
        var reference = new ReplicaMlp(batchSize: 32, seed: 3) { Metrics = ReplicaData.StatefulMetrics() };
        var history = reference.Fit(ReplicaData.Make(193, 7), 3, new Sgd(0.05, momentum: 0.9), validation: ReplicaData.Make(37, 8), verbose: 0);

        var lines = File.ReadAllLines(Path.Combine(dir, "stateful-history.csv"));
        Assert.Equal(1 + 3, lines.Length);
        var names = lines[0].Split(',');
        int compared = 0;
        foreach (string name in history.Names)
        {
            if (name == "loss" || name == "val_loss" || name.EndsWith("accuracy")) continue;
            int column = Array.IndexOf(names, name);
            Assert.True(column >= 0, $"stateful-history.csv has no column {name}: {lines[0]}");
            for (int epoch = 0; epoch < 3; epoch++)
            {
                double logged = double.Parse(lines[1 + epoch].Split(',')[column], CultureInfo.InvariantCulture);
                Assert.True(Math.Abs(logged - history[name][epoch]) <= 1e-6, $"{name} epoch {epoch + 1}: one process {history[name][epoch]}, two ranks {logged}");
            }
            compared++;
        }
        // precision, recall, f1_score, f1_0..2, auc, mean_io_u, and the same for validation.
        Assert.Equal(2 * 8, compared);
    }

    /// <summary>
    /// Weighted metrics in a data-parallel Fit: accuracy's Σ wᵢ·vᵢ / Σ wᵢ and the weighted counts of
    /// precision, recall, F1 (macro and per class), AUC and mean IoU are summed over the ranks with
    /// each step and after validation, so every logged value, training and validation, is one
    /// process's over the global batches (weights 0, 0.5, 1 and 1.5; the last step leaves rank 0 none).
    /// </summary>
    [Fact]
    public void WeightedMetricsReportTheWeightedValuesOfOneProcess()
    {
        string dir = MpiRun.Directory("weighted");
        var run = MpiRun.Start(2, "weighted", dir);
        Assert.True(run.ExitCode == 0, run.Output);

        KilnSettings.Threads = 1;
        var reference = new ReplicaMlp(batchSize: 32, seed: 3) { WeightedMetrics = ReplicaData.StatefulMetrics() };
        var history = reference.Fit(ReplicaData.WeightedWithZeros(ReplicaData.Make(193, 7)), 3, new Sgd(0.05, momentum: 0.9),
            validation: ReplicaData.WeightedWithZeros(ReplicaData.Make(37, 8)), verbose: 0);
        Assert.Equal(["loss", "accuracy", "weighted_accuracy", "precision", "recall", "f1_score", "f1_0", "f1_1", "f1_2", "auc", "mean_io_u"], history.Names.Take(11));
        // The weights change the values: the weighted accuracy is not the accuracy.
        Assert.True(Math.Abs(history["accuracy"][0] - history["weighted_accuracy"][0]) > 1e-4, "the weights change nothing here");

        var lines = File.ReadAllLines(Path.Combine(dir, "weighted-history.csv"));
        Assert.Equal(1 + 3, lines.Length);
        var names = lines[0].Split(',');
        foreach (string name in history.Names)
        {
            int column = Array.IndexOf(names, name);
            Assert.True(column >= 0, $"weighted-history.csv has no column {name}: {lines[0]}");
            double tolerance = name.EndsWith("loss") ? 1e-5 : 1e-6;
            for (int epoch = 0; epoch < 3; epoch++)
            {
                double logged = double.Parse(lines[1 + epoch].Split(',')[column], CultureInfo.InvariantCulture);
                Assert.True(Math.Abs(logged - history[name][epoch]) <= tolerance, $"{name} epoch {epoch + 1}: one process {history[name][epoch]}, two ranks {logged}");
            }
        }
    }

    /// <summary>
    /// Evaluate over the ranks: each rank evaluates its share of the 37 weighted samples, and both
    /// return one process's loss and metrics (stateful ones included) over all 37.
    /// </summary>
    [Fact]
    public void EvaluateOverTheRanksGivesOneProcesssResultOnEveryRank()
    {
        string dir = MpiRun.Directory("evaluate");
        var run = MpiRun.Start(2, "evaluate", dir);
        Assert.True(run.ExitCode == 0, run.Output);

        KilnSettings.Threads = 1;
        var reference = new ReplicaMlp(batchSize: 32, seed: 3) { Metrics = ReplicaData.StatefulMetrics(), WeightedMetrics = [Metric.Accuracy] };
        var expected = reference.Evaluate(ReplicaData.Weighted(ReplicaData.Make(37, 8)));
        var rank0 = File.ReadAllLines(Path.Combine(dir, "evaluate-0.txt"));
        Assert.Equal(rank0, File.ReadAllLines(Path.Combine(dir, "evaluate-1.txt")));
        Assert.Equal(1 + expected.Values.Count, rank0.Length);
        for (int i = 0; i < rank0.Length; i++)
        {
            var parts = rank0[i].Split(' ');
            float value = float.Parse(parts[1], CultureInfo.InvariantCulture);
            float want = i == 0 ? expected.Loss : expected.Values[i - 1].Value;
            Assert.Equal(i == 0 ? "loss" : expected.Values[i - 1].Key, parts[0]);
            Assert.True(Math.Abs(value - want) <= 1e-6f * (1 + Math.Abs(want)), $"{parts[0]}: one process {want}, two ranks {value}");
        }
    }

    /// <summary>A custom stateful metric that does not implement SumOverRanks would report each rank's shard: refused before training.</summary>
    [Fact]
    public void AStatefulMetricThatCannotSumOverRanksIsRefused()
    {
        var model = new ReplicaMlp(batchSize: 16, seed: 3) { Metrics = [Metric.Precision(), new SamplesSeen()] };
        var before = model.Parameters.Span.ToArray();
        var e = Assert.Throws<NotSupportedException>(() => model.Fit(ReplicaData.Make(40, 7), 1, new Sgd(0.05), verbose: 0, distributed: new OneRank()));
        Assert.Equal("ReplicaMlp: the metric 'samples_seen' keeps state (Keras' update_state/result) that it cannot sum over ranks, so each rank would report its own shard; "
            + "implement StatefulMetric.CanSumOverRanks and SumOverRanks, or compute 'samples_seen' with Evaluate on one rank.", e.Message);
        Assert.True(before.AsSpan().SequenceEqual(model.Parameters.Span), "the refused Fit trained");
    }

    private sealed class SamplesSeen() : StatefulMetric("samples_seen")
    {
        private double _count;
        public override void Reset() => _count = 0;
        public override void Update(ReadOnlySpan<float> outputs, ReadOnlySpan<float> targets, int n, int outputSize, int targetSize) => _count += n;
        public override double Result() => _count;
    }

    /// <summary>A group of one rank, in this process.</summary>
    private sealed class OneRank : ICommunicator
    {
        public int Rank => 0;
        public int Size => 1;
        public void AllReduceSum(Span<float> values) { }
        public void AllReduceSum(Span<double> values) { }
        public void Broadcast(Span<byte> bytes, int root) { }
    }

    /// <summary>
    /// Without ranks (one process, Predict, Evaluate) a synchronized BatchNormalization is the plain
    /// one: the same training, outputs and summary, bitwise.
    /// </summary>
    [Fact]
    public void WithoutRanksSynchronizedBatchNormIsPlainBatchNormBitwise()
    {
        KilnSettings.Threads = 1;
        var data = ReplicaData.Images(70, 7);
        var synchronized = new ReplicaSyncBnNet(batchSize: 16, seed: 3);
        var plain = new ReplicaPlainBnNet(batchSize: 16, seed: 3);
        var a = synchronized.Fit(data, 2, new Sgd(0.05, momentum: 0.9), verbose: 0);
        var b = plain.Fit(data, 2, new Sgd(0.05, momentum: 0.9), verbose: 0);
        Assert.True(synchronized.Parameters.Span.SequenceEqual(plain.Parameters.Span), "the weights differ");
        Assert.True(synchronized.State.Span.SequenceEqual(plain.State.Span), "the moving statistics differ");
        Assert.Equal(b["loss"], a["loss"]);
        Assert.Equal(plain.Predict(data), synchronized.Predict(data));
        Assert.Equal(plain.Evaluate(data).Loss, synchronized.Evaluate(data, distributed: null).Loss);
        Assert.Equal(ReplicaSyncBnNet.Summary, ReplicaPlainBnNet.Summary.Replace("ReplicaPlainBnNet", "ReplicaSyncBnNet"));
        Assert.Equal(true, synchronized.Layers[1].Config!["synchronized"]);
        Assert.Equal(false, plain.Layers[1].Config!["synchronized"]);
    }

    private static void AssertClose(ReadOnlySpan<float> expected, ReadOnlySpan<float> actual, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - actual[i]) <= 1e-5f + 1e-5f * Math.Abs(expected[i]),
                $"{what} {i}: one process {expected[i]}, two ranks {actual[i]}");
    }

    [Fact]
    public void BatchSourcesOfUnequalShardsTrainAsTheirInterleavedGlobalBatches()
    {
        string dir = MpiRun.Directory("sources");
        var run = MpiRun.Start(2, "sources", dir);
        Assert.True(run.ExitCode == 0, run.Output);

        // Rank 0 brings samples 0–95 in 6 batches of 16, rank 1 samples 96–192 in 7 (the last of 1, alone):
        // one process trains on step s's two batches one after the other, unshuffled, in batches of 32.
        var all = ReplicaData.Make(193, 7);
        var order = new System.Collections.Generic.List<int>();
        for (int step = 0; step < 7; step++)
            foreach (int first in new[] { 0, 96 })
                for (int i = first + 16 * step; i < Math.Min(first + 16 * (step + 1), first == 0 ? 96 : 193); i++) order.Add(i);
        Assert.Equal(193, order.Count);
        var x = new float[193 * 6];
        var y = new float[193];
        for (int j = 0; j < 193; j++)
        {
            all.Features.AsSpan(order[j] * 6, 6).CopyTo(x.AsSpan(j * 6));
            y[j] = all.Targets[order[j]];
        }
        KilnSettings.Threads = 1;
        var reference = new ReplicaMlp(batchSize: 32, seed: 3);
        reference.Fit(new Dataset(x, y, [6], 1), 3, new Sgd(0.05, momentum: 0.9), shuffle: false, verbose: 0);

        var replica = new ReplicaMlp(batchSize: 32, seed: 99);
        replica.LoadWeights(Path.Combine(dir, "sources.safetensors"));
        var expected = reference.Parameters.Span;
        var actual = replica.Parameters.Span;
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - actual[i]) <= 1e-5f + 1e-5f * Math.Abs(expected[i]),
                $"parameter {i}: one process {expected[i]}, two ranks {actual[i]}");
    }

    [Fact]
    public void ResumingRank0sCheckpointGivesTheUninterruptedWeightsBitwise()
    {
        string dir = MpiRun.Directory("resume");
        var full = MpiRun.Start(2, "full", dir);
        Assert.True(full.ExitCode == 0, full.Output);
        Assert.True(File.Exists(Path.Combine(dir, "ckpt-02.safetensors")), full.Output);
        var resumed = MpiRun.Start(2, "resume", dir);
        Assert.True(resumed.ExitCode == 0, resumed.Output);

        var a = new ReplicaBatchNormNet(batchSize: 16, seed: 1);
        var b = new ReplicaBatchNormNet(batchSize: 16, seed: 2);
        a.LoadWeights(Path.Combine(dir, "final.safetensors"));
        b.LoadWeights(Path.Combine(dir, "resumed.safetensors"));
        Assert.True(a.Parameters.Span.SequenceEqual(b.Parameters.Span), "the resumed weights differ from the uninterrupted run's");
        Assert.True(a.State.Span.SequenceEqual(b.State.Span), "the resumed moving statistics differ from the uninterrupted run's");
        Assert.False(a.Parameters.Span.SequenceEqual(new ReplicaBatchNormNet(batchSize: 16, seed: 5).Parameters.Span), "training changed nothing");
    }

    [Fact]
    public void AReplicatedTrainingStepAllocatesNothing()
    {
        string dir = MpiRun.Directory("allocations");
        var run = MpiRun.Start(2, "allocations", dir);
        Assert.True(run.ExitCode == 0, run.Output);
        // Five steps on each rank: batches, the count, loss and stop collectives, the gradient allreduce, callbacks.
        for (int rank = 0; rank < 2; rank++)
            Assert.Equal("0", File.ReadAllText(Path.Combine(dir, $"allocated-{rank}.txt")));
    }

    [Fact]
    public void AReplicatedStepWithSynchronizedBatchNormAndStatefulMetricsAllocatesNothing()
    {
        string dir = MpiRun.Directory("allocations-syncbn");
        var run = MpiRun.Start(2, "allocations-syncbn", dir);
        Assert.True(run.ExitCode == 0, run.Output);
        // Three synchronized layers: three allreduces each per step, on preallocated buffers; and the stateful metrics' sums.
        for (int rank = 0; rank < 2; rank++)
            Assert.Equal("0", File.ReadAllText(Path.Combine(dir, $"allocated-{rank}.txt")));
    }

    [Fact]
    public void AReplicatedStepWithWeightedMetricsAllocatesNothing()
    {
        string dir = MpiRun.Directory("allocations-weighted");
        var run = MpiRun.Start(2, "allocations-weighted", dir);
        Assert.True(run.ExitCode == 0, run.Output);
        // Sample weights through the batches, the weighted sums and Σ wᵢ in the step's allreduce, the weighted counts' sums.
        for (int rank = 0; rank < 2; rank++)
            Assert.Equal("0", File.ReadAllText(Path.Combine(dir, $"allocated-{rank}.txt")));
    }

    [Fact]
    public void ARankKilledMidRunEndsTheJobWithAnErrorInsteadOfAHang()
    {
        var run = MpiRun.Start(2, "die", MpiRun.Directory("die"));
        Assert.NotEqual(0, run.ExitCode);
        Assert.DoesNotContain("finished", run.Output);
        // Open MPI's launcher names the rank that died and how.
        Assert.Contains("rank 1", run.Output);
        Assert.Contains("signal 9", run.Output);
    }

    [Fact]
    public void AStopAskedForOnOneRankStopsEveryRankAfterTheSameBatch()
    {
        var run = MpiRun.Start(2, "stop", MpiRun.Directory("stop"));
        Assert.True(run.ExitCode == 0, run.Output);
        // Epoch 1's 7 steps (193 samples in global batches of 32), then 3 of epoch 2; the epoch that stopped is recorded.
        Assert.Contains("rank 0: 10 steps, 2 epochs", run.Output);
        Assert.Contains("rank 1: 10 steps, 2 epochs", run.Output);
    }

    [Fact]
    public void RanksWithDifferentWeightsAreRefusedOnEveryRank()
    {
        var run = MpiRun.Start(2, "mismatch", MpiRun.Directory("mismatch"));
        Assert.NotEqual(0, run.ExitCode);
        Assert.DoesNotContain("finished", run.Output);
        Assert.Contains("ReplicaMlp: at the start of Fit, rank", run.Output);
        Assert.Contains("differ from rank 0 in the weights (1 of 2 ranks)", run.Output);
    }
}
