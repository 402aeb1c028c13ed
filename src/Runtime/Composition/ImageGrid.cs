using System;
using System.IO;
using StbImageWriteSharp;

namespace Kiln;

/// <summary>
/// Tiles batches of channels-last images (a GAN's fakes, the real images beside them) into one
/// RGB picture and writes it as PNG. The picture holds <c>panels</c> side-by-side blocks of
/// <c>rows × columns</c> images each, with a gap between images and a wider one between panels;
/// each image is enlarged <c>scale</c> times (nearest neighbour). Pixel values map linearly from
/// [low, high] to 0..255 and are clamped (a tanh image: −1..1; a rescaled one: 0..1). One or
/// three channels: grey images are written as grey RGB.
/// </summary>
public sealed class ImageGrid
{
    private readonly byte[] _pixels;

    public ImageGrid(int height, int width, int channels, int rows, int columns, int panels = 1, int scale = 1, int gap = 2)
    {
        if (height <= 0 || width <= 0)
            throw new ArgumentOutOfRangeException(nameof(height), $"ImageGrid: images must be at least 1×1, got {height}×{width}.");
        if (channels != 1 && channels != 3)
            throw new ArgumentOutOfRangeException(nameof(channels), channels, "ImageGrid draws grey (1 channel) or RGB (3 channels) images.");
        if (rows <= 0 || columns <= 0 || panels <= 0)
            throw new ArgumentOutOfRangeException(nameof(rows), $"ImageGrid: rows, columns and panels must be positive, got {rows}, {columns}, {panels}.");
        if (scale <= 0)
            throw new ArgumentOutOfRangeException(nameof(scale), scale, "ImageGrid: the scale must be positive.");
        if (gap < 0)
            throw new ArgumentOutOfRangeException(nameof(gap), gap, "ImageGrid: the gap must not be negative.");
        Height = height;
        Width = width;
        Channels = channels;
        Rows = rows;
        Columns = columns;
        Panels = panels;
        Scale = scale;
        Gap = gap;
        int panelWidth = columns * width * scale + (columns - 1) * gap;
        PixelWidth = checked(panels * panelWidth + (panels - 1) * 4 * Math.Max(gap, 1));
        PixelHeight = checked(rows * height * scale + (rows - 1) * gap);
        _pixels = new byte[checked(PixelWidth * PixelHeight * 3)];
        Background = 32;
        Clear();
    }

    public int Height { get; }
    public int Width { get; }
    public int Channels { get; }
    public int Rows { get; }
    public int Columns { get; }
    public int Panels { get; }
    public int Scale { get; }
    public int Gap { get; }

    /// <summary>Width of the written picture, in pixels.</summary>
    public int PixelWidth { get; }

    /// <summary>Height of the written picture, in pixels.</summary>
    public int PixelHeight { get; }

    /// <summary>Grey level of the gaps and of cells no image was drawn into.</summary>
    public byte Background { get; set; }

    /// <summary>Images one panel holds.</summary>
    public int Capacity => Rows * Columns;

    /// <summary>The RGB bytes, row by row (<see cref="PixelWidth"/> × <see cref="PixelHeight"/> × 3).</summary>
    public ReadOnlySpan<byte> Pixels => _pixels;

    /// <summary>Fills the whole picture with <see cref="Background"/>.</summary>
    public void Clear() => _pixels.AsSpan().Fill(Background);

    /// <summary>
    /// Draws up to <see cref="Capacity"/> images from <paramref name="images"/> (whole images, channels last)
    /// into <paramref name="panel"/>, row by row; cells past the last image keep the background.
    /// </summary>
    public void Draw(int panel, ReadOnlySpan<float> images, float low = 0f, float high = 1f)
    {
        if ((uint)panel >= (uint)Panels)
            throw new ArgumentOutOfRangeException(nameof(panel), panel, $"ImageGrid has panels 0 to {Panels - 1}.");
        int imageSize = Height * Width * Channels;
        if (images.Length % imageSize != 0)
            throw new ArgumentException(
                $"ImageGrid: images of ({Height}, {Width}, {Channels}) are {imageSize} floats each, but the span holds {images.Length}, not a whole number of them.",
                nameof(images));
        if (!(high > low) || float.IsInfinity(high - low))
            throw new ArgumentOutOfRangeException(nameof(high), high, $"ImageGrid: the value range [{low}, {high}] must be finite and not empty.");
        int count = Math.Min(images.Length / imageSize, Capacity);
        float toByte = 255f / (high - low);
        int panelWidth = Columns * Width * Scale + (Columns - 1) * Gap;
        int panelLeft = panel * (panelWidth + 4 * Math.Max(Gap, 1));
        for (int k = 0; k < count; k++)
        {
            ReadOnlySpan<float> image = images.Slice(k * imageSize, imageSize);
            int left = panelLeft + (k % Columns) * (Width * Scale + Gap);
            int top = (k / Columns) * (Height * Scale + Gap);
            for (int y = 0; y < Height * Scale; y++)
            {
                Span<byte> line = _pixels.AsSpan(((top + y) * PixelWidth + left) * 3, Width * Scale * 3);
                ReadOnlySpan<float> source = image.Slice(y / Scale * Width * Channels, Width * Channels);
                for (int x = 0; x < Width * Scale; x++)
                {
                    int at = x / Scale * Channels;
                    byte r = ToByte(source[at], low, toByte);
                    line[3 * x] = r;
                    line[3 * x + 1] = Channels == 3 ? ToByte(source[at + 1], low, toByte) : r;
                    line[3 * x + 2] = Channels == 3 ? ToByte(source[at + 2], low, toByte) : r;
                }
            }
        }
    }

    /// <summary>Writes the picture as a PNG, atomically (a temporary file renamed over <paramref name="path"/>); creates the folder.</summary>
    public void WritePng(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        AtomicFile.Write(path, WritePng);
    }

    /// <summary>Writes the picture as a PNG to <paramref name="stream"/>.</summary>
    public void WritePng(Stream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        new ImageWriter().WritePng(_pixels, PixelWidth, PixelHeight, ColorComponents.RedGreenBlue, stream);
    }

    /// <summary>
    /// One call for the common case: <paramref name="images"/> of (height, width, channels) tiled
    /// <paramref name="columns"/> wide into a PNG at <paramref name="path"/>.
    /// </summary>
    public static void Save(string path, ReadOnlySpan<float> images, int height, int width, int channels, int columns, float low = 0f, float high = 1f, int scale = 1)
    {
        int imageSize = height * width * channels;
        if (imageSize <= 0 || images.Length < imageSize)
            throw new ArgumentException($"ImageGrid.Save: no whole ({height}, {width}, {channels}) image in {images.Length} floats.", nameof(images));
        int count = images.Length / imageSize;
        int cols = Math.Min(columns, count);
        var grid = new ImageGrid(height, width, channels, (count + cols - 1) / cols, cols, scale: scale);
        grid.Draw(0, images, low, high);
        grid.WritePng(path);
    }

    private static byte ToByte(float v, float low, float toByte)
    {
        float scaled = (v - low) * toByte + 0.5f;
        if (!(scaled > 0f)) return 0; // NaN too: a diverged generator draws black, not garbage
        if (scaled >= 255f) return 255;
        return (byte)scaled;
    }
}
