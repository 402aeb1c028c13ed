using System;

namespace Kiln.Kernels;

/// <summary>
/// Transposed convolution (learned upsampling). The geometry describes the forward convolution this
/// is the transpose of: g.Input* is this layer's output (H', W', filters), g.Output* its input
/// (H, W, inChannels), and the Keras kernel (kh, kw, filters, inChannels) is that convolution's kernel.
/// So forward is the convolution's data gradient, and backward reuses its forward and kernel gradient.
/// </summary>
public static unsafe class Conv2DTranspose
{
    /// <summary>y[n×H'×W'×filters] = act(convBackwardData(x, kernel) + bias[filters]); empty bias = none.</summary>
    public static void Forward<TAct>(ReadOnlySpan<float> x, ReadOnlySpan<float> kernel, ReadOnlySpan<float> bias, Span<float> y,
        int n, in Conv2DGeometry g, TAct activation) where TAct : struct, IActivation
    {
        Conv2D.CheckBatch(n);
        Activations.CheckLength(x.Length, checked(n * g.OutputSize), nameof(x));
        Conv2D.CheckKernel(kernel.Length, g);
        Conv2D.CheckBias(bias.Length, g.InputChannels, nameof(bias));
        Activations.CheckLength(y.Length, checked(n * g.InputSize), nameof(y));
        fixed (float* px = x, pk = kernel, pb = bias, py = y)
        {
            ConvCore.BackwardData(px, pk, py, n, g);
            ChannelSums.BiasActivation(py, bias.IsEmpty ? null : pb, (long)n * g.InputHeight * g.InputWidth, g.InputChannels, activation);
        }
    }

    /// <summary>
    /// dy (w.r.t. y) becomes dz = dy·act'(y) in place (y may be empty for Identity); dKernel and dBias
    /// are overwritten (empty dBias = no bias); dx is overwritten unless empty.
    /// </summary>
    public static void Backward<TAct>(ReadOnlySpan<float> x, ReadOnlySpan<float> kernel, ReadOnlySpan<float> y, Span<float> dy,
        Span<float> dKernel, Span<float> dBias, Span<float> dx, int n, in Conv2DGeometry g, TAct activation) where TAct : struct, IActivation
    {
        Conv2D.CheckBatch(n);
        int outputs = checked(n * g.InputSize);
        Activations.CheckLength(x.Length, checked(n * g.OutputSize), nameof(x));
        Conv2D.CheckKernel(kernel.Length, g);
        if (typeof(TAct) != typeof(Identity)) Activations.CheckLength(y.Length, outputs, nameof(y));
        Activations.CheckLength(dy.Length, outputs, nameof(dy));
        // An empty dKernel means the weights are frozen: only dx (and dBias) are wanted.
        if (!dKernel.IsEmpty) Activations.CheckLength(dKernel.Length, checked(g.PatchSize * g.OutputChannels), nameof(dKernel));
        Conv2D.CheckBias(dBias.Length, g.InputChannels, nameof(dBias));
        if (!dx.IsEmpty) Activations.CheckLength(dx.Length, checked(n * g.OutputSize), nameof(dx));
        fixed (float* px = x, pk = kernel, py = y, pdy = dy, pdk = dKernel, pdb = dBias, pdx = dx)
        {
            ChannelSums.ActivationBackwardAndSums(py, pdy, dBias.IsEmpty ? null : pdb, (long)n * g.InputHeight * g.InputWidth, g.InputChannels, activation);
            // The forward convolution's kernel gradient with its input = dz and its output gradient = x.
            if (!dKernel.IsEmpty) ConvCore.BackwardKernel(pdy, px, pdk, n, g);
            if (!dx.IsEmpty) ConvCore.Forward(pdy, pk, null, pdx, n, g, default(Identity));
        }
    }
}
