using System;
using System.Linq;
using Kiln;
using Kiln.Tests;

namespace Kiln.EndToEnd.Tests;

/// <summary>
/// DataFormat.ChannelsFirst: a model declared (C, H, W) gives the outputs, weight gradients and
/// (transposed) input gradient of its channels-last twin fed the data transposed by the naive
/// reference, <see cref="ChannelLayout.NchwToNhwc"/>; it trains on (C, H, W) data, allocation-free.
/// </summary>
public sealed class ChannelsFirstTests
{
    /// <summary>Rows of <paramref name="n"/> samples, each a (c, h, w) image at <paramref name="offset"/> of a row of <paramref name="stride"/>, with that image transposed to (h, w, c).</summary>
    private static float[] Transposed(float[] rows, int n, int c, int h, int w, int offset, int stride)
    {
        var result = (float[])rows.Clone();
        int size = c * h * w;
        for (int s = 0; s < n; s++)
            ChannelLayout.NchwToNhwc<float>(rows.AsSpan(s * stride + offset, size), result.AsSpan(s * stride + offset, size), 1, c, h, w);
        return result;
    }

    private static float[] Random(int count, int seed)
    {
        var rng = new System.Random(seed);
        return Enumerable.Range(0, count).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
    }

    public static TheoryData<string> Pairs() => new() { "Cnn", "Flatten", "Inputs", "ViewReadThrice" };

    private static (Model First, Model Last, int C, int H, int W, int Offset, float[] Targets) Pair(string name, int batch, int n) => name switch
    {
        "Cnn" => (new ChannelsFirstCnn(batch, 7), new ChannelsLastCnn(batch, 7), 3, 4, 6, 0, Enumerable.Range(0, n).Select(i => (float)(i % 3)).ToArray()),
        "Flatten" => (new ChannelsFirstFlatten(batch, 7), new ChannelsLastFlatten(batch, 7), 2, 3, 4, 0, Random(n * 3, 5)),
        "Inputs" => (new ChannelsFirstInputs(batch, 7), new ChannelsLastInputs(batch, 7), 2, 4, 4, 0, Enumerable.Range(0, n).Select(i => (float)(i % 3)).ToArray()),
        "ViewReadThrice" => (new ChannelsFirstViewReadThrice(batch, 7), new ChannelsLastViewReadThrice(batch, 7), 2, 3, 2, 0, Random(n * 2, 5)),
        _ => throw new ArgumentException(name),
    };

    [Theory]
    [MemberData(nameof(Pairs))]
    public void MatchesTheChannelsLastModelOnTransposedData(string name)
    {
        const int n = 3;
        var (first, last, c, h, w, offset, y) = Pair(name, 4, n);
        Assert.Equal(last.Parameters.Span.ToArray(), first.Parameters.Span.ToArray());
        int row = first.InputSize;
        var x = Random(n * row, 11);
        var xLast = Transposed(x, n, c, h, w, offset, row);

        // Inference, then a training step's loss, weight gradients and input gradient.
        Assert.Equal(last.Forward(xLast, n).ToArray(), first.Forward(x, n).ToArray());
        var outFirst = first.Forward(x, n, training: true).ToArray();
        var outLast = last.Forward(xLast, n, training: true).ToArray();
        Assert.Equal(outLast, outFirst);
        Assert.Equal(last.ComputeLoss(y, n, gradient: true), first.ComputeLoss(y, n, gradient: true));
        var dFirst = new float[n * row];
        var dLast = new float[n * row];
        first.Backward(n, dFirst);
        last.Backward(n, dLast);
        Assert.Equal(last.Gradients.Span.ToArray(), first.Gradients.Span.ToArray());
        Assert.Equal(dLast, Transposed(dFirst, n, c, h, w, offset, row));
        Assert.Contains(dFirst, v => v != 0);

        // A composed caller's output gradient, as a GAN's discriminator passes it back.
        first.Forward(x, n, training: true);
        last.Forward(xLast, n, training: true);
        var seed = Random(n * first.OutputSize, 3);
        seed.CopyTo(first.OutputGradient(n));
        seed.CopyTo(last.OutputGradient(n));
        first.BackwardFromOutputGradient(n, dFirst);
        last.BackwardFromOutputGradient(n, dLast);
        Assert.Equal(dLast, Transposed(dFirst, n, c, h, w, offset, row));
    }

    [Fact]
    public void DescriptionAndSummaryShowTheDeclaredShape()
    {
        var d = ChannelsFirstCnn.Definition;
        Assert.Equal([3, 4, 6], d.InputShape);
        Assert.True(d.Inputs.Single().ChannelsFirst);
        Assert.Contains("Input: (None, 3, 4, 6) channels first, transposed once to (None, 4, 6, 3)", ChannelsFirstCnn.Summary);
        Assert.False(ChannelsLastCnn.Definition.Inputs.Single().ChannelsFirst);

        var inputs = ChannelsFirstInputs.Definition.Inputs;
        Assert.Equal([2, 4, 4], inputs[0].Shape);
        Assert.True(inputs[0].ChannelsFirst);
        Assert.False(inputs[1].ChannelsFirst);
        Assert.Contains("Input 'image': (None, 2, 4, 4) channels first, transposed once to (None, 4, 4, 2)", ChannelsFirstInputs.Summary);
    }

    [Fact]
    public void TrainsOnChannelsFirstDataAndRejectsChannelsLastData()
    {
        const int count = 40;
        var x = Random(count * 72, 21);
        var y = Enumerable.Range(0, count).Select(i => (float)(i % 3)).ToArray();
        var nchw = new Dataset(x, y, [3, 4, 6], 1);
        var first = new ChannelsFirstCnn(8, 1);
        var last = new ChannelsLastCnn(8, 1);
        var hFirst = first.Fit(nchw, 2, new Sgd(0.1f), verbose: 0, shuffle: false);
        var hLast = last.Fit(ChannelLayout.ToChannelsLast(nchw), 2, new Sgd(0.1f), verbose: 0, shuffle: false);
        Assert.Equal(hLast["loss"].ToArray(), hFirst["loss"].ToArray());

        var e = Assert.Throws<ArgumentException>(() => first.Fit(ChannelLayout.ToChannelsLast(nchw), 1, new Sgd(), verbose: 0));
        Assert.Contains("expected shape (None, 3, 4, 6), found (None, 4, 6, 3)", e.Message);
        Assert.Contains("ChannelLayout.ToChannelsFirst", e.Message);
    }

    [Fact]
    public void ATrainingStepAllocatesNothing()
    {
        var model = new ChannelsFirstCnn(4, 1);
        var x = Random(4 * 72, 2);
        float[] y = [0, 1, 2, 0];
        var d = new float[4 * 72];
        var optimizer = new Sgd(0.01f);
        void Step()
        {
            model.TrainOnBatch(x, y, 4, optimizer);
            model.Forward(x, 4, training: true);
            model.ComputeLoss(y, 4, gradient: true);
            model.Backward(4, d);
        }
        WarmUp.Run(Step);
        var (allocated, workers) = WarmUp.Allocations(() =>
        {
            for (int i = 0; i < 10; i++) Step();
        });
        Assert.Equal(0, allocated);
        Assert.Equal(0, workers);
    }
}
