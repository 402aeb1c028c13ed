using System;
using Kiln.Kernels;

namespace Kiln.Runtime.Tests.Kernels.Convolution;

[Collection(KernelCollection.Name)]
public class PoolingTests
{
    // n, h, w, c, pool, stride, same
    public static readonly TheoryData<int, int, int, int, int, int, bool> Shapes = new()
    {
        { 2, 8, 8, 5, 2, 2, false },
        { 2, 7, 9, 17, 2, 2, false },   // odd sizes: the last row/column unused
        { 2, 7, 9, 17, 2, 2, true },    // odd sizes, same: the extra window hangs over bottom/right
        { 3, 9, 11, 29, 2, 2, false },  // whole 2×2 windows (the fast inference path): 16 + 8 + 5 channels
        { 1, 6, 4, 48, 2, 2, true },    // even sizes, same: no padding, so whole 2×2 windows too
        { 1, 9, 7, 33, 3, 2, true },
        { 2, 6, 5, 16, 3, 1, true },    // stride 1 same: padding on every side
        { 1, 5, 5, 3, 5, 1, false },
    };

    /// <summary>Distinct values a multiple of 0.01 apart, so no ±1e-3 step changes a max's winner.</summary>
    private static float[] Distinct(int length, ulong seed)
    {
        var order = new float[length];
        var rng = new Rng(seed);
        for (int i = 0; i < length; i++) order[i] = i * 0.01f;
        for (int i = length - 1; i > 0; i--)
        {
            int j = (int)(rng.NextFloat(0f, 1f) * (i + 1)) % (i + 1);
            (order[i], order[j]) = (order[j], order[i]);
        }
        return order;
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void MatchesDirectReferenceAndPassesGradientCheck(int n, int h, int w, int c, int pool, int stride, bool same)
    {
        Conv2DGeometry g = ConvReference.Keras(h, w, c, c, pool, pool, stride, stride, same);
        float[] x = Distinct(n * g.InputSize, 7);
        var maxRef = new float[n * g.OutputSize];
        var argRef = new int[maxRef.Length];
        var avgRef = new double[maxRef.Length];
        for (int b = 0; b < n; b++)
            for (int oy = 0; oy < g.OutputHeight; oy++)
                for (int ox = 0; ox < g.OutputWidth; ox++)
                    for (int ch = 0; ch < c; ch++)
                    {
                        float best = float.NegativeInfinity;
                        int arg = -1, count = 0;
                        double sum = 0;
                        for (int i = 0; i < pool; i++)
                            for (int j = 0; j < pool; j++)
                            {
                                int p = ConvReference.InputPixel(g, oy, ox, i, j);
                                if (p < 0) continue;
                                float v = x[b * g.InputSize + p * c + ch];
                                if (v > best) { best = v; arg = p * c + ch; }
                                sum += v;
                                count++;
                            }
                        int o = ((b * g.OutputHeight + oy) * g.OutputWidth + ox) * c + ch;
                        maxRef[o] = best;
                        argRef[o] = arg;
                        avgRef[o] = sum / count;
                    }

        foreach (int bits in new[] { 512, 256, 0 })
        {
            using var _ = new KernelSwitches(bits, 2);
            var y = new float[maxRef.Length];
            var arg = new int[maxRef.Length];
            Pooling.MaxForward(x, y, arg, n, g);
            Assert.Equal(maxRef, y);
            Assert.Equal(argRef, arg);
            y.AsSpan().Fill(float.NaN);
            Pooling.MaxForward(x, y, n, g); // inference: no argmax
            Assert.Equal(maxRef, y);
            Pooling.AverageForward(x, y, n, g);
            ConvReference.Close(avgRef, y, 1, 1e-6, $"{bits}-bit average");
        }

        using (new KernelSwitches(512, 2))
        {
            float[] r = TestData.Random(n * g.OutputSize, 8);
            var y = new float[r.Length];
            var arg = new int[r.Length];
            var dx = new float[x.Length];
            dx.AsSpan().Fill(float.NaN);
            Pooling.MaxForward(x, y, arg, n, g);
            Pooling.MaxBackward(r, arg, dx, n, g);
            GradCheck.Check(x, dx, () => { Pooling.MaxForward(x, y, arg, n, g); return GradCheck.Project(y, r); }, "max pooling dx");
            // Averages are smooth: values in [-1, 1] keep the float loss precise enough for ±1e-3 steps.
            float[] xs = TestData.Random(x.Length, 9);
            dx.AsSpan().Fill(float.NaN);
            Pooling.AverageBackward(r, dx, n, g);
            GradCheck.Check(xs, dx, () => { Pooling.AverageForward(xs, y, n, g); return GradCheck.Project(y, r); }, "average pooling dx");
        }
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void MaxBackwardTakesTheFusedActivationsDerivativeAtThePooledValues(int n, int h, int w, int c, int pool, int stride, bool same)
    {
        Conv2DGeometry g = ConvReference.Keras(h, w, c, c, pool, pool, stride, stride, same);
        // Half the pre-activations negative, so ReLU's derivative is 0 at some winners and 1 at others.
        float[] z = Distinct(n * g.InputSize, 11);
        for (int i = 0; i < z.Length; i++) z[i] -= 0.005f * z.Length;
        float[] r = TestData.Random(n * g.OutputSize, 12);
        Check(default(Identity), "no activation");
        Check(default(Relu), "relu");
        Check(new LeakyRelu(0.2f), "leaky relu");
        Check(default(Tanh), "tanh");
        Check(default(Sigmoid), "sigmoid");

        void Check<TAct>(TAct act, string name) where TAct : struct, IActivation
        {
            // Reference: pool act(z), scatter, then the activation's backward over the whole input.
            var a = new float[z.Length];
            Activations.Forward(z, a, act);
            var y = new float[r.Length];
            var arg = new int[r.Length];
            Pooling.MaxForward(a, y, arg, n, g);
            var expected = new double[z.Length];
            for (int b = 0; b < n; b++)
                for (int o = 0; o < g.OutputSize; o++)
                {
                    int i = b * g.InputSize + arg[b * g.OutputSize + o];
                    expected[i] += (double)r[b * g.OutputSize + o] * act.DerivativeFromOutput(a[i]);
                }
            foreach (int bits in new[] { 512, 256, 0 })
            {
                using var _ = new KernelSwitches(bits, 2);
                var dz = new float[z.Length];
                dz.AsSpan().Fill(float.NaN);
                Pooling.MaxBackward(r, y, arg, dz, n, g, act);
                ConvReference.Close(expected, dz, 1, 1e-6, $"{name}, {bits}-bit");
            }
        }
    }

    [Fact]
    public void GlobalPoolingMatchesReferenceAndPassesGradientCheck()
    {
        const int n = 3, positions = 10, channels = 19;
        float[] x = Distinct(n * positions * channels, 9);
        float[] r = TestData.Random(n * channels, 10);
        var y = new float[n * channels];
        var arg = new int[n * channels];
        Pooling.GlobalMaxForward(x, y, arg, n, positions, channels);
        for (int b = 0; b < n; b++)
            for (int c = 0; c < channels; c++)
            {
                float best = float.NegativeInfinity;
                for (int p = 0; p < positions; p++) best = Math.Max(best, x[(b * positions + p) * channels + c]);
                Assert.Equal(best, y[b * channels + c]);
                Assert.Equal(best, x[b * positions * channels + arg[b * channels + c]]);
            }
        y.AsSpan().Fill(float.NaN);
        Pooling.GlobalMaxForward(x, y, n, positions, channels); // inference: no argmax
        for (int b = 0; b < n; b++)
            for (int c = 0; c < channels; c++)
                Assert.Equal(x[b * positions * channels + arg[b * channels + c]], y[b * channels + c]);
        Pooling.GlobalAverageForward(x, y, n, positions, channels);
        for (int b = 0; b < n; b++)
            for (int c = 0; c < channels; c++)
            {
                double s = 0;
                for (int p = 0; p < positions; p++) s += x[(b * positions + p) * channels + c];
                Assert.Equal(s / positions, y[b * channels + c], 5);
            }
        var dx = new float[x.Length];
        dx.AsSpan().Fill(float.NaN);
        Pooling.GlobalAverageBackward(r, dx, n, positions, channels);
        GradCheck.Check(x, dx, () => { Pooling.GlobalAverageForward(x, y, n, positions, channels); return GradCheck.Project(y, r); }, "global average dx");
        Pooling.GlobalMaxForward(x, y, arg, n, positions, channels);
        dx.AsSpan().Fill(float.NaN);
        Pooling.GlobalMaxBackward(r, arg, dx, n, positions, channels);
        GradCheck.Check(x, dx, () => { Pooling.GlobalMaxForward(x, y, arg, n, positions, channels); return GradCheck.Project(y, r); }, "global max dx");

        // With a fused ReLU before it: the derivative at the pooled value, zero where the winner is not positive.
        var shifted = new float[x.Length];
        for (int i = 0; i < x.Length; i++) shifted[i] = Math.Max(0f, i % channels % 2 == 1 ? x[i] - 100f : x[i]); // odd channels all ReLU'd to 0
        Pooling.GlobalMaxForward(shifted, y, arg, n, positions, channels);
        dx.AsSpan().Fill(float.NaN);
        Pooling.GlobalMaxBackward(r, y, arg, dx, n, positions, channels, default(Relu));
        var masked = new float[x.Length];
        for (int b = 0; b < n; b++)
            for (int c = 0; c < channels; c++)
                if (y[b * channels + c] > 0f) masked[b * positions * channels + arg[b * channels + c]] = r[b * channels + c];
        Assert.Equal(masked, dx);
        Assert.Contains(y, v => v == 0f);
        Assert.Contains(y, v => v > 0f);
    }

    [Fact]
    public void MaxWithoutArgmaxKeepsTheArgmaxKernelsTiesAndNaNs()
    {
        // −0 and +0 tie (the first stays), a NaN never replaces a number, and a NaN that comes first stays:
        // Predict gives the bits a training forward would, whichever kernel computes the max.
        const int n = 2, c = 37; // two 16-lane vectors, a 256-bit one and a scalar tail
        Conv2DGeometry g = ConvReference.Keras(4, 6, c, c, 2, 2, 2, 2, false);
        float[] x = TestData.Random(n * g.InputSize, 12);
        float[] specials = { -0f, 0f, float.NaN, float.NegativeInfinity, 1f, float.PositiveInfinity };
        var rng = new Rng(13);
        for (int i = 0; i < x.Length; i++)
            if (rng.NextFloat(0f, 1f) < 0.4f) x[i] = specials[(int)(rng.NextFloat(0f, 1f) * specials.Length) % specials.Length];
        float[] expected = new float[n * g.OutputSize];
        using (new KernelSwitches(0, 1)) Pooling.MaxForward(x, expected, new int[expected.Length], n, g);
        const int positions = 24;
        float[] expectedGlobal = new float[n * c];
        using (new KernelSwitches(0, 1)) Pooling.GlobalMaxForward(x, expectedGlobal, new int[n * c], n, positions, c);
        foreach (int bits in new[] { 512, 256, 0 })
        {
            using var _ = new KernelSwitches(bits, 2);
            var y = new float[expected.Length];
            Pooling.MaxForward(x, y, n, g);
            for (int i = 0; i < y.Length; i++)
                Assert.True(BitConverter.SingleToInt32Bits(expected[i]) == BitConverter.SingleToInt32Bits(y[i]), $"{bits}-bit output {i}: {y[i]}, expected {expected[i]}");
            var global = new float[n * c];
            Pooling.GlobalMaxForward(x, global, n, positions, c);
            for (int i = 0; i < global.Length; i++)
                Assert.True(BitConverter.SingleToInt32Bits(expectedGlobal[i]) == BitConverter.SingleToInt32Bits(global[i]), $"{bits}-bit global output {i}: {global[i]}, expected {expectedGlobal[i]}");
        }
    }

    [Fact]
    public void RejectsChannelChangeAndBadArgmax()
    {
        Conv2DGeometry g = ConvReference.Keras(4, 4, 3, 5, 2, 2, 2, 2, false);
        Assert.Throws<ArgumentException>(() => Pooling.AverageForward(new float[48], new float[20], 1, g));
        Conv2DGeometry ok = ConvReference.Keras(4, 4, 3, 3, 2, 2, 2, 2, false);
        var arg = new int[12];
        arg[5] = 1000;
        Assert.Throws<ArgumentException>(() => Pooling.MaxBackward(new float[12], arg, new float[48], 1, ok));

        // Windows that tile the input write each gradient once, 8 channels at a time: an argmax in range but
        // outside its window (input 0 belongs to window 0, not 1) is refused too (the scalar scatter checks the range).
        Conv2DGeometry wide = ConvReference.Keras(4, 4, 9, 9, 2, 2, 2, 2, false);
        foreach (int channel in new[] { 0, 8 })
            foreach (int bits in new[] { 512, 256 })
            {
                using var _ = new KernelSwitches(bits, 1);
                var y = new float[wide.OutputSize];
                var winners = new int[wide.OutputSize];
                Pooling.MaxForward(TestData.Random(wide.InputSize, 3), y, winners, 1, wide);
                Pooling.MaxBackward(new float[wide.OutputSize], winners, new float[wide.InputSize], 1, wide);
                winners[9 + channel] = channel;
                Assert.Throws<ArgumentException>(() => Pooling.MaxBackward(new float[wide.OutputSize], winners, new float[wide.InputSize], 1, wide));
            }
    }
}
