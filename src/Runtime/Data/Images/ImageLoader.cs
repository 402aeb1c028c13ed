using System;
using System.Collections.Generic;
using System.IO;
using Microsoft.Win32.SafeHandles;
using StbImageSharp;

namespace Kiln;

/// <summary>
/// Loads one image file the way Keras' <c>load_img(path, color_mode, target_size, interpolation)</c>
/// followed by <c>img_to_array</c> does: decode (PNG, JPEG, BMP, binary PPM/PGM, through
/// StbImageSharp, pure C#), convert the colour mode, resize in 8 bits, then convert to floats
/// times a rescale factor, channels last. A file that does not decode is an
/// <see cref="InvalidDataException"/> naming it. Safe on several threads at once; each thread
/// keeps its own file buffer, so only the decoder's own output is allocated per image.
/// </summary>
public static class ImageLoader
{
    /// <summary>File extensions taken as images (case-insensitive); other files in a class folder are skipped.</summary>
    public static readonly IReadOnlyList<string> Extensions = [".png", ".jpg", ".jpeg", ".bmp", ".ppm", ".pgm"];

    [ThreadStatic] private static byte[]? t_file;
    [ThreadStatic] private static byte[]? t_resized;

    public static bool HasImageExtension(string path)
    {
        string ext = Path.GetExtension(path);
        foreach (string e in Extensions)
            if (string.Equals(ext, e, StringComparison.OrdinalIgnoreCase)) return true;
        return false;
    }

    public static int Channels(ColorMode mode) => mode switch
    {
        ColorMode.Grayscale => 1,
        ColorMode.Rgba => 4,
        _ => 3,
    };

    /// <summary>Loads <paramref name="path"/> as a new (height, width, channels) float array.</summary>
    public static float[] Load(string path, int height, int width, ColorMode mode = ColorMode.Rgb,
        Interpolation interpolation = Interpolation.Nearest, double rescale = 1)
    {
        var result = new float[checked(height * width * Channels(mode))];
        Load(path, result, height, width, mode, interpolation, rescale);
        return result;
    }

    /// <summary>Loads <paramref name="path"/> into <paramref name="destination"/> (height·width·channels floats).</summary>
    public static void Load(string path, Span<float> destination, int height, int width, ColorMode mode = ColorMode.Rgb,
        Interpolation interpolation = Interpolation.Nearest, double rescale = 1)
    {
        int size = checked(height * width * Channels(mode));
        if (destination.Length != size)
            throw new ArgumentException($"A {height}×{width} image with {Channels(mode)} channel(s) is {size} floats; the destination holds {destination.Length}.", nameof(destination));
        if (t_resized is null || t_resized.Length < size) t_resized = new byte[size];
        var bytes = t_resized.AsSpan(0, size);
        LoadBytes(path, bytes, height, width, mode, interpolation);
        ToFloats(bytes, destination, (float)rescale);
    }

    /// <summary>Decodes and resizes <paramref name="path"/> into (height, width, channels) bytes.</summary>
    public static void LoadBytes(string path, Span<byte> destination, int height, int width, ColorMode mode = ColorMode.Rgb,
        Interpolation interpolation = Interpolation.Nearest)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (height <= 0 || width <= 0)
            throw new ArgumentOutOfRangeException(nameof(height), $"target size {height}×{width} must be positive");
        var (pixels, w, h) = Decode(path, mode);
        int c = Channels(mode);
        ImageResize.Resize(interpolation, pixels.AsSpan(0, w * h * c), w, h, c, destination, width, height);
    }

    /// <summary>Bytes 0..255 to floats times <paramref name="rescale"/>.</summary>
    public static void ToFloats(ReadOnlySpan<byte> bytes, Span<float> destination, float rescale)
    {
        for (int i = 0; i < bytes.Length; i++) destination[i] = bytes[i] * rescale;
    }

    /// <summary>Decodes a file to interleaved bytes of <see cref="Channels(ColorMode)"/> channels.</summary>
    internal static (byte[] Pixels, int Width, int Height) Decode(string path, ColorMode mode)
    {
        int length = ReadFile(path);
        if (length == 0) throw new InvalidDataException($"{path}: the file is empty, not an image.");
        ImageResult image;
        try
        {
            using var stream = new MemoryStream(t_file!, 0, length, writable: false);
            image = ImageResult.FromStream(stream, mode switch
            {
                ColorMode.Rgba => ColorComponents.RedGreenBlueAlpha,
                _ => ColorComponents.RedGreenBlue,
            });
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // stb reports bad data with its own exceptions and short reasons ("bad huffman code").
            throw new InvalidDataException($"{path}: cannot decode this image ({e.Message}); it is corrupt or not a PNG, JPEG or BMP file.", e);
        }
        if (image?.Data is null || image.Width <= 0 || image.Height <= 0)
            throw new InvalidDataException($"{path}: the decoder returned no pixels; the image is corrupt.");
        int channels = mode == ColorMode.Rgba ? 4 : 3;
        if (image.Data.Length < (long)image.Width * image.Height * channels)
            throw new InvalidDataException($"{path}: the decoder returned {image.Data.Length} bytes for a {image.Width}×{image.Height} image; the image is corrupt.");
        if (mode == ColorMode.Grayscale)
        {
            // PIL's convert('L') luma, in place: write i never passes read 3i.
            var p = image.Data;
            int n = image.Width * image.Height;
            for (int i = 0; i < n; i++)
                p[i] = (byte)((p[3 * i] * 19595 + p[3 * i + 1] * 38470 + p[3 * i + 2] * 7471 + 0x8000) >> 16);
        }
        return (image.Data, image.Width, image.Height);
    }

    /// <summary>Reads the whole file into this thread's buffer; returns its length.</summary>
    private static int ReadFile(string path)
    {
        using SafeFileHandle handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read);
        long length = RandomAccess.GetLength(handle);
        if (length > Array.MaxLength)
            throw new InvalidDataException($"{path}: {length:N0} bytes is too large for an image file.");
        if (t_file is null || t_file.Length < length) t_file = new byte[Math.Max(length, 1 << 16)];
        int total = 0;
        while (total < length)
        {
            int n = RandomAccess.Read(handle, t_file.AsSpan(total, (int)length - total), total);
            if (n == 0) break;
            total += n;
        }
        return total;
    }
}
