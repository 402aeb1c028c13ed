using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using Kiln;

namespace Kiln.Runtime.Tests.Pipelines;

public class PipelineTests
{
    /// <summary>n samples of 2 features (i, −i) and target i: every row says which sample it is.</summary>
    internal static Dataset Numbered(int n)
    {
        var x = new float[2 * n];
        var y = new float[n];
        for (int i = 0; i < n; i++) (x[2 * i], x[2 * i + 1], y[i]) = (i, -i, i);
        return new Dataset(x, y, [2], 1);
    }

    /// <summary>The sample ids of each batch of one pass.</summary>
    internal static List<int[]> Pass(IBatchSource source)
    {
        var batches = new List<int[]>();
        while (source.Next(out var b))
        {
            var ids = new int[b.Count];
            for (int r = 0; r < b.Count; r++)
            {
                ids[r] = (int)b.Targets[r];
                Assert.Equal(ids[r], b.Features[2 * r]);
                Assert.Equal(-ids[r], b.Features[2 * r + 1]);
                Assert.Equal(ids[r], b.Indices[r]);
            }
            batches.Add(ids);
        }
        return batches;
    }

    [Fact]
    public void BatchesCoverThePassAndTheLastIsShortUnlessDropped()
    {
        using var batches = Pipeline.From(Numbered(10)).Batch(4);
        Assert.Equal(3, batches.BatchesPerPass);
        Assert.Equal([[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]], Pass(batches));
        Assert.Equal([[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]], Pass(batches)); // the next call starts the next pass
        using var dropped = Pipeline.From(Numbered(10)).Batch(4, dropRemainder: true);
        Assert.Equal(2, dropped.BatchesPerPass);
        Assert.Equal(8, dropped.SamplesPerPass);
        Assert.Equal(2, Pass(dropped).Count);
    }

    [Fact]
    public void FullShuffleIsAPermutationThatChangesEachPassAndRepeatsWithTheSeed()
    {
        int[] Flat(IBatchSource s) => Pass(s).SelectMany(b => b).ToArray();
        using var a = Pipeline.From(Numbered(50)).Shuffle(50, seed: 3).Batch(8);
        var first = Flat(a);
        var second = Flat(a);
        Assert.Equal(Enumerable.Range(0, 50), first.OrderBy(i => i));
        Assert.NotEqual(first, second);
        using var again = Pipeline.From(Numbered(50)).Shuffle(50, seed: 3).Batch(8);
        Assert.Equal(first, Flat(again));
        Assert.Equal(second, Flat(again));
        using var fixedOrder = Pipeline.From(Numbered(50)).Shuffle(50, seed: 3, reshuffleEachIteration: false).Batch(8);
        Assert.Equal(Flat(fixedOrder), Flat(fixedOrder));
    }

    [Fact]
    public void ShuffleBufferOnlyMixesNearbySamples()
    {
        using var one = Pipeline.From(Numbered(20)).Shuffle(1, seed: 1).Batch(20);
        Assert.Equal(Enumerable.Range(0, 20), Pass(one)[0]);
        // tf.data semantics: with a buffer of 3, output i is one of the first i + 3 inputs.
        using var three = Pipeline.From(Numbered(200)).Shuffle(3, seed: 1).Batch(200);
        var order = Pass(three)[0];
        Assert.Equal(Enumerable.Range(0, 200), order.OrderBy(i => i));
        for (int i = 0; i < order.Length; i++) Assert.True(order[i] < i + 3, $"position {i} got {order[i]}");
        Assert.NotEqual(Enumerable.Range(0, 200), order);
    }

    [Fact]
    public void TakeSkipAndRepeatActLikeTfData()
    {
        // seed 003: train = dataset.skip(test_count), test = dataset.take(test_count)
        var all = Pipeline.From(Numbered(10));
        using var test = all.Take(3).Batch(32);
        using var train = all.Skip(3).Batch(32);
        Assert.Equal([[0, 1, 2]], Pass(test));
        Assert.Equal([[3, 4, 5, 6, 7, 8, 9]], Pass(train));
        Assert.Equal(7, all.Skip(3).Count);

        using var twice = all.Skip(7).Repeat(2).Batch(4);
        Assert.Equal(6, twice.SamplesPerPass);
        Assert.Equal([[7, 8, 9, 7], [8, 9]], Pass(twice)); // batches run across the repeat

        using var forever = all.Take(3).Repeat().Batch(2);
        Assert.Equal(-1, forever.BatchesPerPass);
        for (int i = 0; i < 30; i++) Assert.True(forever.Next(out _));
        using var empty = all.Skip(20).Repeat().Batch(2);
        Assert.Equal(0, empty.SamplesPerPass);
        Assert.False(empty.Next(out _));
    }

