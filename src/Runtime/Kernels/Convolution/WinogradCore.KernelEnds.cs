using System;
using Kiln.Threading;

namespace Kiln.Kernels;

internal static unsafe partial class WinogradCore
{
    /// <summary>
    /// The work on either side of a call's parallel job, split by input channel over the pool: a shared
    /// transformed kernel's flip and transform before the products, and the kernel gradient's sum of its
    /// groups' partials and adjoint transform after them. On the caller alone they kept the other threads
    /// waiting; split, the CIFAR net's step ran 3 % faster at 2 threads on Zen 5 (paired, stop 46). Each
    /// channel's values are computed as on one thread (the groups summed in the same order), so the split
    /// never changes a bit.
    /// </summary>
    private sealed class KernelEndsJob : ParallelJob
    {
        [ThreadStatic] private static KernelEndsJob? t_instance;

        private bool _adjoint;
        private WinogradAlgorithm _algorithm;
        private float* _kernel, _w, _u, _partials, _dKernel;
        private int _c, _k, _kp, _taps, _groups;

        /// <summary>
        /// u = the planes of G·w·Gᵀ (<see cref="TransformKernelFor"/>); where <paramref name="w"/> is not
        /// <paramref name="kernel"/>, w is first made as <paramref name="kernel"/> flipped (<see cref="ConvCore.FlipKernel"/>).
        /// </summary>
        public static void Transform(WinogradAlgorithm algorithm, float* kernel, float* w, float* u, int c, int k, int kp, int taps)
        {
            var job = t_instance ??= new KernelEndsJob();
            job._adjoint = false; job._algorithm = algorithm;
            job._kernel = kernel; job._w = w; job._u = u; job._c = c; job._k = k; job._kp = kp; job._taps = taps;
            Run(job);
        }

        /// <summary>dKernel = Gᵀ·(Σ of the <paramref name="groups"/> partial dU's)·G; the sum is left in the first partial.</summary>
        public static void Adjoint(WinogradAlgorithm algorithm, float* partials, int groups, float* dKernel, int c, int k)
        {
            var job = t_instance ??= new KernelEndsJob();
            job._adjoint = true; job._algorithm = algorithm;
            job._partials = partials; job._groups = groups; job._dKernel = dKernel; job._c = c; job._k = k;
            Run(job);
        }

        private static void Run(KernelEndsJob job)
        {
            try { WorkerPool.Shared.Run(job, Math.Min(KilnSettings.Threads * ConvCore.PartsPerThread, job._c)); }
            finally { job._kernel = job._w = job._u = job._partials = job._dKernel = null; }
        }

        public override void Execute(int part, int parts)
        {
            int c0 = (int)((long)part * _c / parts), c1 = (int)((long)(part + 1) * _c / parts);
            if (c1 <= c0) return;
            if (!_adjoint)
            {
                if (_w != _kernel) ConvCore.FlipKernel(_kernel, _w, _c, _k, _taps, c0, c1);
                TransformKernelFor(_algorithm, _w, _u, _c, _k, _kp, c0, c1);
                return;
            }
            int planes = _algorithm.Planes();
            long plane = (long)_c * _k, size = planes * plane;
            for (int xi = 0; xi < planes; xi++)
            {
                float* sum = _partials + xi * plane + (nint)c0 * _k;
                for (int grp = 1; grp < _groups; grp++) ConvCore.Add(sum + grp * size, sum, (c1 - c0) * _k);
            }
            KernelFromTransformedFor(_algorithm, _partials, _dKernel, _c, _k, c0, c1);
        }
    }
}
