using System;
using System.Linq;
using Kiln;
using Kiln.Samples.FashionMnistCnn;
using Kiln.Tests;

namespace Kiln.EndToEnd.Tests;

/// <summary>PredictClasses (Keras users' <c>np.argmax(model.predict(x), axis=-1)</c>) and Model.Layers (Keras' <c>model.layers</c>).</summary>
public sealed class PredictClassesAndLayersTests
{
    private static float[] Random(int count, int seed)
    {
        var rng = new System.Random(seed);
        return Enumerable.Range(0, count).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
    }

    /// <summary>The naive reference: the first index of each row's largest value.</summary>
    private static int[] ArgMax(float[] outputs, int width) =>
        Enumerable.Range(0, outputs.Length / width).Select(i =>
        {
            var row = outputs.AsSpan(i * width, width);
            int best = 0;
            for (int j = 1; j < width; j++) if (row[j] > row[best]) best = j;
            return best;
        }).ToArray();

    [Fact]
    public void PredictClassesIsTheArgmaxOfPredict()
    {
        // 11 samples through batches of 4: the last batch is smaller.
        var model = new ChannelsLastCnn(4, 3);
        var x = Random(11 * 72, 1);
        int[] expected = ArgMax(model.Predict(x, 11), 3);
        Assert.Equal(expected, model.PredictClasses(x, 11));
        Assert.True(expected.Distinct().Count() > 1, "the random model should predict more than one class");
        var data = new Dataset(x, new float[11], [4, 6, 3], 1);
        Assert.Equal(expected, model.PredictClasses(data));
        var into = new int[11];
        model.PredictClasses(x, 11, into);
        Assert.Equal(expected, into);
    }

    [Fact]
    public void OneSigmoidOutputIsThresholdedAtAHalf()
    {
        var model = new MiniDiscriminator(4, 2);
        var x = Random(6 * 192, 4);
        var p = model.Predict(x, 6);
        Assert.Equal(p.Select(v => v > 0.5f ? 1 : 0).ToArray(), model.PredictClasses(x, 6));
    }

    [Fact]
    public void PredictClassesRefusesWhatItCannotAnswer()
    {
        var model = new ChannelsLastCnn(4, 3);
        var d = Assert.Throws<ArgumentException>(() => model.PredictClasses(new float[2 * 72], 2, new int[3]));
        Assert.Equal("destination", d.ParamName);
        var i = Assert.Throws<ArgumentException>(() => model.PredictClasses(new float[2 * 71], 2));
        Assert.Equal("inputs", i.ParamName);
        var heads = new TwoHeads(2, 0);
        var e = Assert.Throws<InvalidOperationException>(() => heads.PredictClasses(new float[heads.InputSize], 1));
        Assert.Contains("2 outputs", e.Message);
    }

    [Fact]
    public void PredictClassesIntoASpanAllocatesNothing()
    {
        var model = new ChannelsLastCnn(4, 3);
        var x = Random(10 * 72, 1);
        var classes = new int[10];
        WarmUp.Run(() => model.PredictClasses(x, 10, classes));
        var (allocated, workers) = WarmUp.Allocations(() => model.PredictClasses(x, 10, classes));
        Assert.Equal(0, allocated);
        Assert.Equal(0, workers);
    }

    [Fact]
    public void LayersListEachLayerLikeKeras()
    {
        var model = new FashionCnn(2, 0);
        var layers = model.Layers;
        Assert.Equal(["conv2d", "batch_normalization", "re_lu", "max_pooling2d", "conv2d_1", "batch_normalization_1", "re_lu_1",
            "max_pooling2d_1", "flatten", "dense", "dropout", "dense_1"], layers.Select(l => l.Name).ToArray());
        Assert.Equal("Conv2D", layers[0].Kind);
        Assert.Equal([28, 28, 32], layers[0].OutputShape);
        Assert.Equal(288, layers[0].ParameterCount);
        Assert.Equal("BatchNormalization", layers[1].Kind);
        Assert.Equal(128, layers[1].ParameterCount); // gamma, beta and the two moving statistics, as Keras counts them
        Assert.Equal([3136], layers[8].OutputShape);
        Assert.Equal(model.Description.Tensors.Sum(t => (long)t.Length), layers.Sum(l => l.ParameterCount));
        // Every row of the summary, in order.
        foreach (var l in layers)
            Assert.Contains($" {l.Name} ({l.Kind})", FashionCnn.Summary);
        Assert.Same(FashionCnn.Definition.Layers, model.Layers);

        var inputs = TwoInputs.Definition.Layers;
        Assert.Equal(("image", "InputLayer"), (inputs[0].Name, inputs[0].Kind));
        Assert.Equal([4, 4, 1], inputs[0].OutputShape);
        Assert.Equal("conv2d (Conv2D): (None, 4, 4, 2), 20 parameters", inputs[1].ToString());
    }

    [Fact]
    public void LayersNameWhatEachReads()
    {
        // A chain: the first layer reads the declared input, every other one the layer before it.
        var chain = FashionCnn.Definition.Layers;
        Assert.Equal(["input"], chain[0].Inbound);
        for (int i = 1; i < chain.Count; i++)
            Assert.Equal([chain[i - 1].Name], chain[i].Inbound);

        // A graph: a merge lists its inputs in order, a From branch reads the layer it names, an [Input] reads nothing.
        var resnet = TinyResNet.Definition.Layers.ToDictionary(l => l.Name);
        Assert.Equal(["b1", "stem"], resnet["add"].Inbound);
        Assert.Equal(["main", "shortcut"], resnet["add_1"].Inbound);
        // 'block1' feeds the next stage's first convolution and, through From, the projection shortcut.
        Assert.Equal(2, resnet.Values.Count(l => l.Kind == "Conv2D" && l.Inbound.SequenceEqual(["block1"])));
        Assert.Empty(TwoInputs.Definition.Layers[0].Inbound);
        Assert.Equal(["image"], TwoInputs.Definition.Layers[1].Inbound);
    }

    [Fact]
    public void ReadingLayersAllocatesNothing()
    {
        var model = new FashionCnn(2, 0);
        long sum = 0;
        void Read()
        {
            var layers = model.Layers;
            for (int i = 0; i < layers.Count; i++) sum += layers[i].ParameterCount + layers[i].OutputShape[0];
        }
        WarmUp.Run(Read);
        var (allocated, _) = WarmUp.Allocations(Read);
        Assert.Equal(0, allocated);
        Assert.True(sum > 0);
    }
}
