using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Kiln.Kernels;

/// <summary>Vector transcendental helpers that the BCL lacks.</summary>
internal static class VectorMath
{
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
        Vector512<float> big = Vector512<float>.One - Vector512.Create(2f) / (Vector512.Exp(ax + ax) + Vector512<float>.One);
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
        Vector256<float> big = Vector256<float>.One - Vector256.Create(2f) / (Vector256.Exp(ax + ax) + Vector256<float>.One);
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
