using System;
using System.Collections.Generic;
using Kiln;
using Kiln.Runtime.Tests.Kernels;

namespace Kiln.Runtime.Tests.Optimizers;

/// <summary>A step's update split over the worker pool (Optimizer.Parallel.cs): the ranges, and the same bits as one thread.</summary>
[Collection(KernelCollection.Name)]
public class OptimizerThreadTests
{
    // Inlined into a training step, an update's Vector512 operations were calls on processors without
    // AVX-512 (Adam 12× slower); every optimizer's update is compiled on its own, fully optimized.
    [Theory]
    [InlineData(typeof(Sgd))]
    [InlineData(typeof(RmsProp))]
    [InlineData(typeof(Adam))]
    [InlineData(typeof(AdamW))]
    public void TheUpdateIsNeverInlined(Type optimizer)
    {
        var update = optimizer.GetMethod("Update", System.Reflection.BindingFlags.Instance | System.Reflection.BindingFlags.NonPublic)!;
        var flags = update.MethodImplementationFlags;
        Assert.True(flags.HasFlag(System.Reflection.MethodImplAttributes.NoInlining), $"{optimizer.Name}.Update can be inlined");
        Assert.True(flags.HasFlag(System.Reflection.MethodImplAttributes.AggressiveOptimization), $"{optimizer.Name}.Update is tiered");
    }

    [Theory]
    [MemberData(nameof(OptimizerTests.AllKinds), MemberType = typeof(OptimizerTests))]
    public void SameBitsWhateverTheThreadCount(string kind)
    {
        // 1,037 elements: 64 whole cache lines and 13 more, so the last range ends in the scalar tail.
        const int n = 1037;
        int saved = Optimizer.ParallelMinParameters;
        Optimizer.ParallelMinParameters = 1;
        try
        {
            float[]? reference = null;
            foreach (int threads in new[] { 1, 2, 3 })
            {
                using var _ = new KernelSwitches(Kiln.Kernels.Simd.MaxBits, threads);
                var rng = new Rng(11);
                var w = new float[n];
                for (int i = 0; i < n; i++) w[i] = rng.NextNormal();
                var g = new float[n];
                var optimizer = OptimizerTests.Make(kind);
                for (int step = 0; step < 3; step++)
                {
                    for (int i = 0; i < n; i++) g[i] = rng.NextNormal();
                    optimizer.Step(w, g);
                }
                if (reference is null) reference = w;
                else TestData.SameBits(reference, w, $"{kind} on {threads} threads");
            }
        }
        finally { Optimizer.ParallelMinParameters = saved; }
    }

    [Fact]
    public void ALargeBufferIsUpdatedInDisjointRangesOfWholeCacheLines()
    {
        const int n = 70_001;
        Assert.True(n >= Optimizer.ParallelMinParameters);
        foreach (int threads in new[] { 1, 2, 3 })
        {
            using var _ = new KernelSwitches(Kiln.Kernels.Simd.MaxBits, threads);
            var spy = new RangeSpy();
            spy.Step(new float[n], new float[n]);
            var ranges = spy.Ranges;
            ranges.Sort();
            Assert.Equal(threads, ranges.Count);
            int next = 0;
            foreach (var (start, length) in ranges)
            {
                Assert.Equal(next, start);
                Assert.Equal(0, start % 16);
                next = start + length;
            }
            Assert.Equal(n, next);
        }
    }

    /// <summary>Records the ranges a step hands it; updates nothing.</summary>
    private sealed class RangeSpy() : Optimizer(0.1f)
    {
        public readonly List<(int Start, int Length)> Ranges = new();

        protected override int StateCount => 0;

        protected override void Update(Span<float> parameters, ReadOnlySpan<float> gradients, int offset)
        {
            Assert.Equal(parameters.Length, gradients.Length);
            lock (Ranges) Ranges.Add((offset, parameters.Length));
        }
    }
}
