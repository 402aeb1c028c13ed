using System;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using Kiln.Threading;

namespace Kiln.Kernels;

public static unsafe partial class BatchNorm
{
    /// <summary>The largest patch (kernel height × width × input channels) <see cref="ConvMaxPoolBackward"/> takes: its per-sample moments grow with the patch's square.</summary>
    public const int ConvMaxPoolBackwardPatch = 32;

    /// <summary>
    /// The backward of Conv2D → BatchNormalization (batch statistics) → act → 2×2 max pooling when nobody
    /// needs the convolution's input gradient (a model's first convolution): the kernel, gamma and beta
    /// gradients in one pass over the pooled gradients, with the same value as
    /// <see cref="Pooling.MaxBackward{TAct}"/>, <see cref="Backward{TAct}(ReadOnlySpan{float}, ReadOnlySpan{float}, Span{float}, ReadOnlySpan{float}, ReadOnlySpan{float}, Span{float}, Span{float}, Span{float}, int, int, TAct)"/>
    /// and <see cref="Conv2D.Backward{TAct}"/> in turn, up to rounding, without their three full-size passes.
    /// <para>
    /// BN's input gradient is dz = k·(g − a − x̂·b) per channel (g the pooled gradient times act' at its
    /// window's winner, zero elsewhere), so the kernel gradient Σ_p patch_p·dz_p splits into k·(Σ patch·g
    /// over the winners − a·Σ patch − b·Σ patch·x̂). Since z = patch·W, Σ patch·x̂ = N·Cov(patch)·W/σ: the
    /// patches' sum and covariance (a patch × patch matrix, from the small input) stand in for the full-size
    /// z and dz. Per-sample partial sums are added in sample order in double, so the result does not depend
    /// on the thread count.
    /// </para>
    /// <paramref name="input"/> is the convolution's input and <paramref name="kernel"/> its kernel (kh, kw, in, out);
    /// <paramref name="z"/> its output before BN, whose statistics <paramref name="saved"/> holds (mean, 1/σ);
    /// <paramref name="pooled"/> and <paramref name="argmax"/> the pooling's output and winners, <paramref name="pooledGradient"/> its gradient.
    /// Gradients are overwritten; empty bias, gamma and beta gradients are skipped (the bias gradient is zero: BN subtracts any bias again).
    /// </summary>
    public static void ConvMaxPoolBackward<TAct>(ReadOnlySpan<float> input, ReadOnlySpan<float> kernel, ReadOnlySpan<float> z,
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
        Activations.CheckLength(z.Length, checked(n * conv.OutputSize), nameof(z));
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

        // Per sample: Σ patch [taps], Σ patch·patchᵀ [taps²], Σ patch·g over the winners [taps × channels], Σ g, Σ g·x̂ [channels each].
        int stride = PoolBackwardPartials(taps, channels);
        float* partials = ConvScratch.Current.Floats(ConvScratch.PartialsSlot, (long)n * stride);
        fixed (float* px = input, pz = z, pdy = pooledGradient, py = pooled, ps = saved, pg = gamma, pk = kernel, pdk = kernelGradient)
        fixed (int* pa = argmax)
        {
            var job = ConvPoolBackwardJob<TAct>.ForCurrentThread;
            job.X = px; job.Z = pz; job.Dy = pdy; job.Y = py; job.Argmax = pa; job.Saved = ps; job.Partials = partials;
            job.Conv = conv; job.Pool = pool; job.N = n; job.Act = activation;
            try { WorkerPool.Shared.Run(job, Pooling.PartsFor(n, pool)); }
            finally { job.X = job.Z = job.Dy = job.Y = job.Saved = job.Partials = null; job.Argmax = null; }

            double count = (double)n * conv.OutputHeight * conv.OutputWidth;
            // The patches' mean and covariance, from the samples' sums in sample order.
            double* mean = stackalloc double[taps];
            double* covariance = stackalloc double[taps * taps];
            for (int t = 0; t < taps; t++) mean[t] = SampleSum(partials, n, stride, t) / count;
            for (int t = 0; t < taps; t++)
                for (int u = 0; u < taps; u++)
                    covariance[t * taps + u] = SampleSum(partials, n, stride, taps + t * taps + u) / count - mean[t] * mean[u];
            int products = taps + taps * taps, sums = products + taps * channels;
            float* invStd = ps + channels;
            for (int c = 0; c < channels; c++)
            {
                double sumG = SampleSum(partials, n, stride, sums + c), sumGXhat = SampleSum(partials, n, stride, sums + channels + c);
                if (!betaGradient.IsEmpty) betaGradient[c] = (float)sumG;
                if (!gammaGradient.IsEmpty) gammaGradient[c] = (float)sumGXhat;
                if (!biasGradient.IsEmpty) biasGradient[c] = 0f;
                // dW[t] = k·(Σ patch_t·g − a·Σ patch_t − b·Σ patch_t·x̂), a = Σg/N, b = Σg·x̂/N, Σ patch_t·x̂ = N·(Cov·w)_t/σ.
                double k = (gamma.IsEmpty ? 1.0 : pg[c]) * invStd[c], a = sumG / count, b = sumGXhat / count;
                for (int t = 0; t < taps; t++)
                {
                    double covW = 0;
                    for (int u = 0; u < taps; u++) covW += covariance[t * taps + u] * pk[u * channels + c];
                    double winners = SampleSum(partials, n, stride, products + t * channels + c);
                    pdk[t * channels + c] = (float)(k * (winners - a * mean[t] * count - b * count * covW * invStd[c]));
                }
            }
        }
    }

