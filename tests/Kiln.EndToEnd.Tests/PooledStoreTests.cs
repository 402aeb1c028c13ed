using System;
using System.Collections.Generic;
using System.Runtime.InteropServices;
using Kiln;

namespace Kiln.EndToEnd.Tests;

/// <summary>
/// A Winograd or direct convolution read only by a 2×2 max pooling does the pooling in its store in inference
/// (FusionPlan.PoolsInStore); a pass that observes layer outputs, and training, run the two kernels.
/// Both must give the same bits, and training must still learn through the unfused pair.
/// </summary>
public sealed class PooledStoreTests
{
    private sealed class Outputs : ILayerOutputObserver
    {
        public readonly Dictionary<string, float[]> Seen = new();
        public void OnLayerOutput(string layer, ReadOnlySpan<float> output) => Seen[layer] = output.ToArray();
    }

    private static float[] Input(int n, int size, int seed)
    {
        var rng = new Random(seed);
        var x = new float[n * size];
        for (int i = 0; i < x.Length; i++) x[i] = (float)(rng.NextDouble() * 2 - 1);
        return x;
    }

    private static int[] Bits(ReadOnlySpan<float> values) => MemoryMarshal.Cast<float, int>(values).ToArray();

    [Fact]
    public void PredictGivesTheBitsOfTheObservedTwoKernelPass()
    {
        const int n = 5;
        var model = new PooledConvs(batchSize: 8, seed: 3);
        var x = Input(n, model.InputSize, 1);
        // A few training steps move the weights and BN's moving statistics, so the folded BN is not an identity,
        // and the loss falls through the two-kernel training pass.
        var optimizer = new Adam(1e-2f);
        var batch = Input(8, model.InputSize, 2);
        var labels = new float[] { 0, 1, 2, 0, 1, 2, 0, 1 };
        float first = model.TrainOnBatch(batch, labels, 8, optimizer), last = first;
        for (int step = 0; step < 20; step++) last = model.TrainOnBatch(batch, labels, 8, optimizer);
        Assert.True(last < 0.5f * first, $"loss {first} -> {last}");

        float[] predicted = model.Predict(x, n);
        var observer = new Outputs();
        float[] observed = model.Forward(x, n, observer).ToArray();
        Assert.Equal(Bits(observed), Bits(predicted));
        // The observed pass did write the convolutions' own outputs, which the pooled pass skips.
        Assert.Equal(n * 8 * 8 * 16, observer.Seen["re_lu"].Length);
        Assert.Equal(n * 4 * 4 * 32, observer.Seen["re_lu_1"].Length);
        Assert.Equal(n * 2 * 2 * 32, observer.Seen["max_pooling2d_1"].Length);
        Assert.Equal(Bits(observed), Bits(model.Predict(x, n)));
    }
}
