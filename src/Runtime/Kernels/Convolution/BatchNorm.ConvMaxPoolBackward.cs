using System;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using Kiln.Threading;

namespace Kiln.Kernels;

public static unsafe partial class BatchNorm
{
    /// <summary>
    /// The largest patch (kernel height × width × input channels) <see cref="ConvStatistics"/> and <see cref="ConvMaxPoolBackward"/> take:
    /// their per-sample moments grow with the patch's square. Kiln.Graph's KernelProgram.PooledGradientsPatch is the same number.
    /// </summary>
    public const int MomentsPatch = 32;

    /// <summary>
    /// The backward of Conv2D → BatchNormalization (batch statistics) → act → 2×2 max pooling when nobody
    /// needs the convolution's input gradient (a model's first convolution): the kernel, gamma and beta
    /// gradients in one pass over the pooled gradients, with the same value as
    /// <see cref="Pooling.MaxBackward{TAct}"/>, <see cref="Backward{TAct}(ReadOnlySpan{float}, ReadOnlySpan{float}, Span{float}, ReadOnlySpan{float}, ReadOnlySpan{float}, Span{float}, Span{float}, Span{float}, int, int, TAct)"/>
    /// and <see cref="Conv2D.Backward{TAct}"/> in turn, up to rounding, without their three full-size passes and without the output z.
    /// <para>
    /// g is the pooled gradient times act' at its window's winner (zero elsewhere) and z = patch·W + bias, so with
    /// Q = Σ patch·g over the winners and D = Q − mean(patch)·Σg: Σ g·x̂ = W·D/σ (gamma's gradient), and BN's input
    /// gradient dz = k·(g − a − x̂·b) makes the kernel gradient k·(D − b·Σ patch·x̂), where Σ patch·x̂ = N·Cov(patch)·W/σ.
    /// The patches' sums and covariance (<see cref="PatchMoments"/>) stand in for the full-size z and dz.
    /// Per-sample partial sums are added in sample order in double, so the result does not depend on the thread count.
    /// </para>
    /// <paramref name="input"/> is the convolution's input and <paramref name="kernel"/> its kernel (kh, kw, in, out); <paramref name="saved"/> holds BN's
    /// statistics (mean, 1/σ); <paramref name="pooled"/> and <paramref name="argmax"/> are the pooling's output and winners, <paramref name="pooledGradient"/> its gradient.
    /// Gradients are overwritten; empty bias, gamma and beta gradients are skipped (the bias gradient is zero: BN subtracts any bias again).
    /// </summary>
    public static void ConvMaxPoolBackward<TAct>(ReadOnlySpan<float> input, ReadOnlySpan<float> kernel,
        ReadOnlySpan<float> pooledGradient, ReadOnlySpan<float> pooled, ReadOnlySpan<int> argmax, ReadOnlySpan<float> gamma, ReadOnlySpan<float> saved,
        Span<float> kernelGradient, Span<float> biasGradient, Span<float> gammaGradient, Span<float> betaGradient,
        int n, in Conv2DGeometry conv, in Conv2DGeometry pool, TAct activation)
        where TAct : struct, IActivation
    {
        CheckConvMaxPool(conv, pool);
        if (n < 1) throw new ArgumentOutOfRangeException(nameof(n), n, "batch normalization in training mode needs at least one sample");
        int channels = conv.OutputChannels, taps = conv.PatchSize;
        Activations.CheckLength(input.Length, checked(n * conv.InputSize), nameof(input));
        CheckExact(kernel.Length, taps * channels, nameof(kernel));
        long outputs = (long)n * pool.OutputSize;
        Activations.CheckLength(pooledGradient.Length, checked((int)outputs), nameof(pooledGradient));
        Activations.CheckLength(pooled.Length, (int)outputs, nameof(pooled));
        if (argmax.Length < outputs) throw new ArgumentException($"{nameof(argmax)} has {argmax.Length} indices but the pooling wrote {outputs}", nameof(argmax));
        CheckOptional(gamma.Length, channels, nameof(gamma));
        Activations.CheckLength(saved.Length, 2 * channels, nameof(saved));
        CheckExact(kernelGradient.Length, taps * channels, nameof(kernelGradient));
        CheckOptional(biasGradient.Length, channels, nameof(biasGradient));
        CheckOptional(gammaGradient.Length, channels, nameof(gammaGradient));
        CheckOptional(betaGradient.Length, channels, nameof(betaGradient));

        // Per sample: the patches' moments, then Σ patch·g over the winners [taps × channels] and Σ g [channels].
        int products = PatchMoments.Floats(taps), sums = products + taps * channels, stride = sums + channels;
        float* partials = ConvScratch.Current.Floats(ConvScratch.PartialsSlot, (long)n * stride);
        fixed (float* px = input, pdy = pooledGradient, py = pooled, ps = saved, pg = gamma, pk = kernel, pdk = kernelGradient)
        fixed (int* pa = argmax)
        {
            // Moments about a shift (PatchMoments): D and Cov(patch) do not depend on it.
            float* shift = stackalloc float[conv.InputChannels];
            PatchMoments.Shift(px, conv, shift);
            var job = ConvPoolBackwardJob<TAct>.ForCurrentThread;
            job.X = px; job.Shift = shift; job.Dy = pdy; job.Y = py; job.Argmax = pa; job.Saved = ps; job.Partials = partials;
            job.Conv = conv; job.Pool = pool; job.N = n; job.Act = activation;
            try { WorkerPool.Shared.Run(job, Pooling.PartsFor(n, pool)); }
            finally { job.X = job.Shift = job.Dy = job.Y = job.Saved = job.Partials = null; job.Argmax = null; }

            double count = (double)n * conv.OutputHeight * conv.OutputWidth;
            double* mean = stackalloc double[taps];
            double* covariance = stackalloc double[taps * taps];
            PatchMoments.Reduce(partials, n, stride, taps, count, mean, covariance);
            float* invStd = ps + channels;
            double* centred = stackalloc double[taps];
            for (int c = 0; c < channels; c++)
            {
                double sumG = PatchMoments.SampleSum(partials, n, stride, sums + c);
                // D_t = Σ patch_t·g over the winners − mean(patch_t)·Σ g; Σ g·x̂ = Σ_t W_t·D_t / σ.
                double sumGXhat = 0;
                for (int t = 0; t < taps; t++)
                {
                    centred[t] = PatchMoments.SampleSum(partials, n, stride, products + t * channels + c) - mean[t] * sumG;
                    sumGXhat += pk[t * channels + c] * centred[t];
                }
                sumGXhat *= invStd[c];
                if (!betaGradient.IsEmpty) betaGradient[c] = (float)sumG;
                if (!gammaGradient.IsEmpty) gammaGradient[c] = (float)sumGXhat;
                if (!biasGradient.IsEmpty) biasGradient[c] = 0f;
                // dW_t = k·(D_t − b·Σ patch_t·x̂), k = gamma/σ, b = Σ g·x̂ / N, Σ patch_t·x̂ = N·(Cov·W)_t / σ.
                double k = (gamma.IsEmpty ? 1.0 : pg[c]) * invStd[c], b = sumGXhat / count;
                for (int t = 0; t < taps; t++)
                    pdk[t * channels + c] = (float)(k * (centred[t] - b * count * PatchMoments.CovarianceTimes(covariance, taps, pk, channels, c, t) * invStd[c]));
            }
        }
    }

