using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;
using Kiln;
using Kiln.Runtime.Tests.Training;

namespace Kiln.Runtime.Tests.Callbacks;

public class TensorBoardTests
{
    private sealed record Scalar(string Tag, float Value, long Step, double WallTime);

    private sealed record EventFile(string FileVersion, List<Scalar> Scalars);

    /// <summary>The scalars of an event file, read with the independent reader (EventFiles: CRCs checked, fields decoded one by one).</summary>
    private static EventFile Decode(string path)
    {
        var events = EventFiles.Read(path);
        string version = Assert.Single(events, e => e.FileVersion is not null).FileVersion!;
        var scalars = events.SelectMany(e => e.Values.Where(v => v.Simple is not null).Select(v => new Scalar(v.Tag, v.Simple!.Value, e.Step, e.WallTime))).ToList();
        return new EventFile(version, scalars);
    }

    [Fact]
    public void EpochScalarsGoToTrainAndValidationAsKerasWritesThem()
    {
        using var dir = new TempDirectory();
        var model = new LinearModel(4, 3, 16, 1);
        var board = new TensorBoard(dir.File("logs"));
        var h = model.Fit(FitTests.Blobs(96, 2), 3, new Sgd(0.1f), validation: FitTests.Blobs(32, 3), verbose: 0, callbacks: [board]);

        string train = Assert.Single(Directory.GetFiles(dir.File("logs/train")));
        string valid = Assert.Single(Directory.GetFiles(dir.File("logs/validation")));
        Assert.Matches(@"events\.out\.tfevents\.\d+\..+\.\d+\.\d+\.v2$", Path.GetFileName(train));

        var t = Decode(train);
        Assert.Equal("brain.Event:2", t.FileVersion);
        Assert.Equal(["epoch_accuracy", "epoch_learning_rate", "epoch_loss"], t.Scalars.Select(s => s.Tag).Distinct().Order());
        foreach (var (tag, name) in new[] { ("epoch_loss", "loss"), ("epoch_accuracy", "accuracy") })
        {
            var s = t.Scalars.Where(x => x.Tag == tag).ToList();
            Assert.Equal([0L, 1, 2], s.Select(x => x.Step));
            Assert.Equal(h[name].Select(v => (float)v), s.Select(x => x.Value));
        }
        Assert.All(t.Scalars.Where(x => x.Tag == "epoch_learning_rate"), s => Assert.Equal(0.1f, s.Value));

        var v = Decode(valid);
        Assert.Equal("brain.Event:2", v.FileVersion);
        Assert.Equal(h["val_loss"].Select(x => (float)x), v.Scalars.Where(x => x.Tag == "epoch_loss").Select(x => x.Value));
        Assert.Equal(h["val_accuracy"].Select(x => (float)x), v.Scalars.Where(x => x.Tag == "epoch_accuracy").Select(x => x.Value));
        Assert.Equal([0L, 1, 2], v.Scalars.Where(x => x.Tag == "epoch_loss").Select(x => x.Step));
    }

    [Fact]
    public void BatchScalarsCarryTheRunningMeansAtTheGlobalStep()
    {
        using var dir = new TempDirectory();
        var model = new LinearModel(4, 3, 10, 1);
        var batchLosses = new List<float>();
        var recorder = new LambdaCallback { OnBatchEnd = (_, logs, _) => batchLosses.Add((float)logs["loss"]) };
        model.Fit(FitTests.Blobs(50, 4), 2, new Sgd(0.1f), verbose: 0, callbacks: [recorder, new TensorBoard(dir.File("run"), updateFrequency: 2)]);

        var events = Decode(Assert.Single(Directory.GetFiles(dir.File("run/train"))));
        var batch = events.Scalars.Where(s => s.Tag == "batch_loss").ToList();
        // 5 batches an epoch, 10 in all, every second one written: steps 2, 4, ..., 10.
        Assert.Equal([2L, 4, 6, 8, 10], batch.Select(s => s.Step));
        Assert.Equal(new[] { 1, 3, 5, 7, 9 }.Select(i => batchLosses[i]), batch.Select(s => s.Value));
        Assert.Equal(5, events.Scalars.Count(s => s.Tag == "batch_accuracy"));
        Assert.False(Directory.Exists(dir.File("run/validation")));
    }

