using System;
using System.Runtime.Intrinsics;

namespace Kiln.Kernels;

/// <summary>
/// The sums and products of a convolution's patches (kh·kw·in values under each output pixel, zero in the
/// padding), per sample, and their mean and covariance over a batch. For a convolution with a small patch
/// (a model's first layer) they give its output's batch statistics and its BN's gradients without reading
/// the full-size output: z = patch·W + bias, so mean(z) = mean(patch)·W + bias and var(z) = Wᵀ·Cov(patch)·W.
/// Samples' sums are added in sample order in double, so results do not depend on the thread count.
/// The patches are taken about a shift per input channel (<see cref="Shift"/>), which leaves Cov(patch) as it is
/// and moves mean(patch) by the shift: the one-pass covariance E[p·pᵀ] − mean·meanᵀ then subtracts two small
/// numbers, not two large ones. Unshifted, inputs whose mean was large against their spread lost most of the
/// float sums' digits there (1/σ off by 4·10⁻⁴ on 224×224 pixels in [2, 3] on the scalar path, 10⁻³ in [100, 101]).
/// </summary>
internal static unsafe class PatchMoments
{
    /// <summary>Floats of one sample's moments: the patches' sums [taps], then their products [taps × taps].</summary>
    public static int Floats(int taps) => taps + taps * taps;

    /// <summary>shift[ci] = the mean of input channel ci over the first sample: close to the batch's, and the same for every sample.</summary>
    public static void Shift(float* x, in Conv2DGeometry c, float* shift)
    {
        int inChannels = c.InputChannels;
        long pixels = (long)c.InputHeight * c.InputWidth;
        for (int ci = 0; ci < inChannels; ci++)
        {
            double sum = 0;
            for (long p = 0; p < pixels; p++) sum += x[p * inChannels + ci];
            shift[ci] = (float)(sum / pixels);
        }
    }

    /// <summary>
    /// patches[t·pixels + p] = the input under tap t of output pixel p (zero in the padding) less shift[ci],
    /// t = (ky·kw + kx)·in + ci as the kernel's rows.
    /// </summary>
    public static void Patches(float* x, in Conv2DGeometry c, float* shift, float* patches)
    {
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
                    float s = shift[ci];
                    for (int oy = 0; oy < c.OutputHeight; oy++, row += c.OutputWidth)
                    {
                        int iy = oy * c.StrideHeight - c.PadTop + ky;
                        if ((uint)iy >= (uint)c.InputHeight || first >= last)
                        {
                            new Span<float>(row, c.OutputWidth).Fill(-s);
                            continue;
                        }
                        for (int ox = 0; ox < first; ox++) row[ox] = -s;
                        float* src = x + ((nint)iy * c.InputWidth + first * c.StrideWidth - c.PadLeft + kx) * inChannels + ci;
                        nint step = (nint)c.StrideWidth * inChannels;
                        if (step == 1) Subtract(src, s, row + first, last - first);
                        else for (int ox = first; ox < last; ox++, src += step) row[ox] = *src - s;
                        for (int ox = last; ox < c.OutputWidth; ox++) row[ox] = -s;
                    }
                }
            }
    }

    /// <summary>dst[i] = src[i] − s: a one-channel row is most of a first layer's patches.</summary>
    private static void Subtract(float* src, float s, float* dst, int count)
    {
        int i = 0;
        if (Simd.Use16Lanes)
            for (var vs = Vector256.Create(s); i + 8 <= count; i += 8) Vector256.Store(Vector256.Load(src + i) - vs, dst + i);
        for (; i < count; i++) dst[i] = src[i] - s;
    }

    /// <summary>moments[t] = Σ_p patches[t, p]; moments[taps + t·taps + u] = Σ_p patches[t, p]·patches[u, p].</summary>
    public static void Sample(float* patches, int taps, int pixels, float* moments)
    {
        float* products = moments + taps;
        for (int t = 0; t < taps; t++)
        {
            float* a = patches + (nint)t * pixels;
            moments[t] = Activations.Sum(a, pixels);
            for (int u = 0; u <= t; u++) products[t * taps + u] = products[u * taps + t] = Activations.Dot(a, patches + (nint)u * pixels, pixels);
        }
    }

    /// <summary>
    /// The patches' mean [taps] and covariance [taps × taps] over <paramref name="count"/> output pixels, from
    /// <paramref name="n"/> samples' moments <paramref name="stride"/> floats apart, added in sample order in double.
    /// </summary>
    public static void Reduce(float* partials, int n, int stride, int taps, double count, double* mean, double* covariance)
    {
        for (int t = 0; t < taps; t++) mean[t] = SampleSum(partials, n, stride, t) / count;
        for (int t = 0; t < taps; t++)
            for (int u = 0; u < taps; u++)
                covariance[t * taps + u] = SampleSum(partials, n, stride, taps + t * taps + u) / count - mean[t] * mean[u];
    }

    /// <summary>(Cov·W)_t for filter <paramref name="c"/>: Σ_u covariance[t, u]·kernel[u, c], the kernel <paramref name="channels"/> filters wide.</summary>
    public static double CovarianceTimes(double* covariance, int taps, float* kernel, int channels, int c, int t)
    {
        double sum = 0;
        for (int u = 0; u < taps; u++) sum += covariance[t * taps + u] * kernel[u * channels + c];
        return sum;
    }

    /// <summary>Σ over the samples of partials[b·stride + at], in sample order, in double.</summary>
    public static double SampleSum(float* partials, int n, int stride, int at)
    {
        double s = 0;
        for (int b = 0; b < n; b++) s += partials[(nint)b * stride + at];
        return s;
    }
}