    /// <summary>The shapes <see cref="ConvMaxPoolBackward"/> takes: a non-overlapping 2×2 pooling of the whole convolution output, and a small patch.</summary>
    private static void CheckConvMaxPool(in Conv2DGeometry conv, in Conv2DGeometry pool)
    {
        CheckMomentsPatch(conv);
        if (pool.InputHeight != conv.OutputHeight || pool.InputWidth != conv.OutputWidth || pool.InputChannels != conv.OutputChannels || pool.OutputChannels != conv.OutputChannels)
            throw new ArgumentException($"the pooling's window ({pool}) does not read the convolution's output ({conv})", nameof(pool));
        if (pool.KernelHeight != 2 || pool.KernelWidth != 2 || pool.StrideHeight != 2 || pool.StrideWidth != 2 || pool.PadTop != 0 || pool.PadLeft != 0
            || 2 * pool.OutputHeight > pool.InputHeight || 2 * pool.OutputWidth > pool.InputWidth)
            throw new ArgumentException($"this backward takes a 2×2, stride-2 max pooling whose windows lie inside its input, not {pool}", nameof(pool));
    }

    /// <summary>Per sample: the patches in tap-major order and their moments, then Σ g and Σ patch·g at each window's winner.</summary>
    private sealed class ConvPoolBackwardJob<TAct> : ParallelJob where TAct : struct, IActivation
    {
        [ThreadStatic] private static ConvPoolBackwardJob<TAct>? t_instance;
        public static ConvPoolBackwardJob<TAct> ForCurrentThread => t_instance ??= new ConvPoolBackwardJob<TAct>();

