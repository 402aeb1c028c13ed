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
}
