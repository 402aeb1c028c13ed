namespace Kiln;

/// <summary>What Conv2D and Conv2DTranspose share: filters, a window, strides, padding, activation, bias.</summary>
public abstract class ConvolutionAttribute : LayerAttribute
{
    private protected ConvolutionAttribute(int filters, int kernelHeight, int kernelWidth)
    {
        Filters = filters;
        KernelHeight = kernelHeight;
        KernelWidth = kernelWidth;
    }

    public int Filters { get; }
    public int KernelHeight { get; }
    public int KernelWidth { get; }

    /// <summary>Step in both directions; <see cref="StrideHeight"/>/<see cref="StrideWidth"/> override one.</summary>
    public int Strides { get; set; } = 1;
    public int StrideHeight { get; set; }
    public int StrideWidth { get; set; }
    public Padding Padding { get; set; } = Padding.Valid;
    public Activation Activation { get; set; } = Activation.Linear;
    public bool UseBias { get; set; } = true;
}

/// <summary>2-D convolution over channels-last images: <c>activation(conv(x, kernel) + bias)</c>, kernel (kh, kw, in, filters).</summary>
public sealed class Conv2DAttribute : ConvolutionAttribute
{
    /// <summary>A square <paramref name="kernelSize"/> × <paramref name="kernelSize"/> window.</summary>
    public Conv2DAttribute(int filters, int kernelSize)
        : base(filters, kernelSize, kernelSize) { }

    /// <summary>A <paramref name="kernelHeight"/> × <paramref name="kernelWidth"/> window, like Keras' <c>kernel_size=(h, w)</c>.</summary>
    public Conv2DAttribute(int filters, int kernelHeight, int kernelWidth)
        : base(filters, kernelHeight, kernelWidth) { }
}

/// <summary>Transposed convolution (learned upsampling), kernel (kh, kw, filters, in) as Keras stores it.</summary>
public sealed class Conv2DTransposeAttribute : ConvolutionAttribute
{
    public Conv2DTransposeAttribute(int filters, int kernelSize)
        : base(filters, kernelSize, kernelSize) { }

    public Conv2DTransposeAttribute(int filters, int kernelHeight, int kernelWidth)
        : base(filters, kernelHeight, kernelWidth) { }
}

/// <summary>What the windowed poolings share; strides default to the pool size, as in Keras.</summary>
public abstract class PoolingAttribute : LayerAttribute
{
    private protected PoolingAttribute(int poolHeight, int poolWidth)
    {
        PoolHeight = poolHeight;
        PoolWidth = poolWidth;
    }

    public int PoolHeight { get; }
    public int PoolWidth { get; }

    /// <summary>0 (the default) means the pool size.</summary>
    public int Strides { get; set; }
    public int StrideHeight { get; set; }
    public int StrideWidth { get; set; }
    public Padding Padding { get; set; } = Padding.Valid;
}

/// <summary>Max over each window; padding never wins.</summary>
public sealed class MaxPooling2DAttribute : PoolingAttribute
{
    public MaxPooling2DAttribute(int poolSize = 2)
        : base(poolSize, poolSize) { }

    public MaxPooling2DAttribute(int poolHeight, int poolWidth)
        : base(poolHeight, poolWidth) { }
}

/// <summary>Mean over each window (padded positions are not counted).</summary>
public sealed class AveragePooling2DAttribute : PoolingAttribute
{
    public AveragePooling2DAttribute(int poolSize = 2)
        : base(poolSize, poolSize) { }

    public AveragePooling2DAttribute(int poolHeight, int poolWidth)
        : base(poolHeight, poolWidth) { }
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
