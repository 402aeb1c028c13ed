using System;
using Kiln.Kernels;

namespace Kiln.Runtime.Tests.Kernels;

[Collection(KernelCollection.Name)]
public class DenseTests
{
    [Theory]
    [InlineData(512)]
    [InlineData(256)]
    [InlineData(0)]
    public void BackwardPassesGradientCheckForEachActivation(int bits)
    {
        using var _ = new KernelSwitches(bits, 2);
        Check(new Identity());
        Check(new Relu());
        Check(new LeakyRelu(0.3f));
        Check(new Sigmoid());
        Check(new Tanh());
    }

    private static void Check<TAct>(TAct act) where TAct : struct, IActivation
    {
        const int n = 3, inputs = 7, units = 5;
        float[] x = TestData.Random(n * inputs, 61);
        float[] kernel = TestData.Random(inputs * units, 62);
        float[] bias = TestData.Random(units, 63, -0.5f, 0.5f);
        // Keep every pre-activation away from the ReLU kink so a ±ε step never crosses it.
        for (ulong seed = 64; MinAbsPreActivation(x, kernel, bias, n, inputs, units) < 0.05; seed++)
            bias = TestData.Random(units, seed, -0.5f, 0.5f);
        float[] r = TestData.Random(n * units, 70);

        var y = new float[n * units];
        Dense.Forward(x, kernel, bias, y, n, inputs, units, act);
        float[] dy = (float[])r.Clone();
        var dKernel = new float[inputs * units];
        var dBias = new float[units];
        var dx = new float[n * inputs];
        Dense.Backward(x, kernel, y, dy, dKernel, dBias, dx, n, inputs, units, act);

        var scratch = new float[n * units];
        double Loss() { Dense.Forward(x, kernel, bias, scratch, n, inputs, units, act); return GradCheck.Project(scratch, r); }
        string name = typeof(TAct).Name;
        GradCheck.Check(kernel, dKernel, Loss, name + " dKernel");
        GradCheck.Check(bias, dBias, Loss, name + " dBias");
        GradCheck.Check(x, dx, Loss, name + " dx");
    }

    private static double MinAbsPreActivation(float[] x, float[] kernel, float[] bias, int n, int inputs, int units)
    {
        double min = double.MaxValue;
        for (int i = 0; i < n; i++)
            for (int j = 0; j < units; j++)
            {
                double z = bias[j];
                for (int p = 0; p < inputs; p++) z += (double)x[i * inputs + p] * kernel[p * units + j];
                min = Math.Min(min, Math.Abs(z));
            }
        return min;
    }

    [Fact]
    public void BackwardAtMlpShapesMatchesReference()
    {
        using var _ = new KernelSwitches(512, 2);
        const int n = 32, inputs = 300, units = 100;
        float[] x = TestData.Random(n * inputs, 81);
        float[] kernel = TestData.Random(inputs * units, 82, -0.1f, 0.1f);
        float[] bias = TestData.Random(units, 83);
        var y = new float[n * units];
        Dense.Forward(x, kernel, bias, y, n, inputs, units, new Relu());
        float[] dy = TestData.Random(n * units, 84);
        float[] dz = new float[n * units];
        for (int i = 0; i < dz.Length; i++) dz[i] = y[i] > 0 ? dy[i] : 0f;
        var dKernel = new float[inputs * units];
        var dBias = new float[units];
        var dx = new float[n * inputs];
        Dense.Backward(x, kernel, y, dy, dKernel, dBias, dx, n, inputs, units, new Relu());
        TestData.Close(dz, dy, 0, 0, "dz written in place");

        var eK = new float[inputs * units];
        var eB = new float[units];
        var eX = new float[n * inputs];
        for (int p = 0; p < inputs; p++)
            for (int j = 0; j < units; j++)
            {
                double s = 0;
                for (int i = 0; i < n; i++) s += (double)x[i * inputs + p] * dz[i * units + j];
                eK[p * units + j] = (float)s;
            }
        for (int j = 0; j < units; j++)
        {
            double s = 0;
            for (int i = 0; i < n; i++) s += dz[i * units + j];
            eB[j] = (float)s;
        }
        for (int i = 0; i < n; i++)
            for (int p = 0; p < inputs; p++)
            {
                double s = 0;
                for (int j = 0; j < units; j++) s += (double)dz[i * units + j] * kernel[p * units + j];
                eX[i * inputs + p] = (float)s;
            }
        TestData.Close(eK, dKernel, 1e-4, 1e-4, "dKernel");
        TestData.Close(eB, dBias, 1e-4, 1e-4, "dBias");
        TestData.Close(eX, dx, 1e-4, 1e-4, "dx");

        // With accumulate, dx gains dz·kernelᵀ on top of what it held (another reader's part).
        float[] held = TestData.Random(n * inputs, 85);
        var added = (float[])held.Clone();
        Dense.Backward(x, kernel, ReadOnlySpan<float>.Empty, dz, new float[inputs * units], new float[units], added, n, inputs, units, new Identity(), accumulate: true);
        for (int i = 0; i < eX.Length; i++) eX[i] += held[i];
        TestData.Close(eX, added, 1e-4, 1e-4, "dx added to");
    }

