using System.Collections.Generic;
using System.Globalization;

namespace Kiln.Graph;

/// <summary>
/// <c>[BatchNormalization]</c> over the last axis. Keras defaults: momentum 0.99, epsilon 1e-3;
/// batch statistics (biased variance) in training, moving statistics in inference.
/// <see cref="Synchronized"/> is Keras 3's <c>synchronized=True</c>: in a data-parallel Fit the
/// batch statistics are those of the global batch, summed over the ranks (docs/distributed.md);
/// anywhere else it is the same layer.
/// </summary>
public sealed record BatchNormalizationSpec(double Momentum = BatchNormalizationSpec.DefaultMomentum, double Epsilon = BatchNormalizationSpec.DefaultEpsilon,
    bool Center = true, bool Scale = true, bool Synchronized = false) : LayerSpec
{
    public const double DefaultMomentum = 0.99;
    public const double DefaultEpsilon = 1e-3;

    public override LayerKind Kind => LayerKind.BatchNormalization;
    public override string BaseName => "batch_normalization";
    public override KernelKind Kernel => KernelKind.BatchNorm;

    /// <summary><c>GammaL1</c>, <c>GammaL2</c>, <c>BetaL1</c>, <c>BetaL2</c>: Keras' gamma and beta regularizers.</summary>
    public BatchNormRegularizerSpec Regularizers { get; init; } = BatchNormRegularizerSpec.None;

    internal static BatchNormalizationSpec Read(Arguments a) => new(
        a.Double(nameof(Momentum), "Momentum", DefaultMomentum),
        a.Double(nameof(Epsilon), "Epsilon", DefaultEpsilon),
        a.Bool(nameof(Center), "Center", true),
        a.Bool(nameof(Scale), "Scale", true),
        a.Bool(nameof(Synchronized), "Synchronized", false))
    {
        Regularizers = BatchNormRegularizerSpec.Read(a),
    };

    internal override LayerNode? Infer(LayerContext c)
    {
        if (!(Momentum >= 0 && Momentum <= 1))
            return c.Fail(Descriptors.BatchNormArgument, LocationOf(nameof(Momentum)), c.Label, "Momentum", Names.Number(Momentum),
                "it weighs the old moving statistics and must be in [0, 1] (Keras' default is 0.99)");
        if (!(Epsilon > 0))
            return c.Fail(Descriptors.BatchNormArgument, LocationOf(nameof(Epsilon)), c.Label, "Epsilon", Epsilon.ToString("G", CultureInfo.InvariantCulture),
                "it keeps the division finite and must be positive (Keras' default is 0.001)");
        if (!Regularizers.Check(c, Center, Scale)) return null;
        // A frozen BN normalizes by its moving statistics in training too: there are no batch statistics to sum over ranks.
        if (Synchronized && !Trainable && !FrozenByUse)
            c.Report(Descriptors.SynchronizedFrozenBatchNorm, LocationOf(nameof(Synchronized)), c.Label);
        int channels = c.Input.Last;
        var weights = new List<WeightSpec>();
        if (Scale) weights.Add(Regularizers.Gamma(new WeightSpec("gamma", new Shape(channels), true, Initializer.Ones)));
        if (Center) weights.Add(Regularizers.Beta(new WeightSpec("beta", new Shape(channels), true, Initializer.Zeros)));
        weights.Add(new WeightSpec("moving_mean", new Shape(channels), false, Initializer.Zeros));
        weights.Add(new WeightSpec("moving_variance", new Shape(channels), false, Initializer.Ones));
        // Subtract, multiply, add per value in training-mode normalization.
        return c.Node(c.Input, 4L * c.Input.Size, weights);
    }

    public override string Describe(LayerNode node) => "BatchNormalization";
}
