using System;
using System.Runtime.CompilerServices;
using Kiln.Threading;

namespace Kiln.Kernels;

/// <summary>
/// A Dense layer's two backward products side by side, one thread each, where each is too small to split over the
/// threads (<see cref="Gemm.ParallelMinFlops"/>): the data gradient dx = dz·Wᵀ as part 0 (the calling thread, which reads
/// dx next), the bias and kernel gradients, or their fused SGD step, as part 1. One after the other they left the
/// worker idle: the Fashion MLP's 100 → 10 layer took 0.9 + 1.3 µs at batch 32 on the calling thread alone. A fused
/// step rewrites W while dx reads it, so dx reads a copy of W taken first. Each product runs as it would alone, so the
/// same bits.
/// </summary>
internal sealed unsafe class DenseGradientPair : ParallelJob
{
    [ThreadStatic] private static DenseGradientPair? t_instance;

    /// <summary>Below this many flops a product (2·n·inputs·units) is not worth a hand-off: a pool run costs about 0.3 µs.</summary>
    internal static long MinFlops = 1L << 15;

    /// <summary>The most weights a fused step's copy of W takes (256 KiB).</summary>
    internal const int MaxCopiedWeights = 1 << 16;

    /// <summary>Off: the products run one after the other (a switch for benchmarks' paired windows).</summary>
    internal static bool Enabled = true;

    private int _n, _inputs, _units;
    private float* _x, _kernel, _dz, _dx, _dKernel, _dBias;
    private float _kernelScale, _biasScale;
    private bool _kernelAdds, _biasAdds, _accumulate;

    /// <summary>Whether both products (each 2·n·inputs·units flops) run side by side: two threads, each product one thread's work and worth a hand-off.</summary>
    public static bool Applies(int n, int inputs, int units, bool updatesWeights)
    {
        long flops = 2L * n * inputs * units;
        return Enabled && flops >= MinFlops && flops < Gemm.ParallelMinFlops && KilnSettings.Threads > 1 && WorkerPool.Shared.MaxParts > 1
            && (!updatesWeights || (long)inputs * units <= MaxCopiedWeights);
    }

    /// <summary>dx = dz·Wᵀ (dx += with <paramref name="accumulate"/>), beside dBias and dKernel (<see cref="Dense.Backward"/>'s targets).</summary>
    public static void Run(ReadOnlySpan<float> x, ReadOnlySpan<float> kernel, ReadOnlySpan<float> dz, GradientTarget dKernel, GradientTarget dBias,
        Span<float> dx, int n, int inputs, int units, bool accumulate)
    {
        var job = t_instance ??= new DenseGradientPair();
        int weights = inputs * units;
        fixed (float* px = x, pk = kernel, pdz = dz, pdx = dx, pdk = dKernel.Values, pdb = dBias.Values)
        {
            float* read = pk;
            if (dKernel.AddsToWeights)
            {
                read = ConvScratch.Current.Floats(ConvScratch.DenseKernelCopySlot, weights);
                kernel.Slice(0, weights).CopyTo(new Span<float>(read, weights));
            }
            job._n = n; job._inputs = inputs; job._units = units;
            job._x = px; job._kernel = read; job._dz = pdz; job._dx = pdx; job._accumulate = accumulate;
            job._dKernel = pdk; job._kernelScale = dKernel.Scale; job._kernelAdds = dKernel.AddsToWeights;
            job._dBias = dBias.IsEmpty ? null : pdb; job._biasScale = dBias.Scale; job._biasAdds = dBias.AddsToWeights;
            try { WorkerPool.Shared.Run(job, 2); }
            finally { job._x = job._kernel = job._dz = job._dx = job._dKernel = job._dBias = null; }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public override void Execute(int part, int parts)
    {
        int n = _n, inputs = _inputs, units = _units;
        var dz = new ReadOnlySpan<float>(_dz, n * units);
        if (part == 0)
        {
            Gemm.Nt(n, inputs, units, dz, units, new ReadOnlySpan<float>(_kernel, inputs * units), units, new Span<float>(_dx, n * inputs), inputs, _accumulate);
            return;
        }
        if (_dBias != null) Dense.ColumnSums(dz, new Span<float>(_dBias, units), n, units, _biasAdds, _biasScale);
        Gemm.Tn(inputs, units, n, new ReadOnlySpan<float>(_x, n * inputs), inputs, dz, units, new Span<float>(_dKernel, inputs * units), units,
            accumulate: _kernelAdds, alpha: _kernelScale);
    }
}