    // The bias gradient's column sums add each column's rows in order, one float chain a column, whichever way the
    // columns are grouped (four, two or one vector at a time, then the last up to 15 in a masked vector, or up to 16 side
    // by side without vectors): the bits of that chain,
    // at every width, for column counts across each group's edges and for one row and many.
    [Theory]
    [InlineData(512)]
    [InlineData(256)]
    [InlineData(0)]
    public void ColumnSumsAddEachColumnsRowsInOrder(int bits)
    {
        using var _ = new KernelSwitches(bits, 1);
        foreach (int rows in new[] { 1, 7, 256, 300 })
            foreach (int cols in new[] { 1, 10, 15, 16, 17, 31, 33, 48, 63, 64, 65, 100, 113, 300, 333 })
            {
                float[] m = TestData.Random(rows * cols, (ulong)(rows * 1000 + cols));
                var sums = new float[cols];
                Dense.ColumnSums(m, sums, rows, cols);
                var expected = new float[cols];
                for (int j = 0; j < cols; j++)
                {
                    float acc = 0f;
                    for (int i = 0; i < rows; i++) acc += m[i * cols + j];
                    expected[j] = acc;
                }
                TestData.SameBits(expected, sums, $"bits={bits} {rows}x{cols}");

                // The scaled form adds scale·(that chain) to what sums held: a bias's SGD step.
                float[] held = TestData.Random(cols, (ulong)(rows * 1000 + cols + 7));
                sums = (float[])held.Clone();
                Dense.ColumnSums(m, sums, rows, cols, -0.03f);
                for (int j = 0; j < cols; j++) expected[j] = held[j] + expected[j] * -0.03f;
                TestData.SameBits(expected, sums, $"bits={bits} {rows}x{cols} scaled into");
            }
    }

