using System;

namespace Kiln;

/// <summary>Where the channel axis of an image sits (seed 002): NHWC, Keras' and Kiln's default, or NCHW, as CIFAR files and PyTorch store images.</summary>
public enum ChannelOrder
{
    /// <summary>(height, width, channels): "NHWC", Keras' <c>channels_last</c>.</summary>
    ChannelsLast,

    /// <summary>(channels, height, width): "NCHW", Keras' <c>channels_first</c>.</summary>
    ChannelsFirst,
}

/// <summary>
/// Converts images between NCHW and NHWC: what seed 002 does with <c>tf.reshape(image, [3, 32, 32])</c>
/// and <c>tf.transpose(image, [1, 2, 0])</c>, as one copy. Source and destination must not overlap.
/// </summary>
public static class ChannelLayout
{
    /// <summary>NCHW → NHWC for <paramref name="count"/> images of <paramref name="channels"/>×<paramref name="height"/>×<paramref name="width"/>.</summary>
    public static void NchwToNhwc<T>(ReadOnlySpan<T> nchw, Span<T> nhwc, int count, int channels, int height, int width)
    {
        int plane = Check(nchw.Length, nhwc.Length, count, channels, height, width, Overlap(nchw, nhwc));
        int size = plane * channels;
        for (int n = 0; n < count; n++)
            ImageToChannelsLast(nchw.Slice(n * size, size), nhwc.Slice(n * size, size), channels, plane);
    }

    /// <summary>NHWC → NCHW for <paramref name="count"/> images of <paramref name="height"/>×<paramref name="width"/>×<paramref name="channels"/>.</summary>
    public static void NhwcToNchw<T>(ReadOnlySpan<T> nhwc, Span<T> nchw, int count, int height, int width, int channels)
    {
        int plane = Check(nhwc.Length, nchw.Length, count, channels, height, width, Overlap(nhwc, nchw));
        int size = plane * channels;
        for (int n = 0; n < count; n++)
            ImageToChannelsFirst(nhwc.Slice(n * size, size), nchw.Slice(n * size, size), channels, plane);
    }

    /// <summary>One (C, H·W) image into (H·W, C), unchecked; also the generated channels-first input's transpose (Kernels.Layout).</summary>
    internal static void ImageToChannelsLast<T>(ReadOnlySpan<T> chw, Span<T> hwc, int channels, int plane)
    {
        for (int c = 0; c < channels; c++)
        {
            var p = chw.Slice(c * plane, plane);
            for (int i = 0; i < plane; i++) hwc[i * channels + c] = p[i];
        }
    }

    /// <summary>One (H·W, C) image into (C, H·W), unchecked: the inverse of <see cref="ImageToChannelsLast"/>.</summary>
    internal static void ImageToChannelsFirst<T>(ReadOnlySpan<T> hwc, Span<T> chw, int channels, int plane)
    {
        for (int c = 0; c < channels; c++)
        {
            var p = chw.Slice(c * plane, plane);
            for (int i = 0; i < plane; i++) p[i] = hwc[i * channels + c];
        }
    }

    /// <summary>
    /// A copy of a dataset of (C, H, W) samples as (H, W, C) samples; targets are shared. The
    /// alternative, without the copy, is to declare the model's input channels first,
    /// <c>[Sequential(3, 32, 32, DataFormat = DataFormat.ChannelsFirst)]</c>.
    /// </summary>
    public static Dataset ToChannelsLast(Dataset nchw)
    {
        ArgumentNullException.ThrowIfNull(nchw);
        var s = ImageShape(nchw, "ToChannelsLast", "(channels, height, width)");
        var features = new float[nchw.Features.Length];
        NchwToNhwc<float>(nchw.Features, features, nchw.Count, s[0], s[1], s[2]);
        return new Dataset(features, nchw.Targets, [s[1], s[2], s[0]], nchw.TargetSize) { SampleWeights = nchw.SampleWeights };
    }

    /// <summary>A copy of a dataset of (H, W, C) samples as (C, H, W) samples; targets are shared.</summary>
    public static Dataset ToChannelsFirst(Dataset nhwc)
    {
        ArgumentNullException.ThrowIfNull(nhwc);
        var s = ImageShape(nhwc, "ToChannelsFirst", "(height, width, channels)");
        var features = new float[nhwc.Features.Length];
        NhwcToNchw<float>(nhwc.Features, features, nhwc.Count, s[0], s[1], s[2]);
        return new Dataset(features, nhwc.Targets, [s[2], s[0], s[1]], nhwc.TargetSize) { SampleWeights = nhwc.SampleWeights };
    }

    private static int[] ImageShape(Dataset data, string what, string expected) =>
        data.SampleShape.Length == 3 ? data.SampleShape
            : throw new ArgumentException($"{what} needs samples of shape {expected}; this dataset's are ({Dataset.Shape(data.SampleShape)}).", nameof(data));

    private static bool Overlap<T>(ReadOnlySpan<T> a, Span<T> b) => a.Overlaps(b);

    private static int Check(int srcLength, int dstLength, int count, int channels, int height, int width, bool overlap)
    {
        if (count < 0 || channels <= 0 || height <= 0 || width <= 0)
            throw new ArgumentOutOfRangeException(nameof(count), $"count {count}, channels {channels}, height {height}, width {width}: sizes must be positive (count may be 0).");
        long size = (long)count * channels * height * width;
        if (srcLength != size || dstLength != size)
            throw new ArgumentException($"{count} images of {channels}×{height}×{width} are {size} values; the source holds {srcLength} and the destination {dstLength}.");
        if (overlap && size > 0)
            throw new ArgumentException("The source and destination overlap; a layout change needs a separate destination.");
        return height * width;
    }
}
