using System.Collections.Generic;

namespace Kiln.Graph;

/// <summary>Warnings a reviewer would give on a model that is valid but wasteful or suspicious.</summary>
public static class Lints
{
    public static void Run(ModelGraph graph, List<GraphDiagnostic> diagnostics)
    {
        var layers = graph.Layers;
        for (int i = 1; i < layers.Count; i++)
        {
            var previous = layers[i - 1];
            // BN subtracts the batch mean per channel, so a bias right before it changes nothing.
            if (layers[i].Kind == LayerKind.BatchNormalization
                && previous.Kind is LayerKind.Dense or LayerKind.Conv2D or LayerKind.Conv2DTranspose
                && previous.Activation == ActivationKind.Linear
                && previous.Spec.Bool("UseBias", true))
            {
                diagnostics.Add(GraphDiagnostic.Create(Descriptors.RedundantBias, previous.Spec.LocationOf("UseBias"),
                    $"{previous.TypeName} '{previous.Name}'"));
            }
        }
    }
}
