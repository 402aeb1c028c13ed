namespace Kiln.Graph;

/// <summary><c>[Rescaling(scale, Offset)]</c>: <c>y = x · scale + offset</c> on every value; no weights.</summary>
public sealed record RescalingSpec(double Scale, double Offset = 0) : LayerSpec
{
    public override LayerKind Kind => LayerKind.Rescaling;
    public override string BaseName => "rescaling";
    public override KernelKind Kernel => KernelKind.Preprocess;

    internal static RescalingSpec Read(Arguments a) => new(a.Double(nameof(Scale), "scale", 0), a.Double(nameof(Offset), "Offset", 0));

    internal override LayerNode? Infer(LayerContext c) => c.Node(c.Input, 2L * c.Input.Size);

    public override string Describe(LayerNode node) =>
        $"Rescaling({Names.Number(Scale)}{(Offset != 0 ? ", offset " + Names.Number(Offset) : "")})";
}

/// <summary>
/// <c>[Normalization(Axis, Mean, Variance, Invert)]</c>: <c>(x − mean) / max(√variance, 1e-7)</c> with
/// one statistic per index of the kept axes (a trailing run), stored as non-trainable weights.
/// </summary>
public sealed record NormalizationSpec(EquatableArray<int> Axis, EquatableArray<double>? Mean = null, EquatableArray<double>? Variance = null,
    bool Invert = false) : LayerSpec
{
    /// <summary>Keras' default: statistics per channel.</summary>
    public static readonly EquatableArray<int> LastAxis = EquatableArray.Of(-1);

    public override LayerKind Kind => LayerKind.Normalization;
    public override string BaseName => "normalization";
    public override KernelKind Kernel => KernelKind.Preprocess;

    internal static NormalizationSpec Read(Arguments a) => new(
        a.Ints(nameof(Axis), "Axis") ?? LastAxis,
        a.Numbers(nameof(Mean), "Mean"),
        a.Numbers(nameof(Variance), "Variance"),
        a.Bool(nameof(Invert), "Invert", false));

    internal override LayerNode? Infer(LayerContext c)
    {
        // Keras counts the batch as axis 0 and negative axes from the end; the kept axes must be a trailing run.
        var input = c.Input;
        int rank = input.Rank + 1;
        var kept = new bool[rank];
        LayerNode? BadAxes() => c.Fail(Descriptors.NormalizationAxis, LocationOf(nameof(Axis)), c.Label, string.Join(", ", Axis), string.Join(", ", input.Dims));
        foreach (int a in Axis)
        {
            int axis = a < 0 ? a + rank : a;
            if (axis < 1 || axis >= rank) return BadAxes();
            kept[axis] = true;
        }
        int statistics = 1;
        bool inRun = false;
        for (int r = 1; r < rank; r++)
        {
            if (kept[r])
            {
                inRun = true;
                statistics *= input[r - 1];
            }
            else if (inRun)
            {
                return BadAxes();
            }
        }

        WeightSpec? Statistic(string suffix, string field, EquatableArray<double>? values, Initializer fallback)
        {
            if (values is not { } v) return new WeightSpec(suffix, new Shape(statistics), false, fallback);
            if (v.Count != 1 && v.Count != statistics)
            {
                c.Report(Descriptors.NormalizationStatistics, LocationOf(field), c.Label, v.Count, field, statistics);
                return null;
            }
            // The layer divides by √variance: a negative one is a mistake that would give NaN everywhere.
            if (suffix == "variance")
                foreach (double value in v)
                    if (value < 0)
                    {
                        c.Report(Descriptors.NegativeVariance, LocationOf(field), c.Label, Names.Number(value));
                        return null;
                    }
            return new WeightSpec(suffix, new Shape(statistics), false, Initializer.Constant) { Values = v.ToArray() };
        }

        var mean = Statistic("mean", nameof(Mean), Mean, Initializer.Zeros);
        var variance = mean is null ? null : Statistic("variance", nameof(Variance), Variance, Initializer.Ones);
        if (mean is null || variance is null) return null;
        return c.Node(input, 2L * input.Size, new[] { mean, variance });
    }

    public override string Describe(LayerNode node) => Invert ? "Normalization(invert)" : "Normalization";
}
