using System;

namespace Kiln.Generator.Tests;

/// <summary>Random targets for any generated model, as the fuzzers train them.</summary>
internal static class FuzzTargets
{
    /// <summary>Each sample's targets, output by output in the order the losses read them: a class, a one-hot row, bits, or values in [−1, 1].</summary>
    public static float[] For(Kiln.Model model, int n, Random rng)
    {
        var y = new float[n * model.TargetSize];
        for (int s = 0, at = 0; s < n; s++)
        {
            foreach (var o in model.Description.Outputs)
            {
                switch (o.Loss)
                {
                    case Kiln.Loss.SparseCategoricalCrossentropy: y[at] = rng.Next(o.Size); break;
                    case Kiln.Loss.CategoricalCrossentropy: y[at + rng.Next(o.Size)] = 1; break;
                    case Kiln.Loss.BinaryCrossentropy: for (int j = 0; j < o.Size; j++) y[at + j] = rng.Next(2); break;
                    default: for (int j = 0; j < o.Size; j++) y[at + j] = (float)(rng.NextDouble() * 2 - 1); break;
                }
                at += o.TargetSize;
            }
        }
        return y;
    }
}
