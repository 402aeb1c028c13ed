using System;
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
    /// Per sample, each window's maximum of act((x − mean)·scale + shift) and its flat index within the
    /// sample's input: the taps computed as the Normalize phase computes them (16 channels at a time
    /// where <see cref="Simd.Use16Lanes"/>, the same scalar tail), compared as Pooling's MaxSample compares
    /// (a later tap wins only when greater, so the first of equal maxima stays and a NaN never wins).
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
            for (int b = (int)((long)part * N / parts), end = (int)((long)(part + 1) * N / parts); b < end; b++)
                Sample(X + (long)b * G.InputSize, Y + (long)b * G.OutputSize, Argmax + (long)b * G.OutputSize);
        }

        private void Sample(float* x, float* y, int* argmax)
        {
            int c = G.InputChannels, w = G.InputWidth;
            var lane = Vector512.Create(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
            for (int oy = 0; oy < G.OutputHeight; oy++)
                for (int ox = 0; ox < G.OutputWidth; ox++)
                {
                    Pooling.Window(G, oy, ox, out int ih0, out int iw0, out int i0, out int i1, out int j0, out int j1);
                    float* yo = y + ((nint)oy * G.OutputWidth + ox) * c;
                    int* ao = argmax + ((nint)oy * G.OutputWidth + ox) * c;
                    int first = ((ih0 + i0) * w + iw0 + j0) * c;
                    int ch = 0;
                    if (Simd.Use16Lanes)
                        for (; ch + 16 <= c; ch += 16)
                        {
                            var mean = Vector512.Load(Mean + ch);
                            var scale = Vector512.Load(Scale + ch);
                            var shift = Shift == null ? Vector512<float>.Zero : Vector512.Load(Shift + ch);
                            var best = Act.Apply(Vector512.FusedMultiplyAdd(Vector512.Load(x + first + ch) - mean, scale, shift));
                            var idx = Vector512.Create(first + ch) + lane;
                            for (int i = i0; i < i1; i++)
                                for (int j = j0; j < j1; j++)
                                {
                                    int at = ((ih0 + i) * w + iw0 + j) * c + ch;
                                    var v = Act.Apply(Vector512.FusedMultiplyAdd(Vector512.Load(x + at) - mean, scale, shift));
                                    var more = Vector512.GreaterThan(v, best);
                                    best = Vector512.ConditionalSelect(more, v, best);
                                    idx = Vector512.ConditionalSelect(more.AsInt32(), Vector512.Create(at) + lane, idx);
                                }
                            Vector512.Store(best, yo + ch);
                            Vector512.Store(idx, ao + ch);
                        }
                    for (; ch < c; ch++)
                    {
                        float mean = Mean[ch], scale = Scale[ch], shift = Shift == null ? 0f : Shift[ch];
                        float best = Act.Apply(MathF.FusedMultiplyAdd(x[first + ch] - mean, scale, shift));
                        int idx = first + ch;
                        for (int i = i0; i < i1; i++)
                            for (int j = j0; j < j1; j++)
                            {
                                int at = ((ih0 + i) * w + iw0 + j) * c + ch;
                                float v = Act.Apply(MathF.FusedMultiplyAdd(x[at] - mean, scale, shift));
                                if (v > best) { best = v; idx = at; }
                            }
                        yo[ch] = best;
                        ao[ch] = idx;
                    }
                }
        }
    }
}
