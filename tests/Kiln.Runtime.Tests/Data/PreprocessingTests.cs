using Kiln.Tests;
using System;
using System.Linq;
using Kiln;
using Kiln.Runtime.Tests.Training;

namespace Kiln.Runtime.Tests.Data;

public class PreprocessingTests
{
    private static float[] Random(int n, int seed, float scale = 10f, float offset = 3f)
    {
        var rng = new Rng((ulong)seed);
        var x = new float[n];
        for (int i = 0; i < n; i++) x[i] = offset + scale * rng.NextNormal();
        return x;
    }

    [Fact]
    public void RescaleIsXTimesScalePlusOffsetInPlaceOrNot()
    {
        foreach (int n in new[] { 0, 1, 7, 8, 33, 100 })
        {
            var x = Random(n, n);
            var y = new float[n];
            Preprocessing.Rescale(x, y, 1 / 127.5f, -1f);
            for (int i = 0; i < n; i++) Assert.Equal(x[i] * (1 / 127.5f) + -1f, y[i], 1e-6f);
            Preprocessing.Rescale(x, x, 2f);
            Assert.Equal(y.Length, x.Length);
        }
        var dx = new float[3];
        Preprocessing.RescaleBackward([1f, 2f, 3f], dx, 0.5f);
        Assert.Equal([0.5f, 1f, 1.5f], dx);
    }

    [Theory]
    [InlineData(1, false)]
    [InlineData(3, false)]
    [InlineData(3, true)]
    [InlineData(70, false)]
    [InlineData(600, true)] // more channels than one tile: the chunked path
    public void NormalizationMatchesKerasFormula(int k, bool invert)
    {
        int rows = 9;
        var x = Random(rows * k, k);
        var mean = Random(k, 1);
        var variance = Random(k, 2).Select(v => v * v).ToArray();
        variance[0] = 0; // √0 is floored at epsilon
        var y = new float[x.Length];
        Normalization.Forward(x, y, mean, variance, invert);
        for (int i = 0; i < x.Length; i++)
        {
            float d = MathF.Max(MathF.Sqrt(variance[i % k]), 1e-7f);
            float expected = invert ? mean[i % k] + x[i] * d : (x[i] - mean[i % k]) / d;
            Assert.Equal(expected, y[i], Math.Abs(expected) * 1e-6f + 1e-6f);
        }
        Normalization.Forward(x, x, mean, variance, invert); // in place
        Assert.Equal(y, x);
        var dx = new float[y.Length];
        Normalization.Backward(Enumerable.Repeat(1f, y.Length).ToArray(), dx, variance, invert);
        Assert.Equal(invert ? MathF.Sqrt(variance[1 % k]) : 1 / MathF.Max(MathF.Sqrt(variance[1 % k]), 1e-7f), dx[1], 1e-3f);
    }

    [Fact]
    public void AdaptGivesPerChannelMeanAndPopulationVariance()
    {
        // 5 images of 2×2×3, channel c around 10·c
        var features = Random(5 * 12, 4);
        for (int i = 0; i < features.Length; i++) features[i] += 10 * (i % 3);
        var data = new Dataset(features, new float[5], [2, 2, 3], 1);
        var stats = Normalization.Adapt(data);
        Assert.Equal(3, stats.Mean.Length);
        Assert.Equal(20, stats.Count);
        for (int c = 0; c < 3; c++)
        {
            var v = features.Where((_, i) => i % 3 == c).Select(f => (double)f).ToArray();
            double m = v.Average();
            Assert.Equal(m, stats.Mean[c], 1e-4);
            Assert.Equal(v.Select(a => (a - m) * (a - m)).Average(), stats.Variance[c], 1e-3);
        }
        // streaming over batches of any size gives the same statistics
        using var batches = Pipeline.From(data).Batch(2);
        var streamed = Normalization.Adapt(batches);
        for (int c = 0; c < 3; c++)
        {
            Assert.Equal(stats.Mean[c], streamed.Mean[c], 1e-5f);
            Assert.Equal(stats.Variance[c], streamed.Variance[c], 1e-4f);
        }
        Assert.Single(Normalization.Adapt(data, axis: []).Mean);
        Assert.Equal(12, Normalization.Adapt(data, axis: [1, 2, 3]).Mean.Length);
    }

    [Fact]
    public void AxisFollowsKeras()
    {
        int[] image = [4, 5, 3];
        Assert.Equal(3, Normalization.StatisticsLength(image));
        Assert.Equal(3, Normalization.StatisticsLength(image, [3]));
        Assert.Equal(15, Normalization.StatisticsLength(image, [-2, -1]));
        Assert.Equal(1, Normalization.StatisticsLength(image, []));
        Assert.Throws<ArgumentException>(() => Normalization.StatisticsLength(image, [1]));
        Assert.Throws<ArgumentOutOfRangeException>(() => Normalization.StatisticsLength(image, [0]));
        Assert.Throws<ArgumentOutOfRangeException>(() => Normalization.StatisticsLength(image, [4]));
    }