    // Fused SGD (GradientTarget.AddInto): dx comes from the weights before the update, bit for bit as with gradients; the
    // bias takes b − lr·Σdz in SGD's own arithmetic (same bits as Sgd's step on the written gradient); the kernel takes
    // W + (−lr)·(xᵀ·dz), the product scaled as it is stored, which is SGD's own arithmetic on the same product, so the
    // same bits, while the batch is one k block deep; a deeper batch scales each block's product (within 1e-6). Odd sizes
    // on one thread, the MLP's first layer on two (the parallel product), at every vector width, and each target alone
    // beside a written gradient (a regularized kernel or bias is never fused).
    [Theory]
    [InlineData(512)]
    [InlineData(256)]
    [InlineData(0)]
    public void BackwardAddingIntoWeightsIsGradientThenSgd(int bits)
    {
        foreach (var (n, inputs, units, threads) in new[] { (5, 37, 19, 1), (3, 16, 33, 2), (32, 784, 300, 2), (GemmScratch.KC + 9, 21, 40, 2), (4, 1, 7, 1) })
        {
            using var _ = new KernelSwitches(bits, threads);
            const float lr = 0.05f;
            float[] x = TestData.Random(n * inputs, 91), kernel = TestData.Random(inputs * units, 92, -0.2f, 0.2f);
            float[] bias = TestData.Random(units, 93), y = new float[n * units], dy = TestData.Random(n * units, 94);
            Dense.Forward(x, kernel, bias, y, n, inputs, units, new Relu());
            var (dK, dB, dX) = (new float[kernel.Length], new float[units], new float[n * inputs]);
            Dense.Backward(x, kernel, y, (float[])dy.Clone(), dK, dB, dX, n, inputs, units, new Relu());
            var (eK, eB) = ((float[])kernel.Clone(), (float[])bias.Clone());
            for (int i = 0; i < eK.Length; i++) eK[i] -= dK[i] * lr;
            for (int j = 0; j < units; j++) eB[j] -= dB[j] * lr;
            string at = $"bits={bits} {n}×{inputs}→{units} on {threads}";

            // With and without an input gradient (a model's first layer has none).
            foreach (var (kernelAdds, biasAdds, wantDx) in new[] { (true, true, true), (true, false, true), (false, true, true), (true, true, false), (true, false, false) })
            {
                var (k, b, dx) = ((float[])kernel.Clone(), (float[])bias.Clone(), wantDx ? new float[n * inputs] : []);
                var (gK, gB) = (new float[kernel.Length], new float[units]);
                Dense.Backward(x, k, y, (float[])dy.Clone(), kernelAdds ? GradientTarget.AddInto(k, -lr) : gK,
                    biasAdds ? GradientTarget.AddInto(b, -lr) : gB, dx, n, inputs, units, new Relu());
                string how = $"{at}, kernel {(kernelAdds ? "adds" : "written")}, bias {(biasAdds ? "adds" : "written")}{(wantDx ? "" : ", no dx")}";
                if (wantDx) TestData.SameBits(dX, dx, how + ": dx from the weights before the update");
                if (kernelAdds && GemmScratch.KBlock(n) >= n) TestData.SameBits(eK, k, how + ": kernel");
                else if (kernelAdds) TestData.Close(eK, k, 1e-6, 1e-6, how + ": kernel");
                else { TestData.SameBits(dK, gK, how + ": kernel gradient"); TestData.SameBits(kernel, k, how + ": kernel untouched"); }
                if (biasAdds) TestData.SameBits(eB, b, how + ": bias");
                else { TestData.SameBits(dB, gB, how + ": bias gradient"); TestData.SameBits(bias, b, how + ": bias untouched"); }
            }
        }
    }

