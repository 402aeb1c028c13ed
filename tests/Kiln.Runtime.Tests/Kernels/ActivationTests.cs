using System;
using System.Collections.Generic;
using System.Runtime.Intrinsics;
using Kiln.Kernels;

namespace Kiln.Runtime.Tests.Kernels;

[Collection(KernelCollection.Name)]
public class ActivationTests
{
    private static IEnumerable<float> Sweep()
    {
        for (double x = -80; x <= 80; x += 0.0137) yield return (float)x;
        for (double x = 1e-30; x < 1; x *= 1.7) { yield return (float)x; yield return (float)-x; }
        yield return 0f;
    }

    [Fact]
    public void VectorSigmoidIsAccurateAgainstDouble()
    {
        var s = new Sigmoid();
        foreach (float x in Sweep())
        {
            double expected = 1 / (1 + Math.Exp(-(double)x));
            AssertRel(expected, s.Apply(Vector512.Create(x)).ToScalar(), x, "Sigmoid 512");
            AssertRel(expected, s.Apply(Vector256.Create(x)).ToScalar(), x, "Sigmoid 256");
            AssertRel(expected, s.Apply(x), x, "Sigmoid scalar");
        }
    }

    [Fact]
    public void VectorTanhIsAccurateAgainstDouble()
    {
        var t = new Tanh();
        foreach (float x in Sweep())
        {
            double expected = Math.Tanh(x);
            AssertRel(expected, t.Apply(Vector512.Create(x)).ToScalar(), x, "Tanh 512");
            AssertRel(expected, t.Apply(Vector256.Create(x)).ToScalar(), x, "Tanh 256");
        }
    }

    [Fact]
    public void SigmoidAndTanhSaturateWithoutNaN()
    {
        foreach (float x in new[] { 100f, 1000f, 1e30f, float.MaxValue, float.PositiveInfinity })
        {
            Assert.Equal(1f, new Sigmoid().Apply(Vector512.Create(x)).ToScalar());
            Assert.Equal(0f, new Sigmoid().Apply(Vector512.Create(-x)).ToScalar());
            Assert.Equal(1f, new Tanh().Apply(Vector512.Create(x)).ToScalar());
            Assert.Equal(-1f, new Tanh().Apply(Vector512.Create(-x)).ToScalar());
            Assert.Equal(1f, new Tanh().Apply(Vector256.Create(x)).ToScalar());
            Assert.Equal(0f, new Sigmoid().Apply(Vector256.Create(-x)).ToScalar());
            Assert.Equal(0f, new Sigmoid().Apply(-x));
        }
    }

    [Fact]
    public void DerivativesFromOutputFollowTheDefinitions()
    {
        Assert.Equal(0f, new Relu().DerivativeFromOutput(0f));
        Assert.Equal(1f, new Relu().DerivativeFromOutput(0.5f));
        Assert.Equal(0.3f, new LeakyRelu(0.3f).DerivativeFromOutput(-0.5f));
        Assert.Equal(0.25f, new Sigmoid().DerivativeFromOutput(0.5f));
        Assert.Equal(0.75f, new Tanh().DerivativeFromOutput(0.5f));
        Assert.Equal(new LeakyRelu(0.3f).DerivativeFromOutput(-2f), new LeakyRelu(0.3f).DerivativeFromOutput(Vector512.Create(-2f)).ToScalar());
        Assert.Equal(0f, new Relu().DerivativeFromOutput(Vector256.Create(-1f)).ToScalar());
        Assert.Throws<ArgumentOutOfRangeException>(() => new LeakyRelu(-0.1f));
    }