    [Fact]
    public void AdaptedStatisticsGoIntoTheModelsStateTensors()
    {
        var model = new StateModel();
        new NormalizationStatistics([1f, 2f, 3f], [4f, 5f, 6f], 10).CopyTo(model);
        Assert.Equal([1f, 2f, 3f], model.Tensor("normalization/mean").ToArray());
        Assert.Equal([4f, 5f, 6f], model.Tensor("normalization/variance").ToArray());
        var e = Assert.Throws<ArgumentException>(() => new NormalizationStatistics([1f], [1f], 1).CopyTo(model));
        Assert.Contains("normalization/mean", e.Message);
    }

    [Fact]
    public void StatisticsThatCannotNormalizeAreRefusedAndChangeNothing()
    {
        var model = new StateModel();
        new NormalizationStatistics([1f, 2f, 3f], [4f, 5f, 6f], 10).CopyTo(model);
        // A right mean with a wrong variance: the mean must not be half-written either.
        var e = Assert.Throws<ArgumentException>(() => new NormalizationStatistics([7f, 8f, 9f], [1f, -1f, 1f], 10).CopyTo(model));
        Assert.Contains("'normalization/variance'[1] would be -1", e.Message);
        e = Assert.Throws<ArgumentException>(() => new NormalizationStatistics([7f, 8f, 9f], [1f, 1f], 10).CopyTo(model));
        Assert.Contains("normalization/variance", e.Message);
        e = Assert.Throws<ArgumentException>(() => new NormalizationStatistics([7f, float.NaN, 9f], [1f, 1f, 1f], 10).CopyTo(model));
        Assert.Contains("'normalization/mean'[1] would be NaN", e.Message);
        Assert.Equal([1f, 2f, 3f], model.Tensor("normalization/mean").ToArray());
        Assert.Equal([4f, 5f, 6f], model.Tensor("normalization/variance").ToArray());
    }

    [Fact]
    public void MinMaxScalerMatchesSklearn()
    {
        var train = new Dataset([0f, 10f, 5f, 10f, 10f, 10f], new float[3], [2], 1);
        var global = new MinMaxScaler().Fit(train);
        Assert.Equal(0f, global.DataMin[0]);
        Assert.Equal(10f, global.DataMax[0]);
        Assert.Equal([0f, 1f, 0.5f, 1f, 1f, 1f], global.Transform(train).Features);

        var perFeature = new MinMaxScaler(-1, 1, perFeature: true).Fit(train);
        var scaled = perFeature.Transform(train).Features;
        Assert.Equal([-1f, -1f, 0f, -1f, 1f, -1f], scaled); // feature 1 is constant: range 1, maps to min
        var valid = new float[] { 20f, 10f };
        perFeature.TransformInPlace(valid);
        Assert.Equal([3f, -1f], valid); // outside [-1, 1]: validation data is not clipped
        perFeature.InverseTransformInPlace(scaled);
        Assert.Equal(train.Features, scaled);
        Assert.Throws<InvalidOperationException>(() => new MinMaxScaler().TransformInPlace(new float[2]));
        Assert.Throws<ArgumentException>(() => new MinMaxScaler(1, 1));
    }

    [Fact]
    public void ScalersTransformWithoutAllocating()
    {
        var data = new Dataset(Random(400, 5), new float[100], [4], 1);
        var standard = new StandardScaler(perFeature: true).Fit(data);
        var minmax = new MinMaxScaler(perFeature: true).Fit(data);
        var values = Random(40, 6);
        standard.TransformInPlace(values);
        minmax.TransformInPlace(values);
        Assert.Contains(0L, WarmUp.Windows(() => WarmUp.BytesOnThisThread(() =>
        {
            for (int i = 0; i < 10; i++)
            {
                standard.TransformInPlace(values);
                standard.InverseTransformInPlace(values);
                minmax.TransformInPlace(values);
            }
        })));
    }

    /// <summary>A model with Keras-named normalization state tensors.</summary>
    private sealed class StateModel() : Model(new ModelDescription("StateModel", [3], [3], Loss.MeanSquaredError, false, 0, 6, 3, 0,
        [new TensorInfo("normalization/mean", [3], 0, false), new TensorInfo("normalization/variance", [3], 3, false)], ""), 1, 0)
    {
        protected override void ForwardCore(ReadOnlySpan<float> input, int n, bool training) { }
        protected override float LossCore(ReadOnlySpan<float> targets, int n, bool gradient) => 0;
        protected override void BackwardCore(int n, Span<float> inputGradient, bool fromOutputGradient) { }
        protected override Span<float> OutputBuffer(int n) => ArenaSlice(0, n, 3);
        protected override Span<float> OutputGradientBuffer(int n) => ArenaSlice(0, n, 3);
    }
}
