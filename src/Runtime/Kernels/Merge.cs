using System;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Kiln.Kernels;

/// <summary>
/// The merge layers (Add, Subtract, Multiply, Average, Maximum, Concatenate) and gradient
/// accumulation for a tensor read by several layers. A merge of k inputs is a chain of two-input
/// calls the generator writes out; backward gives each input its gradient, written over the
/// target (<c>accumulate: false</c>, the first writer in backward order) or added to it.
/// Every output may be the same memory as its first input.
/// </summary>
public static unsafe class Merge
{
    /// <summary>y = a + b.</summary>
    public static void Add(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> y) => Binary<AddOp>(a, b, y);

    /// <summary>y = a − b.</summary>
    public static void Subtract(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> y) => Binary<SubtractOp>(a, b, y);

    /// <summary>y = a · b.</summary>
    public static void Multiply(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> y) => Binary<MultiplyOp>(a, b, y);

    /// <summary>y = activation(a + b): the last sum of a residual Add with the ReLU after it, in one pass.</summary>
    public static void Add<TAct>(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> y, TAct activation) where TAct : struct, IActivation =>
        Binary<AddOp, TAct>(a, b, y, activation);

    /// <summary>y = activation(a − b).</summary>
    public static void Subtract<TAct>(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> y, TAct activation) where TAct : struct, IActivation =>
        Binary<SubtractOp, TAct>(a, b, y, activation);

    /// <summary>y = activation(a · b).</summary>
    public static void Multiply<TAct>(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> y, TAct activation) where TAct : struct, IActivation =>
        Binary<MultiplyOp, TAct>(a, b, y, activation);

    /// <summary>y = y · scale, for Average after the sum of its inputs.</summary>
    public static void Scale(Span<float> y, float scale) => Gradient(y, y, scale, accumulate: false);

    /// <summary>y = activation(y · scale): an Average with the activation after it.</summary>
    public static void Scale<TAct>(Span<float> y, float scale, TAct activation) where TAct : struct, IActivation =>
        Binary<ScaleOp, TAct>(y, y, y, activation, scale);

    /// <summary>
    /// y = max(a, b), and <paramref name="winner"/> records which input gave each value: 0 for
    /// <paramref name="a"/>, <paramref name="indexOfB"/> for <paramref name="b"/>. Ties go to a, so
    /// with a chain over inputs 0…k−1 the first largest input wins, and backward routes each
    /// gradient to exactly one input.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Maximum(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> y, Span<int> winner, int indexOfB, bool first)
    {
        int len = a.Length;
        Activations.CheckLength(b.Length, len, nameof(b));
        Activations.CheckLength(y.Length, len, nameof(y));
        Activations.CheckLength(winner.Length, len, nameof(winner));
        for (int i = 0; i < len; i++)
        {
            float va = a[i], vb = b[i];
            if (vb > va)
            {
                y[i] = vb;
                winner[i] = indexOfB;
            }
            else
            {
                y[i] = va;
                if (first) winner[i] = 0;
            }
        }
    }

    /// <summary>dx = scale · dy, or dx += scale · dy; dx may be the same memory as dy.</summary>
    public static void Gradient(ReadOnlySpan<float> dy, Span<float> dx, float scale, bool accumulate)
    {
        Activations.CheckLength(dx.Length, dy.Length, nameof(dx));
        fixed (float* pd = dy, px = dx)
            Streams.Run(new GradientPass(pd, px, scale, accumulate), dy.Length);
    }

