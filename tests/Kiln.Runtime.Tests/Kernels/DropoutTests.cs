using System;
using Kiln;
using Kiln.Kernels;

namespace Kiln.Runtime.Tests.Kernels;

[Collection(KernelCollection.Name)]
public class DropoutTests
{
    [Fact]
    public void SameSeedGivesSameMask()
    {
        float[] x = TestData.Random(1000, 1);
        var (y1, m1) = (new float[1000], new float[1000]);
        var (y2, m2) = (new float[1000], new float[1000]);
        var r1 = new Rng(7);
        var r2 = new Rng(7);
        Dropout.Forward(x, y1, m1, 0.4f, ref r1);
        Dropout.Forward(x, y2, m2, 0.4f, ref r2);
        Assert.Equal(m1, m2);
        Assert.Equal(y1, y2);
        Assert.Equal(r1.State, r2.State);
    }

    [Fact]
    public void DropsAboutRateAndScalesKeptUnits()
    {
        const int len = 100_000;
        const float rate = 0.3f;
        float[] x = TestData.Random(len, 2);
        var y = new float[len];
        var mask = new float[len];
        var rng = new Rng(3);
        Dropout.Forward(x, y, mask, rate, ref rng);
        int dropped = 0;
        float scale = 1f / (1f - rate);
        for (int i = 0; i < len; i++)
        {
            if (mask[i] == 0f) { dropped++; Assert.Equal(0f, y[i]); }
            else { Assert.Equal(scale, mask[i]); Assert.Equal(x[i] * scale, y[i]); }
        }
        Assert.InRange(dropped / (double)len, rate - 0.01, rate + 0.01);
    }

    [Fact]
    public void RateZeroCopiesWithUnitMask()
    {
        float[] x = TestData.Random(33, 4);
        var y = new float[33];
        var mask = new float[33];
        var rng = new Rng(5);
        Dropout.Forward(x, y, mask, 0f, ref rng);
        Assert.Equal(x, y);
        Assert.All(mask, m => Assert.Equal(1f, m));
        Assert.Throws<ArgumentOutOfRangeException>(() => { var r = new Rng(1); Dropout.Forward(x, y, mask, 1f, ref r); });
    }

    [Fact]
    public void BackwardPassesGradientCheck()
    {
        const int len = 41;
        float[] x = TestData.Random(len, 6);
        float[] r = TestData.Random(len, 7);
        var y = new float[len];
        var mask = new float[len];
        var rng = new Rng(8);
        Dropout.Forward(x, y, mask, 0.5f, ref rng);
        float[] d = (float[])r.Clone();
        Dropout.Backward(d, mask, d); // in place
        GradCheck.Check(x, d, () =>
        {
            var replay = new Rng(8); // the same mask for every evaluation
            Dropout.Forward(x, y, mask, 0.5f, ref replay);
            return GradCheck.Project(y, r);
        }, "dropout");
    }
}
