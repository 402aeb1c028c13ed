using System;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Kiln.Kernels;

/// <summary>Inverted dropout: kept units are scaled by 1/(1−rate) in training so inference is a no-op.</summary>
public static unsafe class Dropout
{
    /// <summary>mask[i] = (rng.NextFloat() ≥ rate) ? 1/(1−rate) : 0, drawn in index order; y = x·mask.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Forward(ReadOnlySpan<float> x, Span<float> y, Span<float> mask, float rate, ref Rng rng)
    {
        if (!(rate >= 0f && rate < 1f)) throw new ArgumentOutOfRangeException(nameof(rate), rate, "Dropout rate must be in [0, 1)");
        Activations.CheckLength(y.Length, x.Length, nameof(y));
        Activations.CheckLength(mask.Length, x.Length, nameof(mask));
        int len = x.Length;
        if (rate == 0f)
        {
            mask.Slice(0, len).Fill(1f);
            x.CopyTo(y);
            return;
        }
        float scale = 1f / (1f - rate);
        for (int i = 0; i < len; i++) mask[i] = rng.NextFloat() >= rate ? scale : 0f;
        Multiply(x, mask, y, len);
    }

    /// <summary>dx = dy·mask; dx may be the same memory as dy.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Backward(ReadOnlySpan<float> dy, ReadOnlySpan<float> mask, Span<float> dx)
    {
        Activations.CheckLength(mask.Length, dy.Length, nameof(mask));
        Activations.CheckLength(dx.Length, dy.Length, nameof(dx));
        Multiply(dy, mask, dx, dy.Length);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Multiply(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> r, int len)
    {
        fixed (float* pa = a, pb = b, pr = r)
        {
            int i = 0;
            if (Simd.Use16Lanes)
                for (; i + 16 <= len; i += 16) Vector512.Store(Vector512.Load(pa + i) * Vector512.Load(pb + i), pr + i);
            for (; i < len; i++) pr[i] = pa[i] * pb[i];
        }
    }
}
