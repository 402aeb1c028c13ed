using System.Collections.Generic;
using System.Linq;

namespace Kiln.Graph;

/// <summary>Shape inference for the preprocessing layers Rescaling and Normalization.</summary>
internal static class PreprocessingLayers
{
    public static LayerNode Rescaling(int index, LayerSpec spec, string name, Shape input) =>
        new(index, spec, name, Names.KerasType(spec.Kind), input, input, new WeightSpec[0], 2L * input.Size);

    public static LayerNode? Normalization(int index, LayerSpec spec, string name, string label, Shape input, List<GraphDiagnostic> diagnostics)
    {
        // Keras counts the batch as axis 0 and negative axes from the end; the kept axes must be a trailing run.
        int rank = input.Rank + 1;
        int[] axes = spec.Find("Axis") is null ? new[] { -1 } : spec.Ints("Axis");
        var kept = new bool[rank];
        foreach (int a in axes)
        {
            int axis = a < 0 ? a + rank : a;
            if (axis < 1 || axis >= rank)
            {
                diagnostics.Add(GraphDiagnostic.Create(Descriptors.NormalizationAxis, spec.LocationOf("Axis"), label, string.Join(", ", axes), string.Join(", ", input.Dims)));
                return null;
            }
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
                diagnostics.Add(GraphDiagnostic.Create(Descriptors.NormalizationAxis, spec.LocationOf("Axis"), label, string.Join(", ", axes), string.Join(", ", input.Dims)));
                return null;
            }
        }

        WeightSpec? Statistic(string suffix, string argument, Initializer fallback)
        {
            double[]? values = spec.Numbers(argument);
            if (values is null) return new WeightSpec(suffix, new Shape(statistics), false, fallback);
            if (values.Length != 1 && values.Length != statistics)
            {
                diagnostics.Add(GraphDiagnostic.Create(Descriptors.NormalizationStatistics, spec.LocationOf(argument), label, values.Length, argument, statistics));
                return null;
            }
            return new WeightSpec(suffix, new Shape(statistics), false, Initializer.Constant) { Values = values };
        }

        var mean = Statistic("mean", "Mean", Initializer.Zeros);
        var variance = mean is null ? null : Statistic("variance", "Variance", Initializer.Ones);
        if (mean is null || variance is null) return null;
        return new LayerNode(index, spec, name, Names.KerasType(spec.Kind), input, input, new[] { mean, variance }, 2L * input.Size);
    }
}
