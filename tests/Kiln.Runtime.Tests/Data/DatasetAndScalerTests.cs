using System;
using Kiln;

namespace Kiln.Runtime.Tests.Data;

public class DatasetAndScalerTests
{
    private static Dataset Make(int count, int sampleSize, int seed = 1, float offset = 100f, float spread = 30f)
    {
        var rng = new Rng((ulong)seed);
        var x = new float[count * sampleSize];
        for (int i = 0; i < x.Length; i++) x[i] = offset + spread * rng.NextNormal() + (i % sampleSize);
        var y = new float[count];
        for (int i = 0; i < count; i++) y[i] = i;
        return new Dataset(x, y, [sampleSize], 1);
    }

    [Fact]
    public void TakeAndSkipSplitLikeTheSeed()
    {
        var all = Make(10, 3);
        var valid = all.Take(4);   // x_train_all[:4]
        var train = all.Skip(4);   // x_train_all[4:]
        Assert.Equal(4, valid.Count);
        Assert.Equal(6, train.Count);
        Assert.Equal(all.Sample(4).ToArray(), train.Sample(0).ToArray());
        Assert.Equal(4f, train.Targets[0]);
        train.Features[0] = -1; // copies: the source is untouched
        Assert.NotEqual(-1, all.Features[12]);
        Assert.Throws<ArgumentOutOfRangeException>(() => all.Slice(8, 3));
    }

    [Fact]
    public void ConstructorChecksSizes()
    {
        var e = Assert.Throws<ArgumentException>(() => new Dataset(new float[10], new float[3], [3], 1));
        Assert.Contains("not a whole number of samples", e.Message);
        var e2 = Assert.Throws<ArgumentException>(() => new Dataset(new float[9], new float[4], [3], 1));
        Assert.Contains("3 samples need 3 target values", e2.Message);
    }

    [Fact]
    public void GlobalScalerMatchesNaiveMath()
    {
        var train = Make(50, 7);
        var scaler = new StandardScaler().Fit(train);
        double mean = 0;
        foreach (float v in train.Features) mean += v;
        mean /= train.Features.Length;
        double var = 0;
        foreach (float v in train.Features) var += (v - mean) * (v - mean);
        double std = Math.Sqrt(var / train.Features.Length); // population std, like sklearn
        Assert.Equal(mean, scaler.Mean[0], 9);
        Assert.Equal(std, scaler.Scale[0], 9);

        var scaled = scaler.Transform(train);
        for (int i = 0; i < train.Features.Length; i++)
            Assert.Equal((train.Features[i] - mean) / std, scaled.Features[i], 1e-5);
        // the scaled training set has mean 0 and std 1
        double m2 = 0, s2 = 0;
        foreach (float v in scaled.Features) m2 += v;
        m2 /= scaled.Features.Length;
        foreach (float v in scaled.Features) s2 += (v - m2) * (v - m2);
        Assert.Equal(0, m2, 1e-5);
        Assert.Equal(1, Math.Sqrt(s2 / scaled.Features.Length), 1e-5);
        Assert.Same(train.Targets, scaled.Targets);
    }

    [Fact]
    public void ValidationUsesTheTrainingStatistics()
    {
        var train = Make(40, 5, seed: 1);
        var valid = Make(10, 5, seed: 2, offset: 500f);
        var scaler = new StandardScaler().Fit(train);
        float before = valid.Features[3];
        scaler.TransformInPlace(valid);
        Assert.Equal((before - scaler.Mean[0]) / scaler.Scale[0], valid.Features[3], 1e-4);
        Assert.True(valid.Features[3] > 5); // far off: the validation set's own mean was not used
    }

    [Fact]
    public void PerFeatureScalerMatchesNaiveMathAndZeroStdBecomesOne()
    {
        var d = Make(30, 4);
        for (int i = 0; i < d.Count; i++) d.Features[i * 4 + 2] = 7f; // a constant feature
        var scaler = new StandardScaler(perFeature: true).Fit(d);
        Assert.Equal(4, scaler.Mean.Length);
        for (int f = 0; f < 4; f++)
        {
            double mean = 0, var = 0;
            for (int i = 0; i < d.Count; i++) mean += d.Features[i * 4 + f];
            mean /= d.Count;
            for (int i = 0; i < d.Count; i++) var += Math.Pow(d.Features[i * 4 + f] - mean, 2);
            double std = Math.Sqrt(var / d.Count);
            Assert.Equal(mean, scaler.Mean[f], 9);
            Assert.Equal(std == 0 ? 1 : std, scaler.Scale[f], 9);
        }
        Assert.Equal(1.0, scaler.Scale[2]);
        var scaled = scaler.Transform(d);
        Assert.Equal(0f, scaled.Features[2]); // (7 − 7)/1
        Assert.Equal((d.Features[5] - scaler.Mean[1]) / scaler.Scale[1], scaled.Features[5], 1e-5);
    }

    [Fact]
    public void UnfittedScalerSaysSo()
    {
        var e = Assert.Throws<InvalidOperationException>(() => new StandardScaler().Transform(Make(2, 2)));
        Assert.Contains("Fit", e.Message);
    }

    [Fact]
    public void RescaleMultiplies()
    {
        var d = new Dataset([0f, 51f, 255f], [1f, 0f, 1f], [1], 1);
        var r = new Rescale(1f / 255).Transform(d);
        Assert.Equal(0f, r.Features[0]);
        Assert.Equal(0.2f, r.Features[1], 1e-6f);
        Assert.Equal(1f, r.Features[2], 1e-6f);
        Assert.Equal(255f, d.Features[2]);
    }
}
