using System;

namespace Kiln.Kernels;

/// <summary>
/// One 2-D window operation on channels-last images: input (H, W, C) → output (OH, OW, OC) with a
/// kh × kw window, strides and explicit top/left padding. Bottom/right padding is implied by the
/// sizes (Keras 'same' puts the extra pixel there); padded positions are zeros for convolution and
/// never count for pooling.
/// </summary>
public readonly struct Conv2DGeometry
{
    public Conv2DGeometry(int inputHeight, int inputWidth, int inputChannels, int outputHeight, int outputWidth, int outputChannels,
        int kernelHeight, int kernelWidth, int strideHeight, int strideWidth, int padTop, int padLeft)
    {
        Positive(inputHeight, nameof(inputHeight));
        Positive(inputWidth, nameof(inputWidth));
        Positive(inputChannels, nameof(inputChannels));
        Positive(outputHeight, nameof(outputHeight));
        Positive(outputWidth, nameof(outputWidth));
        Positive(outputChannels, nameof(outputChannels));
        Positive(kernelHeight, nameof(kernelHeight));
        Positive(kernelWidth, nameof(kernelWidth));
        Positive(strideHeight, nameof(strideHeight));
        Positive(strideWidth, nameof(strideWidth));
        // A pad of a whole kernel (or more) would make windows of padding only.
        if (padTop < 0 || padTop >= kernelHeight)
            throw new ArgumentOutOfRangeException(nameof(padTop), padTop, $"padTop must be in [0, {kernelHeight}) for a kernel of height {kernelHeight}");
        if (padLeft < 0 || padLeft >= kernelWidth)
            throw new ArgumentOutOfRangeException(nameof(padLeft), padLeft, $"padLeft must be in [0, {kernelWidth}) for a kernel of width {kernelWidth}");
        // Every window must start inside the input (then, with pad < kernel, it also overlaps it).
        if ((long)(outputHeight - 1) * strideHeight - padTop > inputHeight - 1)
            throw new ArgumentException($"output height {outputHeight} is too large: with stride {strideHeight} and padTop {padTop} the last window starts below the {inputHeight} input rows", nameof(outputHeight));
        if ((long)(outputWidth - 1) * strideWidth - padLeft > inputWidth - 1)
            throw new ArgumentException($"output width {outputWidth} is too large: with stride {strideWidth} and padLeft {padLeft} the last window starts right of the {inputWidth} input columns", nameof(outputWidth));
        if ((long)inputHeight * inputWidth * inputChannels > int.MaxValue || (long)outputHeight * outputWidth * outputChannels > int.MaxValue
            || (long)kernelHeight * kernelWidth * inputChannels > int.MaxValue)
            throw new ArgumentException("a per-sample tensor of this geometry has more than int.MaxValue elements");

        InputHeight = inputHeight; InputWidth = inputWidth; InputChannels = inputChannels;
        OutputHeight = outputHeight; OutputWidth = outputWidth; OutputChannels = outputChannels;
        KernelHeight = kernelHeight; KernelWidth = kernelWidth;
        StrideHeight = strideHeight; StrideWidth = strideWidth;
        PadTop = padTop; PadLeft = padLeft;
    }

    public int InputHeight { get; }
    public int InputWidth { get; }
    public int InputChannels { get; }
    public int OutputHeight { get; }
    public int OutputWidth { get; }
    public int OutputChannels { get; }
    public int KernelHeight { get; }
    public int KernelWidth { get; }
    public int StrideHeight { get; }
    public int StrideWidth { get; }
    public int PadTop { get; }
    public int PadLeft { get; }

    /// <summary>H·W·C: floats per sample of the input.</summary>
    public int InputSize => InputHeight * InputWidth * InputChannels;

    /// <summary>OH·OW·OC: floats per sample of the output.</summary>
    public int OutputSize => OutputHeight * OutputWidth * OutputChannels;

    /// <summary>kh·kw·C: the rows of the convolution kernel seen as a matrix (the GEMM depth).</summary>
    public int PatchSize => KernelHeight * KernelWidth * InputChannels;

    /// <summary>Padding below the last input row implied by the sizes (0 when the last rows are unused).</summary>
    public int PadBottom => Math.Max(0, (OutputHeight - 1) * StrideHeight + KernelHeight - InputHeight - PadTop);

    /// <summary>Padding right of the last input column implied by the sizes.</summary>
    public int PadRight => Math.Max(0, (OutputWidth - 1) * StrideWidth + KernelWidth - InputWidth - PadLeft);

    /// <summary>True when the window is one pixel, unstrided and unpadded: the input is already the im2col matrix.</summary>
    public bool IsPointwise => KernelHeight == 1 && KernelWidth == 1 && StrideHeight == 1 && StrideWidth == 1
        && PadTop == 0 && PadLeft == 0 && OutputHeight == InputHeight && OutputWidth == InputWidth;

    public override string ToString() =>
        $"({InputHeight}, {InputWidth}, {InputChannels}) -> ({OutputHeight}, {OutputWidth}, {OutputChannels}), kernel {KernelHeight}x{KernelWidth}, strides {StrideHeight}x{StrideWidth}, pad top {PadTop} left {PadLeft}";

    private static void Positive(int value, string name)
    {
        if (value < 1) throw new ArgumentOutOfRangeException(name, value, $"{name} must be positive");
    }
}
