using System;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Kiln.Kernels;

/// <summary>Elementwise activations and row-wise softmax, forward and backward.</summary>
public static unsafe partial class Activations
{
    /// <summary>y = f(x) over x.Length elements.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Forward<TAct>(ReadOnlySpan<float> x, Span<float> y, TAct activation) where TAct : struct, IActivation
    {
        CheckLength(y.Length, x.Length, nameof(y));
        int len = x.Length;
        fixed (float* px = x, py = y)
        {
            int i = 0;
            if (Simd.Use512)
            {
                for (; i + 16 <= len; i += 16) Vector512.Store(activation.Apply(Vector512.Load(px + i)), py + i);
                if (i < len)
                {
                    // The tail goes through the vector formula too, so every element gets the same bits.
                    Vector512<float> t = LoadTail512(px + i, len - i, 0f);
                    StoreTail(activation.Apply(t), py + i, len - i);
                }
                return;
            }
            if (Simd.Use256)
            {
                for (; i + 8 <= len; i += 8) Vector256.Store(activation.Apply(Vector256.Load(px + i)), py + i);
                if (i < len) StoreTail(activation.Apply(LoadTail256(px + i, len - i, 0f)), py + i, len - i);
                return;
            }
            for (; i < len; i++) py[i] = activation.Apply(px[i]);
        }
    }

    /// <summary>dx = dy·f'(y) over y.Length elements; dx may be the same memory as dy.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Backward<TAct>(ReadOnlySpan<float> y, ReadOnlySpan<float> dy, Span<float> dx, TAct activation) where TAct : struct, IActivation
    {
        CheckLength(dy.Length, y.Length, nameof(dy));
        CheckLength(dx.Length, y.Length, nameof(dx));
        fixed (float* py = y, pdy = dy, pdx = dx)
            Streams.Run(new DerivativePass<TAct>(py, pdy, pdx, activation), y.Length);
    }

    private readonly struct DerivativePass<TAct>(float* y, float* dy, float* dx, TAct activation) : Streams.IPass where TAct : struct, IActivation
    {
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void Run(long start, long end)
        {
            long i = start;
            if (Simd.Use512)
                for (; i + 16 <= end; i += 16)
                    Vector512.Store(Vector512.Load(dy + i) * activation.DerivativeFromOutput(Vector512.Load(y + i)), dx + i);
            else if (Simd.Use256)
                for (; i + 8 <= end; i += 8)
                    Vector256.Store(Vector256.Load(dy + i) * activation.DerivativeFromOutput(Vector256.Load(y + i)), dx + i);
            // The derivatives are exact polynomials or selections, so scalar and vector agree bitwise.
            for (; i < end; i++) dx[i] = dy[i] * activation.DerivativeFromOutput(y[i]);
        }
    }

    /// <summary>dx = y⊙(dy − Σ dy⊙y) per row; dx may be the same memory as dy.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void SoftmaxBackward(ReadOnlySpan<float> y, ReadOnlySpan<float> dy, Span<float> dx, int rows, int cols)
    {
        CheckShape(y.Length, rows, cols, nameof(y));
        CheckShape(dy.Length, rows, cols, nameof(dy));
        CheckShape(dx.Length, rows, cols, nameof(dx));
        fixed (float* py = y, pdy = dy, pdx = dx)
        {
            for (int r = 0; r < rows; r++)
            {
                float* yr = py + (nint)r * cols, dyr = pdy + (nint)r * cols, dxr = pdx + (nint)r * cols;
                float dot = Dot(yr, dyr, cols);
                int j = 0;
                if (Simd.Use16Lanes)
                {
                    var vd = Vector512.Create(dot);
                    for (; j + 16 <= cols; j += 16) Vector512.Store(Vector512.Load(yr + j) * (Vector512.Load(dyr + j) - vd), dxr + j);
                }
                for (; j < cols; j++) dxr[j] = yr[j] * (dyr[j] - dot);
            }
        }
    }

    /// <summary>Σ x[j]: 16-lane partial sums, then the tail in order.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static float Sum(float* x, int len)
    {
        int j = 0;
        float sum = 0f;
        if (Simd.Use16Lanes)
        {
            var acc = Vector512<float>.Zero;
            for (; j + 16 <= len; j += 16) acc += Vector512.Load(x + j);
            sum = Vector512.Sum(acc);
        }
        for (; j < len; j++) sum += x[j];
        return sum;
    }

