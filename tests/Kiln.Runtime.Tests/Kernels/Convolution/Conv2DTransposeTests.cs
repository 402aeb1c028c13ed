using System;
using Kiln.Kernels;

namespace Kiln.Runtime.Tests.Kernels.Convolution;

[Collection(KernelCollection.Name)]
public class Conv2DTransposeTests
{
    // n, h, w, inC, filters, k, stride, same
    [Theory]
    [InlineData(2, 4, 4, 3, 5, 4, 2, true)]   // the GAN's upsampling block, small
    [InlineData(2, 3, 5, 17, 6, 3, 2, true)]
    [InlineData(1, 3, 4, 2, 33, 3, 2, false)]
    [InlineData(2, 5, 5, 4, 3, 3, 1, true)]
    [InlineData(1, 3, 3, 2, 3, 2, 3, false)]  // stride > kernel: some outputs only get the bias
    public void ForwardAndBackwardMatchTheConvolutionAdjoint(int n, int h, int w, int inC, int filters, int k, int s, bool same)
    {
        Conv2DGeometry g = ConvReference.KerasTranspose(h, w, inC, filters, k, k, s, s, same);
        float[] x = TestData.Random(n * g.OutputSize, 91);
        float[] kernel = TestData.Random(g.PatchSize * inC, 92);
        float[] bias = TestData.Random(filters, 93);
        // The transposed conv is the data gradient of the forward conv: dx of Σ x·conv(u).
        var (_, yRef) = ConvReference.Backward(new float[n * g.InputSize], kernel, Array.ConvertAll(x, v => (double)v), n, g);
        for (int i = 0; i < yRef.Length; i++) yRef[i] += bias[i % filters];
        float[] r = TestData.Random(yRef.Length, 94);
        // Its gradients: dx = conv(dy), dKernel = the conv's kernel gradient with (input dy, output grad x).
        double[] dxRef = ConvReference.Forward(r, kernel, Array.Empty<float>(), n, g);
        var (dkRef, _) = ConvReference.Backward(r, kernel, Array.ConvertAll(x, v => (double)v), n, g);
        var dbRef = new double[filters];
        for (int i = 0; i < r.Length; i++) dbRef[i % filters] += r[i];

        foreach (int bits in new[] { 512, 256, 0 })
        {
            using var _ = new KernelSwitches(bits, 2);
            var y = new float[n * g.InputSize];
            y.AsSpan().Fill(float.NaN);
            Conv2DTranspose.Forward(x, kernel, bias, y, n, g, new Identity());
            ConvReference.Close(yRef, y, 4, 1e-5, $"{bits}-bit forward");
            float[] dy = (float[])r.Clone();
            var dk = new float[kernel.Length];
            var db = new float[filters];
            var dx = new float[x.Length];
            dx.AsSpan().Fill(float.NaN);
            Conv2DTranspose.Backward(x, kernel, ReadOnlySpan<float>.Empty, dy, dk, db, dx, n, g, new Identity());
            ConvReference.Close(dxRef, dx, 4, 1e-5, $"{bits}-bit dx");
            ConvReference.Close(dkRef, dk, 8, 1e-5, $"{bits}-bit dKernel");
            ConvReference.Close(dbRef, db, 8, 1e-5, $"{bits}-bit dBias");
        }
    }

    [Fact]
    public void GanUpsamplingBlockPassesGradientCheck()
    {
        // 16×16 → 32×32, kernel 4, stride 2, same, as the GAN generator uses it.
        using var _ = new KernelSwitches(512, 2);
        const int n = 1, inC = 2, filters = 3;
        Conv2DGeometry g = ConvReference.KerasTranspose(16, 16, inC, filters, 4, 4, 2, 2, true);
        Assert.Equal(32, g.InputHeight);
        Assert.Equal(1, g.PadTop); // total 2: one each side
        float[] x = TestData.Random(n * g.OutputSize, 101);
        float[] kernel = TestData.Random(g.PatchSize * inC, 102, -0.5f, 0.5f);
        float[] bias = TestData.Random(filters, 103, -0.5f, 0.5f);
        float[] r = TestData.Random(n * g.InputSize, 104);
        var y = new float[n * g.InputSize];
        Conv2DTranspose.Forward(x, kernel, bias, y, n, g, new Tanh());
        float[] dy = (float[])r.Clone();
        var dk = new float[kernel.Length];
        var db = new float[filters];
        var dx = new float[x.Length];
        Conv2DTranspose.Backward(x, kernel, y, dy, dk, db, dx, n, g, new Tanh());
        var scratch = new float[y.Length];
        double Loss() { Conv2DTranspose.Forward(x, kernel, bias, scratch, n, g, new Tanh()); return GradCheck.Project(scratch, r); }
        GradCheck.Check(kernel, dk, Loss, "dKernel", 2e-2, 1e-3);
        GradCheck.Check(bias, db, Loss, "dBias", 2e-2, 1e-3);
        GradCheck.Check(x, dx, Loss, "dx", 2e-2, 1e-3);
    }
}
