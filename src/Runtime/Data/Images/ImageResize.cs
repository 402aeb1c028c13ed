using System;

namespace Kiln;

/// <summary>
/// Resizes interleaved 8-bit images (rows of width × channels bytes). Both methods stretch to the
/// target without keeping the aspect ratio, like Keras' loaders.
/// </summary>
public static class ImageResize
{
    [ThreadStatic] private static int[]? t_x0, t_x1;
    [ThreadStatic] private static float[]? t_fx;

    public static void Resize(Interpolation interpolation, ReadOnlySpan<byte> source, int sourceWidth, int sourceHeight, int channels,
        Span<byte> destination, int width, int height)
    {
        if (interpolation == Interpolation.Bilinear) Bilinear(source, sourceWidth, sourceHeight, channels, destination, width, height);
        else Nearest(source, sourceWidth, sourceHeight, channels, destination, width, height);
    }

    /// <summary>PIL's nearest neighbour: destination pixel x takes source pixel ⌊(x + ½)·sourceWidth/width⌋.</summary>
    public static void Nearest(ReadOnlySpan<byte> source, int sourceWidth, int sourceHeight, int channels,
        Span<byte> destination, int width, int height)
    {
        Check(source.Length, sourceWidth, sourceHeight, channels, destination.Length, width, height);
        if (Same(source, sourceWidth, sourceHeight, destination, width, height)) return;
        var sx = Grow(ref t_x0, width);
        for (int x = 0; x < width; x++) sx[x] = Math.Min((int)((x + 0.5) * sourceWidth / width), sourceWidth - 1) * channels;
        int srcRow = sourceWidth * channels, dstRow = width * channels;
        for (int y = 0; y < height; y++)
        {
            int syy = Math.Min((int)((y + 0.5) * sourceHeight / height), sourceHeight - 1);
            var src = source.Slice(syy * srcRow, srcRow);
            var dst = destination.Slice(y * dstRow, dstRow);
            if (channels == 3)
                for (int x = 0, d = 0; x < width; x++, d += 3)
                {
                    int s = sx[x];
                    dst[d] = src[s];
                    dst[d + 1] = src[s + 1];
                    dst[d + 2] = src[s + 2];
                }
            else
                for (int x = 0, d = 0; x < width; x++)
                    for (int c = 0; c < channels; c++) dst[d++] = src[sx[x] + c];
        }
    }

    /// <summary>
    /// tf.image.resize's bilinear without antialiasing: source coordinate (x + ½)·in/out − ½,
    /// neighbours clamped to the edge, the result rounded to the nearest byte.
    /// </summary>
    public static void Bilinear(ReadOnlySpan<byte> source, int sourceWidth, int sourceHeight, int channels,
        Span<byte> destination, int width, int height)
    {
        Check(source.Length, sourceWidth, sourceHeight, channels, destination.Length, width, height);
        if (Same(source, sourceWidth, sourceHeight, destination, width, height)) return;
        var x0 = Grow(ref t_x0, width);
        var x1 = Grow(ref t_x1, width);
        var fx = Grow(ref t_fx, width);
        for (int x = 0; x < width; x++)
        {
            Coordinate(x, sourceWidth, width, out int lo, out int hi, out float f);
            (x0[x], x1[x], fx[x]) = (lo * channels, hi * channels, f);
        }
        int srcRow = sourceWidth * channels, dstRow = width * channels;
        for (int y = 0; y < height; y++)
        {
            Coordinate(y, sourceHeight, height, out int y0, out int y1, out float fy);
            var top = source.Slice(y0 * srcRow, srcRow);
            var bottom = source.Slice(y1 * srcRow, srcRow);
            var dst = destination.Slice(y * dstRow, dstRow);
            for (int x = 0, d = 0; x < width; x++)
            {
                int a = x0[x], b = x1[x];
                float f = fx[x];
                for (int c = 0; c < channels; c++, d++)
                {
                    float t = top[a + c] + (top[b + c] - top[a + c]) * f;
                    float u = bottom[a + c] + (bottom[b + c] - bottom[a + c]) * f;
                    float v = t + (u - t) * fy;
                    dst[d] = (byte)Math.Clamp((int)MathF.Round(v), 0, 255);
                }
            }
        }
    }

    private static void Coordinate(int o, int inSize, int outSize, out int lo, out int hi, out float frac)
    {
        double s = (o + 0.5) * inSize / outSize - 0.5;
        double fl = Math.Floor(s);
        lo = Math.Clamp((int)fl, 0, inSize - 1);
        hi = Math.Clamp((int)Math.Ceiling(s), 0, inSize - 1);
        frac = (float)(s - fl);
    }

    private static bool Same(ReadOnlySpan<byte> source, int sourceWidth, int sourceHeight, Span<byte> destination, int width, int height)
    {
        if (sourceWidth != width || sourceHeight != height) return false;
        source.CopyTo(destination);
        return true;
    }

    private static T[] Grow<T>(ref T[]? scratch, int length)
    {
        if (scratch is null || scratch.Length < length) scratch = new T[Math.Max(length, 256)];
        return scratch;
    }

    private static void Check(int sourceLength, int sourceWidth, int sourceHeight, int channels, int destinationLength, int width, int height)
    {
        if (sourceWidth <= 0 || sourceHeight <= 0 || width <= 0 || height <= 0 || channels <= 0)
            throw new ArgumentOutOfRangeException(nameof(width), $"Resize {sourceWidth}×{sourceHeight} to {width}×{height} with {channels} channels: sizes must be positive.");
        if (sourceLength != (long)sourceWidth * sourceHeight * channels)
            throw new ArgumentException($"A {sourceWidth}×{sourceHeight} image of {channels} channels is {(long)sourceWidth * sourceHeight * channels} bytes; the source holds {sourceLength}.", "source");
        if (destinationLength != (long)width * height * channels)
            throw new ArgumentException($"A {width}×{height} image of {channels} channels is {(long)width * height * channels} bytes; the destination holds {destinationLength}.", "destination");
    }
}