    [Fact]
    public void AReaderSeesCompleteRecordsAfterEachEpoch()
    {
        using var dir = new TempDirectory();
        var model = new LinearModel(4, 3, 16, 1);
        var board = new TensorBoard(dir.File("live"));
        int seen = -1;
        var peek = new LambdaCallback { OnEpochEnd = (e, _, _) => seen = Decode(board.TrainFile!).Scalars.Count(s => s.Tag == "epoch_loss") };
        model.Fit(FitTests.Blobs(32, 5), 2, new Sgd(), verbose: 0, callbacks: [board, peek]);
        Assert.Equal(2, seen); // flushed before the next callback ran, while the file was still open
    }

    [Fact]
    public void TheHistogramHasTensorFlowsDefaultBuckets()
    {
        double[] limits = Histogram.DefaultLimits;
        Assert.Equal(1551, limits.Length); // 774 limits from 1e-12 up by 10% below 1e20, DBL_MAX, mirrored, and 0
        Assert.Equal([-double.MaxValue, 0.0, 1e-12, double.MaxValue], [limits[0], limits[775], limits[776], limits[^1]]);
        for (int i = 1; i < limits.Length; i++) Assert.True(limits[i] > limits[i - 1]);
        for (int i = 777; i < limits.Length - 1; i++) Assert.Equal(limits[i - 1] * 1.1, limits[i]);
        for (int i = 0; i < 775; i++) Assert.Equal(-limits[^(i + 1)], limits[i]);
    }

    [Fact]
    public void AHistogramCountsEachValueInTheFirstLimitAboveIt()
    {
        // Zeros, values on a limit (counted above it), tiny and huge magnitudes, a repeated value.
        float[] values = [0f, 0f, -0.5f, 0.5f, 1e-13f, -1e-13f, 3f, -3f, 1e25f, -1e25f, 0.25f, 0.25f, (float)1e-12, float.MaxValue];
        var h = new Histogram();
        h.Add(values, "test/values");
        var w = new ProtobufWriter(16);
        h.Encode(w);
        var got = DecodeHistogram(w.Written.ToArray());
        var expected = EventFiles.Reference(values);
        Assert.Equal(expected.Limits, got.Limits);
        Assert.Equal(expected.Buckets, got.Buckets);
        Assert.Equal((-1e25f, float.MaxValue, values.Length), (got.Min, got.Max, got.Num));
        Assert.Equal((expected.Sum, expected.SumSquares), (got.Sum, got.SumSquares));
        Assert.Equal(776, Histogram.BucketOf(0)); // 0 is counted under the limit 1e-12, as TensorFlow's upper_bound does
        Assert.Equal(values.Count(v => v >= 0 && v < 1e-12), h[776]); // the zeros, 1e-13 and 1e-12 rounded down to a float

        h.Clear();
        h.Add([1.5f], "one");
        var single = DecodeHistogramOf(h);
        Assert.Equal((1.5, 1.5, 1.0, 1.5, 2.25), (single.Min, single.Max, single.Num, single.Sum, single.SumSquares));
        Assert.Equal(1, single.Buckets.Count(b => b > 0));
        Assert.Equal(3, single.Buckets.Length); // an empty run, the value's bucket, an empty run to DBL_MAX
        Assert.Equal(double.MaxValue, single.Limits[^1]);
    }

    [Fact]
    public void AHistogramRefusesNaNNamingTheTensor()
    {
        var e = Assert.Throws<InvalidOperationException>(() => new Histogram().Add([1f, float.NaN], "dense_1/kernel"));
        Assert.Contains("dense_1/kernel", e.Message);
        Assert.Contains("NaN", e.Message);
    }

    [Fact]
    public void NestedMessagesGetTheirLengthsWhateverTheirSize()
    {
        var w = new ProtobufWriter(8);
        int outer = w.BeginMessage(3);
        int inner = w.BeginMessage(1);
        w.Bytes(2, new byte[200]);         // a 2-byte length inside
        w.EndMessage(inner);
        w.String(4, new string('x', 20000)); // a 3-byte length, and the buffer grows
        w.Int64(5, -1);                      // ten bytes, as protobuf encodes a negative int64
        w.EndMessage(outer);
        w.Double(6, 0.5);

        var top = EventFiles.Fields(w.Written.ToArray()).ToList();
        Assert.Equal([3, 6], top.Select(f => f.Field));
        Assert.Equal(0.5, BitConverter.Int64BitsToDouble((long)top[1].Number));
        var fields = EventFiles.Fields(top[0].Bytes!).ToList();
        Assert.Equal([1, 4, 5], fields.Select(f => f.Field));
        Assert.Equal(200, Assert.Single(EventFiles.Fields(fields[0].Bytes!)).Bytes!.Length);
        Assert.Equal(new string('x', 20000), Encoding.UTF8.GetString(fields[1].Bytes!));
        Assert.Equal(ulong.MaxValue, fields[2].Number);
    }

