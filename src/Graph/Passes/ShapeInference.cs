using System.Collections.Generic;
using System.Linq;

namespace Kiln.Graph;

/// <summary>
/// Walks the layers in order, computing each output shape, the weights and FLOPs, and
/// reporting every argument or shape mistake at the attribute (or argument) that caused it.
/// A layer whose input is already wrong is skipped, so one mistake gives one diagnostic.
/// </summary>
public static class ShapeInference
{
    public static ModelGraph? Run(ModelSpec spec, List<GraphDiagnostic> diagnostics)
    {
        if (spec.InputShape.Count == 0)
        {
            diagnostics.Add(GraphDiagnostic.Create(Descriptors.NoInputShape, spec.SequentialLocation, spec.ClassName));
            return null;
        }
        bool inputOk = true;
        for (int i = 0; i < spec.InputShape.Count; i++)
        {
            var arg = spec.InputShape[i];
            if (arg.Number < 1)
            {
                diagnostics.Add(GraphDiagnostic.Create(Descriptors.NonPositiveInputDimension, arg.Location ?? spec.SequentialLocation,
                    i, spec.ClassName, Names.Number(arg.Number)));
                inputOk = false;
            }
        }
        if (!inputOk) return null;
        if (spec.Layers.Count == 0)
        {
            diagnostics.Add(GraphDiagnostic.Create(Descriptors.NoLayers, spec.SequentialLocation, spec.ClassName));
            return null;
        }

        var input = new Shape(spec.InputShape.Select(a => (int)a.Number).ToArray());
        var names = new Names.Counter();
        var layers = new List<LayerNode>();
        var current = input;
        for (int i = 0; i < spec.Layers.Count; i++)
        {
            var layer = spec.Layers[i];
            string name = layer.UserName ?? names.Next(layer.BaseName);
            var node = layer.Infer(new LayerContext(i, layer, name, current, diagnostics));
            if (node is null) return null;
            if (!node.IsTrainable) node = node.Frozen();
            layers.Add(node);
            current = node.Output;
        }
        var graph = new ModelGraph(spec, input, layers);
        Lints.Run(graph, diagnostics);
        LossCheck.Run(graph, diagnostics);
        return graph;
    }
}
