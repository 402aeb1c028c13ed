namespace Kiln;

/// <summary>
/// Keras' <c>Rescaling(scale, offset=0.0)</c>: <c>y = x · scale + offset</c> on every value, e.g.
/// <c>[Rescaling(1 / 255f)]</c> for raw pixels or <c>[Rescaling(1 / 127.5f, Offset = -1)]</c>
/// for [−1, 1]. No weights; the output shape is the input shape. Kernel:
/// <see cref="Preprocessing.Rescale"/> (forward) and <see cref="Preprocessing.RescaleBackward"/>.
/// </summary>
public sealed class RescalingAttribute : LayerAttribute
{
    public RescalingAttribute(double scale) => Scale = scale;

    /// <summary>As Keras' <c>Rescaling(scale, offset)</c>: <c>[Rescaling(1 / 127.5, -1)]</c>.</summary>
    public RescalingAttribute(double scale, double offset)
    {
        Scale = scale;
        Offset = offset;
    }

    public double Scale { get; }

    public double Offset { get; set; }
}

/// <summary>
/// Keras' <c>Normalization(axis=-1, mean=None, variance=None, invert=False)</c>:
/// <c>y = (x − mean) / max(√variance, 1e-7)</c> with one mean and variance per index of the kept
/// <see cref="Axis"/> (by default the last: one pair per channel). The statistics are
/// non-trainable weights named <c>normalization/mean</c> and <c>normalization/variance</c>
/// (Keras names; saved and loaded with the other weights). Give them here with
/// <see cref="Mean"/> and <see cref="Variance"/> (one value each to broadcast, or one per kept
/// index), or leave them out and adapt them from training data before fitting:
/// <c>Normalization.Adapt(train).CopyTo(model)</c>, Keras' <c>layer.adapt(x)</c>.
/// Kernels: <see cref="Normalization.Forward"/> and <see cref="Normalization.Backward"/>.
/// </summary>
public sealed class NormalizationAttribute : LayerAttribute
{
    /// <summary>
    /// The axes that keep their own statistics, counting the batch as axis 0 and negatives from
    /// the end, as Keras does: <c>[-1]</c> (the default) per channel, <c>[]</c> one global pair,
    /// all sample axes per feature. Must be a trailing run of axes.
    /// </summary>
    public int[] Axis { get; set; } = [-1];

    /// <summary>Fixed means instead of adapted ones (one value, or one per kept index).</summary>
    public double[]? Mean { get; set; }

    /// <summary>Fixed variances instead of adapted ones (one value, or one per kept index).</summary>
    public double[]? Variance { get; set; }

    /// <summary>Keras' <c>invert=True</c>: <c>y = mean + x · max(√variance, 1e-7)</c>, undoing a normalization.</summary>
    public bool Invert { get; set; }
}
