using System.Collections.Generic;
using System.Linq;

namespace Kiln.Graph;

/// <summary>Warnings a reviewer would give on a model that is valid but wasteful or suspicious.</summary>
public static class Lints
{
    public static void Run(ModelGraph graph, List<GraphDiagnostic> diagnostics)
    {
        var layers = graph.Layers;
        foreach (var layer in layers)
        {
            // BN subtracts the batch mean per channel, so a bias on the layer it reads changes nothing,
            // unless another layer reads that output too.
            if (layer.Spec is BatchNormalizationSpec && layer.Sources[0] is { } previous
                && previous.Spec is DenseSpec { UseBias: true } or ConvolutionSpec { UseBias: true }
                && previous.Activation == ActivationKind.Linear && graph.Readers(previous) == 1)
            {
                diagnostics.Add(GraphDiagnostic.Create(Descriptors.RedundantBias, previous.Spec.LocationOf(nameof(DenseSpec.UseBias)),
                    $"{previous.TypeName} '{previous.Name}'"));
            }
        }

        // Dropout with only weightless layers (activations, Flatten, Reshape) after it regularizes
        // nothing: it only perturbs the outputs the loss compares with the targets.
        int lastWithWeights = -1;
        for (int i = 0; i < layers.Count; i++)
            if (layers[i].ParameterCount > 0) lastWithWeights = i;
        for (int i = lastWithWeights + 1; i < layers.Count; i++)
        {
            if (layers[i].Spec is not DropoutSpec) continue;
            diagnostics.Add(GraphDiagnostic.Create(Descriptors.DropoutAtTheEnd, layers[i].Spec.Location,
                $"{layers[i].TypeName} '{layers[i].Name}'",
                i == layers.Count - 1 ? "is the last layer" : "has no layer with weights after it"));
        }

        // A model too large to train comfortably on one machine is more often a slip (Dense on
        // an unpooled image) than intended; the limit is the project's KilnMaxParameters. Reported
        // at the largest layer, the one to change.
        long limit = graph.Spec.MaxParameters;
        // Not when an activation is too large for a buffer: the weights after it were sized from a
        // saturated shape, and Capacity's KILN0012 names the layer with the true size.
        if (limit > 0 && graph.TotalParameters > limit && !Capacity.HasHugeActivation(graph))
        {
            LayerNode largest = layers[0];
            foreach (var layer in layers)
                if (layer.ParameterCount > largest.ParameterCount) largest = layer;
            diagnostics.Add(GraphDiagnostic.Create(Descriptors.TooManyParameters, largest.Spec.Location,
                graph.Spec.ClassName, graph.TotalParameters, limit, $"{largest.TypeName} '{largest.Name}'", largest.ParameterCount));
        }
    }
}
