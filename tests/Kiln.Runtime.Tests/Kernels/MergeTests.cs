using System;
using System.Collections.Generic;
using Kiln.Kernels;

namespace Kiln.Runtime.Tests.Kernels;

/// <summary>
/// Kernels.Merge against naive references at every vector width (512, 256, scalar). Every
/// operation here is one IEEE operation per element in the same order at every width
/// (MultiplyAdd is unfused on purpose), so results must be bit-for-bit the reference's.
/// Each span is a slice of a larger array filled with sentinels, so a vector loop that
/// writes past its span's end (or before its start) is caught too.
/// </summary>
[Collection(KernelCollection.Name)]
public class MergeTests
{
    /// <summary>Empty, single, below/at/above each vector width, and odd tails of both widths.</summary>
    private static readonly int[] Lengths = { 0, 1, 7, 8, 9, 15, 16, 17, 24, 31, 32, 33, 47, 100, 257 };

    private const int Guard = 19; // floats of sentinel on each side of every span
    private const float Sentinel = -12345.5f;

    public static IEnumerable<object[]> Paths() => new[] { new object[] { 512 }, new object[] { 256 }, new object[] { 0 } };

    /// <summary>An array of Guard + length + Guard floats: random values inside, sentinels around.</summary>
    private static float[] Guarded(int length, ulong seed, float lo = -3f, float hi = 3f)
    {
        var a = new float[length + 2 * Guard];
        Array.Fill(a, Sentinel);
        TestData.Random(length, seed, lo, hi).CopyTo(a, Guard);
        return a;
    }

    private static Span<float> Inner(float[] a) => a.AsSpan(Guard, a.Length - 2 * Guard);

    private static void AssertGuards(float[] a, string what)
    {
        for (int i = 0; i < Guard; i++)
        {
            Assert.True(a[i] == Sentinel, $"{what}: wrote {Guard - i} float(s) before the span");
            Assert.True(a[a.Length - 1 - i] == Sentinel, $"{what}: wrote {Guard - i} float(s) past the span");
        }
    }

    /// <summary>Bit-exact equality, naming the first differing element.</summary>
    private static void Exact(ReadOnlySpan<float> expected, ReadOnlySpan<float> actual, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
            if (BitConverter.SingleToInt32Bits(expected[i]) != BitConverter.SingleToInt32Bits(actual[i]))
                Assert.Fail($"{what}: element {i} of {expected.Length} is {actual[i]:R}, expected {expected[i]:R}");
    }

    private delegate void BinaryKernel(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> y);

    private static readonly (string Name, BinaryKernel Kernel, Func<float, float, float> Reference)[] Binaries =
    {
        ("Add", Merge.Add, (a, b) => a + b),
        ("Subtract", Merge.Subtract, (a, b) => a - b),
        ("Multiply", Merge.Multiply, (a, b) => a * b),
    };

