using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;
using System.Text.Json;
using Kiln;
using Kiln.Runtime.Tests.Training;

namespace Kiln.Runtime.Tests.Checkpoints;

public class SafeTensorsTests
{
    private static NoisyModel Trained(int seed)
    {
        var m = new NoisyModel(4, 3, 8, seed);
        m.Fit(FitTests.Blobs(48, (ulong)seed), 1, new Sgd(0.1f), verbose: 0);
        return m;
    }

    [Fact]
    public void SaveWeightsWritesTheSafetensorsLayoutWithKerasNames()
    {
        using var dir = new TempDirectory();
        var model = Trained(3);
        string path = dir.File("w.safetensors");
        model.SaveWeights(path);

        // Read with nothing from Kiln: 8-byte LE length, JSON header, LE float data.
        byte[] file = File.ReadAllBytes(path);
        long n = BinaryPrimitives.ReadInt64LittleEndian(file);
        Assert.Equal(0, (8 + n) % 8); // header padded to 8 bytes
        using var header = JsonDocument.Parse(Encoding.UTF8.GetString(file, 8, (int)n).TrimEnd(' '));
        var root = header.RootElement;
        Assert.Equal("weights", root.GetProperty("__metadata__").GetProperty("kiln.format").GetString());
        Assert.Equal(4, root.EnumerateObject().Count()); // metadata + 3 tensors, trainable and state
        foreach (var info in model.Description.Tensors)
        {
            var entry = root.GetProperty(info.Name);
            Assert.Equal("F32", entry.GetProperty("dtype").GetString());
            Assert.Equal(info.Shape, entry.GetProperty("shape").EnumerateArray().Select(e => e.GetInt32()).ToArray());
            var offsets = entry.GetProperty("data_offsets").EnumerateArray().Select(e => e.GetInt32()).ToArray();
            Assert.Equal(info.Length * 4, offsets[1] - offsets[0]);
            var expected = model.Tensor(info.Name).ToArray();
            for (int i = 0; i < info.Length; i++)
                Assert.Equal(expected[i], BinaryPrimitives.ReadSingleLittleEndian(file.AsSpan(8 + (int)n + offsets[0] + 4 * i)));
        }
        Assert.NotEqual(0f, model.Tensor("normalization/moving_mean")[0]);
        Assert.Empty(Directory.GetFiles(dir.Path, "*.tmp"));
    }

    [Fact]
    public void LoadWeightsRoundTripsIntoAnotherInstance()
    {
        using var dir = new TempDirectory();
        var model = Trained(4);
        model.SaveWeights(dir.File("w.safetensors"));
        var other = new NoisyModel(4, 3, 8, 77);
        other.LoadWeights(dir.File("w.safetensors"));
        Assert.Equal(model.Parameters.Span.ToArray(), other.Parameters.Span.ToArray());
        Assert.Equal(model.State.Span.ToArray(), other.State.Span.ToArray());
    }

    [Fact]
    public void MismatchedNamesAndShapesAreAllReportedAndNothingChanges()
    {
        using var dir = new TempDirectory();
        new LinearModel(4, 5, 8, 1).SaveWeights(dir.File("wide.safetensors"));
        var model = Trained(5);
        var before = model.Parameters.Span.ToArray();
        var e = Assert.Throws<InvalidDataException>(() => model.LoadWeights(dir.File("wide.safetensors")));
        Assert.Contains("wide.safetensors", e.Message);
        Assert.Contains("'dense/kernel' is (4, 5) in the file but (4, 3) in NoisyModel", e.Message);
        Assert.Contains("'dense/bias' is (5) in the file but (3)", e.Message);
        Assert.Contains("'normalization/moving_mean' (4) is missing from the file", e.Message);
        Assert.Equal(before, model.Parameters.Span.ToArray());

        // A file with a tensor the model lacks.
        model.SaveWeights(dir.File("noisy.safetensors"));
        var linear = new LinearModel(4, 3, 8, 1);
        var e2 = Assert.Throws<InvalidDataException>(() => linear.LoadWeights(dir.File("noisy.safetensors")));
        Assert.Contains("the file has 'normalization/moving_mean' (4), which LinearModel does not", e2.Message);
    }

    [Fact]
    public void TruncatedOrCorruptFilesGiveAClearErrorAndChangeNoWeights()
    {
        using var dir = new TempDirectory();
        string good = dir.File("good.safetensors");
        Trained(6).SaveWeights(good);
        byte[] bytes = File.ReadAllBytes(good);
        int headerEnd = 8 + (int)BinaryPrimitives.ReadInt64LittleEndian(bytes);

        var model = Trained(7);
        var parameters = model.Parameters.Span.ToArray();
        var state = model.State.Span.ToArray();
        void Rejected(string name, byte[] content, string because)
        {
            string path = dir.File(name);
            File.WriteAllBytes(path, content);
            var e = Assert.Throws<InvalidDataException>(() => model.LoadWeights(path));
            Assert.Contains(name, e.Message);
            Assert.Contains(because, e.Message);
            Assert.Equal(parameters, model.Parameters.Span.ToArray());
            Assert.Equal(state, model.State.Span.ToArray());
        }

        Rejected("empty.safetensors", [], "fewer than the 8-byte header length");
        Rejected("short-header.safetensors", bytes[..(headerEnd - 10)], "the header claims");
        Rejected("truncated.safetensors", bytes[..(bytes.Length - 5)], "truncated");
        Rejected("half.safetensors", bytes[..(headerEnd + (bytes.Length - headerEnd) / 2)], "truncated");
        var flipped = (byte[])bytes.Clone();
        flipped[headerEnd + 3] ^= 0x10;
        Rejected("flipped-data.safetensors", flipped, "CRC-32C");
        var badJson = (byte[])bytes.Clone();
        badJson[8] = (byte)'[';
        Rejected("bad-json.safetensors", badJson, "not valid JSON");
        var longer = bytes.Concat(new byte[] { 1, 2, 3, 4 }).ToArray();
        Rejected("longer.safetensors", longer, "after the last tensor");
        Assert.Throws<FileNotFoundException>(() => model.LoadWeights(dir.File("missing.safetensors")));
    }

