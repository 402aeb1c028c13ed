using System;
using System.Linq;

namespace Kiln.Samples;

/// <summary>
/// The samples' <c>--recipe seed|modern</c> switch and the modern recipe's optimizer, shared by the
/// convolutional Fashion-MNIST samples (benchmarks/README.md, "The modern recipe"). The model half of
/// the recipe (augmentation layers, label smoothing) is each sample's own model class.
/// </summary>
internal static class ModernRecipe
{
    /// <summary>
    /// Takes <c>--recipe seed|modern</c> out of <paramref name="args"/> (the rest goes to SampleOptions);
    /// null after printing why on a bad value. The seed recipe is the default.
    /// </summary>
    public static bool? TakeSwitch(ref string[] args)
    {
        int at = Array.IndexOf(args, "--recipe");
        if (at < 0) return false;
        if (at + 1 >= args.Length || args[at + 1] is not ("seed" or "modern"))
        {
            Console.Error.WriteLine("--recipe takes seed (the default) or modern");
            return null;
        }
        bool modern = args[at + 1] == "modern";
        args = args.Where((_, i) => i != at && i != at + 1).ToArray();
        return modern;
    }

    /// <summary>
    /// AdamW as Keras' (decoupled decay w −= lr·0.05·w, not on biases or BatchNormalization), its rate
    /// warming up linearly from 0 to 2e-3 over the first epoch's steps, then Keras' CosineDecay to 0
    /// over the remaining ones.
    /// </summary>
    public static Optimizer Optimizer(int trainCount, SampleOptions options)
    {
        long stepsPerEpoch = (trainCount + options.BatchSize - 1) / options.BatchSize;
        long total = stepsPerEpoch * options.Epochs;
        var schedule = new CosineDecay(0, decaySteps: Math.Max(total - stepsPerEpoch, 1), warmupTarget: 2e-3, warmupSteps: stepsPerEpoch);
        var optimizer = new AdamW(schedule, weightDecay: 0.05);
        optimizer.ExcludeFromWeightDecay("bias", "batch_normalization");
        return optimizer;
    }
}
