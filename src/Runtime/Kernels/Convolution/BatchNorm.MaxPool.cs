using System;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using Kiln.Threading;

namespace Kiln.Kernels;

public static unsafe partial class BatchNorm
{
    /// <summary>
    /// <see cref="ForwardTraining{TAct}(ReadOnlySpan{float}, Span{float}, ReadOnlySpan{float}, ReadOnlySpan{float}, Span{float}, Span{float}, Span{float}, int, int, float, float, TAct, BatchNormSynchronizer?)"/>
    /// followed by <see cref="Pooling.MaxForward(ReadOnlySpan{float}, Span{float}, Span{int}, int, in Conv2DGeometry)"/> over
    /// its output, in one normalizing pass that writes only the window maxima and their indices: act(BN(x)) is
    /// computed tap by tap under each window and never stored. The same bits as the two calls (same
    /// arithmetic per element, same comparisons in the same order). <paramref name="pool"/> is the pooling's
    /// window over the <paramref name="n"/> samples of x; the statistics are over all n·H·W rows.
    /// </summary>
    public static void ForwardTrainingMaxPool<TAct>(ReadOnlySpan<float> x, Span<float> pooled, Span<int> argmax, ReadOnlySpan<float> gamma, ReadOnlySpan<float> beta,
        Span<float> movingMean, Span<float> movingVariance, Span<float> saved, int n, in Conv2DGeometry pool, float momentum, float epsilon, TAct activation,
        BatchNormSynchronizer? synchronizer = null)
        where TAct : struct, IActivation
    {
        if (n < 1) throw new ArgumentOutOfRangeException(nameof(n), n, "batch normalization in training mode needs at least one sample");
        int channels = pool.InputChannels;
        if (pool.OutputChannels != channels)
            throw new ArgumentException($"a pooling keeps its channels, but the window maps {channels} to {pool.OutputChannels}", nameof(pool));
        long rows = (long)n * pool.InputHeight * pool.InputWidth;
        if (rows > int.MaxValue) throw new ArgumentException($"{rows} rows are more than one batch normalization pass takes", nameof(n));
        Activations.CheckShape(x.Length, (int)rows, channels, nameof(x));
        long outputs = (long)n * pool.OutputSize;
        if (pooled.Length < outputs) throw new ArgumentException($"{nameof(pooled)} has {pooled.Length} floats but the pooling writes {outputs}", nameof(pooled));
        if (argmax.Length < outputs) throw new ArgumentException($"{nameof(argmax)} has {argmax.Length} indices but the pooling writes {outputs}", nameof(argmax));
        CheckOptional(beta.Length, channels, nameof(beta));
        fixed (float* px = x, py = pooled, pb = beta, mean = saved)
        fixed (int* pa = argmax)
        {
            float* scale = BatchStatistics(x, gamma, movingMean, movingVariance, saved, (int)rows, channels, momentum, epsilon, synchronizer);
            var job = NormalizePoolJob<TAct>.ForCurrentThread;
            job.X = px; job.Y = py; job.Argmax = pa; job.Mean = mean; job.Scale = scale; job.Shift = beta.IsEmpty ? null : pb;
            job.G = pool; job.N = n; job.Act = activation;
            try { WorkerPool.Shared.Run(job, Pooling.PartsFor(n, pool)); }
            finally { job.X = job.Y = job.Mean = job.Scale = job.Shift = null; job.Argmax = null; }
        }
    }

    /// <summary>
    /// Per sample, Pooling's max over act((x − mean)·scale + shift) at each tap, computed as the Normalize
    /// phase computes it (16 channels at a time where <see cref="Simd.Use16Lanes"/>, the same scalar tail).
    /// </summary>
    private sealed class NormalizePoolJob<TAct> : ParallelJob where TAct : struct, IActivation
    {
        [ThreadStatic] private static NormalizePoolJob<TAct>? t_instance;
        public static NormalizePoolJob<TAct> ForCurrentThread => t_instance ??= new NormalizePoolJob<TAct>();

        public float* X, Y, Mean, Scale, Shift;
        public int* Argmax;
        public Conv2DGeometry G;
        public int N;
        public TAct Act;

        public override void Execute(int part, int parts)
        {
            var taps = new NormalizedTaps<TAct>(Mean, Scale, Shift, Act);
            for (int b = (int)((long)part * N / parts), end = (int)((long)(part + 1) * N / parts); b < end; b++)
                Pooling.MaxSample(X + (long)b * G.InputSize, Y + (long)b * G.OutputSize, Argmax + (long)b * G.OutputSize, G, taps);
        }
    }

    private readonly struct NormalizedTaps<TAct>(float* mean, float* scale, float* shift, TAct act) : Pooling.ITaps where TAct : struct, IActivation
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public Vector512<float> Vector(float* p, int ch) =>
            act.Apply(Vector512.FusedMultiplyAdd(Vector512.Load(p) - Vector512.Load(mean + ch), Vector512.Load(scale + ch),
                shift == null ? Vector512<float>.Zero : Vector512.Load(shift + ch)));

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public float Scalar(float* p, int ch) => act.Apply(MathF.FusedMultiplyAdd(*p - mean[ch], scale[ch], shift == null ? 0f : shift[ch]));
    }
}
