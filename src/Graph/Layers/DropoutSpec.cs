namespace Kiln.Graph;

/// <summary><c>[Dropout(rate)]</c>: inverted dropout in training (kept units scaled by 1/(1 − rate)), a copy in inference.</summary>
public sealed record DropoutSpec(double Rate) : LayerSpec
{
    public override LayerKind Kind => LayerKind.Dropout;
    public override string BaseName => "dropout";
    public override KernelKind Kernel => KernelKind.Dropout;

    internal static DropoutSpec Read(Arguments a) => new(a.Double(nameof(Rate), "rate", 0));

    internal override LayerNode? Infer(LayerContext c)
    {
        if (!(Rate >= 0 && Rate < 1))
            return c.Fail(Descriptors.DropoutRate, LocationOf(nameof(Rate)), c.Label, Names.Number(Rate));
        return c.Node(c.Input, 0);
    }

    public override string Describe(LayerNode node) => $"Dropout({Names.Number(Rate)})";
}
