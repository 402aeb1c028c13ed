using System;

namespace Kiln.Kernels;

/// <summary>
/// Backward of a BatchNormalization running on its moving statistics (a frozen layer, or a
/// frozen model, as in Keras): then it is a fixed per-channel affine map, so the input
/// gradient is the output gradient scaled by γ/√(σ²+ε) and no statistics are learned.
/// </summary>
public static class FrozenBatchNorm
{
    /// <summary>
    /// dx = act'(y)·dy·γ/√(movingVariance + ε) over rows × channels; γ empty means 1; dx may be
    /// the same memory as dy.
    /// </summary>
    public static void Backward<TAct>(ReadOnlySpan<float> y, ReadOnlySpan<float> dy, ReadOnlySpan<float> gamma, ReadOnlySpan<float> movingVariance,
        Span<float> dx, int rows, int channels, float epsilon, TAct activation) where TAct : struct, IActivation
    {
        int size = checked(rows * channels);
        Activations.CheckLength(dy.Length, size, nameof(dy));
        Activations.CheckLength(dx.Length, size, nameof(dx));
        Activations.CheckLength(movingVariance.Length, channels, nameof(movingVariance));
        if (!gamma.IsEmpty) Activations.CheckLength(gamma.Length, channels, nameof(gamma));
        bool identity = typeof(TAct) == typeof(Identity);
        if (!identity) Activations.CheckLength(y.Length, size, nameof(y));
        // The per-channel scale, on the stack when it fits; very wide layers recompute it per row.
        Span<float> scale = channels <= 4096 ? stackalloc float[channels] : default;
        for (int c = 0; c < scale.Length; c++)
            scale[c] = (gamma.IsEmpty ? 1f : gamma[c]) / MathF.Sqrt(movingVariance[c] + epsilon);
        for (int r = 0; r < rows; r++)
        {
            int row = r * channels;
            for (int c = 0; c < channels; c++)
            {
                float s = scale.IsEmpty ? (gamma.IsEmpty ? 1f : gamma[c]) / MathF.Sqrt(movingVariance[c] + epsilon) : scale[c];
                float d = dy[row + c];
                if (!identity) d *= activation.DerivativeFromOutput(y[row + c]);
                dx[row + c] = d * s;
            }
        }
    }
}
