using System.Globalization;

namespace Kiln.Graph;

/// <summary>
/// Keras' <c>kernel_regularizer=L1L2(l1, l2)</c> and <c>bias_regularizer=L1L2(l1, l2)</c> on a layer
/// with weights, written <c>[Dense(64, KernelL2 = 1e-4)]</c>: the penalty l1·Σ|w| + l2·Σw² of each
/// regularized weight joins the loss once per batch (Keras' <c>model.losses</c>). All zero means
/// none. The factors ride on each <see cref="WeightSpec"/> to the emitted tensor table.
/// </summary>
public sealed record RegularizerSpec(double KernelL1 = 0, double KernelL2 = 0, double BiasL1 = 0, double BiasL2 = 0)
{
    public static readonly RegularizerSpec None = new();

    public bool Any => KernelL1 != 0 || KernelL2 != 0 || BiasL1 != 0 || BiasL2 != 0;

    internal static RegularizerSpec Read(Arguments a) => new(
        a.Double(nameof(KernelL1), nameof(KernelL1), 0),
        a.Double(nameof(KernelL2), nameof(KernelL2), 0),
        a.Double(nameof(BiasL1), nameof(BiasL1), 0),
        a.Double(nameof(BiasL2), nameof(BiasL2), 0));

    /// <summary>
    /// KILN0160 (error) for a factor that is negative or not finite, at its argument; KILN0161
    /// (warning) for a bias regularizer on a layer with <c>UseBias = false</c>; KILN0162 (warning)
    /// for regularizers on a frozen layer, which Keras leaves out of the loss. False after an error.
    /// </summary>
    internal bool Check(LayerContext c, bool useBias)
    {
        bool ok = true;
        foreach (var (field, value) in new[] { (nameof(KernelL1), KernelL1), (nameof(KernelL2), KernelL2), (nameof(BiasL1), BiasL1), (nameof(BiasL2), BiasL2) })
        {
            if (value >= 0 && !double.IsInfinity(value)) continue;
            c.Report(Descriptors.RegularizerFactor, c.Spec.LocationOf(field), c.Label, field, value.ToString("R", CultureInfo.InvariantCulture));
            ok = false;
        }
        if (!ok) return false;
        if (!useBias && (BiasL1 != 0 || BiasL2 != 0))
        {
            string field = BiasL1 != 0 ? nameof(BiasL1) : nameof(BiasL2);
            c.Report(Descriptors.BiasRegularizerWithoutBias, c.Spec.LocationOf(field), c.Label, field);
        }
        if (!c.Spec.Trainable && !c.Spec.FrozenByUse && Any)
        {
            string field = KernelL1 != 0 ? nameof(KernelL1) : KernelL2 != 0 ? nameof(KernelL2) : BiasL1 != 0 ? nameof(BiasL1) : nameof(BiasL2);
            c.Report(Descriptors.RegularizerOnFrozenLayer, c.Spec.LocationOf(field), c.Label, field);
        }
        return true;
    }

    /// <summary>The kernel with its factors.</summary>
    internal WeightSpec Kernel(WeightSpec kernel) => kernel with { L1 = KernelL1, L2 = KernelL2 };

    /// <summary>The bias with its factors.</summary>
    internal WeightSpec Bias(WeightSpec bias) => bias with { L1 = BiasL1, L2 = BiasL2 };

    /// <summary>How the header and messages show one weight's factors: <c>l2 0.0001</c>, <c>l1 1E-05, l2 0.0001</c>.</summary>
    public static string Describe(double l1, double l2) =>
        (l1 != 0 ? "l1 " + l1.ToString("R", CultureInfo.InvariantCulture) : "")
        + (l1 != 0 && l2 != 0 ? ", " : "")
        + (l2 != 0 ? "l2 " + l2.ToString("R", CultureInfo.InvariantCulture) : "");
}
