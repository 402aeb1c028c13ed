namespace Kiln;

/// <summary>Activation applied by a layer, as Keras' <c>activation=</c> argument.</summary>
public enum Activation
{
    Linear,
    Relu,
    Sigmoid,
    Tanh,
    Softmax,
}

/// <summary>Training loss, as Keras' <c>loss=</c> argument.</summary>
public enum Loss
{
    SparseCategoricalCrossentropy,
    CategoricalCrossentropy,
    BinaryCrossentropy,
    MeanSquaredError,
}

/// <summary>Window padding, as Keras' <c>padding=</c>.</summary>
public enum Padding
{
    /// <summary>No padding: the output is ⌊(n − k)/s⌋ + 1.</summary>
    Valid,
    /// <summary>Pad so the output is ⌈n/s⌉, the extra row or column at the bottom/right (TensorFlow's rule).</summary>
    Same,
}

/// <summary>
/// Where the channel axis of a model's image input sits, as Keras' <c>data_format=</c>. Kiln's layers
/// run channels last; a channels-first input is transposed once, as it enters the model, into a
/// planned buffer (no allocation), and its input gradient back. To convert the data instead, use
/// <see cref="ChannelLayout.ToChannelsLast"/>.
/// </summary>
public enum DataFormat
{
    /// <summary>(height, width, channels): Keras' default <c>channels_last</c>.</summary>
    ChannelsLast,

    /// <summary>(channels, height, width): Keras' <c>channels_first</c>, as PyTorch and CIFAR files store images.</summary>
    ChannelsFirst,
}