        public float* X, Shift, Dy, Y, Saved, Partials;
        public int* Argmax;
        public Conv2DGeometry Conv, Pool;
        public int N;
        public TAct Act;

        public override void Execute(int part, int parts)
        {
            int taps = Conv.PatchSize, channels = Conv.OutputChannels, pixels = Conv.OutputHeight * Conv.OutputWidth;
            int products = PatchMoments.Floats(taps), stride = products + (taps + 1) * channels;
            float* patches = ConvScratch.Current.Floats(0, (long)taps * pixels);
            for (int b = (int)((long)part * N / parts), end = (int)((long)(part + 1) * N / parts); b < end; b++)
            {
                float* sums = Partials + (nint)b * stride;
                PatchMoments.Patches(X + (long)b * Conv.InputSize, Conv, Shift, patches);
                PatchMoments.Sample(patches, taps, pixels, sums);
                Winners(b, patches, sums + products);
            }
        }

        /// <summary>
        /// sums[t·C + c] = Σ patch_t·g over each window's winner, then [taps·C + c] = Σ g, g = dy·act'(pooled).
        /// Sixteen channels at a time, each window's four pixels masked by the winner's index. A method of its own (once per
        /// sample): inlined into <see cref="Execute"/> with the patch moments it met the JIT's limit of locals anyway.
        /// </summary>
        [MethodImpl(MethodImplOptions.NoInlining)]
        private void Winners(int b, float* patches, float* sums)
        {
            var pool = Pool;
            int channels = pool.InputChannels, width = pool.InputWidth, pixels = pool.InputHeight * width;
            int taps = Conv.PatchSize;
            float* dy = Dy + (long)b * pool.OutputSize, y = Y + (long)b * pool.OutputSize;
            int* argmax = Argmax + (long)b * pool.OutputSize;
            float* sumG = sums + taps * channels;
            new Span<float>(sums, (taps + 1) * channels).Clear();
            TAct act = Act;
            // Sixteen channels at a time (two 8-lane halves), so each tap's four broadcasts serve both.
            int vectors = Simd.MaxBits >= 256 ? channels / 16 * 16 : 0;
            // A winner's index less its window's top-left pixel's (same channel) is 0, C, W·C or W·C + C: which of the four pixels won.
            var right = Vector256.Create(channels);
            var below = Vector256.Create(width * channels);
            var belowRight = Vector256.Create((width + 1) * channels);
            var lanes = Vector256.Create(0, 1, 2, 3, 4, 5, 6, 7);
            for (int wy = 0; wy < pool.OutputHeight; wy++)
                for (int wx = 0; wx < pool.OutputWidth; wx++)
                {
                    int o = (wy * pool.OutputWidth + wx) * channels, q0 = 2 * wy * width + 2 * wx, q2 = q0 + width;
                    for (int c0 = 0; c0 < vectors; c0 += 16)
                    {
                        var (a0, a1, a2, a3) = Split(dy + o + c0, y + o + c0, argmax + o + c0, lanes + Vector256.Create(q0 * channels + c0), right, below, belowRight, act, sumG + c0);
                        var (b0, b1, b2, b3) = Split(dy + o + c0 + 8, y + o + c0 + 8, argmax + o + c0 + 8, lanes + Vector256.Create(q0 * channels + c0 + 8), right, below, belowRight, act, sumG + c0 + 8);
                        float* tap = patches;
                        float* acc = sums + c0;
                        for (int t = 0; t < taps; t++, tap += pixels, acc += channels)
                        {
                            Vector256<float> t0 = Vector256.Create(tap[q0]), t1 = Vector256.Create(tap[q0 + 1]), t2 = Vector256.Create(tap[q2]), t3 = Vector256.Create(tap[q2 + 1]);
                            Vector256.Store(Vector256.FusedMultiplyAdd(t3, a3, Vector256.FusedMultiplyAdd(t2, a2, Vector256.FusedMultiplyAdd(t1, a1,
                                Vector256.FusedMultiplyAdd(t0, a0, Vector256.Load(acc))))), acc);
                            Vector256.Store(Vector256.FusedMultiplyAdd(t3, b3, Vector256.FusedMultiplyAdd(t2, b2, Vector256.FusedMultiplyAdd(t1, b1,
                                Vector256.FusedMultiplyAdd(t0, b0, Vector256.Load(acc + 8))))), acc + 8);
                        }
                    }
                }
            // The channels left over (all of them on the scalar path): each window's winner by its index.
            for (int c = vectors; c < channels; c++)
            {
                float sum = 0;
                for (int o = c, window = 0; o < pool.OutputSize; o += channels, window++)
                {
                    float gv = dy[o] * act.DerivativeFromOutput(y[o]);
                    sum += gv;
                    int wy = window / pool.OutputWidth, q0 = 2 * wy * width + 2 * (window - wy * pool.OutputWidth), at = argmax[o] - c, q = at / channels;
                    if (at < 0 || at != q * channels || (q != q0 && q != q0 + 1 && q != q0 + width && q != q0 + width + 1)) throw OutsideWindow();
                    float* tap = patches + q;
                    for (int t = 0; t < taps; t++, tap += pixels) sums[t * channels + c] = MathF.FusedMultiplyAdd(*tap, gv, sums[t * channels + c]);
                }
                sumG[c] = sum;
            }
        }

