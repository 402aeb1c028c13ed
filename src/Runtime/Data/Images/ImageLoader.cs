using System;
using System.Collections.Generic;
using System.IO;
using Microsoft.Win32.SafeHandles;
using StbImageSharp;

namespace Kiln;

/// <summary>
/// Loads one image file the way Keras' <c>load_img(path, color_mode, target_size, interpolation)</c>
/// followed by <c>img_to_array</c> does: decode (PNG, JPEG, BMP through StbImageSharp, binary
/// PPM/PGM through <see cref="Pnm"/>, pure C#), convert the colour mode, resize in 8 bits, then
/// convert to floats times a rescale factor, channels last. The container is checked before
/// decoding (<see cref="ImageContainer"/>): a file that claims more pixels than
/// <c>maxPixels</c> or than its bytes can hold, is truncated, or does not decode is an
/// <see cref="InvalidDataException"/> naming it, raised without decoding it. Safe on several threads at once; each thread
/// keeps its own file buffer, so only the decoder's own output is allocated per image.
/// </summary>
public static class ImageLoader
{
    /// <summary>File extensions taken as images (case-insensitive); other files in a class folder are skipped.</summary>
    public static readonly IReadOnlyList<string> Extensions = [".png", ".jpg", ".jpeg", ".bmp", ".ppm", ".pgm"];

    /// <summary>PIL's <c>Image.MAX_IMAGE_PIXELS</c> (1 GiB of 3-byte pixels ÷ 4): larger images are refused as possible decompression bombs.</summary>
    public const long DefaultMaxImagePixels = 89_478_485;

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
        Interpolation interpolation = Interpolation.Nearest, double rescale = 1, long maxPixels = DefaultMaxImagePixels)
    {
        var result = new float[TargetFloats(height, width, mode)];
        Load(path, result, height, width, mode, interpolation, rescale, maxPixels);
        return result;
    }

    /// <summary>Loads <paramref name="path"/> into <paramref name="destination"/> (height·width·channels floats).</summary>
    public static void Load(string path, Span<float> destination, int height, int width, ColorMode mode = ColorMode.Rgb,
        Interpolation interpolation = Interpolation.Nearest, double rescale = 1, long maxPixels = DefaultMaxImagePixels)
    {
        int size = TargetFloats(height, width, mode);
        if (destination.Length != size)
            throw new ArgumentException($"A {height}×{width} image with {Channels(mode)} channel(s) is {size} floats; the destination holds {destination.Length}.", nameof(destination));
        if (t_resized is null || t_resized.Length < size) t_resized = new byte[size];
        var bytes = t_resized.AsSpan(0, size);
        LoadBytes(path, bytes, height, width, mode, interpolation, maxPixels);
        ToFloats(bytes, destination, (float)rescale);
    }

    /// <summary>Decodes and resizes <paramref name="path"/> into (height, width, channels) bytes.</summary>
    public static void LoadBytes(string path, Span<byte> destination, int height, int width, ColorMode mode = ColorMode.Rgb,
        Interpolation interpolation = Interpolation.Nearest, long maxPixels = DefaultMaxImagePixels)
    {
        ArgumentNullException.ThrowIfNull(path);
        int size = TargetFloats(height, width, mode);
        if (destination.Length != size)
            throw new ArgumentException($"A {height}×{width} image with {Channels(mode)} channel(s) is {size} bytes; the destination holds {destination.Length}.", nameof(destination));
        var (pixels, w, h) = Decode(path, mode, maxPixels);
        int c = Channels(mode);
        ImageResize.Resize(interpolation, pixels.AsSpan(0, w * h * c), w, h, c, destination, width, height);
    }

    /// <summary>Bytes 0..255 to floats times <paramref name="rescale"/>.</summary>
    public static void ToFloats(ReadOnlySpan<byte> bytes, Span<float> destination, float rescale)
    {
        for (int i = 0; i < bytes.Length; i++) destination[i] = bytes[i] * rescale;
    }

    /// <summary>Floats (or bytes) in one (height, width, channels) target; an argument error, not an overflow, when they cannot fit one array.</summary>
    internal static int TargetFloats(int height, int width, ColorMode mode)
    {
        if (height <= 0 || width <= 0)
            throw new ArgumentOutOfRangeException(nameof(height), $"target size {height}×{width} must be positive");
        long size = (long)height * width * Channels(mode);
        if (size > Array.MaxLength)
            throw new ArgumentOutOfRangeException(nameof(height), $"target size {height}×{width}×{Channels(mode)} is {size:N0} values, more than one array holds");
        return (int)size;
    }

    /// <summary>Decodes a file to interleaved bytes of <see cref="Channels(ColorMode)"/> channels.</summary>
    internal static (byte[] Pixels, int Width, int Height) Decode(string path, ColorMode mode, long maxPixels = DefaultMaxImagePixels)
    {
        if (maxPixels <= 0) throw new ArgumentOutOfRangeException(nameof(maxPixels), maxPixels, "the pixel limit must be positive");
        int length = ReadFile(path);
        var file = t_file!;
        var header = ImageContainer.Check(path, file.AsSpan(0, length), maxPixels);
        int channels = mode == ColorMode.Rgba ? 4 : 3;
        byte[] pixels;
        int width, height;
        if (header.Format == ImageFormat.Pnm)
        {
            pixels = Pnm.Decode(path, file.AsSpan(0, length), channels);
            (width, height) = (header.Width, header.Height);
        }
        else
        {
            ImageResult image;
            try
            {
                using var stream = new ClampedMemoryStream(file, length);
                image = ImageResult.FromStream(stream, mode == ColorMode.Rgba ? ColorComponents.RedGreenBlueAlpha : ColorComponents.RedGreenBlue);
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                // stb reports bad data with its own exceptions and short reasons ("bad huffman code").
                throw new InvalidDataException($"{path}: cannot decode this {header.Format} image ({e.Message}); it is corrupt.", e);
            }
            if (image?.Data is null || image.Width != header.Width || image.Height != header.Height)
                throw new InvalidDataException($"{path}: the decoder returned no pixels or another size than the header's {header.Width}×{header.Height}; the image is corrupt.");
            if (image.Data.Length < (long)image.Width * image.Height * channels)
                throw new InvalidDataException($"{path}: the decoder returned {image.Data.Length} bytes for a {image.Width}×{image.Height} image; the image is corrupt.");
            (pixels, width, height) = (image.Data, image.Width, image.Height);
        }
        if (mode == ColorMode.Grayscale)
        {
            // PIL's convert('L') luma, in place: write i never passes read 3i.
            int n = width * height;
            for (int i = 0; i < n; i++)
                pixels[i] = (byte)((pixels[3 * i] * 19595 + pixels[3 * i + 1] * 38470 + pixels[3 * i + 2] * 7471 + 0x8000) >> 16);
        }
        return (pixels, width, height);
    }

    /// <summary>Reads the whole file into this thread's buffer; returns its length.</summary>
    private static int ReadFile(string path)
    {
        // Opening a FIFO blocks until a writer comes, and a device reads forever: .NET shows
        // neither as anything but a file of length 0, so such a file is never opened.
        if (new FileInfo(path) is { Exists: true, Length: 0 })
            throw new InvalidDataException($"{path}: the file is empty (or not a regular file: a pipe or a device), not an image.");
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
        if (total == 0) throw new InvalidDataException($"{path}: the file is empty, not an image.");
        return total;
    }
}
