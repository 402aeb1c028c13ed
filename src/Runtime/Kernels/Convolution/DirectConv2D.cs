using System;

namespace Kiln.Kernels;

/// <summary>
/// Direct convolution for layers whose patch is only a few values deep (kh·kw·C small: the first
/// layer of an image model, C = 1 or 3), with the same contract as <see cref="Conv2D"/>. The implicit
/// GEMM spends most of such a layer gathering patches of a handful of floats; here each output pixel
/// reads its taps straight from a zero-padded band of input rows, every tap is one broadcast against
/// a vector of filters (the filters lie in the vector lanes), and bias and activation are applied as
/// the tile is stored. The generator picks it per layer from the shapes (Kiln.Graph's
/// KernelSelection). Forward only: the generated backward is <see cref="Conv2D.Backward"/>, whose
/// gradients do not depend on how the forward pass was computed.
/// </summary>
public static unsafe class DirectConv2D
{
    /// <summary>y[n×OH×OW×F] = act(conv(x, kernel) + bias); empty bias = none.</summary>
    public static void Forward<TAct>(ReadOnlySpan<float> x, ReadOnlySpan<float> kernel, ReadOnlySpan<float> bias, Span<float> y,
        int n, in Conv2DGeometry g, TAct activation) where TAct : struct, IActivation
    {
        Conv2D.CheckForward(x.Length, kernel.Length, bias.Length, y.Length, n, g);
        fixed (float* px = x, pk = kernel, pb = bias, py = y)
            DirectCore.Forward(px, pk, bias.IsEmpty ? null : pb, py, n, g, activation);
    }

    /// <summary>
    /// pooled[n×⌊OH/2⌋×⌊OW/2⌋×F] = MaxPooling2D(2×2, strides 2, valid) of act(conv(x, kernel) + bias), for
    /// inference: on the vector paths each pooling window is one register tile of its four pixels, pooled as
    /// it is stored, so the unpooled output is never written (the scalar path pools each band of an even
    /// number of rows from a per-thread buffer). The same bits as
    /// <see cref="Forward"/> then <see cref="Pooling.MaxForward(ReadOnlySpan{float}, Span{float}, int, in Conv2DGeometry)"/>.
    /// </summary>
    public static void ForwardMaxPool2x2<TAct>(ReadOnlySpan<float> x, ReadOnlySpan<float> kernel, ReadOnlySpan<float> bias, Span<float> pooled,
        int n, in Conv2DGeometry g, TAct activation) where TAct : struct, IActivation
    {
        Conv2D.CheckForward(x.Length, kernel.Length, bias.Length, n * g.OutputSize, n, g);
        Activations.CheckLength(pooled.Length, checked(n * Pooling.TwoByTwoOver(g).OutputSize), nameof(pooled));
        fixed (float* px = x, pk = kernel, pb = bias, py = pooled)
            DirectCore.Forward(px, pk, bias.IsEmpty ? null : pb, py, n, g, activation, pool: true);
    }

    /// <summary>
    /// As above, for training: also each window's winner as <see cref="Pooling.MaxForward(ReadOnlySpan{float}, Span{float}, Span{int}, int, in Conv2DGeometry)"/>
    /// gives it (its flat index within the sample's unpooled output; the first of equal maxima), taken in the
    /// registers of the window's tile. The same bits and indices as <see cref="Forward"/> then that pooling.
    /// </summary>
    public static void ForwardMaxPool2x2<TAct>(ReadOnlySpan<float> x, ReadOnlySpan<float> kernel, ReadOnlySpan<float> bias, Span<float> pooled, Span<int> argmax,
        int n, in Conv2DGeometry g, TAct activation) where TAct : struct, IActivation
    {
        Conv2D.CheckForward(x.Length, kernel.Length, bias.Length, n * g.OutputSize, n, g);
        int outputs = checked(n * Pooling.TwoByTwoOver(g).OutputSize);
        Activations.CheckLength(pooled.Length, outputs, nameof(pooled));
        if (argmax.Length < outputs) throw new ArgumentException($"{nameof(argmax)} has {argmax.Length} indices but the pooling writes {outputs}", nameof(argmax));
        fixed (float* px = x, pk = kernel, pb = bias, py = pooled)
        fixed (int* pa = argmax)
            DirectCore.Forward(px, pk, bias.IsEmpty ? null : pb, py, n, g, activation, pool: true, argmax: pa);
    }
}