    /// <summary>The floats of one sample's partial sums: see <see cref="ConvMaxPoolBackward"/>.</summary>
    private static int PoolBackwardPartials(int taps, int channels) => taps + taps * taps + (taps + 2) * channels;

    private static double SampleSum(float* partials, int n, int stride, int at)
    {
        double s = 0;
        for (int b = 0; b < n; b++) s += partials[(nint)b * stride + at];
        return s;
    }

    /// <summary>The shapes <see cref="ConvMaxPoolBackward"/> takes: a non-overlapping 2×2 pooling of the whole convolution output, and a small patch.</summary>
    private static void CheckConvMaxPool(in Conv2DGeometry conv, in Conv2DGeometry pool)
    {
        if (conv.PatchSize > ConvMaxPoolBackwardPatch)
            throw new ArgumentException($"the convolution's patch has {conv.PatchSize} taps, more than the {ConvMaxPoolBackwardPatch} this backward takes", nameof(conv));
        if (pool.InputHeight != conv.OutputHeight || pool.InputWidth != conv.OutputWidth || pool.InputChannels != conv.OutputChannels || pool.OutputChannels != conv.OutputChannels)
            throw new ArgumentException($"the pooling's window ({pool}) does not read the convolution's output ({conv})", nameof(pool));
        if (pool.KernelHeight != 2 || pool.KernelWidth != 2 || pool.StrideHeight != 2 || pool.StrideWidth != 2 || pool.PadTop != 0 || pool.PadLeft != 0
            || 2 * pool.OutputHeight > pool.InputHeight || 2 * pool.OutputWidth > pool.InputWidth)
            throw new ArgumentException($"this backward takes a 2×2, stride-2 max pooling whose windows lie inside its input, not {pool}", nameof(pool));
    }

    /// <summary>Per sample: the patches in tap-major order, their sums and products, then Σ g, Σ g·x̂ and Σ patch·g at each window's winner.</summary>
    private sealed class ConvPoolBackwardJob<TAct> : ParallelJob where TAct : struct, IActivation
    {
        [ThreadStatic] private static ConvPoolBackwardJob<TAct>? t_instance;
        public static ConvPoolBackwardJob<TAct> ForCurrentThread => t_instance ??= new ConvPoolBackwardJob<TAct>();

        public float* X, Z, Dy, Y, Saved, Partials;
        public int* Argmax;
        public Conv2DGeometry Conv, Pool;
        public int N;
        public TAct Act;

        public override void Execute(int part, int parts)
        {
            int taps = Conv.PatchSize, channels = Conv.OutputChannels, pixels = Conv.OutputHeight * Conv.OutputWidth;
            int stride = PoolBackwardPartials(taps, channels);
            float* patches = ConvScratch.Current.Floats(0, (long)taps * pixels);
            for (int b = (int)((long)part * N / parts), end = (int)((long)(part + 1) * N / parts); b < end; b++)
            {
                float* sums = Partials + (nint)b * stride;
                Patches(X + (long)b * Conv.InputSize, patches);
                Moments(patches, taps, pixels, sums, sums + taps);
                Winners(b, patches, sums + taps + taps * taps);
            }
        }

