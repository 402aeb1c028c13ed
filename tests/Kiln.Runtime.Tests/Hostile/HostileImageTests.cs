using System;
using System.Diagnostics;
using System.IO;
using System.IO.Compression;
using Kiln.Runtime.Tests.Data;
using StbImageSharp;

namespace Kiln.Runtime.Tests.Hostile;

/// <summary>Issue 16's image findings, each reproduced from its file: hangs, bombs, folders that loop, unsupported formats.</summary>
public class HostileImageTests
{
    private static InvalidDataException LoadFails(string path, long maxPixels = ImageLoader.DefaultMaxImagePixels)
    {
        var error = HostileFiles.Bounded(() => ImageLoader.Load(path, 4, 4, maxPixels: maxPixels));
        var e = Assert.IsType<InvalidDataException>(error);
        Assert.Contains(path, e.Message);
        return e;
    }

    [Fact]
    public void TheElevenByteJpegThatLoopsStbIsRefusedFast()
    {
        using var t = new TempFolder();
        File.WriteAllBytes(t["loop.jpg"], HostileFiles.LoopingJpeg);
        var e = LoadFails(t["loop.jpg"]);
        Assert.Contains("claims 16 bytes but 7 remain", e.Message);
    }

    [Fact]
    public void TheClampedStreamAloneEndsStbsLoop()
    {
        // The root cause, without the container check: stb seeks past the end and never sees it.
        var error = HostileFiles.Bounded(() =>
            ImageResult.FromStream(new ClampedMemoryStream(HostileFiles.LoopingJpeg, HostileFiles.LoopingJpeg.Length), ColorComponents.RedGreenBlue));
        Assert.NotNull(error);
        Assert.Contains("SOF", error!.Message);
    }

    [Fact]
    public void AFolderWithTheLoopingJpegSkipsItUnderTheSkipPolicy()
    {
        using var t = new TempFolder();
        TestImages.WriteFlat(t["a/ok.png"], 1, 2, 3);
        File.WriteAllBytes(t["a/loop.jpg"], HostileFiles.LoopingJpeg);
        var warnings = new StringWriter();
        var folder = new ImageFolder(t.Path, new() { TargetSize = (4, 4), OnCorruptImage = CorruptImagePolicy.Skip, Warnings = warnings, Threads = 1 });
        Dataset data = null!;
        Assert.Null(HostileFiles.Bounded(() => data = folder.ToDataset()));
        Assert.Equal(1, data.Count);
        Assert.Equal([t["a/loop.jpg"]], folder.CorruptFiles);
    }

    [Fact]
    public void ABmpClaimingSixteenMillionRowsIsRefusedBeforeDecoding()
    {
        using var t = new TempFolder();
        File.WriteAllBytes(t["tall.bmp"], HostileFiles.Bmp(1, 16_777_216, 550));
        var e = LoadFails(t["tall.bmp"]);
        Assert.Contains("truncated", e.Message);
    }