    [Fact]
    public void HistogramsOfEveryTensorEveryNEpochsMatchTheWeights()
    {
        using var dir = new TempDirectory();
        var model = new LinearModel(4, 3, 16, 1);
        var seen = new Dictionary<(string, int), float[]>();
        var copy = new LambdaCallback
        {
            OnEpochEnd = (e, _, _) =>
            {
                foreach (var t in model.Description.Tensors) seen[(t.Name, e)] = model.Tensor(t.Name).ToArray();
            },
        };
        var board = new TensorBoard(dir.File("logs"), histogramFrequency: 2, writeImages: true);
        model.Fit(FitTests.Blobs(64, 2), 5, new Sgd(0.1f), verbose: 0, callbacks: [copy, board]);

        var events = EventFiles.Read(Assert.Single(Directory.GetFiles(dir.File("logs/train"))));
        Assert.DoesNotContain(events, e => e.GraphDef is not null); // a hand-written model lists no layers: no graph to draw
        var histograms = EventFiles.Values(events).Where(v => v.Value.Histogram is not null).ToList();
        Assert.Equal(["dense/bias/histogram", "dense/kernel/histogram"], histograms.Select(h => h.Value.Tag).Distinct().Order());
        Assert.Equal([0L, 0, 2, 2, 4, 4], histograms.Select(h => h.Step));
        foreach (var (step, value) in histograms)
        {
            float[] weights = seen[(value.Tag[..^"/histogram".Length], (int)step)];
            var h = value.Histogram!;
            var expected = EventFiles.Reference(weights);
            Assert.Equal(weights.Length, h.Num);
            Assert.Equal(h.Num, h.Buckets.Sum());
            Assert.Equal((double)weights.Min(), h.Min);
            Assert.Equal((double)weights.Max(), h.Max);
            Assert.Equal((expected.Sum, expected.SumSquares), (h.Sum, h.SumSquares));
            Assert.Equal(expected.Limits, h.Limits);
            Assert.Equal(expected.Buckets, h.Buckets);
        }
        Assert.DoesNotContain(EventFiles.Values(events), v => v.Value.Image is not null); // nothing image-like in a 4 → 3 Dense
    }

    [Fact]
    public void NegativeFrequenciesAreRefused()
    {
        Assert.Equal("histogramFrequency", Assert.Throws<ArgumentOutOfRangeException>(() => new TensorBoard("x", histogramFrequency: -1)).ParamName);
        var keras = new TensorBoard("x");
        Assert.Equal((0, true, false), (keras.HistogramFrequency, keras.WriteGraph, keras.WriteImages)); // Keras' defaults
    }

    private static EventFiles.Histo DecodeHistogramOf(Histogram h)
    {
        var w = new ProtobufWriter();
        h.Encode(w);
        return DecodeHistogram(w.Written.ToArray());
    }

    private static EventFiles.Histo DecodeHistogram(byte[] histogramProto) => EventFiles.DecodeHisto(histogramProto);

    private static ModelDescription Described(InputInfo[] inputs, LayerInfo[] layers, TensorInfo[] tensors, int[] output) => new(
        name: "Hand", inputShape: [inputs.Sum(i => i.Size)], outputShape: output, loss: null, fromLogits: false,
        parameterCount: tensors.Sum(t => t.Length), stateCount: 0, arenaFloatsPerSample: 0, arenaFixedFloats: 0,
        tensors: tensors, summary: "", inputs: inputs, layers: layers);

