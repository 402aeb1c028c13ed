using System;

namespace Kiln.Kernels;

/// <summary>
/// The transposes a channels-first input (Keras' <c>data_format="channels_first"</c>) needs: each
/// sample's (C, H, W) columns of a packed input row into a contiguous channels-last (H, W, C)
/// buffer in forward, and the channels-last input gradient back into (C, H, W) columns in
/// backward. A model with one input has offset 0 and stride C·H·W. Nothing is allocated.
/// </summary>
public static class Layout
{
    /// <summary>y[s, h, w, c] = rows[s·stride + offset + c·H·W + h·W + w] for <paramref name="n"/> samples.</summary>
    public static void ToChannelsLast(ReadOnlySpan<float> rows, Span<float> y, int n, int channels, int height, int width, int offset, int stride)
    {
        int plane = height * width, size = plane * channels;
        Check(rows.Length, y.Length, n, size, offset, stride);
        for (int s = 0; s < n; s++)
            ChannelLayout.ImageToChannelsLast(rows.Slice(s * stride + offset, size), y.Slice(s * size, size), channels, plane);
    }

    /// <summary>rows[s·stride + offset + c·H·W + h·W + w] = dy[s, h, w, c]: the inverse of <see cref="ToChannelsLast"/>, written over the columns.</summary>
    public static void ToChannelsFirst(ReadOnlySpan<float> dy, Span<float> rows, int n, int channels, int height, int width, int offset, int stride)
    {
        int plane = height * width, size = plane * channels;
        Check(rows.Length, dy.Length, n, size, offset, stride);
        for (int s = 0; s < n; s++)
            ChannelLayout.ImageToChannelsFirst(dy.Slice(s * size, size), rows.Slice(s * stride + offset, size), channels, plane);
    }

    private static void Check(int rows, int contiguous, int n, int size, int offset, int stride)
    {
        if (offset < 0 || offset + size > stride || rows < n * stride || contiguous < n * size)
            throw new ArgumentException($"{n} samples of {size} values at column {offset} of rows of {stride} need {n * stride} and {n * size} floats; got {rows} and {contiguous}.");
    }
}
