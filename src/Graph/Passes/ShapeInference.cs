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
        // A model declared with [Input] attributes: its inputs are layers, checked like layers.
        bool functional = spec.Layers.Any(l => l is InputSpec);
        if (functional)
        {
            foreach (var input in spec.Layers.OfType<InputSpec>())
                if (!input.ChannelsFirst)
                    ChannelsFirstLint(spec, input.Shape.ToArray(), input.Location, $"[Input({string.Join(", ", input.Shape)})]", diagnostics);
            return Infer(spec, null, diagnostics);
        }
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

        var dims = spec.InputShape.Select(a => (int)a.Number).ToArray();
        string label = $"[Sequential] on '{spec.ClassName}'";
        if (spec.ChannelsFirst)
        {
            if (dims.Length != 3)
            {
                diagnostics.Add(GraphDiagnostic.Create(Descriptors.ChannelsFirstNeedsImage, spec.DataFormatLocation ?? spec.SequentialLocation, label, string.Join(", ", dims)));
                return null;
            }
            // The layers read channels last: (C, H, W) -> (H, W, C); the generated code transposes the data once.
            dims = new[] { dims[1], dims[2], dims[0] };
        }
        else ChannelsFirstLint(spec, dims, spec.SequentialLocation, label, diagnostics);
        return Infer(spec, new Shape(dims), diagnostics);
    }

    /// <summary>
    /// KILN0155: a channels-last image shape whose first dimension is a typical channel count (1, 3,
    /// 4) and whose other two are image-sized is far more often (C, H, W) data than a 3-pixel-high
    /// image, and the model then fails, if at all, layers later with no word about the layout.
    /// </summary>
    private static void ChannelsFirstLint(ModelSpec spec, int[] dims, SourceSpan? location, string label, List<GraphDiagnostic> diagnostics)
    {
        if (dims.Length != 3 || dims[0] is not (1 or 3 or 4) || dims[1] < 8 || dims[2] < 8) return;
        if (!spec.Layers.Any(l => l is ConvolutionSpec or PoolingSpec or GlobalPoolingSpec or UpSampling2DSpec or ZeroPadding2DSpec)) return;
        diagnostics.Add(GraphDiagnostic.Create(Descriptors.LooksChannelsFirst, location, label, string.Join(", ", dims), dims[0], dims[1], dims[2]));
    }

    /// <summary>Every layer from its sources; <paramref name="input"/> is the [Sequential] input, or null when [Input] layers declare them.</summary>
    private static ModelGraph? Infer(ModelSpec spec, Shape? input, List<GraphDiagnostic> diagnostics)
    {
        var names = Names.Of(spec);
        var layers = new List<LayerNode>();
        var byName = new Dictionary<string, LayerNode>();
        for (int i = 0; i < spec.Layers.Count; i++)
        {
            var layer = spec.Layers[i];
            var sources = Sources(spec, names, i, byName, layers, diagnostics);
            if (sources is null) return null;
            var inputs = sources.Select(s => s?.Output ?? input!).ToArray();
            var node = layer.Infer(new LayerContext(i, layer, names[i], sources, inputs, diagnostics));
            if (node is null) return null;
            if (!node.IsTrainable) node = node.Frozen();
            layers.Add(node);
            byName[node.Name] = node;
        }
        // Several inputs arrive side by side in one row per sample, in attribute order.
        input ??= new Shape(layers.Where(l => l.Spec is InputSpec).Sum(l => l.Output.Size));
        var outputs = Outputs(spec, layers, byName, diagnostics);
        if (outputs is null) return null;
        var graph = new ModelGraph(spec, input, layers, outputs);
        GraphChecks.Run(graph, diagnostics);
        Lints.Run(graph, diagnostics);
        Capacity.CheckGraph(graph, diagnostics);
        LossCheck.Run(graph, diagnostics);
        return graph;
    }

    /// <summary>
    /// The model's outputs: the last layer with the one loss, or, when a [Loss] names its output,
    /// one output per [Loss] in the order they are written (Keras' <c>compile(loss={...})</c>).
    /// </summary>
    private static ModelOutput[]? Outputs(ModelSpec spec, List<LayerNode> layers, Dictionary<string, LayerNode> byName, List<GraphDiagnostic> diagnostics)
    {
        var losses = spec.AllLosses;
        if (losses.Count == 0 || losses.Count == 1 && losses[0].Output is null)
            return new[] { new ModelOutput(layers[layers.Count - 1], losses.Count == 1 ? losses[0] : null) };
        var outputs = new List<ModelOutput>();
        bool ok = true;
        foreach (var loss in losses)
        {
            string label = $"[Loss({loss.Kind})]";
            if (loss.Output is null)
            {
                diagnostics.Add(GraphDiagnostic.Create(Descriptors.LossWithoutOutput, loss.Location, label, losses.Count));
                ok = false;
            }
            else if (!byName.TryGetValue(loss.Output, out var layer))
            {
                diagnostics.Add(GraphDiagnostic.Create(Descriptors.UnknownLayer, loss.OutputLocation ?? loss.Location, label, loss.Output,
                    "the model's layers are " + string.Join(", ", layers.Select(l => "'" + l.Name + "'"))));
                ok = false;
            }
            else if (outputs.Any(o => o.Layer == layer))
            {
                diagnostics.Add(GraphDiagnostic.Create(Descriptors.OutputTwice, loss.OutputLocation ?? loss.Location, label, loss.Output));
                ok = false;
            }
            else if (!(loss.Weight >= 0 && !double.IsInfinity(loss.Weight)))
            {
                diagnostics.Add(GraphDiagnostic.Create(Descriptors.LossWeight, loss.WeightLocation ?? loss.Location, label, Names.Number(loss.Weight)));
                ok = false;
            }
            else
            {
                outputs.Add(new ModelOutput(layer, loss));
            }
        }
        return ok ? outputs.ToArray() : null;
    }

    /// <summary>
    /// What layer <paramref name="index"/> reads: the layers it names (a merge's inputs, or
    /// <c>From</c>), else the layer written before it, else the model's input (null). A name must
    /// belong to a layer written above, so attribute order is a topological order of the graph.
    /// </summary>
    private static LayerNode?[]? Sources(ModelSpec spec, string[] names, int index, Dictionary<string, LayerNode> above,
        List<LayerNode> layers, List<GraphDiagnostic> diagnostics)
    {
        var layer = spec.Layers[index];
        string label = $"{layer.KerasType} '{names[index]}'";
        if (layer is MergeSpec && layer.From is not null)
        {
            diagnostics.Add(GraphDiagnostic.Create(Descriptors.FromOnMerge, layer.LocationOf(nameof(LayerSpec.From)), label));
            return null;
        }
        if (layer is InputSpec)
        {
            if (layer.From is not null)
                diagnostics.Add(GraphDiagnostic.Create(Descriptors.FromOnMerge, layer.LocationOf(nameof(LayerSpec.From)), label));
            return layer.From is null ? System.Array.Empty<LayerNode?>() : null;
        }
        var reads = layer.Reads;
        if (reads.Count == 0 && layer is not MergeSpec)
        {
            if (index > 0) return new[] { layers[index - 1] };
            if (spec.Layers.Any(l => l is InputSpec))
            {
                diagnostics.Add(GraphDiagnostic.Create(Descriptors.LayerBeforeInput, layer.Location, label));
                return null;
            }
            return new LayerNode?[] { null };
        }
        var sources = new LayerNode?[reads.Count];
        for (int r = 0; r < reads.Count; r++)
        {
            if (above.TryGetValue(reads[r], out var source))
            {
                sources[r] = source;
                continue;
            }
            var where = layer is MergeSpec merge ? merge.LocationOfInput(r) : layer.LocationOf(nameof(LayerSpec.From));
            int below = System.Array.IndexOf(names, reads[r], index);
            string hint = below >= 0
                ? $"'{reads[r]}' is written below it (a layer can read only layers above it); move the attributes so '{reads[r]}' comes first"
                : above.Count == 0 ? "no layer is written above it" : "the layers above it are " + string.Join(", ", layers.Select(l => "'" + l.Name + "'"));
            diagnostics.Add(GraphDiagnostic.Create(Descriptors.UnknownLayer, where, label, reads[r], hint));
            return null;
        }
        return sources;
    }
}