    [Fact]
    public void ScalarAndVectorActivationsAgreeOnSpecialValues()
    {
        // The scalar form runs the tails of every vector loop: it must give the vector body's bits, NaN and −0 included.
        float[] xs = { float.NaN, -0f, 0f, -1f, 1f, float.NegativeInfinity, float.PositiveInfinity, -1e-45f, 1e-45f };
        Check(new Relu(), "relu");
        Check(new LeakyRelu(0.2f), "leaky relu");
        Check(new Identity(), "identity");

        void Check<TAct>(TAct act, string name) where TAct : struct, IActivation
        {
            foreach (float x in xs)
            {
                int scalar = BitConverter.SingleToInt32Bits(act.Apply(x));
                Assert.True(scalar == BitConverter.SingleToInt32Bits(act.Apply(Vector256.Create(x)).ToScalar()), $"{name}({x}): 256-bit differs from scalar");
                Assert.True(scalar == BitConverter.SingleToInt32Bits(act.Apply(Vector512.Create(x)).ToScalar()), $"{name}({x}): 512-bit differs from scalar");
            }
        }
        Assert.True(float.IsNaN(new Relu().Apply(float.NaN)));
        Assert.Equal(0, BitConverter.SingleToInt32Bits(new Relu().Apply(-0f)));
    }

    public static IEnumerable<object[]> Paths() => new[] { new object[] { 512 }, new object[] { 256 }, new object[] { 0 } };

