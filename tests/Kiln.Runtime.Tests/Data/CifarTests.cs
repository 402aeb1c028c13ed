using System;
using System.IO;
using Kiln;

namespace Kiln.Runtime.Tests.Data;

public class CifarTests
{
    /// <summary>A record in the real binary layout: label byte(s), then 1,024 red, 1,024 green, 1,024 blue bytes, row by row.</summary>
    private static byte[] Record(byte[] labels, int seed)
    {
        var r = new byte[labels.Length + 3072];
        labels.CopyTo(r, 0);
        for (int i = 0; i < 3072; i++) r[labels.Length + i] = (byte)(i * 7 + seed);
        return r;
    }

    private static void WriteFile(string path, params byte[][] records)
    {
        using var f = File.Create(path);
        foreach (var r in records) f.Write(r);
    }

    [Fact]
    public void BatchIsReadChannelsLastLikeKeras()
    {
        using var t = new TempFolder();
        WriteFile(t["b.bin"], Record([3], 0), Record([9], 1));
        var data = Cifar10.ReadBatch(t["b.bin"]);
        Assert.Equal([32, 32, 3], data.SampleShape);
        Assert.Equal([3f, 9f], data.Targets);
        // pixel (row 2, col 5), green: stored at 1024 + 2·32 + 5 in the record's pixels
        int plane = 2 * 32 + 5;
        Assert.Equal((byte)((1024 + plane) * 7 + 1), data.Sample(1)[plane * 3 + 1]);
        Assert.Equal((byte)(plane * 7), data.Sample(0)[plane * 3]);

        var chw = Cifar10.ReadBatch(t["b.bin"], ChannelOrder.ChannelsFirst);
        Assert.Equal([3, 32, 32], chw.SampleShape);
        Assert.Equal(data.Features, ChannelLayout.ToChannelsLast(chw).Features);
    }

    [Fact]
    public void LoadReadsFiveTrainingBatchesAndTheTestBatch()
    {
        using var t = new TempFolder();
        string dir = Path.Combine(t.Path, "cifar-10-batches-bin");
        Directory.CreateDirectory(dir);
        for (int i = 1; i <= 5; i++) WriteFile(Path.Combine(dir, $"data_batch_{i}.bin"), Record([(byte)i], i), Record([0], i));
        WriteFile(Path.Combine(dir, "test_batch.bin"), Record([7], 0));
        var (train, test) = Cifar10.Load(t.Path); // finds the nested folder
        Assert.Equal(10, train.Count);
        Assert.Equal(1, test.Count);
        Assert.Equal([1f, 0f, 2f, 0f, 3f, 0f, 4f, 0f, 5f, 0f], train.Targets);
        Assert.Equal("frog", Cifar10.ClassNames[(int)test.Targets[0] - 1]);
        File.Delete(Path.Combine(dir, "data_batch_4.bin"));
        var e = Assert.Throws<FileNotFoundException>(() => Cifar10.Load(dir));
        Assert.Contains("data_batch_4.bin", e.Message);
        Assert.Contains("--data", e.Message);
    }

    [Fact]
    public void DefectsNameTheFile()
    {
        using var t = new TempFolder();
        WriteFile(t["short.bin"], Record([1], 0)[..3000]);
        var e = Assert.Throws<InvalidDataException>(() => Cifar10.ReadBatch(t["short.bin"]));
        Assert.StartsWith(t["short.bin"], e.Message);
        Assert.Contains("3,073-byte records", e.Message);
        WriteFile(t["label.bin"], Record([1], 0), Record([10], 0));
        var e2 = Assert.Throws<InvalidDataException>(() => Cifar10.ReadBatch(t["label.bin"]));
        Assert.Contains("record 1 has label 10", e2.Message);
        Assert.StartsWith(t["label.bin"], e2.Message);
    }

    [Fact]
    public void Cifar100HasCoarseAndFineLabels()
    {
        using var t = new TempFolder();
        WriteFile(t["train.bin"], Record([4, 72], 0), Record([19, 99], 0));
        WriteFile(t["test.bin"], Record([0, 0], 0));
        var (train, test) = Cifar100.Load(t.Path);
        Assert.Equal([72f, 99f], train.Targets);
        Assert.Equal(3072, train.SampleSize);
        Assert.Equal([0f], test.Targets);
        Assert.Equal([4f, 19f], Cifar100.ReadFile(t["train.bin"], Cifar100Labels.Coarse).Targets);
        Assert.Equal("seal", Cifar100.FineClassNames[72]);
        Assert.Equal("fish", Cifar100.CoarseClassNames[1]);
        Assert.Equal(100, Cifar100.FineClassNames.Count);
        Assert.Equal(20, Cifar100.CoarseClassNames.Count);
        WriteFile(t["bad.bin"], Record([20, 5], 0));
        Assert.Contains("label 20", Assert.Throws<InvalidDataException>(() => Cifar100.ReadFile(t["bad.bin"], Cifar100Labels.Coarse)).Message);
    }

    [Fact]
    public void SeedTwoTransposeExample()
    {
        // tf.transpose(tf.reshape([1..12], [3, 2, 2]), [1, 2, 0]) = [[[1,5,9],[2,6,10]],[[3,7,11],[4,8,12]]]
        float[] chw = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12];
        var hwc = new float[12];
        ChannelLayout.NchwToNhwc<float>(chw, hwc, 1, 3, 2, 2);
        Assert.Equal([1f, 5, 9, 2, 6, 10, 3, 7, 11, 4, 8, 12], hwc);
        var back = new float[12];
        ChannelLayout.NhwcToNchw<float>(hwc, back, 1, 2, 2, 3);
        Assert.Equal(chw, back);
        var bytes = new byte[24];
        Assert.Throws<ArgumentException>(() => ChannelLayout.NchwToNhwc<byte>(bytes.AsSpan(0, 12), bytes.AsSpan(6, 12), 1, 3, 2, 2));
        Assert.Throws<ArgumentException>(() => ChannelLayout.ToChannelsFirst(new Dataset(new float[4], new float[1], [4], 1)));
    }
}
