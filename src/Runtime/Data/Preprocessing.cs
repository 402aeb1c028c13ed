using System;
using System.Numerics;

namespace Kiln;

/// <summary>
/// Kernels of Keras' <c>Rescaling</c> layer (<see cref="RescalingAttribute"/>), also used by the
/// data loaders. Elementwise, vectorized, allocation-free; <c>x</c> and <c>y</c> may be the same span.
/// </summary>
public static class Preprocessing
{
    /// <summary><c>y = x · scale + offset</c> (Keras: <c>inputs * scale + offset</c>).</summary>
    public static void Rescale(ReadOnlySpan<float> x, Span<float> y, float scale, float offset = 0f)
    {
        if (y.Length != x.Length)
            throw new ArgumentException($"Rescale: the output holds {y.Length} values, the input {x.Length}.", nameof(y));
        int i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            var s = new Vector<float>(scale);
            var o = new Vector<float>(offset);
            for (; i <= x.Length - Vector<float>.Count; i += Vector<float>.Count)
                (new Vector<float>(x[i..]) * s + o).CopyTo(y[i..]);
        }
        for (; i < x.Length; i++) y[i] = x[i] * scale + offset;
    }

    /// <summary>Input gradient of <see cref="Rescale"/>: <c>dx = dy · scale</c>.</summary>
    public static void RescaleBackward(ReadOnlySpan<float> dy, Span<float> dx, float scale) => Rescale(dy, dx, scale, 0f);
}