    [Fact]
    public void APngOverThePixelLimitIsRefusedFromItsHeader()
    {
        using var t = new TempFolder();
        // 16384² (268 M pixels) and 30000² (900 M): refused before a byte is inflated.
        File.WriteAllBytes(t["big.png"], HostileFiles.Png(16384, 16384, new byte[300_000]));
        File.WriteAllBytes(t["huge.png"], HostileFiles.Png(30000, 30000, new byte[900_000]));
        var sw = Stopwatch.StartNew();
        Assert.Contains("MaxImagePixels", LoadFails(t["big.png"]).Message);
        Assert.Contains("900,000,000", LoadFails(t["huge.png"]).Message);
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(5));
    }

    [Fact]
    public void ThePixelLimitIsConfigurable()
    {
        using var t = new TempFolder();
        TestImages.WriteFlat(t["a/six.png"], 1, 2, 3, width: 6, height: 5);
        Assert.Contains("limit of 29", LoadFails(t["a/six.png"], maxPixels: 29).Message);
        Assert.Equal(4 * 4 * 3, ImageLoader.Load(t["a/six.png"], 4, 4, maxPixels: 30).Length);
        var folder = new ImageFolder(t.Path, new() { TargetSize = (4, 4), MaxImagePixels = 29 });
        var e = Assert.Throws<InvalidDataException>(() => folder.ToDataset());
        Assert.Contains("six.png", e.Message);
    }

    [Fact]
    public void APngWhoseSizeItsCompressedDataCannotHoldIsRefused()
    {
        using var t = new TempFolder();
        // 5000² grey bytes need 25 MB; 100 bytes of deflate inflate to at most ~103 KB.
        File.WriteAllBytes(t["liar.png"], HostileFiles.Png(5000, 5000, new byte[100]));
        Assert.Contains("compressed data", LoadFails(t["liar.png"]).Message);
    }

    [Fact]
    public void AHonestSmallPngStillDecodes()
    {
        using var t = new TempFolder();
        var raw = new byte[3 * (1 + 4)]; // 4×3 grey, filter 0, value 7
        for (int y = 0; y < 3; y++) raw.AsSpan(y * 5 + 1, 4).Fill(7);
        using var z = new MemoryStream();
        using (var zs = new ZLibStream(z, CompressionLevel.Optimal, leaveOpen: true)) zs.Write(raw);
        File.WriteAllBytes(t["ok.png"], HostileFiles.Png(4, 3, z.ToArray()));
        var pixels = ImageLoader.Load(t["ok.png"], 3, 4, ColorMode.Grayscale);
        Assert.All(pixels, v => Assert.Equal(7f, v));
    }

    [Fact]
    public void BinaryPpmAndPgmDecode()
    {
        using var t = new TempFolder();
        // P6 2×1: red, blue. P5 2×1, maxval 65535: 0 and full white.
        File.WriteAllBytes(t["rb.ppm"], [.. "P6\n# two pixels\n2 1\n255\n"u8, 255, 0, 0, 0, 0, 255]);
        File.WriteAllBytes(t["bw.pgm"], [.. "P5 2 1 65535\n"u8, 0, 0, 255, 255]);
        Assert.Equal([255f, 0, 0, 0, 0, 255], ImageLoader.Load(t["rb.ppm"], 1, 2));
        Assert.Equal([0f, 255], ImageLoader.Load(t["bw.pgm"], 1, 2, ColorMode.Grayscale));
        File.WriteAllBytes(t["short.ppm"], [.. "P6 2 2 255\n"u8, 1, 2, 3]);
        Assert.Contains("truncated", LoadFails(t["short.ppm"]).Message);
    }

    [Fact]
    public void AFileOfNoKnownFormatIsNamedWithItsFirstBytes()
    {
        using var t = new TempFolder();
        File.WriteAllBytes(t["gif.png"], "GIF89a...."u8.ToArray());
        Assert.Contains("474946383961", LoadFails(t["gif.png"]).Message);
    }

    [Fact]
    public void AFolderLinkedToItselfIsWalkedOnce()
    {
        using var t = new TempFolder();
        TestImages.WriteFlat(t["a/x.png"], 1, 2, 3);
        TestImages.WriteFlat(t["a/y.png"], 1, 2, 3);
        Directory.CreateSymbolicLink(t["a/self"], ".");
        Directory.CreateSymbolicLink(t["a/again"], t["a"]);
        Directory.CreateDirectory(t["a/sub"]);
        Directory.CreateSymbolicLink(t["a/sub/up"], "..");
        ImageFolder folder = null!;
        Assert.Null(HostileFiles.Bounded(() => folder = new ImageFolder(t.Path, new() { TargetSize = (4, 4) })));
        Assert.Equal(2, folder.Count);
    }

    [Fact]
    public void AFifoNamedLikeAnImageIsRefusedWithoutOpeningIt()
    {
        if (OperatingSystem.IsWindows()) return;
        using var t = new TempFolder();
        Directory.CreateDirectory(t["a"]);
        Process.Start("mkfifo", t["a/x.png"])!.WaitForExit();
        Assert.Contains("not a regular file", LoadFails(t["a/x.png"]).Message);
        var folder = new ImageFolder(t.Path, new() { TargetSize = (4, 4), OnCorruptImage = CorruptImagePolicy.Skip, Warnings = TextWriter.Null });
        Assert.Null(HostileFiles.Bounded(() => Assert.Equal(0, folder.ToDataset().Count)));
    }

    [Fact]
    public void TargetSizesTooLargeForAnArrayAreArgumentErrorsNotOverflows()
    {
        using var t = new TempFolder();
        TestImages.WriteFlat(t["a/x.png"], 1, 2, 3);
        Assert.Throws<ArgumentOutOfRangeException>(() => ImageLoader.Load(t["a/x.png"], 100000, 100000));
        Assert.Throws<ArgumentOutOfRangeException>(() => new ImageFolder(t.Path, new() { TargetSize = (46341, 46341) }));
    }

    [Fact]
    public void ToDatasetThrowsTheFilesErrorNotAnAggregate()
    {
        using var t = new TempFolder();
        TestImages.WriteFlat(t["a/ok.png"], 1, 2, 3);
        File.WriteAllBytes(t["a/bad.png"], [1, 2, 3]);
        var folder = new ImageFolder(t.Path, new() { TargetSize = (4, 4) });
        var e = Assert.Throws<InvalidDataException>(() => folder.ToDataset());
        Assert.Contains("bad.png", e.Message);
    }
}
