using System;
using System.Linq;
using Kiln;

namespace Kiln.EndToEnd.Tests;

/// <summary>Small classification sets and sample weights shared by the sample-weight, pipeline and weighted-metric tests.</summary>
internal static class WeightedData
{
    /// <summary>
    /// <paramref name="count"/> samples of <paramref name="features"/> noise values in [−0.5, 0.5), the
    /// features with index ≡ class (mod classes) raised by <paramref name="separation"/> so the classes
    /// are learnable; labels sparse, or one-hot.
    /// </summary>
    public static Dataset Classes(int count, int features, int classes, int seed, bool oneHot = false, float separation = 0.8f)
    {
        var rng = new Random(seed);
        var x = new float[count * features];
        var y = new float[count * (oneHot ? classes : 1)];
        for (int s = 0; s < count; s++)
        {
            int c = rng.Next(classes);
            if (oneHot) y[s * classes + c] = 1; else y[s] = c;
            for (int i = 0; i < features; i++) x[s * features + i] = (float)(rng.NextDouble() - 0.5) + (i % classes == c ? separation : 0f);
        }
        return new Dataset(x, y, [features], oneHot ? classes : 1);
    }

    /// <summary>Weights uniform in [0, 3); with <paramref name="zeroEveryFourth"/>, every fourth is 0 (a sample that counts for nothing).</summary>
    public static float[] RandomWeights(int count, int seed, bool zeroEveryFourth = false)
    {
        var rng = new Random(seed);
        return Enumerable.Range(0, count).Select(i => zeroEveryFourth && i % 4 == 3 ? 0f : (float)(rng.NextDouble() * 3)).ToArray();
    }
}
