using System;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Kiln.Kernels;

/// <summary>Fully connected layer, kernel in the Keras (inputs, units) layout.</summary>
public static unsafe class Dense
{
    /// <summary>y[n×units] = act(x[n×inputs]·kernel + bias); empty bias = none.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Forward<TAct>(ReadOnlySpan<float> x, ReadOnlySpan<float> kernel, ReadOnlySpan<float> bias, Span<float> y,
        int n, int inputs, int units, TAct activation) where TAct : struct, IActivation
    {
        CheckBias(bias.Length, units, nameof(bias));
        Gemm.NnBiasActivation(n, units, inputs, x, inputs, kernel, units, bias, y, units, activation);
    }

    /// <summary>
    /// dy (w.r.t. the activation output) becomes dz = dy·act'(y) in place; then dKernel = xᵀ·dz (skipped when empty: frozen weights),
    /// dBias = column sums of dz (skipped when empty), dx = dz·kernelᵀ (skipped when empty), or dx += with
    /// <paramref name="accumulate"/> (dx holds another reader's part), in the product itself.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Backward<TAct>(ReadOnlySpan<float> x, ReadOnlySpan<float> kernel, ReadOnlySpan<float> y, Span<float> dy,
        Span<float> dKernel, Span<float> dBias, Span<float> dx, int n, int inputs, int units, TAct activation, bool accumulate = false) where TAct : struct, IActivation
    {
        CheckBias(dBias.Length, units, nameof(dBias));
        int outputs = n * units;
        Activations.CheckLength(dy.Length, outputs, nameof(dy));
        Span<float> dz = dy.Slice(0, outputs);
        // With no activation dz is dy, and y is not needed (callers may pass an empty span).
        if (typeof(TAct) != typeof(Identity))
        {
            Activations.CheckLength(y.Length, outputs, nameof(y));
            Activations.Backward(y.Slice(0, outputs), dz, dz, activation);
        }

        // An empty dKernel means the weights are frozen: only dx is wanted.
        if (!dKernel.IsEmpty) Gemm.Tn(inputs, units, n, x, inputs, dz, units, dKernel, units);
        if (!dBias.IsEmpty) ColumnSums(dz, dBias, n, units);
        if (!dx.IsEmpty) Gemm.Nt(n, inputs, units, dz, units, kernel, units, dx, inputs, accumulate);
    }

    /// <summary>
    /// sums[j] = Σ_i m[i, j], rows added in order (deterministic). Several columns' chains side by side: one
    /// chain at a time waited out the add's latency row after row (the MLP's 256 × 300 bias gradient took 6 µs,
    /// its 12 last columns one float chain each).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void ColumnSums(ReadOnlySpan<float> m, Span<float> sums, int rows, int cols)
    {
        Activations.CheckShape(m.Length, rows, cols, nameof(m));
        Activations.CheckLength(sums.Length, cols, nameof(sums));
        fixed (float* pm = m, ps = sums)
        {
            int j = 0;
            if (Simd.Use16Lanes)
            {
                for (; j + 64 <= cols; j += 64)
                {
                    Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default;
                    for (float* row = pm + j, end = row + (nint)rows * cols; row < end; row += cols)
                    {
                        a0 += Vector512.Load(row); a1 += Vector512.Load(row + 16);
                        a2 += Vector512.Load(row + 32); a3 += Vector512.Load(row + 48);
                    }
                    a0.Store(ps + j); a1.Store(ps + j + 16); a2.Store(ps + j + 32); a3.Store(ps + j + 48);
                }
                for (; j + 32 <= cols; j += 32)
                {
                    Vector512<float> a0 = default, a1 = default;
                    for (float* row = pm + j, end = row + (nint)rows * cols; row < end; row += cols)
                    {
                        a0 += Vector512.Load(row); a1 += Vector512.Load(row + 16);
                    }
                    a0.Store(ps + j); a1.Store(ps + j + 16);
                }
                for (; j + 16 <= cols; j += 16)
                {
                    var a0 = Vector512<float>.Zero;
                    for (float* row = pm + j, end = row + (nint)rows * cols; row < end; row += cols) a0 += Vector512.Load(row);
                    a0.Store(ps + j);
                }
            }
            // The rest (all of it without vectors) up to 16 columns at a time, rows outer, each column its own chain.
            float* acc = stackalloc float[16];
            for (; j < cols; j += 16)
            {
                int width = Math.Min(16, cols - j);
                for (int t = 0; t < width; t++) acc[t] = 0f;
                for (float* row = pm + j, end = row + (nint)rows * cols; row < end; row += cols)
                    for (int t = 0; t < width; t++) acc[t] += row[t];
                for (int t = 0; t < width; t++) ps[j + t] = acc[t];
            }
        }
    }

    private static void CheckBias(int length, int units, string name)
    {
        if (length != 0 && length != units)
            throw new ArgumentException($"{name} has {length} values but the layer has {units} units (pass an empty span for no bias)", name);
    }
}
