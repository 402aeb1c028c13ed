namespace Kiln.Graph;

/// <summary><c>[Flatten]</c>: each sample seen as one vector; no code runs.</summary>
public sealed record FlattenSpec : LayerSpec
{
    public override LayerKind Kind => LayerKind.Flatten;
    public override string BaseName => "flatten";
    public override KernelKind Kernel => KernelKind.View;

    internal override LayerNode? Infer(LayerContext c) => c.Node(new Shape(c.Input.Size), 0);

    public override string Describe(LayerNode node) => "Flatten";
}
