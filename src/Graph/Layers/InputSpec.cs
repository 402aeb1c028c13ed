namespace Kiln.Graph;

/// <summary>
/// <c>[Input(28, 28, 1, Name = "image")]</c>: one input of a model with several. Each sample's row
/// holds the inputs side by side in attribute order; the forward pass copies this input's columns
/// out into its own buffer, and backward copies its gradient back into the caller's input gradient.
/// </summary>
public sealed record InputSpec(EquatableArray<int> Shape) : LayerSpec
{
    public InputSpec(params int[] shape) : this(new EquatableArray<int>(shape)) { }

    /// <summary>Where each dimension was written.</summary>
    public EquatableArray<SourceSpan> ElementLocations { get; init; } = EquatableArray<SourceSpan>.Empty;

    /// <summary><c>DataFormat = DataFormat.ChannelsFirst</c>: <see cref="Shape"/> is (C, H, W); the layers read (H, W, C), transposed as the columns are copied out.</summary>
    public bool ChannelsFirst { get; init; }

    public override LayerKind Kind => LayerKind.Input;
    public override string BaseName => "input_layer";
    public override string KerasType => "InputLayer";
    public override KernelKind Kernel => KernelKind.Input;
    public override EquatableArray<string> Reads => EquatableArray<string>.Empty;

    internal static InputSpec Read(Arguments a)
    {
        var written = a.Take(nameof(Shape), "shape");
        return new InputSpec(written?.Ints ?? EquatableArray<int>.Empty)
        {
            ElementLocations = written?.ElementLocations ?? EquatableArray<SourceSpan>.Empty,
            ChannelsFirst = a.Int(nameof(ChannelsFirst), "DataFormat", 0) == 1,
        };
    }

    internal override LayerNode? Infer(LayerContext c)
    {
        if (Shape.Count == 0)
            return c.Fail(Descriptors.InputWithoutShape, Location, c.Label);
        for (int d = 0; d < Shape.Count; d++)
            if (Shape[d] < 1)
                return c.Fail(Descriptors.NonPositiveInputDimension, d < ElementLocations.Count ? ElementLocations[d] : Location,
                    d, c.Name, Shape[d].ToString(System.Globalization.CultureInfo.InvariantCulture));
        if (!ChannelsFirst) return c.Node(new Shape(Shape.ToArray()), 0);
        if (Shape.Count != 3)
            return c.Fail(Descriptors.ChannelsFirstNeedsImage, LocationOf(nameof(ChannelsFirst)) ?? Location, c.Label, string.Join(", ", Shape));
        return c.Node(new Shape(Shape[1], Shape[2], Shape[0]), 0);
    }

    public override string Describe(LayerNode node) => ChannelsFirst ? $"Input({string.Join(", ", Shape)}, channels first)" : $"Input{node.Output}";
}
