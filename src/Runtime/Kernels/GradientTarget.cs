using System;

namespace Kiln.Kernels;

/// <summary>
/// Where a layer's backward puts one weight's gradient g: written into a gradient buffer (the usual
/// case, and what a span converts to), or added straight into the weight as <c>w += Scale·g</c>, which
/// is plain SGD's update with Scale = −learning rate. The second is how a training step fuses SGD into
/// backward (<see cref="Sgd.FuseIntoBackward"/>): the weight gradient's product accumulates into the
/// weights, and neither writes a gradient buffer nor reads it back in an optimizer pass. Empty: no
/// gradient is wanted (frozen weights).
/// </summary>
public readonly ref struct GradientTarget
{
    private GradientTarget(Span<float> values, float scale, bool addsToWeights)
    {
        Values = values;
        Scale = scale;
        AddsToWeights = addsToWeights;
    }

    /// <summary>The gradient buffer, or with <see cref="AddsToWeights"/> the weights themselves.</summary>
    public Span<float> Values { get; }

    /// <summary>With <see cref="AddsToWeights"/>: the factor the gradient is added with (−learning rate).</summary>
    public float Scale { get; }

    /// <summary>True when the gradient is added into the weights as <c>w += Scale·g</c> instead of written.</summary>
    public bool AddsToWeights { get; }

    public bool IsEmpty => Values.IsEmpty;

    /// <summary>A target that adds <paramref name="scale"/>·g into <paramref name="weights"/>.</summary>
    public static GradientTarget AddInto(Span<float> weights, float scale)
    {
        if (!float.IsFinite(scale))
            throw new ArgumentOutOfRangeException(nameof(scale), scale, "the update's scale must be finite");
        return new GradientTarget(weights, scale, addsToWeights: true);
    }

    public static implicit operator GradientTarget(Span<float> gradient) => new(gradient, 1f, addsToWeights: false);

    public static implicit operator GradientTarget(float[]? gradient) => new(gradient, 1f, addsToWeights: false);
}