    [Theory]
    [MemberData(nameof(Paths))]
    public void ForwardMatchesScalarDefinitionOnOddLengths(int bits)
    {
        using var _ = new KernelSwitches(bits, 1);
        foreach (int len in new[] { 1, 15, 16, 17, 301 })
        {
            float[] x = TestData.Random(len, 5, -6f, 6f);
            var y = new float[len];
            Activations.Forward(x, y, new Tanh());
            for (int i = 0; i < len; i++) Assert.True(Math.Abs(y[i] - Math.Tanh(x[i])) <= 1e-6 * Math.Abs(Math.Tanh(x[i])) + 1e-7, $"tanh at {i}");
            Activations.Forward(x, y, new LeakyRelu(0.2f));
            for (int i = 0; i < len; i++) Assert.Equal(x[i] > 0 ? x[i] : 0.2f * x[i], y[i]);
        }
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void BackwardPassesGradientCheckForEachActivation(int bits)
    {
        using var _ = new KernelSwitches(bits, 1);
        CheckBackward(new Identity());
        CheckBackward(new Relu());
        CheckBackward(new LeakyRelu(0.3f));
        CheckBackward(new Sigmoid());
        CheckBackward(new Tanh());
    }

    private static void CheckBackward<TAct>(TAct act) where TAct : struct, IActivation
    {
        const int len = 37;
        float[] x = TestData.Random(len, 31, -3f, 3f);
        for (int i = 0; i < len; i++) if (Math.Abs(x[i]) < 0.05f) x[i] += 0.1f; // keep off the ReLU kink
        float[] r = TestData.Random(len, 32);
        var y = new float[len];
        Activations.Forward(x, y, act);
        float[] dx = (float[])r.Clone();
        Activations.Backward(y, dx, dx, act); // in place: dx aliases dy
        var scratch = new float[len];
        GradCheck.Check(x, dx, () => { Activations.Forward(x, scratch, act); return GradCheck.Project(scratch, r); }, typeof(TAct).Name);
    }

    /// <summary>
    /// A long backward pass runs over the pool in line-aligned ranges (Streams): at 2 and 3 threads every element has the
    /// bits of dy·f'(y) computed alone, at lengths past the threshold with odd tails, in place and not.
    /// </summary>
    [Theory]
    [InlineData(512, 2)]
    [InlineData(512, 3)]
    [InlineData(256, 2)]
    [InlineData(0, 3)]
    public void BackwardOverThePoolGivesEachElementItsOwnBits(int bits, int threads)
    {
        using var _ = new KernelSwitches(bits, threads);
        foreach (int len in new[] { 65_535, 65_536 + 17, 200_003 })
        {
            CheckPooledBackward(new Relu(), len);
            CheckPooledBackward(new LeakyRelu(0.3f), len);
            CheckPooledBackward(new Tanh(), len);
        }
    }

    private static void CheckPooledBackward<TAct>(TAct act, int len) where TAct : struct, IActivation
    {
        float[] y = TestData.Random(len, 41, -2f, 2f), dy = TestData.Random(len, 42);
        var dx = new float[len];
        Activations.Backward(y, dy, dx, act);
        for (int i = 0; i < len; i++)
        {
            float expected = dy[i] * act.DerivativeFromOutput(y[i]);
            if (BitConverter.SingleToInt32Bits(expected) != BitConverter.SingleToInt32Bits(dx[i]))
                Assert.Fail($"{typeof(TAct).Name} length {len}: element {i} is {dx[i]:R}, expected {expected:R}");
        }
        Activations.Backward(y, dy, dy, act); // in place
        Assert.Equal(dx, dy);
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void SoftmaxIsStableAndRowsSumToOne(int bits)
    {
        using var _ = new KernelSwitches(bits, 1);
        foreach (int cols in new[] { 1, 10, 16, 33 })
        {
            int rows = 3;
            float[] x = TestData.Random(rows * cols, 41, -5f, 5f);
            x[0] = 1000f; // would overflow exp without the max shift
            var y = new float[rows * cols];
            Activations.Softmax(x, y, rows, cols);
            for (int r = 0; r < rows; r++)
            {
                double max = double.NegativeInfinity, sum = 0;
                for (int j = 0; j < cols; j++) max = Math.Max(max, x[r * cols + j]);
                for (int j = 0; j < cols; j++) sum += Math.Exp(x[r * cols + j] - max);
                for (int j = 0; j < cols; j++)
                {
                    double expected = Math.Exp(x[r * cols + j] - max) / sum;
                    Assert.True(Math.Abs(y[r * cols + j] - expected) <= 1e-6 * expected + 1e-9, $"softmax[{r},{j}] = {y[r * cols + j]}, expected {expected}");
                }
            }
        }
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void SoftmaxRowsDoNotDependOnTheirNeighboursOrOnWhereTheOutputLies(int bits)
    {
        // The exponentials run over the whole batch as one flat array, so a row's values fall in different
        // vector lanes (and the last partial vector) depending on the rows before it: each row must still get
        // the bits it gets alone, in place or not. Rows with −∞ (masked classes), +∞, NaN and ties included.
        using var _ = new KernelSwitches(bits, 1);
        foreach (int cols in new[] { 1, 3, 10, 16, 17, 40 })
        {
            int rows = 7;
            float[] x = TestData.Random(rows * cols, 61, -30f, 30f);
            x[1 * cols] = float.NegativeInfinity;
            x[2 * cols + cols / 2] = float.PositiveInfinity;
            x[3 * cols] = float.NaN;
            for (int j = 0; j < cols; j++) x[4 * cols + j] = 2.5f;
            var batch = new float[x.Length];
            Activations.Softmax(x, batch, rows, cols);
            float[] inPlace = (float[])x.Clone();
            Activations.Softmax(inPlace, inPlace, rows, cols);
            TestData.SameBits(batch, inPlace, $"{bits}-bit, {cols} classes: in place");
            for (int r = 0; r < rows; r++)
            {
                var alone = new float[cols];
                Activations.Softmax(x.AsSpan(r * cols, cols), alone, 1, cols);
                TestData.SameBits(alone, batch.AsSpan(r * cols, cols), $"{bits}-bit, {cols} classes, row {r}");
            }
            Assert.True(float.IsNaN(batch[3 * cols + cols - 1]), "a NaN logit makes its row NaN");
            if (cols > 1) Assert.Equal(0f, batch[1 * cols]);
            Assert.Equal(1f / cols, batch[4 * cols], 6);
        }
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void SoftmaxBackwardPassesGradientCheck(int bits)
    {
        using var _ = new KernelSwitches(bits, 1);
        int rows = 3, cols = 19;
        float[] x = TestData.Random(rows * cols, 51, -2f, 2f);
        float[] r = TestData.Random(rows * cols, 52);
        var y = new float[rows * cols];
        Activations.Softmax(x, y, rows, cols);
        float[] d = (float[])r.Clone();
        Activations.SoftmaxBackward(y, d, d, rows, cols); // dx aliases dy
        GradCheck.Check(x, d, () => { Activations.Softmax(x, y, rows, cols); return GradCheck.Project(y, r); }, "softmax");
    }

    private static void AssertRel(double expected, float actual, float x, string what)
    {
        double err = Math.Abs(actual - expected);
        if (!(err <= 1e-6 * Math.Abs(expected) + 1e-37))
            Assert.Fail($"{what}({x:R}) = {actual:R}, expected {expected:R} (relative error {err / Math.Abs(expected):G3})");
    }
}