    [Fact]
    public void MapsRunPerSampleInPlaceOrReshaping()
    {
        var p = Pipeline.From(Numbered(5))
            .Map((x, y) => { x[0] *= 10; y[0] += 100; })
            .Map([3], 2, (x, y, xo, yo) => { xo[0] = x[0]; xo[1] = x[1]; xo[2] = x[0] + x[1]; yo[0] = y[0]; yo[1] = -1; });
        Assert.Equal([3], p.SampleShape);
        Assert.Equal(2, p.TargetSize);
        using var b = p.Batch(5);
        Assert.True(b.Next(out var batch));
        Assert.Equal([40f, -4f, 36f], batch.Features.Slice(12, 3).ToArray());
        Assert.Equal([104f, -1f], batch.Targets.Slice(8, 2).ToArray());
        var scaler = new MinMaxScaler().Fit(Numbered(5));
        using var scaled = Pipeline.From(Numbered(5)).Map(scaler).Batch(5);
        Assert.True(scaled.Next(out var s));
        Assert.Equal(1f, s.Features[8]); // sample 4's first feature is the maximum
    }

    [Theory]
    [InlineData(1, 1)]
    [InlineData(1, 2)]
    [InlineData(2, 3)]
    [InlineData(4, 2)]
    [InlineData(7, 2)]
    public void PrefetchGivesExactlyTheSynchronousBatches(int bufferSize, int threads)
    {
        var p = Pipeline.From(Numbered(103)).Shuffle(40, seed: 9).Map((x, _) => x[1] -= 0f);
        using var sync = p.Batch(7);
        using var prefetched = p.Batch(7).Prefetch(bufferSize, threads);
        Assert.Equal(prefetched.BatchesPerPass, sync.BatchesPerPass);
        for (int pass = 0; pass < 3; pass++) Assert.Equal(Pass(sync), Pass(prefetched));
        Assert.Equal(3 * 103, prefetched.Stats.Samples);
    }

    [Fact]
    public void LoaderErrorsReachTheConsumerUnchanged()
    {
        using var prefetched = Pipeline.From(new FailingSource(10, failAt: 6)).Batch(4).Prefetch(threads: 2);
        Assert.True(prefetched.Next(out _));
        var e = Assert.Throws<InvalidDataException>(() => { while (prefetched.Next(out _)) { } });
        Assert.Equal("sample6.png: corrupt", e.Message);
    }

    [Fact]
    public void DisposeStopsTheLoaders()
    {
        var p = Pipeline.From(Numbered(1000)).Repeat().Batch(10).Prefetch(2, 2);
        Assert.True(p.Next(out _));
        p.Dispose();
        Assert.Throws<ObjectDisposedException>(() => p.Next(out _));
        p.Dispose(); // twice is fine
    }

    [Fact]
    public void ArgumentsAreChecked()
    {
        var p = Pipeline.From(Numbered(3));
        Assert.Throws<ArgumentOutOfRangeException>(() => p.Batch(0));
        Assert.Throws<ArgumentOutOfRangeException>(() => p.Shuffle(0, 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => p.Take(-1));
        Assert.Throws<ArgumentOutOfRangeException>(() => p.Repeat(-2));
        Assert.Throws<ArgumentOutOfRangeException>(() => p.Batch(2).Prefetch(0));
        Assert.Throws<ArgumentException>(() => p.Map([0], 1, (_, _, _, _) => { }));
    }

    internal sealed class FailingSource(int count, int failAt) : ISampleSource
    {
        public int[] SampleShape => [2];
        public int SampleSize => 2;
        public int TargetSize => 1;
        public int Count => count;

        public bool TryRead(int index, Span<float> features, Span<float> targets)
        {
            if (index == failAt) throw new InvalidDataException($"sample{index}.png: corrupt");
            (features[0], features[1], targets[0]) = (index, -index, index);
            return true;
        }
    }
}