    [Fact]
    public void TheGraphOfTwoInputsHasTheirNodesAndOneScopePerSharedKernel()
    {
        var d = Described([new InputInfo("a", [3]), new InputInfo("b", [2])],
        [
            new LayerInfo("a", "InputLayer", [3], 0, [], ""),
            new LayerInfo("b", "InputLayer", [2], 0, [], ""),
            new LayerInfo("concatenate", "Concatenate", [5], 0, ["a", "b"], "k0"),
            new LayerInfo("dense", "Dense", [4], 24, ["concatenate"], "k1"),
            new LayerInfo("re_lu", "ReLU", [4], 0, ["dense"], "k1"),
        ], [], [4]);
        var nodes = EventFiles.Nodes(GraphDefWriter.Encode(d));
        Assert.Equal(["a", "b", "concatenate", "k1_Dense_ReLU/dense", "k1_Dense_ReLU/re_lu"], nodes.Select(n => n.Name));
        Assert.Equal(["a", "b"], nodes[2].Inputs);
        Assert.Equal(["k1_Dense_ReLU/dense"], nodes[4].Inputs);
        Assert.Equal([-1L, 5], nodes[2].OutputShape());
        Assert.Equal(24, nodes[3].Int("parameters"));
        Assert.Equal("k1", nodes[3].String("kernel"));
        Assert.False(nodes[0].Attributes.ContainsKey("kernel")); // an input runs in no kernel

        var broken = Described([new InputInfo("a", [3])], [new LayerInfo("a", "InputLayer", [3], 0, []), new LayerInfo("dense", "Dense", [2], 8, ["nowhere"])], [], [2]);
        var e = Assert.Throws<InvalidOperationException>(() => GraphDefWriter.Encode(broken));
        Assert.Contains("'dense' reads 'nowhere'", e.Message);
    }

    [Fact]
    public void ImagesAreDrawnForFirstLayersThatReadAnImage()
    {
        // A channels-first RGB input through Rescaling into a Conv2D: its filters are RGB tiles.
        var rgb = Described([new InputInfo("input", [3, 8, 8], ChannelsFirst: true)],
        [
            new LayerInfo("rescaling", "Rescaling", [8, 8, 3], 0, ["input"]),
            new LayerInfo("conv2d", "Conv2D", [6, 6, 4], 112, ["rescaling"]),
            new LayerInfo("conv2d_1", "Conv2D", [4, 4, 3], 111, ["conv2d"]),
        ], [new TensorInfo("conv2d/kernel", [3, 3, 3, 4], 0, true), new TensorInfo("conv2d/bias", [4], 108, true), new TensorInfo("conv2d_1/kernel", [3, 3, 4, 3], 112, true)], [48]);
        Assert.Equal([new WeightImages.Source("conv2d/kernel", 3, 3, 3, 4)], WeightImages.Find(rgb));

        // A grey (h, w) input flattened into a Dense: one tile per unit; a Dense after it is not drawn.
        var mlp = Described([new InputInfo("input", [4, 5])],
        [
            new LayerInfo("flatten", "Flatten", [20], 0, ["input"], "view"),
            new LayerInfo("dense", "Dense", [6], 126, ["flatten"], "k0"),
            new LayerInfo("dense_1", "Dense", [2], 14, ["dense"], "k1"),
        ], [new TensorInfo("dense/kernel", [20, 6], 0, true), new TensorInfo("dense_1/kernel", [6, 2], 128, true)], [2]);
        var source = Assert.Single(WeightImages.Find(mlp));
        Assert.Equal(new WeightImages.Source("dense/kernel", 4, 5, 1, 6), source);

        // Tile k's pixel (y, x) is kernel row y·5 + x, column k; one scale, symmetric around 0.
        var kernel = new float[120];
        for (int i = 0; i < 120; i++) kernel[i] = (i % 7 - 3) / 3f;
        var (png, height, width) = WeightImages.Draw(source, kernel);
        var image = StbImageSharp.ImageResult.FromMemory(png, StbImageSharp.ColorComponents.RedGreenBlue);
        int scale = 24 / 5, tileW = 5 * scale, tileH = 4 * scale; // 3 × 2 tiles of 20 × 16 pixels
        Assert.Equal((2 * tileH + WeightImages.Gap, 3 * tileW + 2 * WeightImages.Gap), (height, width));
        Assert.Equal((width, height), (image.Width, image.Height));
        for (int k = 0; k < 6; k++)
            for (int y = 0; y < 4; y++)
                for (int x = 0; x < 5; x++)
                {
                    int expected = (int)Math.Round((kernel[(y * 5 + x) * 6 + k] + 1) * 127.5);
                    int row = k / 3 * (tileH + WeightImages.Gap) + y * scale, column = k % 3 * (tileW + WeightImages.Gap) + x * scale;
                    Assert.InRange(image.Data[(row * width + column) * 3], expected - 1, expected + 1);
                }

        // Two input channels make no picture; nor does a model that lists no layers.
        var two = rgb.Layers.ToArray();
        var twoChannels = Described([new InputInfo("input", [8, 8, 2])], [two[1] with { Inbound = ["input"] }], [new TensorInfo("conv2d/kernel", [3, 3, 2, 4], 0, true)], [144]);
        Assert.Empty(WeightImages.Find(twoChannels));
        Assert.Empty(WeightImages.Find(new LinearModel(4, 3, 1, 1).Description));
    }
}
