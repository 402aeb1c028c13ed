using System;
using System.Collections.Generic;
using Kiln;

namespace Kiln.Runtime.Tests.Training;

/// <summary>
/// How data-parallel Fit cuts an in-memory dataset among ranks (<see cref="ShardedDatasetBatches"/>):
/// each global step is exactly the batch one process with the global batch size would train on.
/// The MPI runs themselves are in tests/Kiln.Distributed.Tests.
/// </summary>
public class ShardedBatchesTests
{
    [Theory]
    [InlineData(2, 16, 193)] // the last global batch of 1 leaves rank 0 nothing
    [InlineData(2, 16, 64)]  // no partial batch
    [InlineData(3, 8, 100)]  // a last batch of 4 split 1 / 1 / 2
    [InlineData(4, 4, 5)]    // one step; three ranks get one sample, one gets two
    [InlineData(1, 32, 70)]
    public void EachGlobalStepIsTheSingleProcessBatchInRankOrder(int ranks, int batch, int count)
    {
        var data = FitTests.Blobs(count, 3);
        var single = new LinearModel(4, 3, batchSize: ranks * batch, seed: 11);
        var reference = new DatasetBatches(single, data, 0, count, shuffle: true);
        var models = new LinearModel[ranks];
        var shards = new ShardedDatasetBatches[ranks];
        for (int r = 0; r < ranks; r++)
        {
            models[r] = new LinearModel(4, 3, batchSize: batch, seed: 11);
            shards[r] = new ShardedDatasetBatches(models[r], data, 0, count, shuffle: true, training: true, r, ranks);
        }
        long mine = 0;
        for (int r = 0; r < ranks; r++) mine += shards[r].SamplesPerPass;
        Assert.Equal(count, mine);

        for (int epoch = 0; epoch < 2; epoch++)
        {
            var ended = new bool[ranks];
            int steps = 0;
            while (reference.Next(out var expected))
            {
                var union = new List<int>();
                for (int r = 0; r < ranks; r++)
                {
                    if (ended[r]) continue;
                    if (!shards[r].Next(out var b)) { ended[r] = true; continue; }
                    Assert.InRange(b.Count, 1, batch);
                    if (expected.Count == ranks * batch) Assert.Equal(batch, b.Count); // full batches: b each
                    union.AddRange(b.Indices.ToArray());
                }
                Assert.Equal(expected.Indices.ToArray(), union.ToArray());
                steps++;
            }
            Assert.Equal(reference.BatchesPerPass, steps);
            for (int r = 0; r < ranks; r++)
            {
                Assert.Equal(steps, shards[r].BatchesPerPass);
                Assert.True(ended[r] || !shards[r].Next(out _), $"rank {r} has samples left after the last global batch");
            }
            // Ranks other than 0 left rank 0's stream after drawing the order (their own dropout masks)...
            for (int r = 1; r < ranks; r++) Assert.NotEqual(models[0].Random.State, models[r].Random.State);
            // ...and Fit gives them rank 0's again at the end of the epoch, as here.
            for (int r = 1; r < ranks; r++) models[r].Random = models[0].Random;
            Assert.Equal(single.Random.State, models[0].Random.State);
        }
    }

    [Fact]
    public void ValidationIsSplitWithoutShufflingAndWithoutTouchingTheRandomStream()
    {
        var data = FitTests.Blobs(10, 4);
        var seen = new List<int>();
        for (int r = 0; r < 3; r++)
        {
            var model = new LinearModel(4, 3, batchSize: 2, seed: 5);
            var before = model.Random.State;
            var shard = new ShardedDatasetBatches(model, data, 0, 10, shuffle: false, training: false, r, 3);
            while (shard.Next(out var b)) seen.AddRange(b.Indices.ToArray());
            Assert.Equal(before, model.Random.State);
        }
        seen.Sort();
        Assert.Equal(new[] { 0, 1, 2, 3, 4, 5, 6, 7, 8, 9 }, seen);
    }
}
