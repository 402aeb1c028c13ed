using System;
using System.IO;
using StbImageWriteSharp;

namespace Kiln.Runtime.Tests.Data;

/// <summary>Writes tiny images in real file formats, and temporary folders that clean up after themselves.</summary>
internal static class TestImages
{
    /// <summary>Interleaved RGB bytes of a width×height image whose pixel (x, y) is <paramref name="color"/>(x, y).</summary>
    public static byte[] Rgb(int width, int height, Func<int, int, (byte R, byte G, byte B)> color)
    {
        var p = new byte[width * height * 3];
        for (int y = 0; y < height; y++)
            for (int x = 0; x < width; x++)
            {
                var (r, g, b) = color(x, y);
                int i = (y * width + x) * 3;
                (p[i], p[i + 1], p[i + 2]) = (r, g, b);
            }
        return p;
    }

    public static void Write(string path, byte[] rgb, int width, int height, int channels = 3)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var components = channels switch
        {
            1 => ColorComponents.Grey,
            4 => ColorComponents.RedGreenBlueAlpha,
            _ => ColorComponents.RedGreenBlue,
        };
        using var file = File.Create(path);
        var writer = new ImageWriter();
        switch (Path.GetExtension(path).ToLowerInvariant())
        {
            case ".png": writer.WritePng(rgb, width, height, components, file); break;
            case ".bmp": writer.WriteBmp(rgb, width, height, components, file); break;
            case ".jpg" or ".jpeg": writer.WriteJpg(rgb, width, height, components, file, 95); break;
            default: throw new ArgumentException(path);
        }
    }

    /// <summary>A flat-coloured image in the format of <paramref name="path"/>'s extension.</summary>
    public static void WriteFlat(string path, byte r, byte g, byte b, int width = 6, int height = 5) =>
        Write(path, Rgb(width, height, (_, _) => (r, g, b)), width, height);
}

internal sealed class TempFolder : IDisposable
{
    public TempFolder()
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "kiln-test-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    public string this[string relative] => System.IO.Path.Combine(Path, relative);

    public void Dispose()
    {
        try { Directory.Delete(Path, recursive: true); } catch (IOException) { }
    }
}
