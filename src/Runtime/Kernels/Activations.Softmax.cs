using System;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Kiln.Kernels;

public static unsafe partial class Activations
{
    /// <summary>
    /// Row-wise softmax, stable: exp(x − row max) / Σ, one row at a time in 16-lane vectors (<see cref="SoftmaxRow"/>),
    /// the row's last partial vector under a mask.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Softmax(ReadOnlySpan<float> x, Span<float> y, int rows, int cols)
    {
        CheckShape(x.Length, rows, cols, nameof(x));
        CheckShape(y.Length, rows, cols, nameof(y));
        if (cols == 0) return;
        bool vector = Simd.Use16Lanes;
        int full = cols & ~15;
        fixed (float* px = x, py = y)
        {
            for (int r = 0; r < rows; r++)
            {
                float* xr = px + (nint)r * cols, yr = py + (nint)r * cols;
                if (!vector)
                {
                    float inverse = 1f / SoftmaxRowScalar(xr, yr, cols, out _);
                    for (int j = 0; j < cols; j++) yr[j] *= inverse;
                    continue;
                }
                // Scaled here rather than by Activations.Scale, whose vector-path test per call would run once per row.
                var scale = Vector512.Create(1f / SoftmaxRow(xr, yr, cols, out _, out Vector512<float> tail));
                for (int j = 0; j < full; j += 16) Vector512.Store(Vector512.Load(yr + j) * scale, yr + j);
                if (full < cols) StoreTail(tail * scale, yr + full, cols - full);
            }
        }
    }

    /// <summary>
    /// One softmax row's exponentials on the vector path (<see cref="Simd.Use16Lanes"/>): e^(z − max) for the row's whole
    /// vectors written to <paramref name="e"/> (which may be z), those of its last partial vector returned in
    /// <paramref name="tail"/> (0 past the row) rather than stored, their sum returned and the row's max through
    /// <paramref name="max"/>, as the softmax and the cross-entropies from logits need them. A 10-class row is one
    /// vector: the Fashion MLP's 256 × 10 softmax took 4.8 µs in scalar passes per row around one flat vector
    /// exponential, and its loss, with double exponentials, 10 µs. The tail stays in a register because a masked
    /// store is not forwarded to the masked load that reads it back: the load waits for the store to retire.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static float SoftmaxRow(float* z, float* e, int cols, out float max, out Vector512<float> tail)
    {
        int full = cols & ~15, rest = cols - full;
        // A NaN logit is lost to MaxNative but not to the sum below: its exponential is NaN whatever the max.
        var m = Vector512.Create(float.NegativeInfinity);
        for (int j = 0; j < full; j += 16) m = Vector512.MaxNative(m, Vector512.Load(z + j));
        Vector512<float> last = rest > 0 ? LoadTail512(z + full, rest, float.NegativeInfinity) : m;
        max = HorizontalMax(Vector512.MaxNative(m, last));
        var shift = Vector512.Create(max);
        var sum = Vector512<float>.Zero;
        for (int j = 0; j < full; j += 16)
        {
            var v = VectorMath.Exp(Vector512.Load(z + j) - shift);
            Vector512.Store(v, e + j);
            sum += v;
        }
        tail = Vector512<float>.Zero;
        if (rest > 0)
        {
            // The padding goes through the exponential as 0 and comes out as 0: e^−∞ would be computed by way of a
            // denormal, and a denormal result costs ~50 cycles (a microcode assist on Zen 5), more than the whole row.
            Vector512<float> inRow = Lanes16.FirstLanes(rest).V;
            tail = Vector512.ConditionalSelect(inRow, VectorMath.Exp(Vector512.ConditionalSelect(inRow, last - shift, Vector512<float>.Zero)), Vector512<float>.Zero);
        }
        return HorizontalSum(sum + tail);
    }

    /// <summary><see cref="SoftmaxRow"/> without vectors (<see cref="Simd.MaxBits"/> 0): the exponentials all written to e.</summary>
    internal static float SoftmaxRowScalar(float* z, float* e, int cols, out float max)
    {
        max = float.NegativeInfinity;
        for (int j = 0; j < cols; j++) max = MathF.Max(max, z[j]);
        float sum = 0f;
        for (int j = 0; j < cols; j++) sum += e[j] = MathF.Exp(z[j] - max);
        return sum;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float HorizontalMax(Vector512<float> v)
    {
        Vector256<float> h = Vector256.MaxNative(v.GetLower(), v.GetUpper());
        Vector128<float> q = Vector128.MaxNative(h.GetLower(), h.GetUpper());
        q = Vector128.MaxNative(q, Vector128.Shuffle(q, Vector128.Create(2, 3, 0, 1)));
        q = Vector128.MaxNative(q, Vector128.Shuffle(q, Vector128.Create(1, 0, 3, 2)));
        return q.ToScalar();
    }

    /// <summary>The lanes' sum by halving (Vector512.Sum reduces each 128-bit quarter on its own first: twice the shuffles).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float HorizontalSum(Vector512<float> v)
    {
        Vector256<float> h = v.GetLower() + v.GetUpper();
        Vector128<float> q = h.GetLower() + h.GetUpper();
        q += Vector128.Shuffle(q, Vector128.Create(2, 3, 0, 1));
        q += Vector128.Shuffle(q, Vector128.Create(1, 0, 3, 2));
        return q.ToScalar();
    }
}
