using System;

namespace Kiln.Kernels;

/// <summary>
/// 2-D convolution on NHWC batches, kernel in the Keras (kh, kw, inChannels, filters) layout, which
/// is already the (kh·kw·C) × filters matrix of the implicit GEMM.
/// </summary>
public static unsafe class Conv2D
{
    /// <summary>y[n×OH×OW×F] = act(conv(x, kernel) + bias); empty bias = none.</summary>
    public static void Forward<TAct>(ReadOnlySpan<float> x, ReadOnlySpan<float> kernel, ReadOnlySpan<float> bias, Span<float> y,
        int n, in Conv2DGeometry g, TAct activation) where TAct : struct, IActivation
    {
        CheckForward(x.Length, kernel.Length, bias.Length, y.Length, n, g);
        fixed (float* px = x, pk = kernel, pb = bias, py = y)
            ConvCore.Forward(px, pk, bias.IsEmpty ? null : pb, py, n, g, activation);
    }

    /// <summary>
    /// dy (w.r.t. y) becomes dz = dy·act'(y) in place (y may be empty for Identity); dKernel and dBias
    /// are overwritten (empty dBias = no bias); dx is overwritten unless empty, or with
    /// <paramref name="accumulate"/> added to (it holds another reader's part), which a strided or 1 × 1
    /// layer does as it computes it, with no pass of its own.
    /// </summary>
    public static void Backward<TAct>(ReadOnlySpan<float> x, ReadOnlySpan<float> kernel, ReadOnlySpan<float> y, Span<float> dy,
        Span<float> dKernel, Span<float> dBias, Span<float> dx, int n, in Conv2DGeometry g, TAct activation, bool accumulate = false) where TAct : struct, IActivation
    {
        CheckBackward(x.Length, kernel.Length, y.Length, dy.Length, dKernel.Length, dBias.Length, dx.Length, n, g, typeof(TAct) != typeof(Identity));
        long pixels = (long)n * g.OutputHeight * g.OutputWidth;
        fixed (float* px = x, pk = kernel, py = y, pdy = dy, pdk = dKernel, pdb = dBias, pdx = dx)
        {
            ChannelSums.ActivationBackwardAndSums(py, pdy, dBias.IsEmpty ? null : pdb, pixels, g.OutputChannels, activation);
            if (!dKernel.IsEmpty) ConvCore.BackwardKernel(px, pdy, pdk, n, g);
            if (!dx.IsEmpty) ConvCore.BackwardData(pdy, pk, pdx, n, g, accumulate);
        }
    }

    internal static void CheckForward(int x, int kernel, int bias, int y, int n, in Conv2DGeometry g)
    {
        CheckBatch(n);
        Activations.CheckLength(x, checked(n * g.InputSize), nameof(x));
        CheckKernel(kernel, g);
        CheckBias(bias, g.OutputChannels, nameof(bias));
        Activations.CheckLength(y, checked(n * g.OutputSize), nameof(y));
    }

    /// <summary>Lengths for a backward call; 0 for dKernel (frozen weights), dBias or dx means "not wanted".</summary>
    internal static void CheckBackward(int x, int kernel, int y, int dy, int dKernel, int dBias, int dx, int n, in Conv2DGeometry g, bool readsOutput)
    {
        CheckBatch(n);
        int outputs = checked(n * g.OutputSize);
        Activations.CheckLength(x, checked(n * g.InputSize), nameof(x));
        CheckKernel(kernel, g);
        if (readsOutput) Activations.CheckLength(y, outputs, nameof(y));
        Activations.CheckLength(dy, outputs, nameof(dy));
        if (dKernel != 0) Activations.CheckLength(dKernel, checked(g.PatchSize * g.OutputChannels), nameof(dKernel));
        CheckBias(dBias, g.OutputChannels, nameof(dBias));
        if (dx != 0) Activations.CheckLength(dx, checked(n * g.InputSize), nameof(dx));
    }

    internal static void CheckBatch(int n)
    {
        if (n < 0) throw new ArgumentOutOfRangeException(nameof(n), n, "batch size must not be negative");
    }

    internal static void CheckKernel(int length, in Conv2DGeometry g)
    {
        long need = (long)g.PatchSize * g.OutputChannels;
        if (length != need)
            throw new ArgumentException($"kernel has {length} floats but ({g.KernelHeight}, {g.KernelWidth}, {g.InputChannels}, {g.OutputChannels}) needs {need}", "kernel");
    }

    internal static void CheckBias(int length, int channels, string name)
    {
        if (length != 0 && length != channels)
            throw new ArgumentException($"{name} has {length} values but the layer has {channels} filters (pass an empty span for no bias)", name);
    }
}
