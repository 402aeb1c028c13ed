using System;
using System.IO;
using System.IO.Compression;
using Kiln;

namespace Kiln.Runtime.Tests.Data;

public sealed class IdxTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("kiln-idx-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>An IDX file: 00 00 08 D, D big-endian sizes, data; optionally gzipped, optionally with the data cut or extended.</summary>
    internal static byte[] IdxBytes(int[] shape, byte[] data, byte type = 0x08)
    {
        using var ms = new MemoryStream();
        ms.Write([0, 0, type, (byte)shape.Length]);
        foreach (int d in shape) ms.Write([(byte)(d >> 24), (byte)(d >> 16), (byte)(d >> 8), (byte)d]);
        ms.Write(data);
        return ms.ToArray();
    }

    internal static byte[] Gzip(byte[] raw)
    {
        using var ms = new MemoryStream();
        using (var gz = new GZipStream(ms, CompressionLevel.Fastest)) gz.Write(raw);
        return ms.ToArray();
    }

    private string Write(string name, byte[] bytes)
    {
        string path = Path.Combine(_dir, name);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    private static byte[] Seq(int n)
    {
        var b = new byte[n];
        for (int i = 0; i < n; i++) b[i] = (byte)(i * 37 + 200);
        return b;
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void ReadsRawAndGzip(bool gzip)
    {
        var data = Seq(3 * 4 * 5);
        var bytes = IdxBytes([3, 4, 5], data);
        string path = Write(gzip ? "x.gz" : "x", gzip ? Gzip(bytes) : bytes);
        var (shape, read) = Idx.Read(path, 3);
        Assert.Equal([3, 4, 5], shape);
        Assert.Equal(data, read);
        var (_, floats) = Idx.ReadFloats(path, 3);
        Assert.Equal(data[7], floats[7]);
        Assert.Contains(floats, f => f > 200); // unsigned: 0..255, not −128..127
    }

    [Fact]
    public void GzipIsDetectedByMagicNotByName()
    {
        var bytes = IdxBytes([2], [9, 8]);
        string path = Write("labels-without-extension", Gzip(bytes));
        Assert.Equal(new byte[] { 9, 8 }, Idx.Read(path, 1).Data);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void BadMagicNamesTheFile(bool gzip)
    {
        var bytes = IdxBytes([2], [1, 2]);
        bytes[0] = 0x50; // 'P', e.g. a PNG or text file
        string path = Write("bad-magic", gzip ? Gzip(bytes) : bytes);
        var e = Assert.Throws<InvalidDataException>(() => Idx.Read(path, 1));
        Assert.Contains(path, e.Message);
        Assert.Contains("bad magic", e.Message);
    }

    [Fact]
    public void NonByteDataTypeIsRejected()
    {
        string path = Write("int32", IdxBytes([1], [0, 0, 0, 1], type: 0x0C));
        var e = Assert.Throws<InvalidDataException>(() => Idx.Read(path, 1));
        Assert.Contains(path, e.Message);
        Assert.Contains("unsigned bytes", e.Message);
    }

    [Fact]
    public void WrongDimensionCountNamesTheFile()
    {
        string path = Write("images", IdxBytes([2, 2], [1, 2, 3, 4]));
        var e = Assert.Throws<InvalidDataException>(() => Idx.Read(path, 3));
        Assert.Contains(path, e.Message);
        Assert.Contains("2 dimension(s), expected 3", e.Message);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void TruncatedDataNamesTheFile(bool gzip)
    {
        var bytes = IdxBytes([10, 10], Seq(100))[..60];
        string path = Write("cut", gzip ? Gzip(bytes) : bytes);
        var e = Assert.Throws<InvalidDataException>(() => Idx.Read(path, 2));
        Assert.Contains(path, e.Message);
        Assert.Contains("truncated", e.Message);
        Assert.Contains("10, 10", e.Message);
    }

    [Fact]
    public void TruncatedHeaderNamesTheFile()
    {
        string path = Write("short", IdxBytes([10, 10], [])[..6]);
        var e = Assert.Throws<InvalidDataException>(() => Idx.Read(path, 2));
        Assert.Contains(path, e.Message);
        Assert.Contains("truncated", e.Message);
    }

    [Fact]
    public void CutGzipStreamNamesTheFile()
    {
        var gz = Gzip(IdxBytes([50, 50], Seq(2500)));
        string path = Write("cut.gz", gz[..(gz.Length / 2)]);
        var e = Assert.Throws<InvalidDataException>(() => Idx.Read(path, 2));
        Assert.Contains(path, e.Message);
    }

    [Fact]
    public void ExtraDataIsASizeMismatch()
    {
        var bytes = IdxBytes([4], [1, 2, 3, 4, 5, 6]);
        string path = Write("long", bytes);
        var e = Assert.Throws<InvalidDataException>(() => Idx.Read(path, 1));
        Assert.Contains(path, e.Message);
        Assert.Contains("size mismatch", e.Message);
    }
}
