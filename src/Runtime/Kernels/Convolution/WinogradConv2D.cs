using System;

namespace Kiln.Kernels;

/// <summary>
/// The 3×3 and 5×5 stride-1 convolutions as Winograd products: the same contract as <see cref="Conv2D"/>,
/// with fewer multiplications in all three products: the forward pass, the data gradient (itself a
/// stride-1 convolution of dz with the rotated kernel) and the kernel gradient (the forward transforms'
/// adjoint). A 3×3 window takes F(2×2, 3×3) (2.25× fewer), or F(4×4, 3×3) (4× fewer) where the geometry
/// makes it clearly cheaper (<see cref="Tile"/>; the kernel gradient where the output also fills whole
/// 4×4 tiles and blocks hold enough of them); a 5×5 window takes F(4×4, 5×5) (6.25× fewer), or F(2×2, 5×5)
/// (2.8× fewer) on outputs of 2×2 or less (the kernel gradient: where the output does not fill whole 4×4 tiles). The generator picks this
/// variant per layer when <see cref="Applies"/> holds for the layer's constant shapes; on the scalar
/// path it runs the <see cref="Conv2D"/> kernels.
/// </summary>
public static unsafe class WinogradConv2D
{
    /// <summary>
    /// Sets <see cref="ForcedTile"/> for every process that reads it: <c>2</c> or <c>4</c>; unset or
    /// empty: chosen per layer from its geometry. Any other value is an error at the first Winograd call.
    /// </summary>
    public const string TileVariable = "KILN_WINOGRAD_TILE";

    private static int s_forcedTile = -1;

    /// <summary>
    /// The tile every Winograd product takes (the kernel gradient included): 2 (F(2×2, 3×3) or F(2×2, 5×5)),
    /// 4 (F(4×4, 3×3) or F(4×4, 5×5)), or 0 to choose per layer from its geometry (the default, and what the
    /// generated header names). For benchmarks and tests that compare the two; starts from <see cref="TileVariable"/>.
    /// </summary>
    public static int ForcedTile
    {
        get
        {
            if (s_forcedTile < 0) s_forcedTile = ParseTile(Environment.GetEnvironmentVariable(TileVariable));
            return s_forcedTile;
        }
        set
        {
            if (value is not (0 or 2 or 4)) throw new ArgumentOutOfRangeException(nameof(value), value, "a Winograd tile is 2 or 4 (0: chosen per layer)");
            s_forcedTile = value;
        }
    }

    internal static int ParseTile(string? text) => string.IsNullOrWhiteSpace(text) ? 0 : text.Trim() switch
    {
        "2" => 2,
        "4" => 4,
        _ => throw new ArgumentException($"{TileVariable}='{text}' is not a Winograd tile: use 2 or 4, or leave it unset", nameof(text)),
    };

    /// <summary>Channel counts must fill whole 16-lane vectors, as the transforms run across channels.</summary>
    public const int ChannelMultiple = 16;

    /// <summary>The tile the forward pass and the data gradient take for <paramref name="g"/>: 4 (F(4×4, 3×3) or F(4×4, 5×5)) or 2 (F(2×2, 3×3) or F(2×2, 5×5)); honours <see cref="ForcedTile"/>.</summary>
    public static int Tile(in Conv2DGeometry g) => WinogradCore.ForwardAlgorithm(g).Tile();

    /// <summary>True for a 3×3 or 5×5, stride-1 window whose input and output channels are multiples of 16.</summary>
    public static bool Applies(in Conv2DGeometry g) =>
        g.KernelHeight is 3 or 5 && g.KernelWidth == g.KernelHeight && g.StrideHeight == 1 && g.StrideWidth == 1
        && g.InputChannels % ChannelMultiple == 0 && g.OutputChannels % ChannelMultiple == 0;

    /// <summary>y[n×OH×OW×F] = act(conv(x, kernel) + bias); empty bias = none.</summary>
    public static void Forward<TAct>(ReadOnlySpan<float> x, ReadOnlySpan<float> kernel, ReadOnlySpan<float> bias, Span<float> y,
        int n, in Conv2DGeometry g, TAct activation) where TAct : struct, IActivation
    {
        Require(g);
        Conv2D.CheckForward(x.Length, kernel.Length, bias.Length, y.Length, n, g);
        fixed (float* px = x, pk = kernel, pb = bias, py = y)
        {
            float* b = bias.IsEmpty ? null : pb;
            if (Simd.Use16Lanes) WinogradCore.Run(px, pk, false, b, py, n, g, activation);
            else ConvCore.Forward(px, pk, b, py, n, g, activation);
        }
    }

