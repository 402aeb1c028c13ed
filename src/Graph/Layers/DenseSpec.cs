namespace Kiln.Graph;

/// <summary><c>[Dense(units, activation, UseBias)]</c>: <c>activation(x · kernel + bias)</c> on a flat input.</summary>
public sealed record DenseSpec(int Units, ActivationKind Activation = ActivationKind.Linear, bool UseBias = true) : LayerSpec
{
    public override LayerKind Kind => LayerKind.Dense;
    public override string BaseName => "dense";
    public override KernelKind Kernel => KernelKind.Linear;
    public override ActivationKind Activation { get; } = Activation;

    /// <summary><c>KernelL1</c>, <c>KernelL2</c>, <c>BiasL1</c>, <c>BiasL2</c>: Keras' kernel and bias regularizers.</summary>
    public RegularizerSpec Regularizers { get; init; } = RegularizerSpec.None;

    internal static DenseSpec Read(Arguments a) => new(
        a.Int(nameof(Units), "units", 0),
        (ActivationKind)a.Int(nameof(Activation), "activation", 0),
        a.Bool(nameof(UseBias), "UseBias", true))
    {
        Regularizers = RegularizerSpec.Read(a),
    };

    internal override LayerNode? Infer(LayerContext c)
    {
        var input = c.Input;
        if (Units < 1)
            return c.Fail(Descriptors.NonPositiveUnits, LocationOf(nameof(Units)), c.Label, Units);
        if (input.Rank != 1)
            return c.Fail(Descriptors.DenseOnRankAboveOne, Location, c.Label, input,
                input.Rank == 3 ? "put [Flatten] or [GlobalAveragePooling2D] before it" : "put [Flatten] before it");
        if (!Regularizers.Check(c, UseBias)) return null;
        int inputs = input[0];
        var kernel = Regularizers.Kernel(new WeightSpec("kernel", new Shape(inputs, Units), true, Initializer.GlorotUniform, inputs, Units));
        long flops = 2L * inputs * Units + (UseBias ? Units : 0) + LayerContext.ActivationCost(Activation, Units);
        return UseBias
            ? c.Node(new Shape(Units), flops, new[] { kernel, Regularizers.Bias(new WeightSpec("bias", new Shape(Units), true, Initializer.Zeros)) })
            : c.Node(new Shape(Units), flops, new[] { kernel });
    }

    public override string Describe(LayerNode node) =>
        $"Dense({Units}{(Activation == ActivationKind.Linear ? "" : ", " + Names.Activation(Activation))})";
}