    /// <summary>y = y·c over len elements.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void Scale(float* y, float c, int len)
    {
        int j = 0;
        if (Simd.Use16Lanes)
        {
            var vc = Vector512.Create(c);
            for (; j + 16 <= len; j += 16) Vector512.Store(Vector512.Load(y + j) * vc, y + j);
        }
        for (; j < len; j++) y[j] *= c;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static float Dot(float* a, float* b, int len)
    {
        int j = 0;
        float sum = 0f;
        if (Simd.Use16Lanes)
        {
            var acc0 = Vector512<float>.Zero;
            var acc1 = Vector512<float>.Zero;
            for (; j + 32 <= len; j += 32)
            {
                acc0 = Vector512.FusedMultiplyAdd(Vector512.Load(a + j), Vector512.Load(b + j), acc0);
                acc1 = Vector512.FusedMultiplyAdd(Vector512.Load(a + j + 16), Vector512.Load(b + j + 16), acc1);
            }
            sum = Vector512.Sum(acc0 + acc1);
        }
        for (; j < len; j++) sum += a[j] * b[j];
        return sum;
    }

    /// <summary>
    /// The first <paramref name="count"/> (below 16) floats at <paramref name="src"/>, <paramref name="pad"/> in the other
    /// lanes, which are never read (no fault past a buffer's end): one masked load where the hardware has them, where a
    /// copy through the stack cost a 10-class softmax row more than its arithmetic.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector512<float> LoadTail512(float* src, int count, float pad)
    {
        if (Avx512F.IsSupported)
            return Avx512F.MaskLoad(src, Lanes16.FirstLanes(count).V, Vector512.Create(pad));
        if (Avx.IsSupported)
            return Vector512.Create(LoadTail256(src, Math.Min(count, 8), pad), LoadTail256(src + 8, Math.Max(count - 8, 0), pad));
        float* t = stackalloc float[16];
        for (int l = 0; l < 16; l++) t[l] = l < count ? src[l] : pad;
        return Vector512.Load(t);
    }

    /// <summary>The 8-lane <see cref="LoadTail512"/> (count below 8).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector256<float> LoadTail256(float* src, int count, float pad)
    {
        if (Avx.IsSupported)
        {
            Vector256<float> mask = Lanes8.FirstLanes(count).V;
            return Vector256.ConditionalSelect(mask, Avx.MaskLoad(src, mask), Vector256.Create(pad));
        }
        float* t = stackalloc float[8];
        for (int l = 0; l < 8; l++) t[l] = l < count ? src[l] : pad;
        return Vector256.Load(t);
    }

    /// <summary>Stores the first <paramref name="count"/> (below 16) lanes; the floats past them are not touched.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void StoreTail(Vector512<float> v, float* dst, int count)
    {
        if (Avx512F.IsSupported) Avx512F.MaskStore(dst, Lanes16.FirstLanes(count).V, v);
        else if (Avx.IsSupported)
        {
            StoreTail(v.GetLower(), dst, Math.Min(count, 8));
            StoreTail(v.GetUpper(), dst + 8, Math.Max(count - 8, 0));
        }
        else for (int l = 0; l < count; l++) dst[l] = v[l];
    }

    /// <summary>The 8-lane <see cref="StoreTail(Vector512{float}, float*, int)"/> (count below 8).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void StoreTail(Vector256<float> v, float* dst, int count)
    {
        if (Avx.IsSupported) Avx.MaskStore(dst, Lanes8.FirstLanes(count).V, v);
        else for (int l = 0; l < count; l++) dst[l] = v[l];
    }

    internal static void CheckLength(int actual, int needed, string name)
    {
        if (actual < needed) throw new ArgumentException($"{name} has {actual} floats but {needed} are needed", name);
    }

    internal static void CheckShape(int actual, int rows, int cols, string name)
    {
        if (rows < 0 || cols < 0) throw new ArgumentException($"negative shape ({rows}, {cols})", name);
        long need = (long)rows * cols;
        if (actual < need) throw new ArgumentException($"{name} has {actual} floats but a {rows}×{cols} matrix needs {need}", name);
    }
}
