using System;
using Kiln.Kernels;
using Kiln.Threading;

namespace Kiln.Runtime.Tests.Kernels.Convolution;

[Collection(KernelCollection.Name)]
public class ConvAllocationTests
{
    [Theory]
    [InlineData(2, 512)]
    [InlineData(1, 512)]
    [InlineData(2, 256)]
    public void CnnStepAllocatesNothingAfterWarmUpOnAnyThread(int threads, int bits)
    {
        using var _ = new KernelSwitches(bits, threads);
        // Fashion-CNN-like: conv(1→32, 3×3 same)+BN+ReLU → max pool → conv(32→48)+BN+ReLU → GAP,
        // plus a strided transposed conv and the resampling kernels.
        const int n = 8;
        Conv2DGeometry c1 = ConvReference.Keras(28, 28, 1, 32, 3, 3, 1, 1, true);
        Conv2DGeometry p1 = ConvReference.Keras(28, 28, 32, 32, 2, 2, 2, 2, false);
        Conv2DGeometry c2 = ConvReference.Keras(14, 14, 32, 48, 3, 3, 1, 1, true);
        Conv2DGeometry t1 = ConvReference.KerasTranspose(14, 14, 48, 8, 4, 4, 2, 2, true);
        float[] x = TestData.Random(n * c1.InputSize, 1);
        float[] k1 = TestData.Random(c1.PatchSize * 32, 2), b1 = new float[32], dk1 = new float[k1.Length], db1 = new float[32];
        float[] k2 = TestData.Random(c2.PatchSize * 48, 3), dk2 = new float[k2.Length];
        float[] kt = TestData.Random(t1.PatchSize * 48, 4), dkt = new float[kt.Length];
        float[] z1 = new float[n * c1.OutputSize], a1 = new float[z1.Length], q1 = new float[n * p1.OutputSize];
        int[] arg1 = new int[q1.Length];
        float[] z2 = new float[n * c2.OutputSize], a2 = new float[z2.Length], gap = new float[n * 48];
        float[] up = new float[n * 28 * 28 * 48], pad = new float[n * 16 * 16 * 48], tOut = new float[n * t1.InputSize];
        float[] g1 = new float[32], be1 = new float[32], mm1 = new float[32], mv1 = new float[32], s1 = new float[64], dg1 = new float[32], dbe1 = new float[32];
        float[] g2 = new float[48], be2 = new float[48], mm2 = new float[48], mv2 = new float[48], s2 = new float[96], dg2 = new float[48], dbe2 = new float[48];
        float[] d_a2 = new float[a2.Length], d_q1 = new float[q1.Length], d_a1 = new float[a1.Length], dUp = new float[up.Length];
        float[] dPad = new float[pad.Length], dT = new float[tOut.Length], dTx = new float[a2.Length];
        int[] gArg = new int[gap.Length];
        Array.Fill(g1, 1f); Array.Fill(g2, 1f);

        void Step()
        {
            Conv2D.Forward(x, k1, b1, z1, n, c1, new Identity());
            DirectConv2D.Forward(x, k1, b1, z1, n, c1, new Identity()); // what the generator emits for this layer
            BatchNorm.ForwardTraining(z1, a1, g1, be1, mm1, mv1, s1, n * 28 * 28, 32, 0.99f, 1e-3f, new Relu());
            Pooling.MaxForward(a1, q1, arg1, n, p1);
            Conv2D.Forward(q1, k2, ReadOnlySpan<float>.Empty, z2, n, c2, new Identity());
            BatchNorm.ForwardTraining(z2, a2, g2, be2, mm2, mv2, s2, n * 14 * 14, 48, 0.99f, 1e-3f, new Relu());
            Pooling.GlobalAverageForward(a2, gap, n, 14 * 14, 48);
            Pooling.GlobalMaxForward(a2, gap, gArg, n, 14 * 14, 48);
            Pooling.AverageForward(a1, q1, n, p1);
            Resampling.UpSampleNearest(a2, up, n, 14, 14, 48, 2, 2);
            Resampling.ZeroPad(a2, pad, n, 14, 14, 48, 1, 1, 1, 1);
            Conv2DTranspose.Forward(a2, kt, ReadOnlySpan<float>.Empty, tOut, n, t1, new Tanh());
            BatchNorm.ForwardInference(z2, a2, g2, be2, mm2, mv2, n * 14 * 14, 48, 1e-3f, new Relu());

            Array.Copy(tOut, dT, dT.Length);
            Conv2DTranspose.Backward(a2, kt, tOut, dT, dkt, Span<float>.Empty, dTx, n, t1, new Tanh());
            Resampling.ZeroPadBackward(pad, d_a2, n, 14, 14, 48, 1, 1, 1, 1);
            Resampling.UpSampleNearestBackward(up, d_a2, n, 14, 14, 48, 2, 2);
            Pooling.GlobalMaxBackward(gap, gArg, d_a2, n, 14 * 14, 48);
            Pooling.GlobalAverageBackward(gap, d_a2, n, 14 * 14, 48);
            BatchNorm.Backward(z2, a2, d_a2, g2, s2, dg2, dbe2, d_a2, n * 14 * 14, 48, new Relu());
            Conv2D.Backward(q1, k2, ReadOnlySpan<float>.Empty, d_a2, dk2, Span<float>.Empty, d_q1, n, c2, new Identity());
            Pooling.MaxBackward(d_q1, arg1, d_a1, n, p1);
            Pooling.AverageBackward(d_q1, d_a1, n, p1);
            BatchNorm.Backward(z1, a1, d_a1, g1, s1, dg1, dbe1, d_a1, n * 28 * 28, 32, new Relu());
            Conv2D.Backward(x, k1, ReadOnlySpan<float>.Empty, d_a1, dk1, db1, Span<float>.Empty, n, c1, new Identity());
            BatchNorm.Fold(k2, ReadOnlySpan<float>.Empty, g2, be2, mm2, mv2, 1e-3f, dk2, dbe2, 48);
        }

        // Past tiered compilation's recompiles (two 2-step warm-ups measured 80–700 bytes now and then).
        WarmUp.Run(Step, calls: 35);
        var (callingThread, workers) = WarmUp.Allocations(() => { for (int i = 0; i < 3; i++) Step(); });
        Assert.Equal(0, callingThread);
        Assert.Equal(0, workers);
    }
}
