using System;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Kiln.Kernels;

/// <summary>
/// An elementwise activation. Implemented by readonly structs so that generic kernels
/// constrained to <c>struct, IActivation</c> are specialized by the JIT, with no virtual call.
/// </summary>
public interface IActivation
{
    float Apply(float x);
    Vector512<float> Apply(Vector512<float> x);
    Vector256<float> Apply(Vector256<float> x);

    /// <summary>f'(x) expressed through y = f(x), so backward needs only the stored output.</summary>
    float DerivativeFromOutput(float y);
    Vector512<float> DerivativeFromOutput(Vector512<float> y);
    Vector256<float> DerivativeFromOutput(Vector256<float> y);

    /// <summary>
    /// Whether f of a pooling window's max has the bits of the max of f over the window, under max pooling's
    /// comparison (<c>Pooling.KeepGreater</c>: ties keep the first value, a NaN counts only as the first), so
    /// a kernel that pools its own output can apply f once per window instead of once per value. It needs
    /// f non-decreasing and every tie of f, or of the comparison, to have one bit pattern: ReLU (which
    /// never returns −0) and the identity; not a LeakyRelu of slope 0, whose −0 for negatives ties with +0.
    /// </summary>
    static virtual bool CommutesWithMax => false;
}

public readonly struct Identity : IActivation
{
    public static bool CommutesWithMax => true;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public float Apply(float x) => x;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public Vector512<float> Apply(Vector512<float> x) => x;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public Vector256<float> Apply(Vector256<float> x) => x;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public float DerivativeFromOutput(float y) => 1f;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public Vector512<float> DerivativeFromOutput(Vector512<float> y) => Vector512<float>.One;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public Vector256<float> DerivativeFromOutput(Vector256<float> y) => Vector256<float>.One;
}

public readonly struct Relu : IActivation
{
    public static bool CommutesWithMax => true;
    // A NaN passes through, as the vector Max (IEEE 754 maximum) lets it and PyTorch's relu does: a tail
    // element must not be zeroed where the vector body propagates it.
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public float Apply(float x) => x > 0f || float.IsNaN(x) ? x : 0f;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public Vector512<float> Apply(Vector512<float> x) => Vector512.Max(x, Vector512<float>.Zero);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public Vector256<float> Apply(Vector256<float> x) => Vector256.Max(x, Vector256<float>.Zero);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public float DerivativeFromOutput(float y) => y > 0f ? 1f : 0f;
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Vector512<float> DerivativeFromOutput(Vector512<float> y) => Vector512.GreaterThan(y, Vector512<float>.Zero) & Vector512<float>.One;
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Vector256<float> DerivativeFromOutput(Vector256<float> y) => Vector256.GreaterThan(y, Vector256<float>.Zero) & Vector256<float>.One;
}

public readonly struct LeakyRelu : IActivation
{
    public readonly float Alpha;

    public LeakyRelu(float alpha)
    {
        // A negative slope would make y > 0 ambiguous as a test for x > 0 in the derivative.
        if (!(alpha >= 0f)) throw new ArgumentOutOfRangeException(nameof(alpha), alpha, "LeakyRelu slope must be >= 0");
        Alpha = alpha;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)] public float Apply(float x) => x > 0f ? x : Alpha * x;
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Vector512<float> Apply(Vector512<float> x) => Vector512.ConditionalSelect(Vector512.GreaterThan(x, Vector512<float>.Zero), x, x * Alpha);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Vector256<float> Apply(Vector256<float> x) => Vector256.ConditionalSelect(Vector256.GreaterThan(x, Vector256<float>.Zero), x, x * Alpha);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public float DerivativeFromOutput(float y) => y > 0f ? 1f : Alpha;
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Vector512<float> DerivativeFromOutput(Vector512<float> y) => Vector512.ConditionalSelect(Vector512.GreaterThan(y, Vector512<float>.Zero), Vector512<float>.One, Vector512.Create(Alpha));
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Vector256<float> DerivativeFromOutput(Vector256<float> y) => Vector256.ConditionalSelect(Vector256.GreaterThan(y, Vector256<float>.Zero), Vector256<float>.One, Vector256.Create(Alpha));
}

public readonly struct Sigmoid : IActivation
{
    // exp(-x) overflows to +inf for very negative x, and 1/(1+inf) = 0: saturation without NaN.
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public float Apply(float x) => 1f / (1f + MathF.Exp(-x));
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Vector512<float> Apply(Vector512<float> x) => Vector512<float>.One / (Vector512<float>.One + VectorMath.Exp(-x));
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Vector256<float> Apply(Vector256<float> x) => Vector256<float>.One / (Vector256<float>.One + VectorMath.Exp(-x));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public float DerivativeFromOutput(float y) => y * (1f - y);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public Vector512<float> DerivativeFromOutput(Vector512<float> y) => y * (Vector512<float>.One - y);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public Vector256<float> DerivativeFromOutput(Vector256<float> y) => y * (Vector256<float>.One - y);
}

public readonly struct Tanh : IActivation
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public float Apply(float x) => MathF.Tanh(x);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public Vector512<float> Apply(Vector512<float> x) => VectorMath.Tanh(x);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public Vector256<float> Apply(Vector256<float> x) => VectorMath.Tanh(x);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public float DerivativeFromOutput(float y) => 1f - y * y;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public Vector512<float> DerivativeFromOutput(Vector512<float> y) => Vector512<float>.One - y * y;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public Vector256<float> DerivativeFromOutput(Vector256<float> y) => Vector256<float>.One - y * y;
}
