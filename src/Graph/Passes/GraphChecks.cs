using System.Collections.Generic;
using System.Linq;

namespace Kiln.Graph;

/// <summary>Checks of the wiring: a layer whose output no layer reads computes nothing the model returns.</summary>
internal static class GraphChecks
{
    public static void Run(ModelGraph graph, List<GraphDiagnostic> diagnostics)
    {
        var layers = graph.Layers;
        for (int i = 0; i < layers.Count; i++)
        {
            var layer = layers[i];
            if (graph.Readers(layer) > 0 || graph.IsOutput(layer)) continue;
            var next = i + 1 < layers.Count ? layers[i + 1] : null;
            string hint = next is not null && next.Spec.Reads.Count > 0
                ? $"the next layer, '{next!.Name}', reads {string.Join(" and ", next.Spec.Reads.Select(n => "'" + n + "'"))} instead; add '{layer.Name}' to a merge or remove it"
                : "add it to a merge or remove it";
            diagnostics.Add(GraphDiagnostic.Create(Descriptors.UnusedLayer, layer.Spec.Location, $"{layer.TypeName} '{layer.Name}'", hint));
        }
    }
}