    /// <summary>
    /// pooled[n×⌊OH/2⌋×⌊OW/2⌋×F] = MaxPooling2D(2×2, strides 2, valid) of act(conv(x, kernel) + bias), for
    /// inference: each Winograd tile is the 2×2 window of one pooled value, so the tile's four outputs are
    /// reduced as they are stored and the unpooled output is never written (nor read back by a pooling
    /// pass). The same bits as <see cref="Forward"/> then <see cref="Pooling.MaxForward(ReadOnlySpan{float}, Span{float}, int, in Conv2DGeometry)"/>:
    /// the window is compared in the same order with the same comparison. On the scalar path it runs exactly
    /// those two kernels through a per-thread scratch buffer.
    /// </summary>
    public static void ForwardMaxPool2x2<TAct>(ReadOnlySpan<float> x, ReadOnlySpan<float> kernel, ReadOnlySpan<float> bias, Span<float> pooled,
        int n, in Conv2DGeometry g, TAct activation) where TAct : struct, IActivation
    {
        Require(g);
        Conv2D.CheckForward(x.Length, kernel.Length, bias.Length, n * g.OutputSize, n, g);
        var window = Pooling.TwoByTwoOver(g);
        Activations.CheckLength(pooled.Length, checked(n * window.OutputSize), nameof(pooled));
        fixed (float* px = x, pk = kernel, pb = bias, py = pooled)
        {
            float* b = bias.IsEmpty ? null : pb;
            if (Simd.Use16Lanes)
            {
                WinogradCore.Run(px, pk, false, b, py, n, g, activation, pool: true);
                return;
            }
            long size = (long)n * g.OutputSize;
            float* y = ConvScratch.Current.Floats(ConvScratch.PoolSourceSlot, size);
            ConvCore.Forward(px, pk, b, y, n, g, activation);
            Pooling.MaxForward(new ReadOnlySpan<float>(y, checked((int)size)), pooled, n, window);
        }
    }

    /// <summary>
    /// dy (w.r.t. y) becomes dz = dy·act'(y) in place (y may be empty for Identity); dKernel and dBias
    /// are overwritten (empty dBias = no bias, empty dKernel = frozen); dx is overwritten unless empty.
    /// </summary>
    public static void Backward<TAct>(ReadOnlySpan<float> x, ReadOnlySpan<float> kernel, ReadOnlySpan<float> y, Span<float> dy,
        Span<float> dKernel, Span<float> dBias, Span<float> dx, int n, in Conv2DGeometry g, TAct activation) where TAct : struct, IActivation
    {
        Require(g);
        Conv2D.CheckBackward(x.Length, kernel.Length, y.Length, dy.Length, dKernel.Length, dBias.Length, dx.Length, n, g, typeof(TAct) != typeof(Identity));
        long pixels = (long)n * g.OutputHeight * g.OutputWidth;
        fixed (float* px = x, pk = kernel, py = y, pdy = dy, pdk = dKernel, pdb = dBias, pdx = dx)
        {
            ChannelSums.ActivationBackwardAndSums(py, pdy, dBias.IsEmpty ? null : pdb, pixels, g.OutputChannels, activation);
            if (!dKernel.IsEmpty && !dx.IsEmpty && Simd.Use16Lanes && ConvCore.DataGeometry(g) is { } both)
            {
                WinogradCore.Backward(px, pk, pdy, pdk, pdx, n, g, both);
                return;
            }
            if (!dKernel.IsEmpty)
            {
                if (Simd.Use16Lanes) WinogradCore.KernelGradient(px, pdy, pdk, n, g);
                else ConvCore.BackwardKernel(px, pdy, pdk, n, g);
            }
            if (dx.IsEmpty) return;
            if (Simd.Use16Lanes && ConvCore.DataGeometry(g) is { } back) WinogradCore.Run(pdy, pk, true, null, pdx, n, back, default(Identity));
            else ConvCore.BackwardData(pdy, pk, pdx, n, g);
        }
    }

    private static void Require(in Conv2DGeometry g)
    {
        if (!Applies(g))
            throw new ArgumentException($"Winograd needs a 3x3 or 5x5 stride-1 window with channel counts that are multiples of {ChannelMultiple}; {g} is not (use Conv2D)", nameof(g));
    }
}
