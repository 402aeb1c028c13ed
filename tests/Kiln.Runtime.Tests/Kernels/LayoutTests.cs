using System;
using System.Linq;
using Kiln.Kernels;

namespace Kiln.Runtime.Tests.Kernels;

/// <summary>The channels-first input transposes against a naive index-by-index reference, inside packed rows.</summary>
public sealed class LayoutTests
{
    [Theory]
    [InlineData(3, 4, 5, 0, 60)]    // a model's only input
    [InlineData(2, 3, 3, 7, 29)]    // an input between others in a packed row
    [InlineData(1, 2, 2, 0, 4)]
    public void TransposesEachSampleAndBack(int c, int h, int w, int offset, int stride)
    {
        const int n = 3;
        int size = c * h * w;
        var rows = Enumerable.Range(0, n * stride).Select(i => (float)i * 0.5f - 3).ToArray();
        var y = new float[n * size];
        Layout.ToChannelsLast(rows, y, n, c, h, w, offset, stride);
        for (int s = 0; s < n; s++)
            for (int ch = 0; ch < c; ch++)
                for (int i = 0; i < h; i++)
                    for (int j = 0; j < w; j++)
                        Assert.Equal(rows[s * stride + offset + (ch * h + i) * w + j], y[s * size + (i * w + j) * c + ch]);

        // Back into the columns; the other columns of each row are left as they were.
        var back = Enumerable.Repeat(-99f, n * stride).ToArray();
        Layout.ToChannelsFirst(y, back, n, c, h, w, offset, stride);
        for (int s = 0; s < n; s++)
            for (int k = 0; k < stride; k++)
                Assert.Equal(k >= offset && k < offset + size ? rows[s * stride + k] : -99f, back[s * stride + k]);
    }

    [Fact]
    public void AgreesWithChannelLayout()
    {
        var x = Enumerable.Range(0, 2 * 24).Select(i => (float)i).ToArray();
        var expected = new float[x.Length];
        var actual = new float[x.Length];
        ChannelLayout.NchwToNhwc<float>(x, expected, 2, 2, 3, 4);
        Layout.ToChannelsLast(x, actual, 2, 2, 3, 4, 0, 24);
        Assert.Equal(expected, actual);
    }

    [Fact]
    public void ShortBuffersAreRejected()
    {
        Assert.Throws<ArgumentException>(() => Layout.ToChannelsLast(new float[23], new float[24], 1, 2, 3, 4, 0, 24));
        Assert.Throws<ArgumentException>(() => Layout.ToChannelsFirst(new float[24], new float[30], 1, 2, 3, 4, 8, 30));
    }
}
