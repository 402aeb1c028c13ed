using System;
using Kiln.Kernels;

namespace Kiln.Runtime.Tests.Kernels.Convolution;

[Collection(KernelCollection.Name)]
public class ResamplingTests
{
    [Theory]
    [InlineData(2, 2)]
    [InlineData(3, 2)]
    public void UpSampleNearestRepeatsAndItsBackwardSums(int fh, int fw)
    {
        const int n = 2, h = 3, w = 4, c = 5;
        float[] x = TestData.Random(n * h * w * c, 41);
        var y = new float[n * h * fh * w * fw * c];
        Resampling.UpSampleNearest(x, y, n, h, w, c, fh, fw);
        for (int b = 0; b < n; b++)
            for (int i = 0; i < h * fh; i++)
                for (int j = 0; j < w * fw; j++)
                    for (int ch = 0; ch < c; ch++)
                        Assert.Equal(x[((b * h + i / fh) * w + j / fw) * c + ch], y[((b * h * fh + i) * w * fw + j) * c + ch]);
        float[] r = TestData.Random(y.Length, 42);
        var dx = new float[x.Length];
        dx.AsSpan().Fill(float.NaN);
        Resampling.UpSampleNearestBackward(r, dx, n, h, w, c, fh, fw);
        GradCheck.Check(x, dx, () => { Resampling.UpSampleNearest(x, y, n, h, w, c, fh, fw); return GradCheck.Project(y, r); }, "upsample dx");
    }

    [Fact]
    public void ZeroPadSurroundsWithZerosAndItsBackwardCrops()
    {
        const int n = 2, h = 3, w = 4, c = 3, top = 1, bottom = 2, left = 0, right = 3;
        int ph = h + top + bottom, pw = w + left + right;
        float[] x = TestData.Random(n * h * w * c, 43);
        var y = new float[n * ph * pw * c];
        y.AsSpan().Fill(float.NaN);
        Resampling.ZeroPad(x, y, n, h, w, c, top, bottom, left, right);
        for (int b = 0; b < n; b++)
            for (int i = 0; i < ph; i++)
                for (int j = 0; j < pw; j++)
                    for (int ch = 0; ch < c; ch++)
                    {
                        int si = i - top, sj = j - left;
                        float expected = si >= 0 && si < h && sj >= 0 && sj < w ? x[((b * h + si) * w + sj) * c + ch] : 0f;
                        Assert.Equal(expected, y[((b * ph + i) * pw + j) * c + ch]);
                    }
        float[] r = TestData.Random(y.Length, 44);
        var dx = new float[x.Length];
        Resampling.ZeroPadBackward(r, dx, n, h, w, c, top, bottom, left, right);
        GradCheck.Check(x, dx, () => { Resampling.ZeroPad(x, y, n, h, w, c, top, bottom, left, right); return GradCheck.Project(y, r); }, "zero pad dx");
    }
}
