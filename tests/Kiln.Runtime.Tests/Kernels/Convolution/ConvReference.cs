using System;
using Kiln.Kernels;

namespace Kiln.Runtime.Tests.Kernels.Convolution;

/// <summary>Geometries by Keras' rules, and direct (loop-nest, double-accumulating) references.</summary>
internal static class ConvReference
{
    /// <summary>Keras Conv2D/pooling output size and padding: valid ⌊(n−k)/s⌋+1; same ⌈n/s⌉ with the extra pad pixel bottom/right.</summary>
    public static Conv2DGeometry Keras(int h, int w, int c, int f, int kh, int kw, int sh, int sw, bool same)
    {
        int oh, ow, top = 0, left = 0;
        if (same)
        {
            oh = (h + sh - 1) / sh;
            ow = (w + sw - 1) / sw;
            top = Math.Max((oh - 1) * sh + kh - h, 0) / 2;
            left = Math.Max((ow - 1) * sw + kw - w, 0) / 2;
        }
        else
        {
            oh = (h - kh) / sh + 1;
            ow = (w - kw) / sw + 1;
        }
        return new Conv2DGeometry(h, w, c, oh, ow, f, kh, kw, sh, sw, top, left);
    }

    /// <summary>
    /// The forward convolution a Keras Conv2DTranspose (input h×w×inC → filters) is the transpose of:
    /// output same: h·s, valid: (h−1)·s + max(k, s); padding from that convolution's 'same' rule.
    /// </summary>
    public static Conv2DGeometry KerasTranspose(int h, int w, int inC, int filters, int kh, int kw, int sh, int sw, bool same)
    {
        int oh = same ? h * sh : (h - 1) * sh + Math.Max(kh, sh);
        int ow = same ? w * sw : (w - 1) * sw + Math.Max(kw, sw);
        int top = same ? Math.Max(kh - sh, 0) / 2 : 0;
        int left = same ? Math.Max(kw - sw, 0) / 2 : 0;
        var g = new Conv2DGeometry(oh, ow, filters, h, w, inC, kh, kw, sh, sw, top, left);
        Assert.Equal(h, g.OutputHeight);
        return g;
    }

    /// <summary>Input index of tap (i, j) for output (oy, ox), or -1 in the padding.</summary>
    public static int InputPixel(in Conv2DGeometry g, int oy, int ox, int i, int j)
    {
        int ih = oy * g.StrideHeight - g.PadTop + i, iw = ox * g.StrideWidth - g.PadLeft + j;
        if (ih < 0 || ih >= g.InputHeight || iw < 0 || iw >= g.InputWidth) return -1;
        return ih * g.InputWidth + iw;
    }

    /// <summary>z = conv(x, kernel) + bias (pre-activation), double.</summary>
    public static double[] Forward(float[] x, float[] kernel, float[] bias, int n, Conv2DGeometry g)
    {
        int c = g.InputChannels, f = g.OutputChannels;
        var z = new double[n * g.OutputSize];
        for (int b = 0; b < n; b++)
            for (int oy = 0; oy < g.OutputHeight; oy++)
                for (int ox = 0; ox < g.OutputWidth; ox++)
                    for (int o = 0; o < f; o++)
                    {
                        double s = bias.Length == 0 ? 0 : bias[o];
                        for (int i = 0; i < g.KernelHeight; i++)
                            for (int j = 0; j < g.KernelWidth; j++)
                            {
                                int p = InputPixel(g, oy, ox, i, j);
                                if (p < 0) continue;
                                for (int ch = 0; ch < c; ch++)
                                    s += (double)x[b * g.InputSize + p * c + ch] * kernel[((i * g.KernelWidth + j) * c + ch) * f + o];
                            }
                        z[((b * g.OutputHeight + oy) * g.OutputWidth + ox) * f + o] = s;
                    }
        return z;
    }

    /// <summary>dKernel and dx of Σ dz·conv(x, kernel), double.</summary>
    public static (double[] dKernel, double[] dx) Backward(float[] x, float[] kernel, double[] dz, int n, Conv2DGeometry g)
    {
        int c = g.InputChannels, f = g.OutputChannels;
        var dk = new double[kernel.Length];
        var dx = new double[x.Length];
        for (int b = 0; b < n; b++)
            for (int oy = 0; oy < g.OutputHeight; oy++)
                for (int ox = 0; ox < g.OutputWidth; ox++)
                    for (int o = 0; o < f; o++)
                    {
                        double d = dz[((b * g.OutputHeight + oy) * g.OutputWidth + ox) * f + o];
                        for (int i = 0; i < g.KernelHeight; i++)
                            for (int j = 0; j < g.KernelWidth; j++)
                            {
                                int p = InputPixel(g, oy, ox, i, j);
                                if (p < 0) continue;
                                for (int ch = 0; ch < c; ch++)
                                {
                                    int ki = ((i * g.KernelWidth + j) * c + ch) * f + o, xi = b * g.InputSize + p * c + ch;
                                    dk[ki] += x[xi] * d;
                                    dx[xi] += kernel[ki] * d;
                                }
                            }
                    }
        return (dk, dx);
    }

    public static float[] ToFloat(double[] a)
    {
        var r = new float[a.Length];
        for (int i = 0; i < a.Length; i++) r[i] = (float)a[i];
        return r;
    }

    /// <summary>
    /// dKernel from <paramref name="backward"/> with at most 1, 3 and 8 kernel-gradient groups (<see cref="GroupsSwitch"/>), each
    /// against <paramref name="reference"/>. The counts must give different bits: each added its own partials.
    /// </summary>
    public static void KernelGradientAtEveryGroupCount(double[] reference, double scale, Func<float[]> backward, string path)
    {
        var results = new System.Collections.Generic.List<float[]>();
        foreach (int groups in new[] { 1, 3, 8 })
        {
            using var _ = new GroupsSwitch(groups);
            float[] dk = backward();
            Close(reference, dk, scale, 1e-5, $"{path}, {groups} groups: dKernel");
            results.Add(dk);
        }
        Assert.False(results[0].AsSpan().SequenceEqual(results[1]), $"{path}: 1 and 3 groups gave the same bits");
        Assert.False(results[1].AsSpan().SequenceEqual(results[2]), $"{path}: 3 and 8 groups gave the same bits");
    }

    /// <summary>Asserts |a − e| ≤ tol·(scale + |e|): scale is the size of the terms summed, so long sums get the tolerance they deserve.</summary>
    public static void Close(double[] expected, ReadOnlySpan<float> actual, double scale, double tol, string what)
    {
        Assert.True(actual.Length >= expected.Length, $"{what}: {actual.Length} values, expected {expected.Length}");
        for (int i = 0; i < expected.Length; i++)
        {
            double e = expected[i], a = actual[i];
            if (!(Math.Abs(a - e) <= tol * (scale + Math.Abs(e))))
                Assert.Fail($"{what}: element {i} is {a}, expected {e}");
        }
    }
}
