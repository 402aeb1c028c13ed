using System;
using System.Diagnostics;
using System.IO;
using Kiln;
using Kiln.Samples.FashionMnist;
using Kiln.Samples.FashionMnistCnn;
using Kiln.Threading;

namespace Kiln.EndToEnd.Tests;

// Allocation is measured per thread and the worker pool is process-wide: keep these tests off
// the parallel runner so another test's kernels cannot show up on the workers' counters.
[CollectionDefinition(nameof(Serial), DisableParallelization = true)]
public sealed class Serial { }

/// <summary>Training through the generated code: no allocation per step, determinism, and real Fashion-MNIST.</summary>
[Collection(nameof(Serial))]
public sealed class TrainingTests
{
    private static (float[] X, float[] Y) RandomBatch(int n, int seed)
    {
        var rng = new Random(seed);
        var x = new float[n * 784];
        for (int i = 0; i < x.Length; i++) x[i] = (float)(rng.NextDouble() * 2 - 1);
        var y = new float[n];
        for (int i = 0; i < n; i++) y[i] = rng.Next(10);
        return (x, y);
    }

    public static TheoryData<int, string> AllocationCases() => new()
    {
        { 32, "sgd" }, { 256, "sgd" }, { 32, "adam" }, { 256, "adam" }, { 32, "momentum" }, { 256, "dropout-adam" },
    };

