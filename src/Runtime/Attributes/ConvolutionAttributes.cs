namespace Kiln;

/// <summary>
/// What Conv2D and Conv2DTranspose share: filters, a window, strides, padding, activation, bias.
/// Positional arguments are Keras': <c>(filters, kernel_size, strides)</c>, so
/// <c>[Conv2D(64, 7, 2)]</c> is a 7×7 kernel with stride 2. A rectangular window is
/// <see cref="KernelHeight"/>/<see cref="KernelWidth"/> by name, each overriding one side of
/// <c>kernelSize</c> (<c>[Conv2D(64, 7, KernelWidth = 1)]</c> is 7×1), as
/// <see cref="StrideHeight"/>/<see cref="StrideWidth"/> override one side of <see cref="Strides"/>.
/// </summary>
public abstract class ConvolutionAttribute : LayerAttribute
{
    private protected ConvolutionAttribute(int filters, int kernelSize, int strides)
    {
        Filters = filters;
        KernelSize = kernelSize;
        Strides = strides;
    }

    public int Filters { get; }

    /// <summary>The side of a square window; <see cref="KernelHeight"/>/<see cref="KernelWidth"/> override one.</summary>
    public int KernelSize { get; }

    /// <summary>0 (the default) means <see cref="KernelSize"/>.</summary>
    public int KernelHeight { get; set; }

    /// <summary>0 (the default) means <see cref="KernelSize"/>.</summary>
    public int KernelWidth { get; set; }

    /// <summary>
    /// Step in both directions, Keras' <c>strides</c> (also the third positional argument; write it
    /// once); <see cref="StrideHeight"/>/<see cref="StrideWidth"/> override one.
    /// </summary>
    public int Strides { get; set; }
    public int StrideHeight { get; set; }
    public int StrideWidth { get; set; }
    public Padding Padding { get; set; } = Padding.Valid;
    public Activation Activation { get; set; } = Activation.Linear;
    public bool UseBias { get; set; } = true;

    /// <summary>Keras' <c>kernel_regularizer=L1(l1)</c>: l1·Σ|kernel| joins the loss each batch (0, the default: none).</summary>
    public double KernelL1 { get; set; }

    /// <summary>Keras' <c>kernel_regularizer=L2(l2)</c>: l2·Σkernel² joins the loss each batch (0, the default: none). With <see cref="KernelL1"/>, Keras' <c>L1L2</c>.</summary>
    public double KernelL2 { get; set; }

    /// <summary>Keras' <c>bias_regularizer=L1(l1)</c>: l1·Σ|bias| joins the loss each batch (0, the default: none).</summary>
    public double BiasL1 { get; set; }

    /// <summary>Keras' <c>bias_regularizer=L2(l2)</c>: l2·Σbias² joins the loss each batch (0, the default: none).</summary>
    public double BiasL2 { get; set; }
}

/// <summary>
/// 2-D convolution over channels-last images: <c>activation(conv(x, kernel) + bias)</c>, kernel
/// (kh, kw, in, filters). Keras' <c>Conv2D(filters, kernel_size, strides=1)</c>.
/// </summary>
public sealed class Conv2DAttribute : ConvolutionAttribute
{
    /// <summary>A square <paramref name="kernelSize"/> × <paramref name="kernelSize"/> window, stride 1.</summary>
    public Conv2DAttribute(int filters, int kernelSize)
        : base(filters, kernelSize, 1) { }

    /// <summary>As Keras' <c>Conv2D(filters, kernel_size, strides)</c>: <c>[Conv2D(64, 7, 2)]</c> is a 7×7 kernel with stride 2.</summary>
    public Conv2DAttribute(int filters, int kernelSize, int strides)
        : base(filters, kernelSize, strides) { }
}

/// <summary>
/// Transposed convolution (learned upsampling), kernel (kh, kw, filters, in) as Keras stores it.
/// Keras' <c>Conv2DTranspose(filters, kernel_size, strides=1)</c>: <c>[Conv2DTranspose(32, 2, 2)]</c>
/// doubles height and width.
/// </summary>
public sealed class Conv2DTransposeAttribute : ConvolutionAttribute
{
    public Conv2DTransposeAttribute(int filters, int kernelSize)
        : base(filters, kernelSize, 1) { }

    public Conv2DTransposeAttribute(int filters, int kernelSize, int strides)
        : base(filters, kernelSize, strides) { }
}

/// <summary>
/// What the windowed poolings share. Positional arguments are Keras' <c>(pool_size, strides)</c>,
/// strides defaulting to the pool size: <c>[MaxPooling2D(3, 2)]</c> is a 3×3 window with stride 2.
/// A rectangular window is <see cref="PoolHeight"/>/<see cref="PoolWidth"/> by name, each overriding
/// one side of <c>poolSize</c>.
/// </summary>
public abstract class PoolingAttribute : LayerAttribute
{
    private protected PoolingAttribute(int poolSize, int strides)
    {
        PoolSize = poolSize;
        Strides = strides;
    }

    /// <summary>The side of a square window; <see cref="PoolHeight"/>/<see cref="PoolWidth"/> override one.</summary>
    public int PoolSize { get; }

