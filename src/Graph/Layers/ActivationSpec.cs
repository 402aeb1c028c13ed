using System;

namespace Kiln.Graph;

/// <summary>An activation layer: <c>[Relu]</c>, <c>[LeakyRelu(alpha)]</c>, <c>[Sigmoid]</c>, <c>[Tanh]</c> or <c>[Softmax]</c> (over the last axis).</summary>
public sealed record ActivationSpec(ActivationKind Function, double Slope = 0) : LayerSpec
{
    /// <summary>Keras' LeakyReLU layer default (the function <c>leaky_relu</c> defaults to 0.2).</summary>
    public const double DefaultLeakyAlpha = 0.3;

    public static ActivationSpec Relu() => new(ActivationKind.Relu);
    public static ActivationSpec LeakyRelu(double alpha = DefaultLeakyAlpha) => new(ActivationKind.LeakyRelu, alpha);
    public static ActivationSpec Sigmoid() => new(ActivationKind.Sigmoid);
    public static ActivationSpec Tanh() => new(ActivationKind.Tanh);
    public static ActivationSpec Softmax() => new(ActivationKind.Softmax);

    public override LayerKind Kind => Function switch
    {
        ActivationKind.Relu => LayerKind.Relu,
        ActivationKind.LeakyRelu => LayerKind.LeakyRelu,
        ActivationKind.Sigmoid => LayerKind.Sigmoid,
        ActivationKind.Tanh => LayerKind.Tanh,
        ActivationKind.Softmax => LayerKind.Softmax,
        _ => throw new InvalidOperationException($"{Function} is not an activation layer"),
    };

    public override string BaseName => Function switch
    {
        ActivationKind.Relu => "re_lu",
        ActivationKind.LeakyRelu => "leaky_re_lu",
        ActivationKind.Softmax => "softmax",
        _ => "activation", // Keras writes Activation("sigmoid"), named activation_N
    };

    public override string KerasType => Function switch
    {
        ActivationKind.Relu => "ReLU",
        ActivationKind.LeakyRelu => "LeakyReLU",
        ActivationKind.Softmax => "Softmax",
        _ => "Activation",
    };

    /// <summary>Softmax is a row operation; the others are elementwise and fuse into a producer's epilogue.</summary>
    public override KernelKind Kernel => Function == ActivationKind.Softmax ? KernelKind.Softmax : KernelKind.Activation;

    public bool IsElementwise => Function != ActivationKind.Softmax;

    public override ActivationKind Activation => Function;

    public override float Alpha => Function == ActivationKind.LeakyRelu ? (float)Slope : 0f;

    internal static ActivationSpec Read(LayerKind kind, Arguments a) => kind switch
    {
        LayerKind.Relu => Relu(),
        LayerKind.LeakyRelu => LeakyRelu(a.Double(nameof(Slope), "alpha", DefaultLeakyAlpha)),
        LayerKind.Sigmoid => Sigmoid(),
        LayerKind.Tanh => Tanh(),
        LayerKind.Softmax => Softmax(),
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "not an activation layer"),
    };

    internal override LayerNode? Infer(LayerContext c)
    {
        if (Function == ActivationKind.LeakyRelu && Slope < 0)
            return c.Fail(Descriptors.NegativeAlpha, LocationOf(nameof(Slope)), c.Label, Names.Number(Slope));
        return c.Node(c.Input, LayerContext.ActivationCost(Function, c.Input.Size));
    }

    public override string Describe(LayerNode node) =>
        Function == ActivationKind.LeakyRelu ? $"LeakyRelu({Names.Number(Slope)})" : Kind.ToString();
}
