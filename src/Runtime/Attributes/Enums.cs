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
