using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.IO;
using System.IO.Compression;
using Kiln;
using Kiln.Runtime.Tests.Training;

namespace Kiln.Runtime.Tests.Plotting;

public class HistoryPlotTests
{
    /// <summary>Decodes an 8-bit RGB or RGBA PNG into rows of RGBA, checking each chunk's CRC-32.</summary>
    private static (int Width, int Height, uint[] Pixels) DecodePng(string path)
    {
        byte[] b = File.ReadAllBytes(path);
        Assert.Equal(new byte[] { 137, 80, 78, 71, 13, 10, 26, 10 }, b[..8]);
        int p = 8, width = 0, height = 0, channels = 0;
        var idat = new MemoryStream();
        while (p < b.Length)
        {
            int length = BinaryPrimitives.ReadInt32BigEndian(b.AsSpan(p));
            string type = System.Text.Encoding.ASCII.GetString(b, p + 4, 4);
            var chunk = b.AsSpan(p + 8, length);
            Assert.Equal(Crc32(b.AsSpan(p + 4, length + 4)), BinaryPrimitives.ReadUInt32BigEndian(b.AsSpan(p + 8 + length)));
            if (type == "IHDR")
            {
                width = BinaryPrimitives.ReadInt32BigEndian(chunk);
                height = BinaryPrimitives.ReadInt32BigEndian(chunk[4..]);
                Assert.Equal(8, chunk[8]); // bit depth
                channels = chunk[9] switch { 2 => 3, 6 => 4, var c => throw new InvalidDataException($"colour type {c}") };
                Assert.Equal(0, chunk[12]); // not interlaced
            }
            else if (type == "IDAT") idat.Write(chunk);
            p += 12 + length;
            if (type == "IEND") break;
        }
        idat.Position = 0;
        var raw = new MemoryStream();
        using (var z = new ZLibStream(idat, CompressionMode.Decompress)) z.CopyTo(raw);
        byte[] data = raw.ToArray();
        int stride = width * channels;
        Assert.Equal(height * (stride + 1), data.Length);
        var pixels = new uint[width * height];
        var previous = new byte[stride];
        var row = new byte[stride];
        for (int y = 0; y < height; y++)
        {
            int filter = data[y * (stride + 1)];
            for (int x = 0; x < stride; x++)
            {
                int a = x >= channels ? row[x - channels] : 0, up = previous[x], c = x >= channels ? previous[x - channels] : 0;
                int v = data[y * (stride + 1) + 1 + x];
                row[x] = (byte)(filter switch
                {
                    0 => v,
                    1 => v + a,
                    2 => v + up,
                    3 => v + (a + up) / 2,
                    4 => v + Paeth(a, up, c),
                    _ => throw new InvalidDataException($"filter {filter}"),
                });
            }
            for (int x = 0; x < width; x++)
                pixels[y * width + x] = (uint)(row[x * channels] << 16 | row[x * channels + 1] << 8 | row[x * channels + 2]);
            (previous, row) = (row, previous);
        }
        return (width, height, pixels);
    }

    private static int Paeth(int a, int b, int c)
    {
        int p = a + b - c, pa = Math.Abs(p - a), pb = Math.Abs(p - b), pc = Math.Abs(p - c);
        return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
    }

    private static uint Crc32(ReadOnlySpan<byte> data)
    {
        uint crc = 0xFFFFFFFF;
        foreach (byte x in data)
        {
            crc ^= x;
            for (int k = 0; k < 8; k++) crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1)));
        }
        return ~crc;
    }

    private static bool Near(uint rgb, uint target) =>
        Math.Abs((int)(rgb >> 16) - (int)(target >> 16)) < 40
        && Math.Abs((int)((rgb >> 8) & 0xFF) - (int)((target >> 8) & 0xFF)) < 40
        && Math.Abs((int)(rgb & 0xFF) - (int)(target & 0xFF)) < 40;

    [Fact]
    public void PlotsEveryCurveToAPngOfTheRequestedSize()
    {
        using var dir = new TempDirectory();
        var model = new LinearModel(4, 3, 16, 1);
        var history = model.Fit(FitTests.Blobs(120, 1), 6, new Sgd(0.1f), validationSplit: 0.25, verbose: 0);
        string path = dir.File("plots/curves.png");
        history.Plot(path, width: 640, height: 400, title: "LinearModel");

        var (width, height, pixels) = DecodePng(path);
        Assert.Equal((640, 400), (width, height));
        var colours = new HashSet<uint>(pixels);
        Assert.True(colours.Count > 20, $"only {colours.Count} colours: blank?");
        int notWhite = 0;
        foreach (uint px in pixels) if (px != 0xFFFFFF) notWhite++;
        Assert.InRange(notWhite, pixels.Length / 100, pixels.Length / 2);
        // One line per metric in matplotlib's colours: loss blue, accuracy orange, val_loss green, val_accuracy red.
        foreach (uint colour in new uint[] { 0x1f77b4, 0xff7f0e, 0x2ca02c, 0xd62728 })
        {
            int count = 0;
            foreach (uint px in pixels) if (Near(px, colour)) count++;
            Assert.True(count > 100, $"colour {colour:x6} drawn on {count} pixels");
        }
        Assert.Empty(Directory.GetFiles(dir.File("plots"), "*.tmp"));
    }

    [Fact]
    public void LeavesTheDataWaitTimingsOut()
    {
        using var dir = new TempDirectory();
        KeyValuePair<string, double[]> loss = new("loss", [0.9, 0.5, 0.3]), accuracy = new("accuracy", [0.6, 0.8, 0.9]);
        History.FromValues([loss, accuracy]).Plot(dir.File("without.png"));
        History.FromValues([loss, new("data_wait", [0.7, 0.2, 0.4]), accuracy, new("val_data_wait", [0.1, 0.6, 0.3])]).Plot(dir.File("with.png"));
        Assert.Equal(DecodePng(dir.File("without.png")).Pixels, DecodePng(dir.File("with.png")).Pixels);
    }

    [Fact]
    public void RefusesAnEmptyHistoryOrTinyImage()
    {
        var empty = History.FromValues([new("loss", Array.Empty<double>())]);
        Assert.Throws<InvalidOperationException>(() => empty.Plot("x.png"));
        var one = History.FromValues([new("loss", [1.0, 0.5])]);
        Assert.Throws<ArgumentOutOfRangeException>(() => one.Plot("x.png", width: 10));
    }
}
