using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.IO;
using System.IO.Compression;
using Kiln;

namespace Kiln.EndToEnd.Tests;

/// <summary>The GAN sample's image grids, decoded by an independent PNG reader written here.</summary>
public class GanImageGridTests
{
    [Fact]
    public void GeneratedAndRealImagesMakeAValidPngOfTheExpectedSizeAndPixels()
    {
        const int n = 8;
        var g = new GanTinyGenerator(n, 1);
        var latent = new float[n * g.InputSize];
        var rng = new Rng(2);
        for (int i = 0; i < latent.Length; i++) latent[i] = rng.NextNormal();
        float[] fakes = g.Forward(latent, n, training: false).ToArray();
        var real = new float[n * 192];
        for (int i = 0; i < real.Length; i++) real[i] = rng.NextFloat();

        // Two panels of 2 rows x 4 columns of 8x8 images, enlarged 2x, gaps of 2 (8 between panels).
        var grid = new ImageGrid(8, 8, 3, rows: 2, columns: 4, panels: 2, scale: 2, gap: 2);
        Assert.Equal(2 * (4 * 16 + 3 * 2) + 8, grid.PixelWidth);
        Assert.Equal(2 * 16 + 2, grid.PixelHeight);
        grid.Draw(0, fakes, low: -1f, high: 1f);
        grid.Draw(1, real);
        string folder = Path.Combine(Path.GetTempPath(), "kiln-gan-grid-" + Guid.NewGuid().ToString("N"));
        string path = Path.Combine(folder, "nested", "step_00100.png");
        try
        {
            grid.WritePng(path);
            var (width, height, rgb) = Png.Decode(File.ReadAllBytes(path));
            Assert.Equal(148, width);
            Assert.Equal(34, height);
            Assert.Single(Directory.GetFiles(Path.GetDirectoryName(path)!)); // no temporary file left
            Assert.Equal(grid.Pixels.ToArray(), rgb);

            // Every pixel, computed here from the images: cell k of panel p at column k % 4, row k / 4.
            for (int y = 0; y < height; y++)
                for (int x = 0; x < width; x++)
                {
                    byte[] expected = [32, 32, 32];
                    int panel = x >= 78 ? 1 : 0, px = x - panel * 78;
                    int col = px / 18, row = y / 18, ix = px % 18, iy = y % 18;
                    if (px >= 0 && px < 70 && ix < 16 && iy < 16)
                    {
                        int k = row * 4 + col, at = k * 192 + ((iy / 2) * 8 + ix / 2) * 3;
                        for (int c = 0; c < 3; c++)
                        {
                            double v = panel == 0 ? (fakes[at + c] + 1) / 2 : real[at + c];
                            expected[c] = (byte)Math.Clamp(Math.Floor(v * 255 + 0.5), 0, 255);
                        }
                    }
                    for (int c = 0; c < 3; c++)
                    {
                        int got = rgb[(y * width + x) * 3 + c];
                        Assert.True(Math.Abs(got - expected[c]) <= 1, $"pixel ({x}, {y}) channel {c}: {got}, expected {expected[c]}");
                    }
                }
        }
        finally
        {
            if (Directory.Exists(folder)) Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public void GreyImagesAreGreyAndValuesOutsideTheRangeClamp()
    {
        float[] images = [-5f, 0f, 0.5f, 1f, 9f, float.NaN, 0.25f, 0.75f, 1f];
        var grid = new ImageGrid(3, 3, 1, rows: 1, columns: 1);
        grid.Draw(0, images);
        using var stream = new MemoryStream();
        grid.WritePng(stream);
        var (width, height, rgb) = Png.Decode(stream.ToArray());
        Assert.Equal((3, 3), (width, height));
        byte[] expected = [0, 0, 128, 255, 255, 0, 64, 191, 255];
        for (int i = 0; i < 9; i++)
        {
            Assert.Equal(expected[i], rgb[3 * i]);
            Assert.Equal(expected[i], rgb[3 * i + 1]);
            Assert.Equal(expected[i], rgb[3 * i + 2]);
        }
    }

    [Fact]
    public void SaveTilesABatchAndBadArgumentsAreNamed()
    {
        string path = Path.Combine(Path.GetTempPath(), $"kiln-gan-save-{Guid.NewGuid():N}.png");
        try
        {
            // Ten 4x5 RGB images, 4 per row: 3 rows.
            ImageGrid.Save(path, new float[10 * 4 * 5 * 3], 4, 5, 3, columns: 4, scale: 3);
            var (width, height, _) = Png.Decode(File.ReadAllBytes(path));
            Assert.Equal(4 * 15 + 3 * 2, width);
            Assert.Equal(3 * 12 + 2 * 2, height);
        }
        finally
        {
            File.Delete(path);
        }
        var grid = new ImageGrid(4, 4, 3, 2, 2);
        var partial = Assert.Throws<ArgumentException>(() => grid.Draw(0, new float[47]));
        Assert.Contains("(4, 4, 3) are 48 floats each", partial.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => grid.Draw(1, new float[48]));
        Assert.Throws<ArgumentOutOfRangeException>(() => new ImageGrid(4, 4, 2, 1, 1));
    }

    /// <summary>A PNG reader for 8-bit RGB, non-interlaced: every chunk's CRC, IHDR, zlib IDAT, the five filters.</summary>
    private static class Png
    {
        public static (int Width, int Height, byte[] Rgb) Decode(byte[] file)
        {
            byte[] signature = [137, 80, 78, 71, 13, 10, 26, 10];
            Assert.True(file.AsSpan(0, 8).SequenceEqual(signature), "not a PNG signature");
            int width = 0, height = 0, at = 8;
            var idat = new MemoryStream();
            bool end = false;
            var seen = new List<string>();
            while (!end)
            {
                int length = BinaryPrimitives.ReadInt32BigEndian(file.AsSpan(at));
                string type = System.Text.Encoding.ASCII.GetString(file, at + 4, 4);
                seen.Add(type);
                ReadOnlySpan<byte> data = file.AsSpan(at + 8, length);
                uint crc = BinaryPrimitives.ReadUInt32BigEndian(file.AsSpan(at + 8 + length));
                Assert.Equal(Crc32(file.AsSpan(at + 4, length + 4)), crc);
                switch (type)
                {
                    case "IHDR":
                        width = BinaryPrimitives.ReadInt32BigEndian(data);
                        height = BinaryPrimitives.ReadInt32BigEndian(data[4..]);
                        Assert.Equal(8, data[8]); // bit depth
                        Assert.Equal(2, data[9]); // colour type RGB
                        Assert.Equal(0, data[12]); // not interlaced
                        break;
                    case "IDAT": idat.Write(data); break;
                    case "IEND": end = true; break;
                }
                at += 12 + length;
            }
            Assert.Equal("IHDR", seen[0]);
            Assert.Equal(file.Length, at);

            idat.Position = 0;
            using var inflated = new MemoryStream();
            using (var z = new ZLibStream(idat, CompressionMode.Decompress)) z.CopyTo(inflated);
            byte[] raw = inflated.ToArray();
            int stride = width * 3;
            Assert.Equal(height * (stride + 1), raw.Length);
            var rgb = new byte[height * stride];
            for (int y = 0; y < height; y++)
            {
                byte filter = raw[y * (stride + 1)];
                for (int x = 0; x < stride; x++)
                {
                    int a = x >= 3 ? rgb[y * stride + x - 3] : 0;
                    int b = y > 0 ? rgb[(y - 1) * stride + x] : 0;
                    int c = x >= 3 && y > 0 ? rgb[(y - 1) * stride + x - 3] : 0;
                    int v = raw[y * (stride + 1) + 1 + x];
                    v += filter switch
                    {
                        0 => 0,
                        1 => a,
                        2 => b,
                        3 => (a + b) / 2,
                        4 => Paeth(a, b, c),
                        _ => throw new InvalidDataException($"PNG filter {filter} on row {y}"),
                    };
                    rgb[y * stride + x] = (byte)v;
                }
            }
            return (width, height, rgb);
        }

        private static int Paeth(int a, int b, int c)
        {
            int p = a + b - c, pa = Math.Abs(p - a), pb = Math.Abs(p - b), pc = Math.Abs(p - c);
            return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
        }

        private static uint Crc32(ReadOnlySpan<byte> bytes)
        {
            uint crc = 0xFFFFFFFF;
            foreach (byte x in bytes)
            {
                crc ^= x;
                for (int k = 0; k < 8; k++) crc = (crc & 1) != 0 ? (crc >> 1) ^ 0xEDB88320 : crc >> 1;
            }
            return ~crc;
        }
    }
}
