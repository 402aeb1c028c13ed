using System;
using Kiln.Threading;

namespace Kiln.Kernels;

public static unsafe partial class BatchNorm
{
    /// <summary>
    /// Training BatchNormalization's batch statistics of a convolution's output, from its input's patches
    /// (<see cref="PatchMoments"/>: mean(z) = mean(patch)·W + bias, var(z) = Wᵀ·Cov(patch)·W, in double), for a
    /// convolution with a small patch: the full-size output need not exist. As
    /// <see cref="ForwardTraining{TAct}(ReadOnlySpan{float}, Span{float}, ReadOnlySpan{float}, ReadOnlySpan{float}, Span{float}, Span{float}, Span{float}, int, int, float, float, TAct)"/>,
    /// the moving statistics take the biased variance and saved[0..C) = mean, saved[C..2C) = 1/√(var + eps); then BN
    /// is folded into the kernel for the convolution to run: foldedKernel = kernel·s, foldedBias = (bias − mean)·s + beta,
    /// s = gamma/σ (gamma, beta, bias empty = 1, 0, 0).
    /// </summary>
    public static void ConvStatistics(ReadOnlySpan<float> input, ReadOnlySpan<float> kernel, ReadOnlySpan<float> bias, ReadOnlySpan<float> gamma, ReadOnlySpan<float> beta,
        Span<float> movingMean, Span<float> movingVariance, Span<float> saved, Span<float> foldedKernel, Span<float> foldedBias,
        int n, in Conv2DGeometry conv, float momentum, float epsilon)
    {
        if (n < 1) throw new ArgumentOutOfRangeException(nameof(n), n, "batch normalization in training mode needs at least one sample");
        CheckMomentsPatch(conv);
        int channels = conv.OutputChannels, taps = conv.PatchSize;
        Activations.CheckLength(input.Length, checked(n * conv.InputSize), nameof(input));
        CheckExact(kernel.Length, taps * channels, nameof(kernel));
        CheckOptional(bias.Length, channels, nameof(bias));
        CheckOptional(gamma.Length, channels, nameof(gamma));
        CheckOptional(beta.Length, channels, nameof(beta));
        CheckExact(movingMean.Length, channels, nameof(movingMean));
        CheckExact(movingVariance.Length, channels, nameof(movingVariance));
        Activations.CheckLength(saved.Length, 2 * channels, nameof(saved));
        CheckExact(foldedKernel.Length, taps * channels, nameof(foldedKernel));
        CheckExact(foldedBias.Length, channels, nameof(foldedBias));
        CheckEpsilon(epsilon);

        int stride = PatchMoments.Floats(taps);
        float* partials = ConvScratch.Current.Floats(ConvScratch.PartialsSlot, (long)n * stride);
        fixed (float* px = input, pk = kernel)
        {
            float* shift = stackalloc float[conv.InputChannels];
            PatchMoments.Shift(px, conv, shift);
            var job = MomentsJob.ForCurrentThread;
            job.X = px; job.Shift = shift; job.Partials = partials; job.Conv = conv; job.N = n;
            try { WorkerPool.Shared.Run(job, ConvCore.PartsFor(2L * n * conv.OutputHeight * conv.OutputWidth * taps * taps, n)); }
            finally { job.X = job.Shift = job.Partials = null; }

            double* patchMean = stackalloc double[taps];
            double* covariance = stackalloc double[taps * taps];
            PatchMoments.Reduce(partials, n, stride, taps, (double)n * conv.OutputHeight * conv.OutputWidth, patchMean, covariance);
            for (int c = 0; c < channels; c++)
            {
                double mean = bias.IsEmpty ? 0 : bias[c], variance = 0;
                for (int t = 0; t < taps; t++)
                {
                    double w = pk[t * channels + c];
                    mean += (patchMean[t] + shift[t % conv.InputChannels]) * w;
                    variance += w * PatchMoments.CovarianceTimes(covariance, taps, pk, channels, c, t);
                }
                // Rounding can leave a constant channel's variance a hair below zero.
                float m = (float)mean, v = (float)Math.Max(variance, 0);
                movingMean[c] = movingMean[c] * momentum + m * (1f - momentum);
                movingVariance[c] = movingVariance[c] * momentum + v * (1f - momentum);
                float invStd = 1f / MathF.Sqrt(v + epsilon), scale = gamma.IsEmpty ? invStd : gamma[c] * invStd;
                saved[c] = m;
                saved[channels + c] = invStd;
                foldedBias[c] = ((bias.IsEmpty ? 0f : bias[c]) - m) * scale + (beta.IsEmpty ? 0f : beta[c]);
                for (int t = 0; t < taps; t++) foldedKernel[t * channels + c] = kernel[t * channels + c] * scale;
            }
        }
    }

    /// <summary>Refuses a patch too large for <see cref="PatchMoments"/>' per-sample products (<see cref="MomentsPatch"/>).</summary>
    private static void CheckMomentsPatch(in Conv2DGeometry conv)
    {
        if (conv.PatchSize > MomentsPatch)
            throw new ArgumentException($"the convolution's patch has {conv.PatchSize} taps, more than the {MomentsPatch} whose moments these kernels take", nameof(conv));
    }

    /// <summary>Each sample's patch moments (<see cref="PatchMoments.Sample"/>) into Partials, <see cref="PatchMoments.Floats"/> apart.</summary>
    private sealed class MomentsJob : ParallelJob
    {
        [ThreadStatic] private static MomentsJob? t_instance;
        public static MomentsJob ForCurrentThread => t_instance ??= new MomentsJob();

        public float* X, Shift, Partials;
        public Conv2DGeometry Conv;
        public int N;

        public override void Execute(int part, int parts)
        {
            int taps = Conv.PatchSize, pixels = Conv.OutputHeight * Conv.OutputWidth, stride = PatchMoments.Floats(taps);
            float* patches = ConvScratch.Current.Floats(0, (long)taps * pixels);
            for (int b = (int)((long)part * N / parts), end = (int)((long)(part + 1) * N / parts); b < end; b++)
            {
                PatchMoments.Patches(X + (long)b * Conv.InputSize, Conv, Shift, patches);
                PatchMoments.Sample(patches, taps, pixels, Partials + (nint)b * stride);
            }
        }
    }
}
