using System;
using Kiln.Kernels;

namespace Kiln.Runtime.Tests.Kernels;

[Collection(KernelCollection.Name)]
public class AllocationTests
{
    [Theory]
    [InlineData(32)]
    [InlineData(256)]
    [InlineData(1)]
    public void MlpStepAllocatesNothingOnAnyThread(int n)
    {
        using var _ = new KernelSwitches(512, 2);
        int[] sizes = { 784, 300, 100, 10 };
        var x = new float[4][];
        var w = new float[3][];
        var b = new float[3][];
        var dw = new float[3][];
        var db = new float[3][];
        var dx = new float[4][];
        for (int l = 0; l < 4; l++)
        {
            x[l] = TestData.Random(n * sizes[l], (ulong)l + 1);
            dx[l] = new float[n * sizes[l]];
        }
        for (int l = 0; l < 3; l++)
        {
            w[l] = TestData.Random(sizes[l] * sizes[l + 1], (ulong)l + 10, -0.1f, 0.1f);
            b[l] = new float[sizes[l + 1]];
            dw[l] = new float[w[l].Length];
            db[l] = new float[b[l].Length];
        }
        float[] labels = new float[n];
        var mask = new float[n * 300];
        var rng = new Rng(1);

        void Step()
        {
            Dense.Forward(x[0], w[0], b[0], x[1], n, 784, 300, new Relu());
            Dropout.Forward(x[1], x[1], mask, 0.2f, ref rng);
            Dense.Forward(x[1], w[1], b[1], x[2], n, 300, 100, new Relu());
            Dense.Forward(x[2], w[2], b[2], x[3], n, 100, 10, new Identity());
            Losses.SparseCategoricalCrossentropyFromLogits(x[3], labels, dx[3], n, 10);
            Dense.Backward(x[2], w[2], x[3], dx[3], dw[2], db[2], dx[2], n, 100, 10, new Identity());
            Dense.Backward(x[1], w[1], x[2], dx[2], dw[1], db[1], dx[1], n, 300, 100, new Relu());
            Dropout.Backward(dx[1], mask, dx[1]);
            Dense.Backward(x[0], w[0], x[1], dx[1], dw[0], db[0], Span<float>.Empty, n, 784, 300, new Relu());
            Gemm.Nt(n, 784, 300, dx[1], 300, w[0], 300, dx[0], 784);
            Activations.Softmax(x[3], x[3], n, 10);
        }

        // Past the JIT's call-counting threshold (30 calls) for everything a step calls, so tiering
        // work that may run on this thread is over before measuring.
        WarmUp.Run(Step);
        var (callingThread, workers) = WarmUp.Allocations(() => { for (int i = 0; i < 5; i++) Step(); });
        Assert.Equal(0, callingThread);
        Assert.Equal(0, workers);
    }
}
