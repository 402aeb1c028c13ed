using System;
using Kiln;
using Kiln.Kernels;

namespace Kiln.Runtime.Tests.Kernels;

/// <summary>
/// Tests that flip process-wide switches (vector width, thread count) run alone, so they never
/// change the path another test is measuring.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class KernelCollection
{
    public const string Name = "Kiln kernels";
}

/// <summary>
/// Forces a vector width and thread count, and restores both when disposed. 512 runs the 512-bit
/// kernels on any processor: in software where it lacks AVX-512 (<see cref="Simd.MaxBits"/>), so a
/// machine without it still tests the path that machines with it take.
/// </summary>
internal readonly struct KernelSwitches : IDisposable
{
    private readonly int _bits, _threads;

    public KernelSwitches(int vectorBits, int threads)
    {
        _bits = Simd.MaxBits;
        _threads = KilnSettings.Threads;
        Simd.MaxBits = vectorBits;
        KilnSettings.Threads = threads;
    }

    public void Dispose()
    {
        Simd.MaxBits = _bits;
        KilnSettings.Threads = _threads;
    }
}

/// <summary>
/// Forces the kernel gradients' most pixel groups, alone and beside a data gradient (8 and one per core, by default),
/// and restores both when disposed.
/// </summary>
internal readonly struct GroupsSwitch : IDisposable
{
    private readonly int _alone, _beside;

    public GroupsSwitch(int groups)
    {
        _alone = ConvCore.KernelGradGroups;
        _beside = WinogradCore.GroupsBesideDataGradient;
        ConvCore.KernelGradGroups = WinogradCore.GroupsBesideDataGradient = groups;
    }

    public void Dispose()
    {
        ConvCore.KernelGradGroups = _alone;
        WinogradCore.GroupsBesideDataGradient = _beside;
    }
}

internal static class TestData
{
    public static float[] Random(int length, ulong seed, float lo = -1f, float hi = 1f)
    {
        var rng = new Rng(seed);
        var a = new float[length];
        for (int i = 0; i < a.Length; i++) a[i] = rng.NextFloat(lo, hi);
        return a;
    }

    /// <summary>
    /// Values in {−1, −0, +0, 1}·<paramref name="scale"/> with a NaN every <paramref name="nanEvery"/> elements (0: none):
    /// products of such values tie exactly, are often negative or zero of either sign, and carry NaNs into some
    /// pooling windows' first value and others' later ones, where a pooled kernel's shortcuts could go wrong.
    /// </summary>
    public static float[] Ties(int length, ulong seed, float scale = 1f, int nanEvery = 0)
    {
        var rng = new Rng(seed);
        var a = new float[length];
        for (int i = 0; i < a.Length; i++)
        {
            float u = rng.NextFloat(0f, 4f);
            a[i] = u < 1f ? -scale : u < 2f ? -0f : u < 3f ? 0f : scale;
            if (nanEvery > 0 && i % nanEvery == nanEvery / 2) a[i] = float.NaN;
        }
        return a;
    }

    /// <summary>Asserts the same bits elementwise (−0 is not +0, a NaN payload counts), naming the first difference.</summary>
    public static void SameBits(ReadOnlySpan<float> expected, ReadOnlySpan<float> actual, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        ReadOnlySpan<int> want = System.Runtime.InteropServices.MemoryMarshal.Cast<float, int>(expected);
        ReadOnlySpan<int> got = System.Runtime.InteropServices.MemoryMarshal.Cast<float, int>(actual);
        for (int i = 0; i < want.Length; i++)
            if (want[i] != got[i]) Assert.Fail($"{what}: element {i} is {actual[i]}, expected {expected[i]}");
    }

    /// <summary>Asserts |actual − expected| ≤ rel·scale + abs elementwise, naming the first bad index.</summary>
    public static void Close(ReadOnlySpan<float> expected, ReadOnlySpan<float> actual, double rel, double abs, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
        {
            double e = expected[i], a = actual[i];
            double tol = rel * Math.Max(Math.Abs(e), Math.Abs(a)) + abs;
            if (!(Math.Abs(e - a) <= tol))
                Assert.Fail($"{what}: element {i} is {a}, expected {e} (tolerance {tol:G3})");
        }
    }
}

/// <summary>Central differences in double around float functions.</summary>
internal static class GradCheck
{
    public const double Eps = 1e-3;

    /// <summary>Compares analytic ∂loss/∂values[i] with (loss(v+ε) − loss(v−ε))/2ε for every i.</summary>
    public static void Check(float[] values, ReadOnlySpan<float> analytic, Func<double> loss, string what, double rel = 1e-2, double abs = 2e-4)
    {
        Assert.Equal(values.Length, analytic.Length);
        for (int i = 0; i < values.Length; i++)
        {
            float saved = values[i];
            values[i] = (float)(saved + Eps);
            double up = loss();
            values[i] = (float)(saved - Eps);
            double down = loss();
            values[i] = saved;
            double numeric = (up - down) / (2 * Eps);
            double a = analytic[i];
            double tol = rel * Math.Max(Math.Abs(a), Math.Abs(numeric)) + abs;
            if (!(Math.Abs(a - numeric) <= tol))
                Assert.Fail($"{what}: gradient {i} is {a}, finite difference says {numeric}");
        }
    }

    /// <summary>Σ r·y in double: a loss whose gradient w.r.t. y is r.</summary>
    public static double Project(ReadOnlySpan<float> y, ReadOnlySpan<float> r)
    {
        double s = 0;
        for (int i = 0; i < y.Length; i++) s += (double)y[i] * r[i];
        return s;
    }
}
