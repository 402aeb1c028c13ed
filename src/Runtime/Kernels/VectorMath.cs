using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Kiln.Kernels;

/// <summary>Vector transcendental helpers that the BCL lacks, or has only slowly.</summary>
internal static class VectorMath
{
    // exp: x = n·ln 2 + r with |r| ≤ ln 2 / 2 (ln 2 in two parts, so n·ln 2 is exact to float precision), e^r by
    // Cephes' degree-7 expf polynomial (Moshier), times 2^n built from exponent bits in two halves, so that
    // n from −150 (results that round to 0 or a denormal) to 128 (overflow to +∞) needs no special case.
    private const float ExpLow = -104f, ExpHigh = 89f;
    private const float Log2E = 1.44269504088896341f, Ln2High = 0.693359375f, Ln2Low = -2.12194440e-4f;
    private const float E7 = 1.9875691500e-4f, E6 = 1.3981999507e-3f, E5 = 8.3334519073e-3f, E4 = 4.1665795894e-2f, E3 = 1.6666665459e-1f, E2 = 5.0000001201e-1f;

    /// <summary>
    /// e^x for every float, within 1 ulp of the exact value (denormal results within one denormal step), +∞
    /// above 88.72, 0 below −103.97, NaN for NaN. About twice as fast as the BCL's Vector256.Exp in .NET 10,
    /// which also runs unoptimized until tiered compilation reaches its callee (`Kiln.Benchmarks --only exp`).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Exp(Vector512<float> x)
    {
        Vector512<float> xc = Vector512.Min(Vector512.Max(x, Vector512.Create(ExpLow)), Vector512.Create(ExpHigh));
        Vector512<float> n = Vector512.Round(xc * Vector512.Create(Log2E));
        Vector512<float> r = Vector512.FusedMultiplyAdd(n, Vector512.Create(-Ln2High), xc);
        r = Vector512.FusedMultiplyAdd(n, Vector512.Create(-Ln2Low), r);
        Vector512<float> p = Vector512.Create(E7);
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(E6));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(E5));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(E4));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(E3));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(E2));
        p = Vector512.FusedMultiplyAdd(p, r * r, r) + Vector512<float>.One;
        Vector512<int> k = Vector512.ConvertToInt32Native(n), half = k >> 1;
        Vector512<float> s1 = ((half + Vector512.Create(127)) << 23).AsSingle();
        Vector512<float> s2 = ((k - half + Vector512.Create(127)) << 23).AsSingle();
        return p * s1 * s2;
    }

    /// <summary>The 256-bit <see cref="Exp(Vector512{float})"/>, lane for lane the same bits.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Exp(Vector256<float> x)
    {
        Vector256<float> xc = Vector256.Min(Vector256.Max(x, Vector256.Create(ExpLow)), Vector256.Create(ExpHigh));
        Vector256<float> n = Vector256.Round(xc * Vector256.Create(Log2E));
        Vector256<float> r = Vector256.FusedMultiplyAdd(n, Vector256.Create(-Ln2High), xc);
        r = Vector256.FusedMultiplyAdd(n, Vector256.Create(-Ln2Low), r);
        Vector256<float> p = Vector256.Create(E7);
        p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(E6));
        p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(E5));
        p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(E4));
        p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(E3));
        p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(E2));
        p = Vector256.FusedMultiplyAdd(p, r * r, r) + Vector256<float>.One;
        Vector256<int> k = Vector256.ConvertToInt32Native(n), half = k >> 1;
        Vector256<float> s1 = ((half + Vector256.Create(127)) << 23).AsSingle();
        Vector256<float> s2 = ((k - half + Vector256.Create(127)) << 23).AsSingle();
        return p * s1 * s2;
    }

    // Below this |x| the exp-based formula loses relative accuracy to cancellation (tanh x ≈ x),
    // so the Taylor series is used there; at 0.55 the terms through x^17 leave < 5e-8 relative error.
    private const float TanhSeriesLimit = 0.55f;
    private const float C3 = -0.33333333f, C5 = 0.13333333f, C7 = -0.053968254f, C9 = 0.021869488f;
    private const float C11 = -0.0088632355f, C13 = 0.0035921280f, C15 = -0.0014558344f, C17 = 0.00059002744f;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Tanh(Vector512<float> x)
    {
        Vector512<float> ax = Vector512.Abs(x);
        // 1 - 2/(e^{2|x|}+1): e^{2|x|} overflowing to +inf gives exactly 1, never NaN.
        Vector512<float> big = Vector512<float>.One - Vector512.Create(2f) / (Exp(ax + ax) + Vector512<float>.One);
        Vector512<float> x2 = x * x;
        Vector512<float> p = Vector512.Create(C17);
        p = Vector512.FusedMultiplyAdd(p, x2, Vector512.Create(C15));
        p = Vector512.FusedMultiplyAdd(p, x2, Vector512.Create(C13));
        p = Vector512.FusedMultiplyAdd(p, x2, Vector512.Create(C11));
        p = Vector512.FusedMultiplyAdd(p, x2, Vector512.Create(C9));
        p = Vector512.FusedMultiplyAdd(p, x2, Vector512.Create(C7));
        p = Vector512.FusedMultiplyAdd(p, x2, Vector512.Create(C5));
        p = Vector512.FusedMultiplyAdd(p, x2, Vector512.Create(C3));
        Vector512<float> small = Vector512.FusedMultiplyAdd(p * x2, x, x);
        return Vector512.ConditionalSelect(Vector512.LessThan(ax, Vector512.Create(TanhSeriesLimit)), small, Vector512.CopySign(big, x));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Tanh(Vector256<float> x)
    {
        Vector256<float> ax = Vector256.Abs(x);
        Vector256<float> big = Vector256<float>.One - Vector256.Create(2f) / (Exp(ax + ax) + Vector256<float>.One);
        Vector256<float> x2 = x * x;
        Vector256<float> p = Vector256.Create(C17);
        p = Vector256.FusedMultiplyAdd(p, x2, Vector256.Create(C15));
        p = Vector256.FusedMultiplyAdd(p, x2, Vector256.Create(C13));
        p = Vector256.FusedMultiplyAdd(p, x2, Vector256.Create(C11));
        p = Vector256.FusedMultiplyAdd(p, x2, Vector256.Create(C9));
        p = Vector256.FusedMultiplyAdd(p, x2, Vector256.Create(C7));
        p = Vector256.FusedMultiplyAdd(p, x2, Vector256.Create(C5));
        p = Vector256.FusedMultiplyAdd(p, x2, Vector256.Create(C3));
        Vector256<float> small = Vector256.FusedMultiplyAdd(p * x2, x, x);
        return Vector256.ConditionalSelect(Vector256.LessThan(ax, Vector256.Create(TanhSeriesLimit)), small, Vector256.CopySign(big, x));
    }
}