        /// <summary>patches[t·pixels + p] = the input under tap t of output pixel p (zero in the padding), t = (ky·kw + kx)·in + ci as the kernel's rows.</summary>
        private void Patches(float* x, float* patches)
        {
            var c = Conv;
            int pixels = c.OutputHeight * c.OutputWidth, inChannels = c.InputChannels;
            for (int ky = 0; ky < c.KernelHeight; ky++)
                for (int kx = 0; kx < c.KernelWidth; kx++)
                {
                    // The output columns whose input column is inside the image.
                    int left = c.PadLeft - kx, first = left <= 0 ? 0 : (left + c.StrideWidth - 1) / c.StrideWidth;
                    int last = Math.Min(c.OutputWidth, (c.InputWidth - 1 + c.PadLeft - kx) / c.StrideWidth + 1);
                    for (int ci = 0; ci < inChannels; ci++)
                    {
                        float* row = patches + (nint)((ky * c.KernelWidth + kx) * inChannels + ci) * pixels;
                        for (int oy = 0; oy < c.OutputHeight; oy++, row += c.OutputWidth)
                        {
                            int iy = oy * c.StrideHeight - c.PadTop + ky;
                            if ((uint)iy >= (uint)c.InputHeight || first >= last)
                            {
                                new Span<float>(row, c.OutputWidth).Clear();
                                continue;
                            }
                            for (int ox = 0; ox < first; ox++) row[ox] = 0f;
                            float* src = x + ((nint)iy * c.InputWidth + first * c.StrideWidth - c.PadLeft + kx) * inChannels + ci;
                            nint step = (nint)c.StrideWidth * inChannels;
                            if (step == 1) new ReadOnlySpan<float>(src, last - first).CopyTo(new Span<float>(row + first, last - first));
                            else for (int ox = first; ox < last; ox++, src += step) row[ox] = *src;
                            for (int ox = last; ox < c.OutputWidth; ox++) row[ox] = 0f;
                        }
                    }
                }
        }

        /// <summary>sums[t] = Σ_p patches[t, p]; products[t·taps + u] = Σ_p patches[t, p]·patches[u, p].</summary>
        private static void Moments(float* patches, int taps, int pixels, float* sums, float* products)
        {
            for (int t = 0; t < taps; t++)
            {
                float* a = patches + (nint)t * pixels;
                sums[t] = Dot(a, null, pixels);
                for (int u = 0; u <= t; u++) products[t * taps + u] = products[u * taps + t] = Dot(a, patches + (nint)u * pixels, pixels);
            }
        }

        /// <summary>Σ a[i]·b[i] (b null: Σ a[i]).</summary>
        private static float Dot(float* a, float* b, int count)
        {
            int i = 0;
            float s = 0;
            if (Simd.MaxBits >= 256)
            {
                Vector256<float> s0 = Vector256<float>.Zero, s1 = Vector256<float>.Zero;
                for (; i + 16 <= count; i += 16)
                {
                    if (b == null)
                    {
                        s0 += Vector256.Load(a + i);
                        s1 += Vector256.Load(a + i + 8);
                    }
                    else
                    {
                        s0 = Vector256.FusedMultiplyAdd(Vector256.Load(a + i), Vector256.Load(b + i), s0);
                        s1 = Vector256.FusedMultiplyAdd(Vector256.Load(a + i + 8), Vector256.Load(b + i + 8), s1);
                    }
                }
                s = Vector256.Sum(s0 + s1);
            }
            for (; i < count; i++) s += b == null ? a[i] : a[i] * b[i];
            return s;
        }

