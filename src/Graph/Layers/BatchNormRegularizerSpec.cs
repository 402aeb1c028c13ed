using System.Globalization;

namespace Kiln.Graph;

/// <summary>
/// Keras' <c>gamma_regularizer=L1L2(l1, l2)</c> and <c>beta_regularizer=L1L2(l1, l2)</c> on a
/// BatchNormalization, written <c>[BatchNormalization(GammaL2 = 1e-4)]</c>: as
/// <see cref="RegularizerSpec"/> does for kernels and biases, the factors ride on the gamma and beta
/// <see cref="WeightSpec"/>s to the tensor table, and the runtime adds l1·Σ|w| + l2·Σw² to the loss.
/// </summary>
public sealed record BatchNormRegularizerSpec(double GammaL1 = 0, double GammaL2 = 0, double BetaL1 = 0, double BetaL2 = 0)
{
    public static readonly BatchNormRegularizerSpec None = new();

    public bool Any => GammaL1 != 0 || GammaL2 != 0 || BetaL1 != 0 || BetaL2 != 0;

    internal static BatchNormRegularizerSpec Read(Arguments a) => new(
        a.Double(nameof(GammaL1), nameof(GammaL1), 0),
        a.Double(nameof(GammaL2), nameof(GammaL2), 0),
        a.Double(nameof(BetaL1), nameof(BetaL1), 0),
        a.Double(nameof(BetaL2), nameof(BetaL2), 0));

    /// <summary>
    /// KILN0160 (error) for a factor that is negative or not finite; KILN0170 (warning) for a gamma
    /// regularizer with <c>Scale = false</c> or a beta one with <c>Center = false</c> (no such weight);
    /// KILN0162 (warning) on a frozen layer. False after an error.
    /// </summary>
    internal bool Check(LayerContext c, bool center, bool scale)
    {
        bool ok = true;
        foreach (var (field, value) in new[] { (nameof(GammaL1), GammaL1), (nameof(GammaL2), GammaL2), (nameof(BetaL1), BetaL1), (nameof(BetaL2), BetaL2) })
        {
            if (value >= 0 && !double.IsInfinity(value)) continue;
            c.Report(Descriptors.RegularizerFactor, c.Spec.LocationOf(field), c.Label, field, value.ToString("R", CultureInfo.InvariantCulture));
            ok = false;
        }
        if (!ok) return false;
        if (!scale && (GammaL1 != 0 || GammaL2 != 0))
        {
            string field = GammaL1 != 0 ? nameof(GammaL1) : nameof(GammaL2);
            c.Report(Descriptors.NormalizationRegularizerWithoutWeight, c.Spec.LocationOf(field), c.Label, field, "gamma", "Scale");
        }
        if (!center && (BetaL1 != 0 || BetaL2 != 0))
        {
            string field = BetaL1 != 0 ? nameof(BetaL1) : nameof(BetaL2);
            c.Report(Descriptors.NormalizationRegularizerWithoutWeight, c.Spec.LocationOf(field), c.Label, field, "beta", "Center");
        }
        if (!c.Spec.Trainable && !c.Spec.FrozenByUse && Any)
        {
            string field = GammaL1 != 0 ? nameof(GammaL1) : GammaL2 != 0 ? nameof(GammaL2) : BetaL1 != 0 ? nameof(BetaL1) : nameof(BetaL2);
            c.Report(Descriptors.RegularizerOnFrozenLayer, c.Spec.LocationOf(field), c.Label, field);
        }
        return true;
    }

    /// <summary>Gamma with its factors.</summary>
    internal WeightSpec Gamma(WeightSpec gamma) => gamma with { L1 = GammaL1, L2 = GammaL2 };

    /// <summary>Beta with its factors.</summary>
    internal WeightSpec Beta(WeightSpec beta) => beta with { L1 = BetaL1, L2 = BetaL2 };
}
