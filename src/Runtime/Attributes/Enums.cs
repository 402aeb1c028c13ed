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