    [Theory]
    [MemberData(nameof(Paths))]
    public void BinaryMergesMatchTheReference(int bits)
    {
        using var _ = new KernelSwitches(bits, 1);
        foreach (var (name, kernel, reference) in Binaries)
        {
            foreach (int len in Lengths)
            {
                float[] a = Guarded(len, 1), b = Guarded(len, 2), y = Guarded(len, 3);
                var expected = new float[len];
                for (int i = 0; i < len; i++) expected[i] = reference(Inner(a)[i], Inner(b)[i]);
                float[] aBefore = (float[])a.Clone(), bBefore = (float[])b.Clone();

                kernel(Inner(a), Inner(b), Inner(y));
                Exact(expected, Inner(y), $"{name} {bits} len {len}");
                AssertGuards(y, $"{name} {bits} len {len}");
                Assert.Equal(aBefore, a);
                Assert.Equal(bBefore, b);
            }
        }
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void BinaryMergesWorkInPlace(int bits)
    {
        using var _ = new KernelSwitches(bits, 1);
        foreach (var (name, kernel, reference) in Binaries)
        {
            foreach (int len in Lengths)
            {
                float[] a = Guarded(len, 11), b = Guarded(len, 12);
                var expected = new float[len];
                for (int i = 0; i < len; i++) expected[i] = reference(Inner(a)[i], Inner(b)[i]);

                // Output is the first input (the generated chain y = a; y = y + b; y = y + c).
                float[] first = (float[])a.Clone();
                kernel(Inner(first), Inner(b), Inner(first));
                Exact(expected, Inner(first), $"{name} {bits} len {len}, y = a");
                AssertGuards(first, $"{name} {bits} len {len}, y = a");

                // Output is the second input.
                float[] second = (float[])b.Clone();
                kernel(Inner(a), Inner(second), Inner(second));
                Exact(expected, Inner(second), $"{name} {bits} len {len}, y = b");

                // Both inputs are the same tensor (a layer merging a name with itself).
                float[] both = (float[])a.Clone();
                kernel(Inner(both), Inner(both), Inner(both));
                for (int i = 0; i < len; i++) expected[i] = reference(Inner(a)[i], Inner(a)[i]);
                Exact(expected, Inner(both), $"{name} {bits} len {len}, y = a = b");
            }
        }
    }

    /// <summary>Average of k inputs as the generator writes it: a chain of Adds into the output, then Scale by 1/k.</summary>
    [Theory]
    [MemberData(nameof(Paths))]
    public void AddChainThenScaleIsTheAverage(int bits)
    {
        using var _ = new KernelSwitches(bits, 1);
        foreach (int k in new[] { 2, 3, 4 })
        {
            foreach (int len in Lengths)
            {
                var inputs = new float[k][];
                for (int j = 0; j < k; j++) inputs[j] = Guarded(len, (ulong)(20 + j));
                var expected = new float[len];
                float scale = 1f / k;
                for (int i = 0; i < len; i++)
                {
                    float s = Inner(inputs[0])[i];
                    for (int j = 1; j < k; j++) s += Inner(inputs[j])[i];
                    expected[i] = s * scale;
                }

                float[] y = Guarded(len, 29);
                Merge.Add(Inner(inputs[0]), Inner(inputs[1]), Inner(y));
                for (int j = 2; j < k; j++) Merge.Add(Inner(y), Inner(inputs[j]), Inner(y));
                Merge.Scale(Inner(y), scale);
                Exact(expected, Inner(y), $"Average of {k}, {bits} len {len}");
                AssertGuards(y, $"Average of {k}, {bits} len {len}");
            }
        }
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void ScaleMatchesTheReference(int bits)
    {
        using var _ = new KernelSwitches(bits, 1);
        foreach (float scale in new[] { 0.5f, 1f / 3, -2f, 0f, 1f })
        {
            foreach (int len in Lengths)
            {
                float[] y = Guarded(len, 31);
                var expected = new float[len];
                for (int i = 0; i < len; i++) expected[i] = Inner(y)[i] * scale;
                Merge.Scale(Inner(y), scale);
                Exact(expected, Inner(y), $"Scale {scale} {bits} len {len}");
                AssertGuards(y, $"Scale {scale} {bits} len {len}");
            }
        }
    }

    /// <summary>
    /// A Maximum over k inputs as a chain: the first call takes inputs 0 and 1 (first: true), each
    /// later one folds input j into the running maximum in place. Ties go to the earliest input.
    /// </summary>
    [Theory]
    [MemberData(nameof(Paths))]
    public void MaximumChainPicksTheFirstLargestInput(int bits)
    {
        using var _ = new KernelSwitches(bits, 1);
        foreach (int k in new[] { 2, 3, 4, 5 })
        {
            foreach (int len in Lengths)
            {
                // Values from a small set, so ties between inputs are frequent.
                var rng = new Random(len * 10 + k);
                var inputs = new float[k][];
                for (int j = 0; j < k; j++)
                {
                    inputs[j] = Guarded(len, 0);
                    for (int i = 0; i < len; i++) Inner(inputs[j])[i] = rng.Next(-3, 4) * 0.5f;
                }
                // Some exact ties everywhere: input k-1 equals input 0 on the first third.
                for (int i = 0; i < len / 3; i++) Inner(inputs[k - 1])[i] = Inner(inputs[0])[i];

                var expected = new float[len];
                var expectedWinner = new int[len];
                for (int i = 0; i < len; i++)
                {
                    int w = 0;
                    for (int j = 1; j < k; j++) if (Inner(inputs[j])[i] > Inner(inputs[w])[i]) w = j;
                    expected[i] = Inner(inputs[w])[i];
                    expectedWinner[i] = w;
                }

                float[] y = Guarded(len, 41);
                var winner = new int[len + 2 * Guard];
                Array.Fill(winner, -7); // stale values from an earlier batch must not survive the first call
                var winnerSpan = winner.AsSpan(Guard, len);
                Merge.Maximum(Inner(inputs[0]), Inner(inputs[1]), Inner(y), winnerSpan, 1, first: true);
                for (int j = 2; j < k; j++) Merge.Maximum(Inner(y), Inner(inputs[j]), Inner(y), winnerSpan, j, first: false);

                string what = $"Maximum of {k}, {bits} len {len}";
                Exact(expected, Inner(y), what);
                Assert.Equal(expectedWinner, winnerSpan.ToArray());
                AssertGuards(y, what);
                for (int i = 0; i < Guard; i++) Assert.True(winner[i] == -7 && winner[winner.Length - 1 - i] == -7, what + ": wrote a winner outside the span");
            }
        }
    }

    [Fact]
    public void MaximumTiesAndSignedZerosGoToTheFirstInput()
    {
        float[] a = { 1f, 0f, -0f, -2f, float.NegativeInfinity };
        float[] b = { 1f, -0f, 0f, -2f, float.NegativeInfinity };
        var y = new float[a.Length];
        var winner = new int[a.Length];
        Array.Fill(winner, 9);
        Merge.Maximum(a, b, y, winner, 1, first: true);
        Exact(a, y, "ties");
        Assert.Equal(new int[a.Length], winner);
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void MaximumGradientRoutesEachValueToItsWinner(int bits)
    {
        using var _ = new KernelSwitches(bits, 1);
        const int k = 3;
        foreach (int len in Lengths)
        {
            var rng = new Random(len);
            var winner = new int[len];
            for (int i = 0; i < len; i++) winner[i] = rng.Next(k);
            float[] dy = Guarded(len, 51);
            var sum = new float[len];
            for (int index = 0; index < k; index++)
            {
                foreach (bool accumulate in new[] { false, true })
                {
                    float[] dx = Guarded(len, (ulong)(52 + index));
                    var expected = new float[len];
                    for (int i = 0; i < len; i++)
                    {
                        float g = winner[i] == index ? Inner(dy)[i] : 0f;
                        expected[i] = accumulate ? Inner(dx)[i] + g : g;
                    }
                    Merge.MaximumGradient(Inner(dy), winner, index, Inner(dx), accumulate);
                    string what = $"MaximumGradient input {index} accumulate {accumulate}, {bits} len {len}";
                    Exact(expected, Inner(dx), what);
                    AssertGuards(dx, what);
                    if (!accumulate) for (int i = 0; i < len; i++) sum[i] += Inner(dx)[i];
                }
            }
            // Every output value's gradient went to exactly one input.
            Exact(Inner(dy), sum, $"MaximumGradient parts sum to dy, {bits} len {len}");
        }
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void GradientScalesAndAccumulates(int bits)
    {
        using var _ = new KernelSwitches(bits, 1);
        foreach (float scale in new[] { 1f, 0.5f, 1f / 3, -1f })
        {
            foreach (bool accumulate in new[] { false, true })
            {
                foreach (int len in Lengths)
                {
                    float[] dy = Guarded(len, 61), dx = Guarded(len, 62);
                    var expected = new float[len];
                    for (int i = 0; i < len; i++) expected[i] = accumulate ? Inner(dx)[i] + scale * Inner(dy)[i] : scale * Inner(dy)[i];
                    float[] dyBefore = (float[])dy.Clone();
                    Merge.Gradient(Inner(dy), Inner(dx), scale, accumulate);
                    string what = $"Gradient scale {scale} accumulate {accumulate}, {bits} len {len}";
                    Exact(expected, Inner(dx), what);
                    AssertGuards(dx, what);
                    Assert.Equal(dyBefore, dy);

                    // dx is the same memory as dy.
                    float[] same = Guarded(len, 61);
                    for (int i = 0; i < len; i++) expected[i] = accumulate ? Inner(same)[i] + scale * Inner(same)[i] : scale * Inner(same)[i];
                    Merge.Gradient(Inner(same), Inner(same), scale, accumulate);
                    Exact(expected, Inner(same), what + ", dx = dy");
                    AssertGuards(same, what + ", dx = dy");
                }
            }
        }
    }

    /// <summary>A long gradient pass runs over the pool in line-aligned ranges (Streams): the reference's bits, nothing written outside the span.</summary>
    [Theory]
    [InlineData(512, 2)]
    [InlineData(512, 3)]
    [InlineData(256, 2)]
    [InlineData(0, 3)]
    public void GradientOverThePoolMatchesTheReference(int bits, int threads)
    {
        using var _ = new KernelSwitches(bits, threads);
        foreach (bool accumulate in new[] { false, true })
        {
            foreach (int len in new[] { 65_535, 65_536 + 17, 200_003 })
            {
                float[] dy = Guarded(len, 71), dx = Guarded(len, 72);
                var expected = new float[len];
                for (int i = 0; i < len; i++) expected[i] = accumulate ? Inner(dx)[i] + 0.5f * Inner(dy)[i] : 0.5f * Inner(dy)[i];
                Merge.Gradient(Inner(dy), Inner(dx), 0.5f, accumulate);
                string what = $"Gradient accumulate {accumulate}, {bits}-bit, {threads} threads, len {len}";
                Exact(expected, Inner(dx), what);
                AssertGuards(dx, what);
            }
        }
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void MultiplyGradientMatchesTheReference(int bits)
    {
        using var _ = new KernelSwitches(bits, 1);
        foreach (bool accumulate in new[] { false, true })
        {
            foreach (int len in Lengths)
            {
                float[] dy = Guarded(len, 71), other = Guarded(len, 72), dx = Guarded(len, 73);
                var expected = new float[len];
                for (int i = 0; i < len; i++)
                {
                    float product = Inner(dy)[i] * Inner(other)[i];
                    expected[i] = accumulate ? Inner(dx)[i] + product : product;
                }
                Merge.MultiplyGradient(Inner(dy), Inner(other), Inner(dx), accumulate);
                string what = $"MultiplyGradient accumulate {accumulate}, {bits} len {len}";
                Exact(expected, Inner(dx), what);
                AssertGuards(dx, what);

                // dx is the same memory as dy (the generator may reuse the output gradient's buffer).
                float[] same = Guarded(len, 71);
                for (int i = 0; i < len; i++)
                {
                    float product = Inner(same)[i] * Inner(other)[i];
                    expected[i] = accumulate ? Inner(same)[i] + product : product;
                }
                Merge.MultiplyGradient(Inner(same), Inner(other), Inner(same), accumulate);
                Exact(expected, Inner(same), what + ", dx = dy");
            }
        }
    }

    /// <summary>The gradient of a three-factor product, as a chain: d/da (a·b·c) = dy·(b·c).</summary>
    [Theory]
    [MemberData(nameof(Paths))]
    public void MultiplyGradientPassesAGradientCheck(int bits)
    {
        using var _ = new KernelSwitches(bits, 1);
        const int len = 37;
        float[] a = TestData.Random(len, 81), b = TestData.Random(len, 82), c = TestData.Random(len, 83), r = TestData.Random(len, 84);
        var bc = new float[len];
        Merge.Multiply(b, c, bc);
        var da = new float[len];
        Array.Fill(da, 0.25f); // a second reader's part, already there
        Merge.MultiplyGradient(r, bc, da, accumulate: true);
        for (int i = 0; i < len; i++) da[i] -= 0.25f;
        var y = new float[len];
        GradCheck.Check(a, da, () =>
        {
            Merge.Multiply(a, b, y);
            Merge.Multiply(y, c, y);
            return GradCheck.Project(y, r);
        }, "Multiply(a, b, c) wrt a", rel: 1e-3, abs: 1e-5);
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void AccumulateAddsThePart(int bits)
    {
        using var _ = new KernelSwitches(bits, 1);
        foreach (int len in Lengths)
        {
            float[] target = Guarded(len, 91), part = Guarded(len, 92);
            var expected = new float[len];
            for (int i = 0; i < len; i++) expected[i] = Inner(target)[i] + Inner(part)[i];
            Merge.Accumulate(Inner(target), Inner(part));
            Exact(expected, Inner(target), $"Accumulate {bits} len {len}");
            AssertGuards(target, $"Accumulate {bits} len {len}");

            // A tensor read twice by one layer: target += target.
            float[] twice = Guarded(len, 93);
            for (int i = 0; i < len; i++) expected[i] = Inner(twice)[i] + Inner(twice)[i];
            Merge.Accumulate(Inner(twice), Inner(twice));
            Exact(expected, Inner(twice), $"Accumulate into itself {bits} len {len}");
        }
    }

    /// <summary>
    /// Concatenate forward and backward over several inputs of odd widths, as the generator
    /// calls them: input i fills columns [offset_i, offset_i + width_i) of each row of the output.
    /// </summary>
    [Theory]
    [MemberData(nameof(Paths))]
    public void CopyIntoAndCopyOutConcatenateAndSplit(int bits)
    {
        using var _ = new KernelSwitches(bits, 1);
        int[][] layouts = { new[] { 1, 1 }, new[] { 3, 17, 5 }, new[] { 16, 8, 33, 2 }, new[] { 0, 4 }, new[] { 40 } };
        foreach (int[] widths in layouts)
        {
            foreach (int rows in new[] { 0, 1, 3, 7 })
            {
                int stride = 0;
                var offsets = new int[widths.Length];
                for (int j = 0; j < widths.Length; j++) { offsets[j] = stride; stride += widths[j]; }
                string what = $"Concatenate widths ({string.Join(", ", widths)}) rows {rows}, {bits}";

                var xs = new float[widths.Length][];
                for (int j = 0; j < widths.Length; j++) xs[j] = Guarded(rows * widths[j], (ulong)(100 + j));
                var expected = new float[rows * stride];
                for (int j = 0; j < widths.Length; j++)
                    for (int r = 0; r < rows; r++)
                        for (int c = 0; c < widths[j]; c++)
                            expected[r * stride + offsets[j] + c] = Inner(xs[j])[r * widths[j] + c];

                float[] y = Guarded(rows * stride, 110);
                for (int j = 0; j < widths.Length; j++) Merge.CopyInto(Inner(xs[j]), Inner(y), rows, widths[j], offsets[j], stride);
                Exact(expected, Inner(y), what + " forward");
                AssertGuards(y, what + " forward");

                // Backward: each input gets its columns of dy, written over or added.
                float[] dy = Guarded(rows * stride, 120);
                for (int j = 0; j < widths.Length; j++)
                {
                    foreach (bool accumulate in new[] { false, true })
                    {
                        float[] dx = Guarded(rows * widths[j], (ulong)(130 + j));
                        var expectedDx = new float[rows * widths[j]];
                        for (int r = 0; r < rows; r++)
                            for (int c = 0; c < widths[j]; c++)
                            {
                                float g = Inner(dy)[r * stride + offsets[j] + c];
                                expectedDx[r * widths[j] + c] = accumulate ? Inner(dx)[r * widths[j] + c] + g : g;
                            }
                        Merge.CopyOut(Inner(dy), Inner(dx), rows, widths[j], offsets[j], stride, accumulate);
                        Exact(expectedDx, Inner(dx), $"{what} backward input {j} accumulate {accumulate}");
                        AssertGuards(dx, $"{what} backward input {j} accumulate {accumulate}");
                    }
                }
            }
        }
    }

    /// <summary>Columns the copy does not own (a row wider than the inputs given so far) stay as they were.</summary>
    [Fact]
    public void CopyIntoLeavesOtherColumnsAlone()
    {
        const int rows = 3, width = 2, offset = 3, stride = 7;
        float[] x = TestData.Random(rows * width, 140);
        var y = new float[rows * stride];
        Array.Fill(y, 5f);
        Merge.CopyInto(x, y, rows, width, offset, stride);
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < stride; c++)
                Assert.Equal(c >= offset && c < offset + width ? x[r * width + c - offset] : 5f, y[r * stride + c]);
    }

    [Fact]
    public void ShortArgumentsThrow()
    {
        var four = new float[4];
        var three = new float[3];
        var winners4 = new int[4];
        var winners3 = new int[3];
        Assert.Throws<ArgumentException>(() => Merge.Add(four, three, new float[4]));
        Assert.Throws<ArgumentException>(() => Merge.Add(four, four, new float[3]));
        Assert.Throws<ArgumentException>(() => Merge.Subtract(four, three, new float[4]));
        Assert.Throws<ArgumentException>(() => Merge.Multiply(four, four, new float[3]));
        Assert.Throws<ArgumentException>(() => Merge.Maximum(four, three, new float[4], winners4, 1, true));
        Assert.Throws<ArgumentException>(() => Merge.Maximum(four, four, new float[3], winners4, 1, true));
        Assert.Throws<ArgumentException>(() => Merge.Maximum(four, four, new float[4], winners3, 1, true));
        Assert.Throws<ArgumentException>(() => Merge.Gradient(four, new float[3], 1f, false));
        Assert.Throws<ArgumentException>(() => Merge.MultiplyGradient(four, three, new float[4], false));
        Assert.Throws<ArgumentException>(() => Merge.MultiplyGradient(four, four, new float[3], true));
        Assert.Throws<ArgumentException>(() => Merge.MaximumGradient(four, winners3, 0, new float[4], false));
        Assert.Throws<ArgumentException>(() => Merge.MaximumGradient(four, winners4, 0, new float[3], true));
        Assert.Throws<ArgumentException>(() => Merge.Accumulate(new float[3], four));

        // Concatenate: 2 rows of width 2 at offset 1 in rows of 4 need x of 4 and y of 8.
        Assert.Throws<ArgumentException>(() => Merge.CopyInto(new float[3], new float[8], 2, 2, 1, 4));
        Assert.Throws<ArgumentException>(() => Merge.CopyInto(new float[4], new float[7], 2, 2, 1, 4));
        Assert.Throws<ArgumentException>(() => Merge.CopyOut(new float[8], new float[3], 2, 2, 1, 4, false));
        Assert.Throws<ArgumentException>(() => Merge.CopyOut(new float[7], new float[4], 2, 2, 1, 4, true));
        // Columns that do not fit the row, and negative widths or offsets.
        Assert.Throws<ArgumentOutOfRangeException>(() => Merge.CopyInto(new float[4], new float[8], 2, 2, 3, 4));
        Assert.Throws<ArgumentOutOfRangeException>(() => Merge.CopyOut(new float[8], new float[4], 2, 2, 3, 4, false));
        Assert.Throws<ArgumentOutOfRangeException>(() => Merge.CopyInto(new float[4], new float[8], 2, -1, 1, 4));
        Assert.Throws<ArgumentOutOfRangeException>(() => Merge.CopyInto(new float[4], new float[8], 2, 2, -1, 4));

        // The exact lengths pass.
        Merge.CopyInto(new float[4], new float[8], 2, 2, 2, 4);
        Merge.CopyOut(new float[8], new float[4], 2, 2, 2, 4, true);
        Merge.Add(four, four, new float[4]);
    }
}
