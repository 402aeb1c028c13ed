namespace Kiln;

/// <summary>
/// What the merge layers share: they read exactly the layers they name, in that order (never
/// the attribute before them unless it is named), all written above them.
/// </summary>
public abstract class MergeAttribute : LayerAttribute
{
    private protected MergeAttribute(string[] inputs) => Inputs = inputs;

    /// <summary>The names of the layers merged, in order.</summary>
    public string[] Inputs { get; }
}

/// <summary>Keras' <c>Add()([a, b, ...])</c>: the elementwise sum of inputs of one shape, e.g. a residual connection.</summary>
public sealed class AddAttribute : MergeAttribute
{
    public AddAttribute(params string[] inputs) : base(inputs) { }
}

/// <summary>Keras' <c>Subtract()([a, b])</c>: <c>a − b</c>, for exactly two inputs of one shape.</summary>
public sealed class SubtractAttribute : MergeAttribute
{
    public SubtractAttribute(string first, string second) : base([first, second]) { }
}

/// <summary>Keras' <c>Multiply()([a, b, ...])</c>: the elementwise product, e.g. a gate.</summary>
public sealed class MultiplyAttribute : MergeAttribute
{
    public MultiplyAttribute(params string[] inputs) : base(inputs) { }
}

/// <summary>Keras' <c>Average()([a, b, ...])</c>: the elementwise mean.</summary>
public sealed class AverageAttribute : MergeAttribute
{
    public AverageAttribute(params string[] inputs) : base(inputs) { }
}

/// <summary>Keras' <c>Maximum()([a, b, ...])</c>: the elementwise maximum; the gradient goes to the first input that holds it.</summary>
public sealed class MaximumAttribute : MergeAttribute
{
    public MaximumAttribute(params string[] inputs) : base(inputs) { }
}

/// <summary>
/// Keras' <c>Concatenate(axis=-1)([a, b, ...])</c>: joins the inputs along <see cref="Axis"/>; every
/// other axis must agree. As in Keras the batch is axis 0 and negative axes count from the end,
/// so the default −1 joins channels (an Inception or U-Net merge) or features.
/// </summary>
public sealed class ConcatenateAttribute : MergeAttribute
{
    public ConcatenateAttribute(params string[] inputs) : base(inputs) { }

    public int Axis { get; set; } = -1;
}