    // Products too small to split over the threads run side by side (DenseGradientPair: dx on the calling thread, the
    // bias and kernel gradients or their fused step on a worker): the bits of the two one after the other, dx from the
    // weights before a fused step (it reads a copy of them), for every pairing of written and fused targets, with dx
    // written or added to, the MLP's 100 → 10 layer at batch 32 and an odd shape two k blocks deep.
    [Theory]
    [InlineData(512)]
    [InlineData(256)]
    public void SideBySideProductsGiveTheBitsOfOneAfterTheOther(int bits)
    {
        foreach (var (n, inputs, units) in new[] { (32, 100, 10), (GemmScratch.KC + 9, 21, 40), (45, 33, 17) })
        {
            using var _ = new KernelSwitches(bits, 2);
            Assert.True(DenseGradientPair.Applies(n, inputs, units, updatesWeights: true), $"{n}×{inputs}→{units} should run side by side");
            float[] x = TestData.Random(n * inputs, 95), kernel = TestData.Random(inputs * units, 96, -0.2f, 0.2f);
            float[] bias = TestData.Random(units, 97), y = new float[n * units], dy = TestData.Random(n * units, 98), dxStart = TestData.Random(n * inputs, 99);
            Dense.Forward(x, kernel, bias, y, n, inputs, units, new Relu());
            foreach (var (kernelAdds, biasAdds, accumulate) in new[] { (true, true, false), (true, false, true), (false, true, false), (false, false, true) })
            {
                (float[] K, float[] B, float[] GK, float[] GB, float[] Dx) Step(bool sideBySide)
                {
                    DenseGradientPair.Enabled = sideBySide;
                    try
                    {
                        var (k, b, gK, gB, dx) = ((float[])kernel.Clone(), (float[])bias.Clone(), new float[kernel.Length], new float[units], (float[])dxStart.Clone());
                        Dense.Backward(x, k, y, (float[])dy.Clone(), kernelAdds ? GradientTarget.AddInto(k, -0.05f) : gK,
                            biasAdds ? GradientTarget.AddInto(b, -0.05f) : gB, dx, n, inputs, units, new Relu(), accumulate);
                        return (k, b, gK, gB, dx);
                    }
                    finally { DenseGradientPair.Enabled = true; }
                }
                var (one, both) = (Step(false), Step(true));
                string how = $"bits={bits} {n}×{inputs}→{units}, kernel {(kernelAdds ? "adds" : "written")}, bias {(biasAdds ? "adds" : "written")}, dx {(accumulate ? "added to" : "written")}";
                TestData.SameBits(one.Dx, both.Dx, how + ": dx");
                TestData.SameBits(one.K, both.K, how + ": kernel");
                TestData.SameBits(one.B, both.B, how + ": bias");
                TestData.SameBits(one.GK, both.GK, how + ": kernel gradient");
                TestData.SameBits(one.GB, both.GB, how + ": bias gradient");
            }
        }
    }

    [Fact]
    public void EmptyBiasAndEmptyDxAreSkipped()
    {
        const int n = 2, inputs = 3, units = 2;
        float[] x = { 1, 2, 3, 4, 5, 6 };
        float[] kernel = { 1, 0, 0, 1, 1, 1 };
        var y = new float[n * units];
        Dense.Forward(x, kernel, ReadOnlySpan<float>.Empty, y, n, inputs, units, new Identity());
        Assert.Equal(new float[] { 4, 5, 10, 11 }, y);
        float[] dy = { 1, 0, 0, 1 };
        var dKernel = new float[inputs * units];
        // Identity never reads y, so the generator may pass an empty one.
        Dense.Backward(x, kernel, ReadOnlySpan<float>.Empty, dy, dKernel, Span<float>.Empty, Span<float>.Empty, n, inputs, units, new Identity());
        Assert.Equal(new float[] { 1, 4, 2, 5, 3, 6 }, dKernel);
        Assert.Throws<ArgumentException>(() => Dense.Backward(x, kernel, ReadOnlySpan<float>.Empty, dy, dKernel, Span<float>.Empty, Span<float>.Empty, n, inputs, units, new Relu()));
        var ex = Assert.Throws<ArgumentException>(() => Dense.Forward(x, kernel, new float[3], y, n, inputs, units, new Identity()));
        Assert.Contains("2 units", ex.Message);
    }

    // An empty bias means none, but a fused SGD step into no bias weights is a caller's mistake: refused alike whether
    // the products run one after the other or side by side (DenseGradientPair, which once skipped it).
    [Theory]
    [InlineData(2, 3, 2)]
    [InlineData(32, 100, 10)]
    public void AFusedStepIntoNoBiasWeightsIsRefused(int n, int inputs, int units)
    {
        using var _ = new KernelSwitches(Simd.MaxBits, 2);
        float[] x = TestData.Random(n * inputs, 71), kernel = TestData.Random(inputs * units, 72), dy = TestData.Random(n * units, 73);
        var dx = new float[n * inputs];
        var ex = Assert.Throws<ArgumentException>(() => Dense.Backward(x, kernel, ReadOnlySpan<float>.Empty, dy, GradientTarget.AddInto(kernel, -0.1f),
            GradientTarget.AddInto(Span<float>.Empty, -0.1f), dx, n, inputs, units, new Identity()));
        Assert.Contains($"{units} units", ex.Message);
    }
}