        /// <summary>
        /// Eight channels of one window: g = dy·act'(y) added to Σ g, and split over the window's four pixels by the winner's index
        /// less <paramref name="first"/> (the top-left pixel's): g where that pixel won, zero elsewhere.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static (Vector256<float>, Vector256<float>, Vector256<float>, Vector256<float>) Split(float* dy, float* y, int* argmax, Vector256<int> first,
            Vector256<int> right, Vector256<int> below, Vector256<int> belowRight, TAct act, float* sumG)
        {
            var g = Vector256.Load(dy) * act.DerivativeFromOutput(Vector256.Load(y));
            Vector256.Store(Vector256.Load(sumG) + g, sumG);
            var offset = Vector256.Load(argmax) - first;
            Vector256<int> m0 = Vector256.Equals(offset, Vector256<int>.Zero), m1 = Vector256.Equals(offset, right),
                m2 = Vector256.Equals(offset, below), m3 = Vector256.Equals(offset, belowRight);
            if ((m0 | m1 | m2 | m3) != Vector256<int>.AllBitsSet) throw OutsideWindow();
            return (g & m0.AsSingle(), g & m1.AsSingle(), g & m2.AsSingle(), g & m3.AsSingle());
        }

        /// <summary>A winner's index that is not one of its window's four pixels in its own channel: the tap it names would be read out of bounds.</summary>
        [MethodImpl(MethodImplOptions.NoInlining)]
        private static ArgumentException OutsideWindow() =>
            new("an argmax entry is not an input of its 2×2 window in its own channel (argmax comes from the pooling with the same geometry)", "argmax");
    }
}
