namespace Kiln;

// Keras' own spellings of layers Kiln names differently, so a Keras user's first guess compiles and
// builds the same layer: ReLU and LeakyReLU are the class names the summary prints, the pooling
// short forms are aliases Keras itself exports. The generator maps each to the same layer kind.

/// <summary>Keras' <c>ReLU()</c>: the same layer as <see cref="ReluAttribute"/>, <c>max(x, 0)</c>.</summary>
public sealed class ReLUAttribute : LayerAttribute { }

/// <summary>Keras' <c>LeakyReLU(alpha=0.3)</c>: the same layer as <see cref="LeakyReluAttribute"/>.</summary>
public sealed class LeakyReLUAttribute : LayerAttribute
{
    public LeakyReLUAttribute(double alpha = 0.3) => Alpha = alpha;

    public double Alpha { get; }
}

/// <summary>Keras' alias <c>MaxPool2D(pool_size, strides)</c>: the same layer as <see cref="MaxPooling2DAttribute"/>.</summary>
public sealed class MaxPool2DAttribute : PoolingAttribute
{
    public MaxPool2DAttribute(int poolSize = 2)
        : base(poolSize, 0) { }

    public MaxPool2DAttribute(int poolSize, int strides)
        : base(poolSize, strides) { }
}

/// <summary>Keras' alias <c>AvgPool2D(pool_size, strides)</c>: the same layer as <see cref="AveragePooling2DAttribute"/>.</summary>
public sealed class AvgPool2DAttribute : PoolingAttribute
{
    public AvgPool2DAttribute(int poolSize = 2)
        : base(poolSize, 0) { }

    public AvgPool2DAttribute(int poolSize, int strides)
        : base(poolSize, strides) { }
}

/// <summary>Keras' alias <c>GlobalAvgPool2D()</c>: the same layer as <see cref="GlobalAveragePooling2DAttribute"/>.</summary>
public sealed class GlobalAvgPool2DAttribute : LayerAttribute { }

/// <summary>Keras' alias <c>GlobalMaxPool2D()</c>: the same layer as <see cref="GlobalMaxPooling2DAttribute"/>.</summary>
public sealed class GlobalMaxPool2DAttribute : LayerAttribute { }
