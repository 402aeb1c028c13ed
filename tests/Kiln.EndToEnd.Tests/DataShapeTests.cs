using System;
using System.Linq;
using Kiln;
using Kiln.Samples.FashionMnist;
using Kiln.Samples.FashionMnistCnn;

namespace Kiln.EndToEnd.Tests;

/// <summary>
/// Data is checked by shape, not only size, wherever a model reads a Dataset or a batch source:
/// (3, 4, 6) channels-first images of the right size no longer train a (4, 6, 3) model silently.
/// </summary>
public sealed class DataShapeTests
{
    private static Dataset Data(int[] shape, int count = 6)
    {
        int size = shape.Aggregate(1, (a, b) => a * b);
        var rng = new Random(1);
        return new Dataset(Enumerable.Range(0, count * size).Select(_ => (float)rng.NextDouble()).ToArray(),
            Enumerable.Range(0, count).Select(i => (float)(i % 3)).ToArray(), shape, 1);
    }

    /// <summary>Every entry point that reads a Dataset or a batch source, on <paramref name="data"/>.</summary>
    private static Action[] EntryPoints(Model model, Dataset data) =>
    [
        () => model.Fit(data, 1, new Sgd(), verbose: 0),
        () => model.Fit(Data(model.Description.InputShape), 1, new Sgd(), validation: data, verbose: 0),
        () => model.Evaluate(data),
        () => model.Predict(data),
        () => model.PredictClasses(data),
        () => model.Fit(Pipeline.From(data).Batch(2), 1, new Sgd(), verbose: 0),
        () => model.Evaluate(Pipeline.From(data).Batch(2)),
    ];

    [Fact]
    public void ChannelsFirstDataForAChannelsLastModelIsRejectedEverywhereWithTheFix()
    {
        var model = new ChannelsLastCnn(4, 0);
        var nchw = Data([3, 4, 6]);
        foreach (var call in EntryPoints(model, nchw))
        {
            var e = Assert.Throws<ArgumentException>(call);
            Assert.Contains("ChannelsLastCnn: input 'input' expected shape (None, 4, 6, 3), found (None, 3, 4, 6)", e.Message);
            Assert.Contains("ChannelLayout.ToChannelsLast", e.Message);
            Assert.Contains("[Sequential(3, 4, 6, DataFormat = DataFormat.ChannelsFirst)]", e.Message);
        }
        // The fix the message names works.
        model.Fit(ChannelLayout.ToChannelsLast(nchw), 1, new Sgd(), verbose: 0);
    }

    [Fact]
    public void OtherWrongShapesOfTheRightSizeAreRejected()
    {
        var model = new ChannelsLastCnn(4, 0);
        var permuted = Assert.Throws<ArgumentException>(() => model.Fit(Data([6, 4, 3]), 1, new Sgd(), verbose: 0));
        Assert.Contains("found (None, 6, 4, 3)", permuted.Message);
        Assert.Contains("transpose the data to (4, 6, 3)", permuted.Message);
        var reshaped = Assert.Throws<ArgumentException>(() => model.Evaluate(Data([12, 6])));
        Assert.Contains("expected shape (None, 4, 6, 3), found (None, 12, 6)", reshaped.Message);
        var smaller = Assert.Throws<ArgumentException>(() => model.Predict(Data([4, 6, 2])));
        Assert.Contains("the input takes 72 values per sample, the data has 48", smaller.Message);
    }

    [Fact]
    public void FlatDataAndATrailingOneAreAcceptedAsBefore()
    {
        // A flat sample shape claims no layout: a float[] described only by its length keeps working.
        var cnn = new ChannelsLastCnn(4, 0);
        Assert.Equal(cnn.Predict(Data([4, 6, 3])), cnn.Predict(Data([72])));
        // Keras adjusts one trailing 1: Fashion-MNIST's (28, 28) feeds a (28, 28, 1) model and back.
        new FashionCnn(2, 0).Predict(Data([28, 28], 2));
        new FashionMlp(2, 0).Predict(Data([28, 28, 1], 2));
        // A flat input reads any sample row-major, as Flatten would: (4, 6, 3) data into a (72) model.
        Assert.Equal(new FlatTwin(4, 3).Predict(Data([72])), new FlatTwin(4, 3).Predict(Data([4, 6, 3])));
    }

    [Fact]
    public void SeveralInputsAreCheckedPerInput()
    {
        var d = ChannelsLastInputs.Definition;
        float[] y = [0, 1];
        var image = new float[2 * 32];
        var tabular = new float[2 * 3];
        var data = Dataset.FromInputs(d, y, ("image", image, [4, 4, 2]), ("tabular", tabular, [3]));
        Assert.Equal([35], data.SampleShape);
        var e = Assert.Throws<ArgumentException>(() => Dataset.FromInputs(d, y, ("image", image, [2, 4, 4]), ("tabular", tabular, [3])));
        Assert.Contains("ChannelsLastInputs: input 'image' expected shape (None, 4, 4, 2), found (None, 2, 4, 4)", e.Message);
        Assert.Contains("ChannelLayout.ToChannelsLast", e.Message);
        Assert.Contains("[Input(2, 4, 4, DataFormat = DataFormat.ChannelsFirst)]", e.Message);

        // A shaped dataset given whole to a model with several inputs: the rows must be packed.
        var model = new ChannelsLastInputs(2, 0);
        var packed = Assert.Throws<ArgumentException>(() => model.Fit(Data([5, 7]), 1, new Sgd(), verbose: 0));
        Assert.Contains("'image' (4, 4, 2), 'tabular' (3)", packed.Message);
        Assert.Contains("Dataset.FromInputs", packed.Message);
        model.Fit(data, 1, new Sgd(), verbose: 0);
    }

    [Fact]
    public void RawSpansKeepTheSizeCheck()
    {
        var model = new ChannelsLastCnn(4, 0);
        var e = Assert.Throws<ArgumentException>(() => model.Predict(new float[71], 1));
        Assert.Contains("(4, 6, 3)", e.Message);
        Assert.Equal(3, model.Predict(new float[72], 1).Length);
    }
}

// A flat input of the size of ChannelsLastCnn's images.
[Sequential(72)]
[Dense(3, Activation.Softmax)]
[Loss(Loss.SparseCategoricalCrossentropy)]
public partial class FlatTwin { }
