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

    /// <summary>
    /// An event-file reader written apart from the writer: TFRecord frames checked with a
    /// bit-at-a-time CRC-32C, and a generic protobuf walk (any field order, unknown fields skipped).
    /// </summary>
    private static EventFile Decode(string path)
    {
        byte[] b = File.ReadAllBytes(path);
        int p = 0;
        string version = "";
        var scalars = new List<Scalar>();
        while (p < b.Length)
        {
            Assert.True(b.Length - p >= 12, $"{path}: a record header is cut at byte {p}");
            ulong length = BitConverter.ToUInt64(b, p);
            Assert.Equal(MaskedCrc(b.AsSpan(p, 8)), BitConverter.ToUInt32(b, p + 8));
            p += 12;
            Assert.True((ulong)(b.Length - p) >= length + 4, $"{path}: a record is cut at byte {p}");
            var record = b.AsSpan(p, (int)length);
            Assert.Equal(MaskedCrc(record), BitConverter.ToUInt32(b, p + (int)length));
            p += (int)length + 4;

            double wall = 0;
            long step = 0;
            var values = new List<(string, float)>();
            foreach (var (field, wire, number, bytes) in Fields(record.ToArray()))
            {
                if (field == 1 && wire == 1) wall = BitConverter.Int64BitsToDouble((long)number);
                else if (field == 2 && wire == 0) step = (long)number;
                else if (field == 3 && wire == 2) version = Encoding.UTF8.GetString(bytes!);
                else if (field == 5 && wire == 2)
                    foreach (var (sf, sw, _, value) in Fields(bytes!))
                    {
                        if (sf != 1 || sw != 2) continue;
                        string tag = "";
                        float simple = float.NaN;
                        foreach (var (vf, vw, vn, vb) in Fields(value!))
                        {
                            if (vf == 1 && vw == 2) tag = Encoding.UTF8.GetString(vb!);
                            if (vf == 2 && vw == 5) simple = BitConverter.Int32BitsToSingle((int)vn);
                        }
                        values.Add((tag, simple));
                    }
            }
            Assert.True(wall > 1.6e9, $"wall time {wall} is not a Unix time");
            foreach (var (tag, v) in values) scalars.Add(new Scalar(tag, v, step, wall));
        }
        return new EventFile(version, scalars);
    }

    private static IEnumerable<(int Field, int Wire, ulong Number, byte[]? Bytes)> Fields(byte[] m)
    {
        int p = 0;
        while (p < m.Length)
        {
            ulong key = Varint(m, ref p);
            int field = (int)(key >> 3), wire = (int)(key & 7);
            switch (wire)
            {
                case 0: yield return (field, wire, Varint(m, ref p), null); break;
                case 1: yield return (field, wire, BitConverter.ToUInt64(m, p), null); p += 8; break;
                case 5: yield return (field, wire, BitConverter.ToUInt32(m, p), null); p += 4; break;
                case 2:
                    int len = (int)Varint(m, ref p);
                    yield return (field, wire, 0, m[p..(p + len)]);
                    p += len;
                    break;
                default: throw new InvalidDataException($"wire type {wire}");
            }
        }
    }

    private static ulong Varint(byte[] m, ref int p)
    {
        ulong v = 0;
        for (int shift = 0; ; shift += 7)
        {
            byte x = m[p++];
            v |= (ulong)(x & 0x7F) << shift;
            if (x < 0x80) return v;
        }
    }

    private static uint MaskedCrc(ReadOnlySpan<byte> data)
    {
        uint crc = 0xFFFFFFFF;
        foreach (byte x in data)
        {
            crc ^= x;
            for (int k = 0; k < 8; k++) crc = (crc >> 1) ^ (0x82F63B78u & (0u - (crc & 1)));
        }
        crc = ~crc;
        return ((crc >> 15) | (crc << 17)) + 0xA282EAD8u;
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
}
