namespace Kiln.Graph;

/// <summary><c>[Reshape(dims)]</c>: each sample seen with another shape of the same element count; no code runs.</summary>
public sealed record ReshapeSpec(EquatableArray<int> TargetShape) : LayerSpec
{
    public ReshapeSpec(params int[] targetShape) : this(new EquatableArray<int>(targetShape)) { }

    /// <summary>Where each dimension was written, when written element by element.</summary>
    public EquatableArray<SourceSpan> ElementLocations { get; init; } = EquatableArray<SourceSpan>.Empty;

    public override LayerKind Kind => LayerKind.Reshape;
    public override string BaseName => "reshape";
    public override KernelKind Kernel => KernelKind.View;

    internal static ReshapeSpec Read(Arguments a)
    {
        var written = a.Take(nameof(TargetShape), "targetShape");
        return new ReshapeSpec(written?.Ints ?? EquatableArray<int>.Empty)
        {
            ElementLocations = written?.ElementLocations ?? EquatableArray<SourceSpan>.Empty,
        };
    }

    internal override LayerNode? Infer(LayerContext c)
    {
        var input = c.Input;
        for (int d = 0; d < TargetShape.Count; d++)
        {
            if (TargetShape[d] < 1)
                return c.Fail(Descriptors.ReshapeNonPositive,
                    d < ElementLocations.Count ? ElementLocations[d] : LocationOf(nameof(TargetShape)), c.Label, TargetShape[d], d);
        }
        var output = new Shape(TargetShape.ToArray());
        if (TargetShape.Count == 0 || output.Size != input.Size)
            return c.Fail(Descriptors.ReshapeCount, LocationOf(nameof(TargetShape)), c.Label,
                input, input.Size, output, TargetShape.Count == 0 ? 0 : output.Size);
        return c.Node(output, 0);
    }

    public override string Describe(LayerNode node) => $"Reshape{node.Output}";
}
