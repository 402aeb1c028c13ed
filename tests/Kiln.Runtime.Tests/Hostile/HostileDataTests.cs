using System;
using System.IO;
using Kiln.Runtime.Tests.Checkpoints;
using Kiln.Runtime.Tests.Data;

namespace Kiln.Runtime.Tests.Hostile;

/// <summary>Issue 16's findings in the in-memory and IDX loaders and the scalers.</summary>
public class HostileDataTests
{
    [Fact]
    public void AnIdxHeaderClaimingTwoGigabytesAllocatesNothingOfThem()
    {
        using var dir = new TempDirectory();
        // 12 bytes: magic 00 00 08 01, one dimension of 2,147,483,591 bytes, then 4 data bytes.
        byte[] raw = IdxTests.IdxBytes([2_147_483_591], [1, 2, 3, 4]);
        File.WriteAllBytes(dir.File("liar.idx"), raw);
        File.WriteAllBytes(dir.File("liar.idx.gz"), IdxTests.Gzip(raw));
        foreach (string name in new[] { "liar.idx", "liar.idx.gz" })
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            var e = Assert.Throws<InvalidDataException>(() => Idx.Read(dir.File(name), 1));
            long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
            Assert.Contains(name, e.Message);
            Assert.Contains("truncated", e.Message);
            Assert.True(allocated < 8 << 20, $"{name}: allocated {allocated:N0} bytes");
        }
    }

    [Fact]
    public void AGzipIdxLargerThanItsFirstPieceStillReadsWhole()
    {
        using var dir = new TempDirectory();
        var data = new byte[3 << 20];
        for (int i = 0; i < data.Length; i++) data[i] = (byte)(i * 7);
        File.WriteAllBytes(dir.File("big.idx.gz"), IdxTests.Gzip(IdxTests.IdxBytes([3, 1 << 20], data)));
        var (shape, read) = Idx.Read(dir.File("big.idx.gz"), 2);
        Assert.Equal([3, 1 << 20], shape);
        Assert.Equal(data, read);
    }

    [Fact]
    public void SizesPastAnArrayAreArgumentErrorsNotOverflows()
    {
        Assert.Throws<ArgumentException>(() => new Dataset([], [], [65536, 65536], 1));
        var model = new NoisyModel(4, 3, 8, 1);
        long before = GC.GetAllocatedBytesForCurrentThread();
        Assert.Throws<ArgumentException>(() => model.Predict(ReadOnlySpan<float>.Empty, int.MaxValue / 5));
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 1 << 20);
    }

    [Fact]
    public void StandardScalerDisregardsNaNInFitAndKeepsItInTransform()
    {
        float[] x = [1, float.NaN, 3, 5];
        var global = new StandardScaler().Fit(x);
        Assert.Equal(3, global.Mean[0], 12);
        Assert.Equal(Math.Sqrt(8.0 / 3), global.Scale[0], 12);
        var y = (float[])x.Clone();
        global.TransformInPlace(y);
        Assert.True(float.IsNaN(y[1]));
        Assert.All(new[] { y[0], y[2], y[3] }, v => Assert.True(float.IsFinite(v)));

        // Per feature, a NaN leaves its column's other values, and the other columns, alone.
        var perFeature = new StandardScaler(perFeature: true).Fit([1, 10, float.NaN, 20, 3, 30], 2);
        Assert.Equal([2.0, 20.0], perFeature.Mean.ToArray());
    }

    [Fact]
    public void ScalersRefuseInfinity()
    {
        foreach (float bad in new[] { float.PositiveInfinity, float.NegativeInfinity })
        {
            Assert.Contains("finite or NaN", Assert.Throws<ArgumentException>(() => new StandardScaler().Fit([1, bad, 2])).Message);
            Assert.Contains("finite or NaN", Assert.Throws<ArgumentException>(() => new MinMaxScaler().Fit([1, bad, 2])).Message);
            var fitted = new StandardScaler().Fit([1f, 2f]);
            float[] y = [1, bad];
            Assert.Throws<ArgumentException>(() => fitted.TransformInPlace(y));
            Assert.Equal(1f, y[0]); // checked before anything is scaled
        }
    }

    [Fact]
    public void MinMaxScalerDisregardsNaN()
    {
        var s = new MinMaxScaler().Fit([float.NaN, 2, 4]);
        Assert.Equal(2f, s.DataMin[0]);
        Assert.Equal(4f, s.DataMax[0]);
        float[] y = [3, float.NaN];
        s.TransformInPlace(y);
        Assert.Equal(0.5f, y[0]);
        Assert.True(float.IsNaN(y[1]));
    }

    [Fact]
    public void ASubnormalSpreadCountsAsZero()
    {
        float tiny = 1.4e-45f;
        float[] x = [0, tiny, 0, tiny];
        var standard = new StandardScaler().Fit(x);
        Assert.Equal(1, standard.Scale[0]);
        var a = (float[])x.Clone();
        standard.TransformInPlace(a);
        Assert.All(a, v => Assert.True(float.IsFinite(v)));
        var minMax = new MinMaxScaler(perFeature: true).Fit(x, 2);
        var b = (float[])x.Clone();
        minMax.TransformInPlace(b);
        Assert.All(b, v => Assert.True(float.IsFinite(v)));
    }

    [Fact]
    public void AConstantFeatureWithALargeMeanIsConstant()
    {
        // Rounding gives the mean of 1e8-ish values a tiny variance; sklearn calls it constant.
        var s = new StandardScaler().Fit([100000000.5f, 100000000.5f, 100000000.5f]);
        Assert.Equal(1, s.Scale[0]);
    }
}
