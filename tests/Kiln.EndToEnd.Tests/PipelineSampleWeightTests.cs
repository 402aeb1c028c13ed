using System;
using System.Collections.Generic;
using System.Linq;
using Kiln;

namespace Kiln.EndToEnd.Tests;

/// <summary>
/// Keras' <c>sample_weight</c> through <c>Fit(IBatchSource)</c>: a pipeline's weights follow their samples
/// through shuffling, prefetching and dropped samples, and training on them is bitwise training on the
/// weighted <see cref="Dataset"/> in the same order; a batch source of one's own gives weights through
/// the public <see cref="Batch"/> constructor.
/// </summary>
public sealed class PipelineSampleWeightTests
{
    [Fact]
    public void EachBatchCarriesItsSamplesWeightsThroughShuffleAndPrefetch()
    {
        var data = WeightedData.Classes(23, 6, 3, 1);
        var weights = WeightedData.RandomWeights(23, 2);
        var pipeline = Pipeline.From(data.WithSampleWeights(weights)).Shuffle(23, seed: 5).Repeat(2);
        Assert.Equal(weights, pipeline.SampleWeights);
        foreach (IBatchSource source in new IBatchSource[] { pipeline.Batch(4), pipeline.Batch(4).Prefetch(2, threads: 2) })
        {
            using (source)
            {
                int batches = 0, samples = 0;
                while (source.Next(out var batch))
                {
                    Assert.Equal(batch.Count, batch.SampleWeights.Length);
                    for (int r = 0; r < batch.Count; r++)
                    {
                        int i = batch.Indices[r];
                        Assert.Equal(weights[i], batch.SampleWeights[r]);
                        Assert.Equal(data.Targets[i], batch.Targets[r]);
                    }
                    batches++;
                    samples += batch.Count;
                }
                Assert.Equal((12, 46), (batches, samples));
            }
        }
        Assert.Null(pipeline.WithSampleWeights(null).SampleWeights);
        Assert.True(Pipeline.From(data).Batch(4).Next(out var unweighted));
        Assert.True(unweighted.SampleWeights.IsEmpty);
    }

    [Fact]
    public void ADroppedSampleTakesItsWeightWithIt()
    {
        var data = WeightedData.Classes(10, 6, 3, 3);
        var weights = Enumerable.Range(0, 10).Select(i => (float)i).ToArray();
        using var source = Pipeline.From(new Dropping(data, drop: 2)).WithSampleWeights(weights).Batch(4);
        Assert.True(source.Next(out var batch));
        Assert.Equal([0, 1, 3], batch.Indices.ToArray()); // sample 2 was skipped, the rows moved up
        Assert.Equal([0f, 1f, 3f], batch.SampleWeights.ToArray());
    }

    [Fact]
    public void FitAndEvaluateOnAWeightedPipelineAreTheWeightedDatasets()
    {
        var data = WeightedData.Classes(37, 6, 3, 4); // 37: the last batch of 8 is short
        var weights = WeightedData.RandomWeights(37, 5);
        var validation = WeightedData.Classes(13, 6, 3, 6);
        var validationWeights = WeightedData.RandomWeights(13, 7);
        var a = new TinySparseLogits(8, seed: 9) { WeightedMetrics = [Metric.Accuracy] };
        var b = new TinySparseLogits(8, seed: 9) { WeightedMetrics = [Metric.Accuracy] };
        var ha = a.Fit(data.WithSampleWeights(weights), 3, new Adam(1e-2f), validation: validation.WithSampleWeights(validationWeights), shuffle: false, verbose: 0);
        using var train = Pipeline.From(data).WithSampleWeights(weights).Batch(8).Prefetch();
        using var valid = Pipeline.From(validation.WithSampleWeights(validationWeights)).Batch(8);
        var hb = b.Fit(train, 3, new Adam(1e-2f), validation: valid, verbose: 0);

        Assert.Equal(a.Parameters.Span.ToArray(), b.Parameters.Span.ToArray());
        foreach (string name in new[] { "loss", "accuracy", "weighted_accuracy", "val_loss", "val_weighted_accuracy" })
            Assert.Equal(ha[name], hb[name]);
        // The weights mattered: training unweighted ends elsewhere.
        var c = new TinySparseLogits(8, seed: 9);
        c.Fit(data, 3, new Adam(1e-2f), shuffle: false, verbose: 0);
        Assert.NotEqual(a.Parameters.Span.ToArray(), c.Parameters.Span.ToArray());

        using var test = Pipeline.From(validation).WithSampleWeights(validationWeights).Batch(8);
        Assert.Equal(a.Evaluate(validation.WithSampleWeights(validationWeights)).Loss, a.Evaluate(test).Loss);
    }

    [Fact]
    public void ASourceOfOnesOwnGivesWeightsThroughTheBatchConstructor()
    {
        var data = WeightedData.Classes(6, 6, 3, 8);
        var weights = new float[] { 1, 0, 2, 0.5f, 3, 1 };
        var model = new TinySparseLogits(6, seed: 2);
        var own = new OneBatch(data, weights);
        Assert.Equal(model.Evaluate(data.WithSampleWeights(weights)).Loss, model.Evaluate(own).Loss);

        var e = Assert.Throws<ArgumentException>(() => new Batch(new float[36], new float[6], new int[6], 6, 6, 1, new float[5]));
        Assert.Contains("6 sample weights", e.Message);
        Assert.Throws<ArgumentException>(() => new Batch(new float[30], new float[6], new int[6], 6, 6, 1));
    }

    /// <summary>A data set that drops one sample, as an image folder skips a corrupt file.</summary>
    private sealed class Dropping(Dataset data, int drop) : ISampleSource
    {
        public int[] SampleShape => data.SampleShape;
        public int SampleSize => data.SampleSize;
        public int TargetSize => data.TargetSize;
        public int Count => data.Count;

        public bool TryRead(int index, Span<float> features, Span<float> targets)
        {
            if (index == drop) return false;
            return data.TryRead(index, features, targets);
        }
    }

    /// <summary>The whole data set as one weighted batch per pass, in buffers it owns.</summary>
    private sealed class OneBatch(Dataset data, float[] weights) : IBatchSource
    {
        private readonly int[] _indices = Enumerable.Range(0, data.Count).ToArray();
        private bool _given;

        public int BatchSize => data.Count;
        public int[] SampleShape => data.SampleShape;
        public int SampleSize => data.SampleSize;
        public int TargetSize => data.TargetSize;
        public long SamplesPerPass => data.Count;
        public long BatchesPerPass => 1;

        public bool Next(out Batch batch)
        {
            _given = !_given;
            batch = _given ? new Batch(data.Features, data.Targets, _indices, data.Count, data.SampleSize, data.TargetSize, weights) : default;
            return _given;
        }

        public void Dispose() { }
    }
}
