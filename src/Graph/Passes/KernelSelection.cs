namespace Kiln.Graph;

/// <summary>How a Conv2D kernel computes its products.</summary>
public enum ConvolutionAlgorithm
{
    /// <summary>Not a convolution.</summary>
    None,
    /// <summary>Implicit GEMM: every window shape, stride and channel count.</summary>
    ImplicitGemm,
    /// <summary>Winograd F(2×2, 3×3): 16 products per 2×2 outputs and channel pair instead of 36, forward and data gradient.</summary>
    Winograd,
}

/// <summary>
/// Picks each convolution's kernel variant from the shapes the model declares (they are constants,
/// so the choice is made once, here, and the emitter writes the matching call). Winograd F(2×2, 3×3)
/// is 1.7–1.8× faster than the implicit GEMM on 3×3 stride-1 layers with 32–128 channels on AVX-512
/// (benchmarks/Kiln.Benchmarks --only convlayers); its transforms run 16 channels per vector, so both
/// channel counts must be multiples of 16, and below 4×4 outputs the 2×2 tiles waste too much work.
/// The runtime kernel still falls back to the implicit GEMM on a CPU without AVX-512.
/// </summary>
public static class KernelSelection
{
    public const int WinogradChannelMultiple = 16;
    public const int WinogradMinOutputSide = 4;

    public static ConvolutionAlgorithm For(KernelGroup group)
    {
        var layer = group.First;
        if (layer.Spec is not ConvolutionSpec { Transposed: false } || group.Kind != KernelKind.Linear) return ConvolutionAlgorithm.None;
        var w = layer.Window;
        if (w is null) return ConvolutionAlgorithm.ImplicitGemm;
        bool winograd = w.KernelHeight == 3 && w.KernelWidth == 3 && w.StrideHeight == 1 && w.StrideWidth == 1
            && layer.Input.Last % WinogradChannelMultiple == 0 && layer.Output.Last % WinogradChannelMultiple == 0
            && layer.Output[0] >= WinogradMinOutputSide && layer.Output[1] >= WinogradMinOutputSide;
        return winograd ? ConvolutionAlgorithm.Winograd : ConvolutionAlgorithm.ImplicitGemm;
    }
}
