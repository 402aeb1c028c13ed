using System.Collections.Generic;
using System.Globalization;

namespace Kiln.Graph;

/// <summary>Keras' names and spellings, so summaries and checkpoints read like Keras'.</summary>
public static class Names
{
    public static string Activation(ActivationKind a) => a switch
    {
        ActivationKind.Relu => "relu",
        ActivationKind.LeakyRelu => "leaky_relu",
        ActivationKind.Sigmoid => "sigmoid",
        ActivationKind.Tanh => "tanh",
        ActivationKind.Softmax => "softmax",
        ActivationKind.Linear => "linear",
        _ => throw new System.ArgumentOutOfRangeException(nameof(a), a, "unknown activation"),
    };

    public static string Loss(LossKind l) => l switch
    {
        LossKind.SparseCategoricalCrossentropy => "sparse_categorical_crossentropy",
        LossKind.CategoricalCrossentropy => "categorical_crossentropy",
        LossKind.BinaryCrossentropy => "binary_crossentropy",
        LossKind.MeanSquaredError => "mean_squared_error",
        _ => throw new System.ArgumentOutOfRangeException(nameof(l), l, "unknown loss"),
    };

    /// <summary>Every layer's final name: the user's <c>Name</c>, else Keras' automatic one (<c>dense</c>, <c>dense_1</c>, … counted over unnamed layers).</summary>
    public static string[] Of(ModelSpec spec) => Of(spec.Layers.ToArray());

    /// <summary>The final names of <paramref name="layers"/>, the first layers of a model.</summary>
    public static string[] Of(IReadOnlyList<LayerSpec> layers)
    {
        var counter = new Counter();
        var names = new string[layers.Count];
        for (int i = 0; i < names.Length; i++)
            names[i] = layers[i].UserName ?? counter.Next(layers[i].BaseName);
        return names;
    }

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
