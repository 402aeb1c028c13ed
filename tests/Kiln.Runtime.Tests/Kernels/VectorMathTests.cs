using System;
using System.Runtime.Intrinsics;
using Kiln.Kernels;

namespace Kiln.Runtime.Tests.Kernels;

public class VectorMathTests
{
    [Fact]
    public void ExpIsWithinOneUlpOverTheWholeFloatRange()
    {
        var rng = new Random(7);
        Span<float> x = stackalloc float[16];
        int checkedValues = 0;
        for (int trial = 0; trial < 40_000; trial++)
        {
            for (int l = 0; l < 16; l++)
            {
                // Uniform over the range where e^x is a float (denormals included), plus grid points and near-integers of n·ln 2.
                x[l] = l < 12 ? (float)(-104.0 + rng.NextDouble() * 192.8) : (float)(Math.Round(-150 + rng.NextDouble() * 278) * Math.Log(2) + (l - 13.5) * 1e-6);
            }
            Vector512<float> wide = VectorMath.Exp(Vector512.Create((ReadOnlySpan<float>)x));
            Vector256<float> lo = VectorMath.Exp(Vector256.Create((ReadOnlySpan<float>)x[..8]));
            Vector256<float> hi = VectorMath.Exp(Vector256.Create((ReadOnlySpan<float>)x[8..]));
            for (int l = 0; l < 16; l++)
            {
                float got = wide[l];
                float narrow = l < 8 ? lo[l] : hi[l - 8];
                Assert.True(BitConverter.SingleToInt32Bits(got) == BitConverter.SingleToInt32Bits(narrow), $"exp({x[l]:R}): 512-bit {got:R}, 256-bit {narrow:R}");
                double exact = Math.Exp(x[l]);
                // One float step at the exact value: a normal result's ulp, or the denormals' fixed spacing.
                float nearest = (float)exact;
                double ulp = float.IsFinite(nearest) ? Math.Max(MathF.BitIncrement(Math.Abs(nearest)) - Math.Abs(nearest), float.Epsilon) : double.PositiveInfinity;
                if (float.IsPositiveInfinity(nearest)) Assert.True(float.IsPositiveInfinity(got), $"exp({x[l]:R}) = {got:R}, expected +∞");
                else Assert.True(Math.Abs(got - exact) <= ulp, $"exp({x[l]:R}) = {got:R}, exact {exact:R}: off by {Math.Abs(got - exact) / ulp:F2} ulp");
                checkedValues++;
            }
        }
        Assert.Equal(640_000, checkedValues);
    }

    [Theory]
    [InlineData(0f, 1f)]
    [InlineData(float.NegativeInfinity, 0f)]
    [InlineData(-104f, 0f)]
    [InlineData(-1e30f, 0f)]
    [InlineData(float.PositiveInfinity, float.PositiveInfinity)]
    [InlineData(88.73f, float.PositiveInfinity)]
    [InlineData(1e30f, float.PositiveInfinity)]
    [InlineData(float.NaN, float.NaN)]
    public void ExpEdges(float x, float expected)
    {
        Assert.Equal(expected, VectorMath.Exp(Vector512.Create(x)).ToScalar());
        Assert.Equal(expected, VectorMath.Exp(Vector256.Create(x)).ToScalar());
    }

    [Fact]
    public void ExpReachesTheLargestAndSmallestFloats()
    {
        // 88.7228 is just below ln(float.MaxValue), −103.27 near ln of the smallest denormal.
        float big = VectorMath.Exp(Vector256.Create(88.7228f)).ToScalar();
        Assert.True(float.IsFinite(big) && big > 3.3e38f, $"exp(88.7228) = {big:R}");
        float tiny = VectorMath.Exp(Vector512.Create(-103.27f)).ToScalar();
        Assert.True(tiny > 0f && tiny < 1e-44f, $"exp(-103.27) = {tiny:R}");
    }
}
