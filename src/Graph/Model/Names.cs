using System.Collections.Generic;
using System.Globalization;

namespace Kiln.Graph;

/// <summary>Keras' names and spellings, so summaries and checkpoints read like Keras'.</summary>
public static class Names
{
    /// <summary>Base name Keras gives a layer of this kind (snake case of its class).</summary>
    public static string Base(LayerKind kind) => kind switch
    {
        LayerKind.Flatten => "flatten",
        LayerKind.Dense => "dense",
        LayerKind.Relu => "re_lu",
        LayerKind.LeakyRelu => "leaky_re_lu",
        LayerKind.Sigmoid or LayerKind.Tanh => "activation",
        LayerKind.Softmax => "softmax",
        LayerKind.Dropout => "dropout",
        LayerKind.Reshape => "reshape",
        LayerKind.Rescaling => "rescaling",
        LayerKind.Normalization => "normalization",
        LayerKind.Conv2D => "conv2d",
        LayerKind.Conv2DTranspose => "conv2d_transpose",
        LayerKind.MaxPooling2D => "max_pooling2d",
        LayerKind.AveragePooling2D => "average_pooling2d",
        LayerKind.GlobalAveragePooling2D => "global_average_pooling2d",
        LayerKind.GlobalMaxPooling2D => "global_max_pooling2d",
        LayerKind.BatchNormalization => "batch_normalization",
        LayerKind.UpSampling2D => "up_sampling2d",
        LayerKind.ZeroPadding2D => "zero_padding2d",
        _ => kind.ToString().ToLowerInvariant(),
    };

    /// <summary>The Keras class name shown in the summary's "Layer (type)" column.</summary>
    public static string KerasType(LayerKind kind) => kind switch
    {
        LayerKind.Relu => "ReLU",
        LayerKind.LeakyRelu => "LeakyReLU",
        LayerKind.Sigmoid or LayerKind.Tanh => "Activation",
        _ => kind.ToString(),
    };

    public static string Activation(ActivationKind a) => a switch
    {
        ActivationKind.Relu => "relu",
        ActivationKind.LeakyRelu => "leaky_relu",
        ActivationKind.Sigmoid => "sigmoid",
        ActivationKind.Tanh => "tanh",
        ActivationKind.Softmax => "softmax",
        _ => "linear",
    };

    public static string Loss(LossKind l) => l switch
    {
        LossKind.SparseCategoricalCrossentropy => "sparse_categorical_crossentropy",
        LossKind.CategoricalCrossentropy => "categorical_crossentropy",
        LossKind.BinaryCrossentropy => "binary_crossentropy",
        _ => "mean_squared_error",
    };

    public static string Number(double x) => x.ToString("0.###", CultureInfo.InvariantCulture);

    /// <summary>Hands out <c>dense</c>, <c>dense_1</c>, <c>dense_2</c> … per base name, as Keras does within one model.</summary>
    public sealed class Counter
    {
        private readonly Dictionary<string, int> _seen = new();

        public string Next(string baseName)
        {
            _seen.TryGetValue(baseName, out int count);
            _seen[baseName] = count + 1;
            return count == 0 ? baseName : baseName + "_" + count.ToString(CultureInfo.InvariantCulture);
        }
    }
}
