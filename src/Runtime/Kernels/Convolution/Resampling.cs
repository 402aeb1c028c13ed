using System;

namespace Kiln.Kernels;

/// <summary>Nearest-neighbour upsampling and zero padding on NHWC batches, with their gradients.</summary>
public static unsafe class Resampling
{
    /// <summary>y[n×(H·fh)×(W·fw)×C]: each input pixel repeated into an fh × fw block.</summary>
    public static void UpSampleNearest(ReadOnlySpan<float> x, Span<float> y, int n, int height, int width, int channels, int factorH, int factorW)
    {
        CheckUp(x.Length, y.Length, n, height, width, channels, factorH, factorW, "x", "y");
        int ow = width * factorW;
        fixed (float* px = x, py = y)
        {
            for (long b = 0; b < n; b++)
                for (int i = 0; i < height; i++)
                {
                    float* src = px + (b * height + i) * width * channels;
                    float* row = py + (b * height * factorH + (long)i * factorH) * ow * channels;
                    for (int j = 0; j < width; j++)
                        for (int f = 0; f < factorW; f++)
                            ConvCore.Copy(src + (nint)j * channels, row + ((nint)j * factorW + f) * channels, channels);
                    for (int f = 1; f < factorH; f++) ConvCore.Copy(row, row + (nint)f * ow * channels, ow * channels);
                }
        }
    }

    /// <summary>dx (overwritten) = sum of dy over each fh × fw block.</summary>
    public static void UpSampleNearestBackward(ReadOnlySpan<float> dy, Span<float> dx, int n, int height, int width, int channels, int factorH, int factorW)
    {
        CheckUp(dx.Length, dy.Length, n, height, width, channels, factorH, factorW, "dx", "dy");
        int ow = width * factorW;
        fixed (float* pdy = dy, pdx = dx)
        {
            for (long b = 0; b < n; b++)
                for (int i = 0; i < height; i++)
                {
                    float* dst = pdx + (b * height + i) * width * channels;
                    new Span<float>(dst, width * channels).Clear();
                    for (int f = 0; f < factorH; f++)
                    {
                        float* row = pdy + (b * height * factorH + (long)i * factorH + f) * ow * channels;
                        for (int j = 0; j < width; j++)
                            for (int e = 0; e < factorW; e++)
                                ConvCore.Add(row + ((nint)j * factorW + e) * channels, dst + (nint)j * channels, channels);
                    }
                }
        }
    }

    /// <summary>y[n×(top+H+bottom)×(left+W+right)×C] = x surrounded by zeros.</summary>
    public static void ZeroPad(ReadOnlySpan<float> x, Span<float> y, int n, int height, int width, int channels, int top, int bottom, int left, int right)
    {
        CheckPad(x.Length, y.Length, n, height, width, channels, top, bottom, left, right, "x", "y");
        int ph = top + height + bottom, pw = left + width + right;
        fixed (float* px = x, py = y)
        {
            for (long b = 0; b < n; b++)
            {
                float* ys = py + b * ph * pw * channels;
                new Span<float>(ys, top * pw * channels).Clear();
                new Span<float>(ys + (nint)(top + height) * pw * channels, bottom * pw * channels).Clear();
                for (int i = 0; i < height; i++)
                {
                    float* row = ys + (nint)(top + i) * pw * channels;
                    new Span<float>(row, left * channels).Clear();
                    ConvCore.Copy(px + (b * height + i) * width * channels, row + (nint)left * channels, width * channels);
                    new Span<float>(row + (nint)(left + width) * channels, right * channels).Clear();
                }
            }
        }
    }

    /// <summary>dx (overwritten) = dy cropped back to the unpadded region.</summary>
    public static void ZeroPadBackward(ReadOnlySpan<float> dy, Span<float> dx, int n, int height, int width, int channels, int top, int bottom, int left, int right)
    {
        CheckPad(dx.Length, dy.Length, n, height, width, channels, top, bottom, left, right, "dx", "dy");
        int ph = top + height + bottom, pw = left + width + right;
        fixed (float* pdy = dy, pdx = dx)
        {
            for (long b = 0; b < n; b++)
                for (int i = 0; i < height; i++)
                    ConvCore.Copy(pdy + ((b * ph + top + i) * pw + left) * channels, pdx + (b * height + i) * width * channels, width * channels);
        }
    }

    private static void CheckUp(int smallLength, int bigLength, int n, int height, int width, int channels, int factorH, int factorW, string smallName, string bigName)
    {
        Conv2D.CheckBatch(n);
        if (height < 1 || width < 1 || channels < 1 || factorH < 1 || factorW < 1)
            throw new ArgumentException($"sizes ({height}, {width}, {channels}) and factors ({factorH}, {factorW}) must be positive");
        long small = (long)n * height * width * channels;
        Activations.CheckLength(smallLength, checked((int)small), smallName);
        Activations.CheckLength(bigLength, checked((int)(small * factorH * factorW)), bigName);
    }

    private static void CheckPad(int smallLength, int bigLength, int n, int height, int width, int channels, int top, int bottom, int left, int right, string smallName, string bigName)
    {
        Conv2D.CheckBatch(n);
        if (height < 1 || width < 1 || channels < 1) throw new ArgumentException($"sizes ({height}, {width}, {channels}) must be positive");
        if (top < 0 || bottom < 0 || left < 0 || right < 0) throw new ArgumentException($"padding ({top}, {bottom}, {left}, {right}) must not be negative");
        Activations.CheckLength(smallLength, checked(n * height * width * channels), smallName);
        Activations.CheckLength(bigLength, checked(n * (top + height + bottom) * (left + width + right) * channels), bigName);
    }
}
