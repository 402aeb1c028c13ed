using System;

namespace Kiln;

/// <summary>
/// Marks a <c>partial class</c> as a sequential model. The arguments are the shape of one
/// sample, channels last (Keras' <c>input_shape</c>). The layers are the attributes that
/// follow, in order, on the same declaration.
/// </summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = false, Inherited = false)]
public sealed class SequentialAttribute : Attribute
{
    public SequentialAttribute(params int[] inputShape) => InputShape = inputShape;

    public int[] InputShape { get; }
}

/// <summary>The loss the model trains with; the last attribute of a model.</summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = false, Inherited = false)]
public sealed class LossAttribute : Attribute
{
    public LossAttribute(Loss loss) => Loss = loss;

    public Loss Loss { get; }

    /// <summary>As Keras' <c>from_logits</c>: the model's output is unnormalized scores.</summary>
    public bool FromLogits { get; set; }
}