    private readonly struct GradientPass(float* dy, float* dx, float scale, bool accumulate) : Streams.IPass
    {
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void Run(long start, long end)
        {
            long i = start;
            if (Simd.Use512)
            {
                var s = Vector512.Create(scale);
                for (; i + 16 <= end; i += 16)
                {
                    var v = Vector512.Load(dy + i) * s;
                    Vector512.Store(accumulate ? Vector512.Load(dx + i) + v : v, dx + i);
                }
            }
            else if (Simd.Use256)
            {
                var s = Vector256.Create(scale);
                for (; i + 8 <= end; i += 8)
                {
                    var v = Vector256.Load(dy + i) * s;
                    Vector256.Store(accumulate ? Vector256.Load(dx + i) + v : v, dx + i);
                }
            }
            for (; i < end; i++) dx[i] = accumulate ? dx[i] + scale * dy[i] : scale * dy[i];
        }
    }

    /// <summary>dx = dy · other, or dx += dy · other: a Multiply input's gradient is the output gradient times the other factor.</summary>
    public static void MultiplyGradient(ReadOnlySpan<float> dy, ReadOnlySpan<float> other, Span<float> dx, bool accumulate)
    {
        if (accumulate) Binary<MultiplyAddOp>(dy, other, dx);
        else Binary<MultiplyOp>(dy, other, dx);
    }

    /// <summary>dx = dy where input <paramref name="index"/> won the maximum, else 0 (or adds that).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void MaximumGradient(ReadOnlySpan<float> dy, ReadOnlySpan<int> winner, int index, Span<float> dx, bool accumulate)
    {
        int len = dy.Length;
        Activations.CheckLength(winner.Length, len, nameof(winner));
        Activations.CheckLength(dx.Length, len, nameof(dx));
        for (int i = 0; i < len; i++)
        {
            float g = winner[i] == index ? dy[i] : 0f;
            dx[i] = accumulate ? dx[i] + g : g;
        }
    }

    /// <summary>target += part: a second reader's contribution to the gradient of a tensor read several times.</summary>
    public static void Accumulate(Span<float> target, ReadOnlySpan<float> part) => Gradient(part, target, 1f, accumulate: true);

    /// <summary>
    /// Concatenate forward for one input: each of <paramref name="rows"/> rows of <paramref name="x"/>
    /// (<paramref name="width"/> floats) goes to columns [offset, offset + width) of the same row of
    /// <paramref name="y"/>, whose rows are <paramref name="stride"/> floats.
    /// </summary>
    public static void CopyInto(ReadOnlySpan<float> x, Span<float> y, int rows, int width, int offset, int stride)
    {
        CheckBlocks(x.Length, y.Length, rows, width, offset, stride);
        for (int r = 0; r < rows; r++)
            x.Slice(r * width, width).CopyTo(y.Slice(r * stride + offset, width));
    }

    /// <summary>Concatenate backward for one input: its columns of <paramref name="dy"/>, written over or added to <paramref name="dx"/>.</summary>
    public static void CopyOut(ReadOnlySpan<float> dy, Span<float> dx, int rows, int width, int offset, int stride, bool accumulate)
    {
        CheckBlocks(dx.Length, dy.Length, rows, width, offset, stride);
        for (int r = 0; r < rows; r++)
        {
            var from = dy.Slice(r * stride + offset, width);
            var to = dx.Slice(r * width, width);
            if (accumulate) Accumulate(to, from);
            else from.CopyTo(to);
        }
    }

    /// <summary>Zeros columns [offset, offset + width) of each row: the gradient of an input the output does not depend on.</summary>
    public static void ClearColumns(Span<float> y, int rows, int width, int offset, int stride)
    {
        CheckBlocks(rows * width, y.Length, rows, width, offset, stride);
        for (int r = 0; r < rows; r++) y.Slice(r * stride + offset, width).Clear();
    }

    private static void CheckBlocks(int part, int whole, int rows, int width, int offset, int stride)
    {
        if (width < 0 || offset < 0 || offset + width > stride)
            throw new ArgumentOutOfRangeException(nameof(width), $"columns [{offset}, {offset + width}) do not fit rows of {stride}");
        Activations.CheckLength(part, rows * width, "part");
        Activations.CheckLength(whole, rows * stride, "whole");
    }

