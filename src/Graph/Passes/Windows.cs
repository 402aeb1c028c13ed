using System;

namespace Kiln.Graph;

/// <summary>
/// A 2-D window (convolution or pooling) on a channels-last image: sizes, strides and the
/// padding Keras/TensorFlow would use, so output shapes match Keras exactly.
/// </summary>
public sealed record Window(
    int InputHeight, int InputWidth, int InputChannels,
    int OutputHeight, int OutputWidth, int OutputChannels,
    int KernelHeight, int KernelWidth, int StrideHeight, int StrideWidth,
    int PadTop, int PadLeft, int PadBottom, int PadRight)
{
    /// <summary>valid: ⌊(n − k)/s⌋ + 1; same: ⌈n/s⌉ (TensorFlow's rule).</summary>
    public static int OutputSize(int n, int k, int s, PaddingKind padding) =>
        padding == PaddingKind.Same ? (n + s - 1) / s : n < k ? 0 : (n - k) / s + 1;

    /// <summary>Padding before and after for 'same': total max((out − 1)·s + k − n, 0), the extra one after.</summary>
    public static (int Before, int After) Pads(int n, int k, int s, PaddingKind padding)
    {
        if (padding == PaddingKind.Valid) return (0, 0);
        int output = OutputSize(n, k, s, padding);
        int total = Math.Max((output - 1) * s + k - n, 0);
        return (total / 2, total - total / 2);
    }

    public static Window Forward(Shape input, int channelsOut, int kh, int kw, int sh, int sw, PaddingKind padding)
    {
        int oh = OutputSize(input[0], kh, sh, padding), ow = OutputSize(input[1], kw, sw, padding);
        var (top, bottom) = Pads(input[0], kh, sh, padding);
        var (left, right) = Pads(input[1], kw, sw, padding);
        return new Window(input[0], input[1], input[2], oh, ow, channelsOut, kh, kw, sh, sw, top, left, bottom, right);
    }

    /// <summary>
    /// The forward convolution a Conv2DTranspose is the transpose of: from its output
    /// (n·s for same, (n − 1)·s + max(k, s) for valid) back to its input.
    /// </summary>
    public static Window ForTranspose(Shape input, int filters, int kh, int kw, int sh, int sw, PaddingKind padding)
    {
        int oh = Shape.Dim(padding == PaddingKind.Same ? (long)input[0] * sh : (input[0] - 1L) * sh + Math.Max(kh, sh));
        int ow = Shape.Dim(padding == PaddingKind.Same ? (long)input[1] * sw : (input[1] - 1L) * sw + Math.Max(kw, sw));
        var forward = Forward(new Shape(oh, ow, filters), input[2], kh, kw, sh, sw, padding);
        return forward;
    }

    /// <summary>Rows or columns at the bottom/right that no window reaches (valid padding only).</summary>
    public int DroppedRows => Math.Max(0, InputHeight + PadTop + PadBottom - ((OutputHeight - 1) * StrideHeight + KernelHeight));
    public int DroppedColumns => Math.Max(0, InputWidth + PadLeft + PadRight - ((OutputWidth - 1) * StrideWidth + KernelWidth));
}
