using System;
using Kiln;
using Kiln.Kernels;

namespace Kiln.Runtime.Tests.Kernels;

public class InitializerTests
{
    [Fact]
    public void GlorotUniformDrawsInStorageOrderWithinTheLimit()
    {
        var w = new float[784 * 300];
        var rng = new Rng(9);
        Initializers.GlorotUniform(w, 784, 300, ref rng);
        float limit = (float)Math.Sqrt(6.0 / (784 + 300));
        var replay = new Rng(9);
        double sumSq = 0;
        for (int i = 0; i < w.Length; i++)
        {
            Assert.Equal(replay.NextFloat(-limit, limit), w[i]);
            Assert.InRange(w[i], -limit, limit);
            sumSq += (double)w[i] * w[i];
        }
        // Variance of U(−l, l) is l²/3 = 2/(fanIn+fanOut).
        Assert.InRange(sumSq / w.Length, 0.98 * 2.0 / 1084, 1.02 * 2.0 / 1084);
    }
}