    private interface IBinaryOp
    {
        static abstract float Apply(float a, float b, float r);
        static abstract Vector512<float> Apply(Vector512<float> a, Vector512<float> b, Vector512<float> r);
        static abstract Vector256<float> Apply(Vector256<float> a, Vector256<float> b, Vector256<float> r);
    }

    private readonly struct AddOp : IBinaryOp
    {
        public static float Apply(float a, float b, float r) => a + b;
        public static Vector512<float> Apply(Vector512<float> a, Vector512<float> b, Vector512<float> r) => a + b;
        public static Vector256<float> Apply(Vector256<float> a, Vector256<float> b, Vector256<float> r) => a + b;
    }

    private readonly struct SubtractOp : IBinaryOp
    {
        public static float Apply(float a, float b, float r) => a - b;
        public static Vector512<float> Apply(Vector512<float> a, Vector512<float> b, Vector512<float> r) => a - b;
        public static Vector256<float> Apply(Vector256<float> a, Vector256<float> b, Vector256<float> r) => a - b;
    }

    private readonly struct MultiplyOp : IBinaryOp
    {
        public static float Apply(float a, float b, float r) => a * b;
        public static Vector512<float> Apply(Vector512<float> a, Vector512<float> b, Vector512<float> r) => a * b;
        public static Vector256<float> Apply(Vector256<float> a, Vector256<float> b, Vector256<float> r) => a * b;
    }

    /// <summary>a · s (b unused): <see cref="Scale{TAct}"/>.</summary>
    private readonly struct ScaleOp : IBinaryOp
    {
        public static float Apply(float a, float b, float r) => a;
        public static Vector512<float> Apply(Vector512<float> a, Vector512<float> b, Vector512<float> r) => a;
        public static Vector256<float> Apply(Vector256<float> a, Vector256<float> b, Vector256<float> r) => a;
    }

    /// <summary>r + a·b, unfused so every width rounds the same way.</summary>
    private readonly struct MultiplyAddOp : IBinaryOp
    {
        public static float Apply(float a, float b, float r) => r + a * b;
        public static Vector512<float> Apply(Vector512<float> a, Vector512<float> b, Vector512<float> r) => r + a * b;
        public static Vector256<float> Apply(Vector256<float> a, Vector256<float> b, Vector256<float> r) => r + a * b;
    }

    /// <summary>r = activation(op(a, b, r) · scale) elementwise; r may be the same memory as a or b.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Binary<TOp, TAct>(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> r, TAct activation, float scale = 1f)
        where TOp : struct, IBinaryOp where TAct : struct, IActivation
    {
        int len = a.Length;
        Activations.CheckLength(b.Length, len, nameof(b));
        Activations.CheckLength(r.Length, len, nameof(r));
        fixed (float* pa = a, pb = b, pr = r)
        {
            int i = 0;
            if (Simd.Use512)
            {
                var s = Vector512.Create(scale);
                for (; i + 16 <= len; i += 16)
                    Vector512.Store(activation.Apply(TOp.Apply(Vector512.Load(pa + i), Vector512.Load(pb + i), Vector512.Load(pr + i)) * s), pr + i);
            }
            else if (Simd.Use256)
            {
                var s = Vector256.Create(scale);
                for (; i + 8 <= len; i += 8)
                    Vector256.Store(activation.Apply(TOp.Apply(Vector256.Load(pa + i), Vector256.Load(pb + i), Vector256.Load(pr + i)) * s), pr + i);
            }
            for (; i < len; i++) pr[i] = activation.Apply(TOp.Apply(pa[i], pb[i], pr[i]) * scale);
        }
    }

    /// <summary>r = op(a, b, r) elementwise; r may be the same memory as a or b.</summary>
    private static void Binary<TOp>(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> r) where TOp : struct, IBinaryOp =>
        Binary<TOp, Identity>(a, b, r, default);
}
