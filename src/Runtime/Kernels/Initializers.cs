using System;
using System.Runtime.CompilerServices;

namespace Kiln.Kernels;

/// <summary>Weight initializers with Keras defaults.</summary>
public static class Initializers
{
    /// <summary>U(−l, l) with l = √(6/(fanIn+fanOut)), drawn in storage order.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void GlorotUniform(Span<float> weights, int fanIn, int fanOut, ref Rng rng)
    {
        if (fanIn <= 0 || fanOut <= 0)
            throw new ArgumentOutOfRangeException(nameof(fanIn), $"fan-in {fanIn} and fan-out {fanOut} must be positive");
        float limit = (float)Math.Sqrt(6.0 / ((double)fanIn + fanOut));
        for (int i = 0; i < weights.Length; i++) weights[i] = rng.NextFloat(-limit, limit);
    }
}
