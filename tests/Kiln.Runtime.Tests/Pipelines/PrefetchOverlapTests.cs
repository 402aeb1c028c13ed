using Kiln.Tests;
using System;
using System.Threading;
using Kiln;
using Kiln.Runtime.Tests.Training;

namespace Kiln.Runtime.Tests.Pipelines;

public class PrefetchOverlapTests
{
    [Fact]
    public void TheNextBatchLoadsWhileTheConsumerHoldsThisOne()
    {
        // The consumer takes batch 0 and does not call Next again until the source has been asked
        // for batch 1's samples: that only happens if loading runs ahead of the consumer.
        var source = new SignallingSource(40, signalAt: 10);
        using var batches = Pipeline.From(source).Batch(10).Prefetch(bufferSize: 1, threads: 1);
        Assert.True(batches.Next(out var first));
        Assert.True(source.Reached.Wait(TimeSpan.FromSeconds(10)), "the loader did not run ahead of the consumer");
        Assert.Equal(0f, first.Features[0]); // batch 0 is still intact while batch 1 loads
        Assert.True(batches.Next(out var second));
        Assert.Equal(10f, second.Features[0]);
    }

    [Fact]
    public void NothingIsAllocatedPerBatchOnTheConsumerOrTheLoaders()
    {
        var data = PipelineTests.Numbered(500);
        var scaler = new StandardScaler(perFeature: true).Fit(data);
        using var batches = Pipeline.From(data).Shuffle(500, seed: 1).Map(scaler).Batch(32).Prefetch(bufferSize: 2, threads: 2);
        float sink = 0;
        void Passes(int passes)
        {
            for (int p = 0; p < passes; p++)
                while (batches.Next(out var b)) sink += b.Features[0] + b.Targets[0] + b.Indices[0];
        }
        Passes(2); // warm-up: threads, JIT, the lock's first contention
        long loaders = batches.Stats.LoaderAllocatedBytes;
        long[] consumer = WarmUp.Windows(() => WarmUp.BytesOnThisThread(() => Passes(5)), attempts: 2);
        Assert.Contains(0L, consumer);
        Assert.Equal(0, batches.Stats.LoaderAllocatedBytes - loaders);
        Assert.Equal((2 + 5 * consumer.Length) * 16, batches.Stats.Batches);
        Assert.True(float.IsFinite(sink));

        using var sync = Pipeline.From(data).Shuffle(500, seed: 1).Batch(32);
        while (sync.Next(out _)) { }
        Assert.Contains(0L, WarmUp.Windows(() => WarmUp.BytesOnThisThread(() => { for (int p = 0; p < 3; p++) while (sync.Next(out _)) { } })));
    }

    [Fact]
    public void TrainingOnAPrefetchedPipelineMatchesTheSynchronousOneAndLearns()
    {
        var data = Blobs(400, seed: 5);
        History Train(bool prefetch, out float[] weights)
        {
            var model = new LinearModel(2, 3, batchSize: 16, seed: 1);
            var batches = Pipeline.From(data).Shuffle(400, seed: 2).Batch(16);
            using IBatchSource source = prefetch ? batches.Prefetch(threads: 2) : batches;
            var history = model.Fit(source, epochs: 5, new Sgd(0.1f), verbose: 0);
            weights = model.Parameters.Span.ToArray();
            return history;
        }
        var a = Train(prefetch: true, out var wa);
        var b = Train(prefetch: false, out var wb);
        Assert.Equal(wb, wa); // same batches in the same order: bit-identical weights
        Assert.Equal(b["loss"], a["loss"]);
        Assert.True(a["accuracy"][^1] > 0.95, $"accuracy {a["accuracy"][^1]}");
        foreach (double wait in a["data_wait"]) Assert.True(wait >= 0 && double.IsFinite(wait));
        var model = new LinearModel(3, 3, batchSize: 16, seed: 1);
        using var wrong = Pipeline.From(PipelineTests.Numbered(4)).Batch(2);
        Assert.Throws<ArgumentException>(() => model.Fit(wrong, 1, new Sgd(0.1f), verbose: 0));
    }

    /// <summary>Three separable Gaussian blobs in 2-D with sparse labels.</summary>
    internal static Dataset Blobs(int n, int seed)
    {
        var rng = new Rng((ulong)seed);
        var x = new float[2 * n];
        var y = new float[n];
        for (int i = 0; i < n; i++)
        {
            int c = i % 3;
            x[2 * i] = 4 * MathF.Cos(2.1f * c) + 0.5f * rng.NextNormal();
            x[2 * i + 1] = 4 * MathF.Sin(2.1f * c) + 0.5f * rng.NextNormal();
            y[i] = c;
        }
        return new Dataset(x, y, [2], 1);
    }

    private sealed class SignallingSource(int count, int signalAt) : ISampleSource
    {
        public readonly ManualResetEventSlim Reached = new();
        public int[] SampleShape => [1];
        public int SampleSize => 1;
        public int TargetSize => 1;
        public int Count => count;

        public bool TryRead(int index, Span<float> features, Span<float> targets)
        {
            if (index == signalAt) Reached.Set();
            features[0] = targets[0] = index;
            return true;
        }
    }
}