    [Fact]
    public void AnInterruptedWriteLeavesTheOldFileAndNoTemporary()
    {
        using var dir = new TempDirectory();
        string path = dir.File("w.safetensors");
        File.WriteAllText(path, "the previous checkpoint");
        Assert.Throws<IOException>(() => AtomicFile.Write(path, stream =>
        {
            stream.Write(new byte[4096]);
            throw new IOException("disk full (simulated)");
        }));
        Assert.Equal("the previous checkpoint", File.ReadAllText(path));
        Assert.Single(Directory.GetFiles(dir.Path));

        AtomicFile.Write(path, stream => stream.Write("new"u8));
        Assert.Equal("new", File.ReadAllText(path));
        Assert.Single(Directory.GetFiles(dir.Path));
    }

    /// <summary>
    /// The data is read in slices (16 MiB; a file, or one tensor, may pass 2 GB): slices that cut tensors anywhere give the
    /// values and the CRC check of one whole read.
    /// </summary>
    [Fact]
    public void ReadingInSlicesGivesTheValuesAndChecksOfOneWholeRead()
    {
        using var dir = new TempDirectory();
        string path = dir.File("weights.safetensors");
        Trained(6).SaveWeights(path);
        var (whole, metadata) = SafeTensors.Read(path);
        foreach (int slice in new[] { 8, 24, 4096 })
        {
            var (sliced, slicedMetadata) = SafeTensors.Read(path, slice);
            Assert.Equal(whole.Select(t => t.Name), sliced.Select(t => t.Name));
            for (int i = 0; i < whole.Count; i++) Assert.Equal(whole[i].Values, sliced[i].Values);
            Assert.Equal(metadata, slicedMetadata);
        }
        byte[] bytes = File.ReadAllBytes(path);
        bytes[^5] ^= 0x10; // in the last tensor, after many 8-byte slices
        string flipped = dir.File("flipped.safetensors");
        File.WriteAllBytes(flipped, bytes);
        var e = Assert.Throws<InvalidDataException>(() => SafeTensors.Read(flipped, 8));
        Assert.Contains("CRC-32C", e.Message);

        // A tensor longer than one written slice (2^24 floats) is written in slices too.
        var big = new float[(1 << 24) + 13];
        for (int i = 0; i < big.Length; i++) big[i] = i * 0.5f;
        string bigPath = dir.File("big.safetensors");
        SafeTensors.Write(bigPath, [new TensorToWrite("big", [big.Length], big)], new Dictionary<string, string>());
        Assert.Equal(big, Assert.Single(SafeTensors.Read(bigPath).Tensors).Values);
    }

    [Fact]
    public void ReadsF64F16AndBf16WrittenByOtherTools()
    {
        using var dir = new TempDirectory();
        // A hand-made file as another tool would write it: no Kiln metadata, no CRC, mixed dtypes.
        float[] kernel = [.. Enumerable.Range(0, 12).Select(i => i * 0.25f - 1f)];
        float[] bias = [0.5f, -2f, 1.5f];
        float[] mean = [1, 2, 3, 4];
        var data = new List<byte>();
        foreach (float v in kernel) data.AddRange(BitConverter.GetBytes((double)v));
        foreach (float v in bias) data.AddRange(BitConverter.GetBytes((Half)v));
        foreach (float v in mean) data.AddRange(BitConverter.GetBytes((ushort)(BitConverter.SingleToUInt32Bits(v) >> 16)));
        string json = "{\"dense/kernel\":{\"dtype\":\"F64\",\"shape\":[4,3],\"data_offsets\":[0,96]}," +
                      "\"dense/bias\":{\"dtype\":\"F16\",\"shape\":[3],\"data_offsets\":[96,102]}," +
                      "\"normalization/moving_mean\":{\"dtype\":\"BF16\",\"shape\":[4],\"data_offsets\":[102,110]}}";
        var file = new List<byte>(BitConverter.GetBytes((ulong)json.Length));
        file.AddRange(Encoding.UTF8.GetBytes(json));
        file.AddRange(data);
        File.WriteAllBytes(dir.File("torch.safetensors"), [.. file]);

        var model = new NoisyModel(4, 3, 8, 1);
        model.LoadWeights(dir.File("torch.safetensors"));
        Assert.Equal(kernel, model.Tensor("dense/kernel").ToArray());
        Assert.Equal(bias, model.Tensor("dense/bias").ToArray());
        Assert.Equal(mean, model.Tensor("normalization/moving_mean").ToArray());
    }

    [Fact]
    public void Crc32CMatchesTheCheckValueOnEveryPath()
    {
        var check = "123456789"u8;
        Assert.Equal(0xE3069283u, Crc32C.Compute(check));
        Assert.Equal(0xE3069283u, Crc32C.Finish(Crc32C.AppendTable(Crc32C.Start, check)));
        var rng = new Rng(1);
        var data = new byte[1000];
        for (int i = 0; i < data.Length; i++) data[i] = (byte)rng.NextInt(256);
        for (int len = 0; len < 40; len++)
            Assert.Equal(Crc32C.Finish(Crc32C.AppendTable(Crc32C.Start, data.AsSpan(0, len))), Crc32C.Compute(data.AsSpan(0, len)));
        Assert.Equal(Crc32C.Finish(Crc32C.AppendTable(Crc32C.Start, data)), Crc32C.Compute(data));
    }
}