    [Theory]
    [MemberData(nameof(AllocationCases))]
    public void TrainOnBatchAllocatesNothingAfterWarmUp(int batch, string setup)
    {
        Model model = setup.StartsWith("dropout") ? new FashionDropoutMlp(batch, seed: 1) : new FashionMlp(batch, seed: 1);
        Optimizer optimizer = setup switch
        {
            "sgd" => new Sgd(0.01f),
            "momentum" => new Sgd(0.01f, momentum: 0.9f, nesterov: true),
            _ => new Adam(1e-3f),
        };
        var (x, y) = RandomBatch(batch, 7);
        int shortBatch = batch / 2 + 3;

        // Warm-up: JIT (past tiering), size the optimizer state, start the pool.
        WarmUp.Run(() =>
        {
            model.TrainOnBatch(x, y, batch, optimizer);
            model.TrainOnBatch(x.AsSpan(0, shortBatch * 784), y.AsSpan(0, shortBatch), shortBatch, optimizer);
        }, calls: 20);

        float loss = 0;
        var (allocated, workers) = WarmUp.Allocations(() =>
        {
            loss = 0;
            for (int i = 0; i < 20; i++)
            {
                loss += model.TrainOnBatch(x, y, batch, optimizer);
                if (i % 5 == 0) model.TrainOnBatch(x.AsSpan(0, shortBatch * 784), y.AsSpan(0, shortBatch), shortBatch, optimizer);
            }
        });

        Assert.True(float.IsFinite(loss) && loss > 0, $"loss {loss}");
        Assert.Equal(0, allocated);
        // The counters do count: one array shows up on them.
        long probe = GC.GetAllocatedBytesForCurrentThread();
        GC.KeepAlive(new float[batch]);
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - probe >= 4 * batch);
        Assert.Equal(0, workers);
    }

    [Fact]
    public void ForwardBackwardAndPredictIntoASpanAllocateNothing()
    {
        var model = new FashionMlp(64, seed: 2);
        var (x, y) = RandomBatch(64, 3);
        var dx = new float[x.Length];
        var destination = new float[64 * 10];
        void Step()
        {
            model.Forward(x, 64, training: true);
            model.ComputeLoss(y, 64, gradient: true);
            model.Backward(64, dx);
            model.Forward(x, 64, training: true);
            model.OutputGradient(64).Fill(0.01f);
            model.BackwardFromOutputGradient(64, dx);
            model.Predict(x, 64, destination);
        }
        WarmUp.Run(Step, calls: 10);
        var (allocated, workers) = WarmUp.Allocations(() =>
        {
            for (int i = 0; i < 10; i++) Step();
        });
        Assert.Equal(0, allocated);
        Assert.Equal(0, workers);
    }

    [Fact]
    public void PredictAtBatchOneAllocatesNothingAndGivesTheBatchedRow()
    {
        // Batch 1 takes the single-row kernel, split over the workers on a machine with more than one core.
        var single = new FashionMlp(1, seed: 2);
        var batched = new FashionMlp(4, seed: 2);
        var (x, _) = RandomBatch(4, 5);
        var one = new float[10];
        var rows = new float[4 * 10];
        batched.Predict(x, 4, rows);
        for (int i = 0; i < 4; i++)
        {
            single.Predict(x.AsSpan(i * 784, 784), 1, one);
            for (int j = 0; j < 10; j++)
                Assert.True(Math.Abs(one[j] - rows[i * 10 + j]) <= 1e-5, $"sample {i} class {j}: batch 1 gives {one[j]}, batch 4 gives {rows[i * 10 + j]}");
        }
        var again = new float[10];
        single.Predict(x.AsSpan(0, 784), 1, one);
        single.Predict(x.AsSpan(0, 784), 1, again);
        Assert.Equal(one, again);

        float[] input = x.AsSpan(0, 784).ToArray();
        WarmUp.Run(() => single.Predict(input, 1, one), calls: 50);
        var (allocated, workers) = WarmUp.Allocations(() =>
        {
            for (int i = 0; i < 100; i++) single.Predict(input, 1, one);
        });
        Assert.Equal(0, allocated);
        Assert.Equal(0, workers);
    }

    private static Dataset Subset(int count, int seed)
    {
        var rng = new Random(seed);
        var x = new float[count * 784];
        var y = new float[count];
        // Learnable: class c lights up its own band of rows, plus noise.
        for (int s = 0; s < count; s++)
        {
            int c = rng.Next(10);
            y[s] = c;
            for (int i = 0; i < 784; i++)
                x[s * 784 + i] = (float)(rng.NextDouble() - 0.5) + (i / 78 == c ? 1f : 0f);
        }
        return new Dataset(x, y, [28, 28], 1);
    }

    private static float[] TrainTwoEpochs(int seed, Dataset data)
    {
        var model = new FashionDropoutMlp(batchSize: 32, seed: seed);
        model.Fit(data, epochs: 2, new Adam(1e-3f), verbose: 0);
        return model.Parameters.Span.ToArray();
    }

    [Fact]
    public void SameSeedTrainsToBitwiseIdenticalWeights()
    {
        var data = Subset(512, 11);
        float[] a = TrainTwoEpochs(42, data);
        float[] b = TrainTwoEpochs(42, data);
        Assert.True(a.AsSpan().SequenceEqual(b), "two runs with seed 42 differ");

        float[] c = TrainTwoEpochs(43, data);
        Assert.False(a.AsSpan().SequenceEqual(c), "seeds 42 and 43 trained to the same weights");

        // Same seed, same initial weights, but the stream moved on (other shuffles and masks): a different result too.
        var model = new FashionDropoutMlp(batchSize: 32, seed: 42);
        model.Random.NextUInt64();
        model.Fit(data, epochs: 2, new Adam(1e-3f), verbose: 0);
        Assert.False(a.AsSpan().SequenceEqual(model.Parameters.Span), "shuffling and dropout did not use the model's random stream");
    }

    [Fact]
    public void ResultsDoNotDependOnTheThreadCount()
    {
        var data = Subset(256, 12);
        int saved = KilnSettings.Threads;
        try
        {
            KilnSettings.Threads = 1;
            float[] one = TrainTwoEpochs(7, data);
            KilnSettings.Threads = Math.Max(4, Environment.ProcessorCount);
            float[] many = TrainTwoEpochs(7, data);
            Assert.True(one.AsSpan().SequenceEqual(many), "1 thread and many threads trained to different weights");
        }
        finally
        {
            KilnSettings.Threads = saved;
        }
    }

    /// <summary>Seed 004 on real Fashion-MNIST, small: 2,000 training images, the first 1,000 test images.</summary>
    [Fact]
    public void FashionMlpLearnsRealFashionMnist()
    {
        Dataset trainAll, testAll;
        try
        {
            (trainAll, testAll) = FashionMnist.Load();
        }
        catch (FileNotFoundException e)
        {
            Assert.Fail($"Fashion-MNIST is missing ({e.Message}). Install it with `apt-get install -y dataset-fashion-mnist`.");
            return;
        }
        Assert.Equal(60_000, trainAll.Count);
        Assert.Equal(10_000, testAll.Count);

        var watch = Stopwatch.StartNew();
        var train = trainAll.Take(2000);
        var test = testAll.Take(1000);
        var scaler = new StandardScaler().Fit(train);
        train = scaler.Transform(train);
        test = scaler.Transform(test);

        var model = new FashionMlp(batchSize: 32, seed: 42);
        float before = model.Evaluate(test).Accuracy;
        var history = model.Fit(train, epochs: 10, new Sgd(0.01f), verbose: 0);
        var result = model.Evaluate(test);

        Assert.InRange(before, 0f, 0.3f); // untrained: about chance
        Assert.True(result.Accuracy > 0.75f, $"test accuracy {result.Accuracy} after 10 epochs on 2,000 images (history: {history})");
        Assert.True(result.Loss < 0.8f, $"test loss {result.Loss}");
        Console.WriteLine($"Fashion-MNIST 2,000/1,000: before {before:F4}, after {result} in {watch.Elapsed.TotalSeconds:F1} s");
    }
}