        /// <summary>
        /// sums[t·C + c] = Σ patch_t·g over each window's winner, then [taps·C + c] = Σ g and [(taps + 1)·C + c] = Σ g·x̂,
        /// g = dy·act'(pooled). Eight channels at a time, each window's four pixels masked by the winner's index.
        /// </summary>
        private void Winners(int b, float* patches, float* sums)
        {
            var pool = Pool;
            int channels = pool.InputChannels, width = pool.InputWidth, pixels = pool.InputHeight * width;
            int taps = Conv.PatchSize;
            float* dy = Dy + (long)b * pool.OutputSize, y = Y + (long)b * pool.OutputSize, z = Z + (long)b * pool.InputSize;
            int* argmax = Argmax + (long)b * pool.OutputSize;
            float* mean = Saved, invStd = Saved + channels;
            float* sumG = sums + taps * channels, sumGXhat = sumG + channels;
            new Span<float>(sums, (taps + 2) * channels).Clear();
            TAct act = Act;
            // Sixteen channels at a time (two 8-lane halves), so each tap's four broadcasts serve both.
            int vectors = Simd.MaxBits >= 256 ? channels / 16 * 16 : 0;
            // A winner's index less its window's first pixel's (same channel) is 0, C, W·C or W·C + C: which of the four pixels won.
            var right = Vector256.Create(channels);
            var below = Vector256.Create(width * channels);
            var belowRight = Vector256.Create((width + 1) * channels);
            var lanes = Vector256.Create(0, 1, 2, 3, 4, 5, 6, 7);
            for (int wy = 0; wy < pool.OutputHeight; wy++)
                for (int wx = 0; wx < pool.OutputWidth; wx++)
                {
                    int o = (wy * pool.OutputWidth + wx) * channels, q0 = 2 * wy * width + 2 * wx, q2 = q0 + width;
                    float* z0 = z + (nint)q0 * channels, z2 = z + (nint)q2 * channels;
                    for (int c0 = 0; c0 < vectors; c0 += 16)
                    {
                        var (a0, a1, a2, a3) = Split(dy + o + c0, y + o + c0, argmax + o + c0, lanes + Vector256.Create(q0 * channels + c0), right, below, belowRight, act,
                            sumG + c0, sumGXhat + c0, mean + c0, invStd + c0, z0 + c0, z2 + c0, channels);
                        var (b0, b1, b2, b3) = Split(dy + o + c0 + 8, y + o + c0 + 8, argmax + o + c0 + 8, lanes + Vector256.Create(q0 * channels + c0 + 8), right, below, belowRight, act,
                            sumG + c0 + 8, sumGXhat + c0 + 8, mean + c0 + 8, invStd + c0 + 8, z0 + c0 + 8, z2 + c0 + 8, channels);
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
                float gx = 0;
                float sum = 0;
                for (int o = c; o < pool.OutputSize; o += channels)
                {
                    int at = argmax[o], q = at / channels;
                    float gv = dy[o] * act.DerivativeFromOutput(y[o]);
                    sum += gv;
                    gx = MathF.FusedMultiplyAdd(gv, (z[at] - mean[c]) * invStd[c], gx);
                    float* tap = patches + q;
                    for (int t = 0; t < taps; t++, tap += pixels) sums[t * channels + c] = MathF.FusedMultiplyAdd(*tap, gv, sums[t * channels + c]);
                }
                sumG[c] = sum;
                sumGXhat[c] = gx;
            }
        }

        /// <summary>
        /// Eight channels of one window: g = dy·act'(y) added to Σ g, g·x̂ at the winner to Σ g·x̂, and g split over the
        /// window's four pixels by the winner's index less <paramref name="first"/> (the first pixel's): g where that pixel won, zero elsewhere.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static (Vector256<float>, Vector256<float>, Vector256<float>, Vector256<float>) Split(float* dy, float* y, int* argmax, Vector256<int> first,
            Vector256<int> right, Vector256<int> below, Vector256<int> belowRight, TAct act, float* sumG, float* sumGXhat, float* mean, float* invStd,
            float* z0, float* z2, int channels)
        {
            var g = Vector256.Load(dy) * act.DerivativeFromOutput(Vector256.Load(y));
            Vector256.Store(Vector256.Load(sumG) + g, sumG);
            var offset = Vector256.Load(argmax) - first;
            var g0 = g & Vector256.Equals(offset, Vector256<int>.Zero).AsSingle();
            var g1 = g & Vector256.Equals(offset, right).AsSingle();
            var g2 = g & Vector256.Equals(offset, below).AsSingle();
            var g3 = g & Vector256.Equals(offset, belowRight).AsSingle();
            // x̂ at the winner: each pixel's, kept where that pixel won.
            Vector256<float> m = Vector256.Load(mean), s = Vector256.Load(invStd);
            var gx = Vector256.FusedMultiplyAdd(g0, (Vector256.Load(z0) - m) * s, Vector256.Load(sumGXhat));
            gx = Vector256.FusedMultiplyAdd(g1, (Vector256.Load(z0 + channels) - m) * s, gx);
            gx = Vector256.FusedMultiplyAdd(g2, (Vector256.Load(z2) - m) * s, gx);
            gx = Vector256.FusedMultiplyAdd(g3, (Vector256.Load(z2 + channels) - m) * s, gx);
            Vector256.Store(gx, sumGXhat);
            return (g0, g1, g2, g3);
        }
    }
}
