namespace Kiln.Graph;

/// <summary>How a Conv2D kernel computes its products.</summary>
public enum ConvolutionAlgorithm
{
    /// <summary>Not a convolution.</summary>
    None,
    /// <summary>Implicit GEMM: every window shape, stride and channel count.</summary>
    ImplicitGemm,
    /// <summary>
    /// Winograd: F(2×2, 3×3), 16 products per 2×2 outputs and channel pair instead of 36, or F(4×4, 3×3) on larger
    /// outputs, 36 per 4×4 instead of 144 (<see cref="KernelSelection.WinogradTile"/>); F(4×4, 5×5), 64 per 4×4
    /// instead of 400, or F(2×2, 5×5), 36 per 2×2 instead of 100, on the smallest outputs.
    /// </summary>
    Winograd,
    /// <summary>
    /// Direct convolution for a few input channels: the filters in the vector lanes, each tap one broadcast
    /// FMA, read from a zero-padded copy of the input rows. Forward only; the gradients are the implicit GEMM's.
    /// </summary>
    Direct,
}

/// <summary>
/// Picks each convolution's kernel variant from the shapes the model declares (they are constants,
/// so the choice is made once, here, and the emitter writes the matching call). Winograd F(2×2, 3×3)
/// is 1.7–1.8× faster than the implicit GEMM on 3×3 stride-1 layers with 32–128 channels on AVX-512
/// (benchmarks/Kiln.Benchmarks --only convlayers), and F(2×2, 5×5) 1.4–2.1× forward, 1.3–2.2× on the
/// data gradient and 1.25–2.1× on the kernel gradient on 5×5 layers with 32–256 channels (--only
/// winofive, 1 thread); its transforms run 16 channels per vector, so both
/// channel counts must be multiples of 16, and below 4×4 outputs the 2×2 tiles waste too much work.
/// The runtime kernel still falls back to the implicit GEMM on a CPU without AVX-512.
/// Any other window reading at most 16 channels (an image model's first layer: 1 or 3) runs the
/// direct convolution forward, which skips the implicit GEMM's gathering of patches only a few floats
/// deep: 1.7–7.5× (512-bit) and 1.4–4.9× (256-bit) faster forward at batch 64 for 1–8 channels, 3×3,
/// 5×5 and 7×7 stride 2, 1.0–1.3× on a 1×1 layer of 3 (--only firstconv, stop 61). At 16 channels the
/// implicit GEMM has since overtaken it alone (the direct form 0.74–0.94 of its speed), but in the
/// Fashion ResNet's step, whose two stage-2 layers read 16 channels, the GEMM ran 0.98–0.99 paired at
/// 512 bits and 1.01 at 256 (benchmarks/README.md, stop 61), so 16 stays. Backward keeps the implicit-GEMM gradients (a first
/// layer needs only the kernel gradient; no direct variant of it has been measured).
/// </summary>
public static class KernelSelection
{
    public const int WinogradChannelMultiple = 16;
    public const int WinogradMinOutputSide = 4;
    public const int DirectMaxInputChannels = 16;

    public static ConvolutionAlgorithm For(KernelGroup group)
    {
        var layer = group.First;
        if (layer.Spec is not ConvolutionSpec { Transposed: false } || group.Kind != KernelKind.Linear) return ConvolutionAlgorithm.None;
        var w = layer.Window;
        if (w is null) return ConvolutionAlgorithm.ImplicitGemm;
        bool winograd = w.KernelHeight is 3 or 5 && w.KernelWidth == w.KernelHeight && w.StrideHeight == 1 && w.StrideWidth == 1
            && layer.Input.Last % WinogradChannelMultiple == 0 && layer.Output.Last % WinogradChannelMultiple == 0
            && layer.Output[0] >= WinogradMinOutputSide && layer.Output[1] >= WinogradMinOutputSide;
        if (winograd) return ConvolutionAlgorithm.Winograd;
        return layer.Input.Last <= DirectMaxInputChannels ? ConvolutionAlgorithm.Direct : ConvolutionAlgorithm.ImplicitGemm;
    }

    /// <summary>
    /// The Winograd tile the runtime's forward pass and data gradient take for this output and window side (the
    /// header names it; WinogradConv2D.Tile decides at run time by the same rule, and a generator test checks
    /// that they agree): for a 3×3 window, 4 where F(4×4, 3×3)'s 36 products per 4×4 tile, counting padded
    /// edge tiles, are at most 80% of F(2×2, 3×3)'s 16 per 2×2 tile, else 2; for a 5×5 window the same
    /// rule with F(4×4, 5×5)'s 64 products against F(2×2, 5×5)'s 36.
    /// </summary>
    public static int WinogradTile(int outputHeight, int outputWidth, int window)
    {
        bool three = window == 3;
        long f2 = (three ? 16L : 36L) * ((outputHeight + 1) / 2) * ((outputWidth + 1) / 2);
        long f4 = (three ? 36L : 64L) * ((outputHeight + 3) / 4) * ((outputWidth + 3) / 4);
        return 5 * f4 <= 4 * f2 ? 4 : 2;
    }
}