    /// <summary>0 (the default) means <see cref="PoolSize"/>.</summary>
    public int PoolHeight { get; set; }

    /// <summary>0 (the default) means <see cref="PoolSize"/>.</summary>
    public int PoolWidth { get; set; }

    /// <summary>Keras' <c>strides</c> (also the second positional argument; write it once). 0 (the default) means the window.</summary>
    public int Strides { get; set; }
    public int StrideHeight { get; set; }
    public int StrideWidth { get; set; }
    public Padding Padding { get; set; } = Padding.Valid;
}

/// <summary>Max over each window; padding never wins. Keras' <c>MaxPooling2D(pool_size=2, strides=None)</c>.</summary>
public sealed class MaxPooling2DAttribute : PoolingAttribute
{
    public MaxPooling2DAttribute(int poolSize = 2)
        : base(poolSize, 0) { }

    public MaxPooling2DAttribute(int poolSize, int strides)
        : base(poolSize, strides) { }
}

/// <summary>Mean over each window (padded positions are not counted). Keras' <c>AveragePooling2D(pool_size=2, strides=None)</c>.</summary>
public sealed class AveragePooling2DAttribute : PoolingAttribute
{
    public AveragePooling2DAttribute(int poolSize = 2)
        : base(poolSize, 0) { }

    public AveragePooling2DAttribute(int poolSize, int strides)
        : base(poolSize, strides) { }
}

/// <summary>Mean over height and width: (h, w, c) → (c).</summary>
public sealed class GlobalAveragePooling2DAttribute : LayerAttribute { }

/// <summary>Max over height and width: (h, w, c) → (c).</summary>
public sealed class GlobalMaxPooling2DAttribute : LayerAttribute { }

/// <summary>
/// Batch normalization over the last axis (channels). Keras defaults: momentum 0.99,
/// epsilon 1e-3; batch statistics in training, moving statistics in inference.
/// </summary>
public sealed class BatchNormalizationAttribute : LayerAttribute
{
    public double Momentum { get; set; } = 0.99;
    public double Epsilon { get; set; } = 1e-3;

    /// <summary>Learn an offset (beta).</summary>
    public bool Center { get; set; } = true;

    /// <summary>Learn a scale (gamma).</summary>
    public bool Scale { get; set; } = true;

    /// <summary>
    /// Keras 3's <c>synchronized=True</c> (formerly <c>SyncBatchNormalization</c>): in a data-parallel
    /// <c>Fit(..., distributed:)</c>, training normalizes by the statistics of the global batch, summed
    /// over the ranks, rather than by each rank's own samples, and the backward pass sums its
    /// per-channel gradient terms over the ranks too, so N ranks of batch b train as one process of
    /// batch N·b. Without ranks (one process, Predict, Evaluate) it is the same as a plain
    /// BatchNormalization. Costs three small allreduces per layer and step (docs/distributed.md).
    /// </summary>
    public bool Synchronized { get; set; }

    /// <summary>Keras' <c>gamma_regularizer=L1(l1)</c>: l1·Σ|gamma| joins the loss each batch (0, the default: none). With <see cref="GammaL2"/>, Keras' <c>L1L2</c>.</summary>
    public double GammaL1 { get; set; }

    /// <summary>Keras' <c>gamma_regularizer=L2(l2)</c>: l2·Σgamma² joins the loss each batch (0, the default: none).</summary>
    public double GammaL2 { get; set; }

    /// <summary>Keras' <c>beta_regularizer=L1(l1)</c>: l1·Σ|beta| joins the loss each batch (0, the default: none). With <see cref="BetaL2"/>, Keras' <c>L1L2</c>.</summary>
    public double BetaL1 { get; set; }

    /// <summary>Keras' <c>beta_regularizer=L2(l2)</c>: l2·Σbeta² joins the loss each batch (0, the default: none).</summary>
    public double BetaL2 { get; set; }
}

/// <summary>Nearest-neighbour upsampling by repeating rows and columns.</summary>
public sealed class UpSampling2DAttribute : LayerAttribute
{
    public UpSampling2DAttribute(int size = 2)
        : this(size, size) { }

    public UpSampling2DAttribute(int sizeHeight, int sizeWidth)
    {
        SizeHeight = sizeHeight;
        SizeWidth = sizeWidth;
    }

    public int SizeHeight { get; }
    public int SizeWidth { get; }
}

/// <summary>Adds rows and columns of zeros around each image.</summary>
public sealed class ZeroPadding2DAttribute : LayerAttribute
{
    public ZeroPadding2DAttribute(int padding = 1)
        : this(padding, padding, padding, padding) { }

    /// <summary>Symmetric: <paramref name="vertical"/> rows top and bottom, <paramref name="horizontal"/> columns left and right.</summary>
    public ZeroPadding2DAttribute(int vertical, int horizontal)
        : this(vertical, vertical, horizontal, horizontal) { }

    public ZeroPadding2DAttribute(int top, int bottom, int left, int right)
    {
        Top = top;
        Bottom = bottom;
        Left = left;
        Right = right;
    }

    public int Top { get; }
    public int Bottom { get; }
    public int Left { get; }
    public int Right { get; }
}
