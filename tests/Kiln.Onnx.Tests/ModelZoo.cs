using System;
using System.Collections.Generic;
using System.Linq;
using System.Reflection;

namespace Kiln.Onnx.Tests;

/// <summary>
/// Every generated model this assembly compiles (the samples' and the end-to-end tests' declarations,
/// linked), found by reflection so a model added there is exported here too; and weights made
/// unlike Kiln's initial ones, so biases, BatchNormalization statistics and gammas all matter.
/// </summary>
internal static class ModelZoo
{
    public static IEnumerable<Type> Types =>
        typeof(ModelZoo).Assembly.GetTypes()
            .Where(t => t.IsSubclassOf(typeof(Model)) && !t.IsAbstract
                        && t.GetField("Definition", BindingFlags.Public | BindingFlags.Static) is not null)
            .OrderBy(t => t.FullName, StringComparer.Ordinal);

    public static IEnumerable<object[]> Names => Types.Select(t => new object[] { t.FullName! });

    /// <summary>Models with a BatchNormalization layer, for the folding option.</summary>
    public static IEnumerable<object[]> WithBatchNormalization =>
        Types.Where(t => Definition(t).Layers.Any(l => l.Kind == "BatchNormalization")).Select(t => new object[] { t.FullName! });

    private static ModelDescription Definition(Type t) => (ModelDescription)t.GetField("Definition")!.GetValue(null)!;

    public static Model Create(string fullName, int batchSize, int seed = 1)
    {
        var type = typeof(ModelZoo).Assembly.GetType(fullName, throwOnError: true)!;
        return (Model)Activator.CreateInstance(type, batchSize, seed)!;
    }

    /// <summary>Kernels keep their Glorot values; biases, betta, gamma and statistics get random ones of their usual size.</summary>
    public static void Randomize(Model model, int seed)
    {
        var random = new Random(seed);
        foreach (var tensor in model.Description.Tensors)
        {
            var values = model.Tensor(tensor.Name);
            string suffix = tensor.Name[(tensor.Name.LastIndexOf('/') + 1)..];
            for (int i = 0; i < values.Length; i++)
            {
                values[i] = suffix switch
                {
                    "kernel" => values[i],
                    "gamma" or "moving_variance" or "variance" => 0.5f + (float)random.NextDouble(),
                    _ => (float)random.NextDouble() - 0.5f,
                };
            }
        }
    }

    /// <summary><paramref name="count"/> samples of values in [−1, 1], as Kiln packs them (inputs side by side per sample).</summary>
    public static float[] Inputs(Model model, int count, int seed)
    {
        var random = new Random(seed);
        var x = new float[count * model.InputSize];
        for (int i = 0; i < x.Length; i++) x[i] = (float)(random.NextDouble() * 2 - 1);
        return x;
    }
}
