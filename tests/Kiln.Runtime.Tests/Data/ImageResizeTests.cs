using System;
using Kiln;

namespace Kiln.Runtime.Tests.Data;

public class ImageResizeTests
{
    [Fact]
    public void BilinearUpscaleMatchesTfImageResize()
    {
        // tf.image.resize([[0, 200]], (1, 4), 'bilinear') = [0, 50, 150, 200] (half-pixel centres, edge clamped).
        var dst = new byte[4];
        ImageResize.Bilinear([0, 200], 2, 1, 1, dst, 4, 1);
        Assert.Equal([0, 50, 150, 200], dst);
    }

    [Fact]
    public void NearestMatchesPil()
    {
        // PIL NEAREST 3 → 7: source index ⌊(x + ½)·3/7⌋ = 0, 0, 1, 1, 1, 2, 2.
        var dst = new byte[7];
        ImageResize.Nearest([10, 20, 30], 3, 1, 1, dst, 7, 1);
        Assert.Equal([10, 10, 20, 20, 20, 30, 30], dst);
    }

    [Fact]
    public void SameSizeCopiesAndChannelsStayTogether()
    {
        var src = new byte[] { 1, 2, 3, 4, 5, 6 };
        var dst = new byte[6];
        ImageResize.Bilinear(src, 2, 1, 3, dst, 2, 1);
        Assert.Equal(src, dst);
        var wide = new byte[12];
        ImageResize.Nearest(src, 2, 1, 3, wide, 4, 1);
        Assert.Equal([1, 2, 3, 1, 2, 3, 4, 5, 6, 4, 5, 6], wide);
    }

    [Fact]
    public void BilinearAgreesWithADoubleReferenceOnAwkwardSizes()
    {
        var rng = new Rng(3);
        int sw = 13, sh = 7, c = 3, dw = 5, dh = 11;
        var src = new byte[sw * sh * c];
        for (int i = 0; i < src.Length; i++) src[i] = (byte)rng.NextInt(256);
        var dst = new byte[dw * dh * c];
        ImageResize.Bilinear(src, sw, sh, c, dst, dw, dh);
        for (int y = 0; y < dh; y++)
            for (int x = 0; x < dw; x++)
                for (int k = 0; k < c; k++)
                {
                    double sy = Math.Max(0, (y + 0.5) * sh / dh - 0.5), sx = Math.Max(0, (x + 0.5) * sw / dw - 0.5);
                    int y0 = (int)sy, x0 = (int)sx, y1 = Math.Min(y0 + 1, sh - 1), x1 = Math.Min(x0 + 1, sw - 1);
                    double fy = sy - y0, fx = sx - x0;
                    double P(int yy, int xx) => src[(yy * sw + xx) * c + k];
                    double v = (P(y0, x0) * (1 - fx) + P(y0, x1) * fx) * (1 - fy) + (P(y1, x0) * (1 - fx) + P(y1, x1) * fx) * fy;
                    Assert.InRange(dst[(y * dw + x) * c + k], v - 0.51, v + 0.51);
                }
    }

    [Fact]
    public void WrongSizesAreErrors()
    {
        Assert.Throws<ArgumentException>(() => ImageResize.Nearest(new byte[5], 2, 1, 3, new byte[6], 2, 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => ImageResize.Bilinear(new byte[6], 2, 1, 3, new byte[0], 0, 1));
    }
}
