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
    /// dy (w.r.t. the activation output) becomes dz = dy·act'(y) in place; then dBias = column sums of dz (skipped when
    /// empty), dKernel = xᵀ·dz (skipped when empty: frozen weights) and dx = dz·kernelᵀ (skipped when empty), or dx += with
    /// <paramref name="accumulate"/> (dx holds another reader's part), in the product itself. A target that
    /// <see cref="GradientTarget.AddsToWeights"/> takes SGD's step instead (fused SGD): b += s·Σdz and W += s·(xᵀ·dz), a
    /// product whose tiles are scaled as they are added into the weights (Gemm's alpha), with dx computed first, from the
    /// weights as they were. Both are SGD's own w − lr·g on the same sums, so the same bits while the batch is one k block
    /// deep (GemmScratch.KBlock: up to 256, or KC where less). Against the gradient written and then read back by the
    /// optimizer, that saves a pass over the kernel's gradient, and scaling in the product rather than in dz saves a write
    /// to dz after the other thread has read it: the Fashion MLP's step runs 1.16× as fast at batch 32 and 1.02× at batch
    /// 256 (benchmarks/README.md, stops 63–64).
    /// Products too small to split over the threads run side by side instead, dx on this thread and dKernel on a worker
    /// (<see cref="DenseGradientPair"/>).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Backward<TAct>(ReadOnlySpan<float> x, ReadOnlySpan<float> kernel, ReadOnlySpan<float> y, Span<float> dy,
        GradientTarget dKernel, GradientTarget dBias, Span<float> dx, int n, int inputs, int units, TAct activation, bool accumulate = false) where TAct : struct, IActivation
    {
        CheckBias(dBias.Values.Length, units, nameof(dBias));
        if (dKernel.AddsToWeights && dKernel.Values.Length != inputs * units)
            throw new ArgumentException($"dKernel adds into {dKernel.Values.Length} weights but the layer has {inputs} × {units}", nameof(dKernel));
        if (dBias.AddsToWeights && dBias.Values.Length != units)
            throw new ArgumentException($"dBias adds into {dBias.Values.Length} weights but the layer has {units} units", nameof(dBias));
        int outputs = n * units;
        Activations.CheckLength(dy.Length, outputs, nameof(dy));
        Span<float> dz = dy.Slice(0, outputs);
        // With no activation dz is dy, and y is not needed (callers may pass an empty span).
        if (typeof(TAct) != typeof(Identity))
        {
            Activations.CheckLength(y.Length, outputs, nameof(y));
            Activations.Backward(y.Slice(0, outputs), dz, dz, activation);
        }

        bool updatesWeights = dKernel.AddsToWeights || dBias.AddsToWeights;
        if (!dx.IsEmpty && !dKernel.IsEmpty && DenseGradientPair.Applies(n, inputs, units, dKernel.AddsToWeights))
        {
            DenseGradientPair.Run(x, kernel, dz, dKernel, dBias, dx, n, inputs, units, accumulate);
            return;
        }
        // dx reads the weights: before a fused step changes them, otherwise last.
        if (updatesWeights && !dx.IsEmpty) Gemm.Nt(n, inputs, units, dz, units, kernel, units, dx, inputs, accumulate);
        if (!dBias.IsEmpty) ColumnSums(dz, dBias.Values, n, units, dBias.AddsToWeights, dBias.Scale);
        // An empty dKernel means the weights are frozen: only dx is wanted. A gradient buffer's Scale is 1.
        if (!dKernel.IsEmpty)
            Gemm.Tn(inputs, units, n, x, inputs, dz, units, dKernel.Values, units, accumulate: dKernel.AddsToWeights, alpha: dKernel.Scale);
        if (!updatesWeights && !dx.IsEmpty) Gemm.Nt(n, inputs, units, dz, units, kernel, units, dx, inputs, accumulate);
    }

    /// <summary>
    /// sums[j] = Σ_i m[i, j], rows added in order (deterministic). Several columns' chains side by side: one
    /// chain at a time waited out the add's latency row after row (the MLP's 256 × 300 bias gradient took 6 µs,
    /// its 12 last columns one float chain each).
    /// </summary>
    internal static void ColumnSums(ReadOnlySpan<float> m, Span<float> sums, int rows, int cols) => ColumnSums(m, sums, rows, cols, add: false, 1f);

    /// <summary>sums[j] += scale · Σ_i m[i, j]: a bias's SGD update from its gradient's rows, in SGD's arithmetic.</summary>
    internal static void ColumnSums(ReadOnlySpan<float> m, Span<float> sums, int rows, int cols, float scale) => ColumnSums(m, sums, rows, cols, add: true, scale);

    /// <summary>The bias's gradient, or with <paramref name="add"/> its SGD step (<paramref name="scale"/> the −learning rate): a target's two forms.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void ColumnSums(ReadOnlySpan<float> m, Span<float> sums, int rows, int cols, bool add, float scale)
    {
        Activations.CheckShape(m.Length, rows, cols, nameof(m));
        Activations.CheckLength(sums.Length, cols, nameof(sums));
        fixed (float* pm = m, ps = sums)
        {
            int j = 0;
            if (Simd.Use16Lanes)
            {
                var vs = Vector512.Create(scale);
                for (; j + 64 <= cols; j += 64)
                {
                    Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default;
                    for (float* row = pm + j, end = row + (nint)rows * cols; row < end; row += cols)
                    {
                        a0 += Vector512.Load(row); a1 += Vector512.Load(row + 16);
                        a2 += Vector512.Load(row + 32); a3 += Vector512.Load(row + 48);
                    }
                    Put(ps + j, a0, add, vs); Put(ps + j + 16, a1, add, vs); Put(ps + j + 32, a2, add, vs); Put(ps + j + 48, a3, add, vs);
                }
                for (; j + 32 <= cols; j += 32)
                {
                    Vector512<float> a0 = default, a1 = default;
                    for (float* row = pm + j, end = row + (nint)rows * cols; row < end; row += cols)
                    {
                        a0 += Vector512.Load(row); a1 += Vector512.Load(row + 16);
                    }
                    Put(ps + j, a0, add, vs); Put(ps + j + 16, a1, add, vs);
                }
                for (; j + 16 <= cols; j += 16)
                {
                    var a0 = Vector512<float>.Zero;
                    for (float* row = pm + j, end = row + (nint)rows * cols; row < end; row += cols) a0 += Vector512.Load(row);
                    Put(ps + j, a0, add, vs);
                }
                if (j < cols)
                {
                    // The last columns under a mask, each lane its column's chain as above: as scalar chains, the 256 × 10
                    // bias gradient of the MLP's last layer took 1.35 µs.
                    int rest = cols - j;
                    var a0 = Vector512<float>.Zero;
                    for (float* row = pm + j, end = row + (nint)rows * cols; row < end; row += cols) a0 += Activations.LoadTail512(row, rest, 0f);
                    Activations.StoreTail(add ? Activations.LoadTail512(ps + j, rest, 0f) + a0 * vs : a0, ps + j, rest);
                    return;
                }
            }
            // Without vectors, 16 columns at a time, rows outer, each column its own chain.
            float* acc = stackalloc float[16];
            for (; j < cols; j += 16)
            {
                int width = Math.Min(16, cols - j);
                for (int t = 0; t < width; t++) acc[t] = 0f;
                for (float* row = pm + j, end = row + (nint)rows * cols; row < end; row += cols)
                    for (int t = 0; t < width; t++) acc[t] += row[t];
                for (int t = 0; t < width; t++) ps[j + t] = add ? ps[j + t] + acc[t] * scale : acc[t];
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Put(float* at, Vector512<float> sum, bool add, Vector512<float> scale) =>
        (add ? Vector512.Load(at) + sum * scale : sum).Store(at);

    private static void CheckBias(int length, int units, string name)
    {
        if (length != 0 && length != units)
            throw new ArgumentException($"{name} has {length} values but the layer has {units} units (pass an empty span for no bias)", name);
    }
}
