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

    // Unbuilt, a step splits the flat buffer; built on a model's variables, each variable and each gap between
    // them, so that a thread updates the rows its share of the products touched. One thread's bits either way.
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
            foreach (bool byVariable in new[] { false, true })
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
                    if (byVariable) optimizer.Build(Variables());
                    for (int step = 0; step < 3; step++)
                    {
                        for (int i = 0; i < n; i++) g[i] = rng.NextNormal();
                        optimizer.Step(w, g);
                    }
                    if (reference is null) reference = w;
                    else TestData.SameBits(reference, w, $"{kind} on {threads} threads{(byVariable ? ", split by variable" : "")}");
                }
            }
        }
        finally { Optimizer.ParallelMinParameters = saved; }
    }

    // A 20 × 15 kernel, a bias of 10 and a 35 × 20 kernel, each on a 64-byte line, with gaps and a tail after.
    private static TensorInfo[] Variables() =>
    [
        new("k0", [20, 15], 0, Trainable: true),
        new("b0", [10], 304, Trainable: true),
        new("k1", [35, 20], 320, Trainable: true),
    ];

    [Fact]
    public void BuiltOnVariablesEachVariableAndGapIsSplitOverTheThreads()
    {
        const int n = 70_001;
        var variables = new TensorInfo[] { new("w", [200, 300], 0, Trainable: true), new("b", [300], 60_000, Trainable: true), new("v", [96, 100], 60_304, Trainable: true) };
        foreach (int threads in new[] { 1, 2, 3 })
        {
            using var _ = new KernelSwitches(Kiln.Kernels.Simd.MaxBits, threads);
            var spy = new RangeSpy();
            spy.Build(variables);
            spy.Step(new float[n], new float[n]);
            var ranges = spy.Ranges;
            ranges.Sort();
            if (threads == 1)
            {
                Assert.Equal([(0, n)], ranges); // one thread: the whole buffer in one call
                continue;
            }
            int next = 0;
            foreach (var (start, length) in ranges)
            {
                Assert.Equal(next, start);
                next = start + length;
            }
            Assert.Equal(n, next);
            // Each of w, b, v and the tail in `threads` pieces (a piece never crosses a variable's end), cut every 16 floats from its start.
            foreach (var (from, to) in new[] { (0, 60_000), (60_000, 60_300), (60_304, 69_904), (69_904, n) })
            {
                var inside = ranges.FindAll(r => r.Start >= from && r.Start < to);
                Assert.Equal(threads, inside.Count);
                Assert.All(inside, r => Assert.True(r.Start + r.Length <= to && (r.Start - from) % 16 == 0, $"piece {r} of [{from}, {to})"));
            }
        }
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
