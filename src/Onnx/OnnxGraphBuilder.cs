using System;
using System.Collections.Generic;
using System.Linq;
using System.Reflection;
using Onnx;

namespace Kiln;

/// <summary>
/// Rebuilds a model's inference graph as ONNX nodes from what the model describes about itself at run
/// time (<see cref="Model.Layers"/>: kinds, shapes, readers and Keras configs; weights by Keras name),
/// never from generator internals. Each layer's value is kept in the layout its operator prefers:
/// convolutions, pooling, BatchNormalization on images and upsampling run channels first (ONNX's
/// NCHW); Dense, Flatten, Reshape and Normalization read channels last (Kiln's NHWC, whose
/// flattening order the exported outputs must keep). Elementwise layers keep their input's layout. A
/// Transpose is inserted only where a value crosses from one to the other, once per value, so a
/// convolution stack costs one Transpose in and one out, as tf2onnx writes Keras models.
/// </summary>
internal sealed partial class OnnxGraphBuilder
{
    /// <summary>Where an image value's channel axis is: Kiln's (batch, H, W, C) or ONNX's (batch, C, H, W).</summary>
    private enum Layout
    {
        ChannelsLast,
        ChannelsFirst,
    }

    /// <summary>A tensor of the graph: its ONNX name, its layout, and one sample's shape in Kiln's (channels-last) order.</summary>
    private sealed record Value(string Name, Layout Layout, int[] Shape)
    {
        public bool IsImage => Shape.Length == 3;
    }

    private readonly Model _model;
    private readonly OnnxExportOptions _options;
    private readonly GraphProto _graph = new();
    private readonly Dictionary<string, Value> _values = new(StringComparer.Ordinal);
    private readonly Dictionary<(string, Layout), Value> _transposed = new();
    private readonly HashSet<string> _names = new(StringComparer.Ordinal);
    private readonly Dictionary<string, List<LayerInfo>> _readers = new(StringComparer.Ordinal);
    private readonly HashSet<string> _outputLayers = new(StringComparer.Ordinal);

    /// <summary>BatchNormalization layers folded into the layer before them (name of the BN layer).</summary>
    private readonly HashSet<string> _folded = new(StringComparer.Ordinal);

    private OnnxGraphBuilder(Model model, OnnxExportOptions options)
    {
        _model = model;
        _options = options;
    }

    /// <summary>
    /// Refuses a model whose weights pass <see cref="OnnxExportOptions.MaxWeightBytes"/> before anything is built: past 2 GiB
    /// the protobuf library overflowed (a 560M-weight Dense failed with a bare OverflowException).
    /// </summary>
    private void CheckWeightsFit(ModelDescription description)
    {
        long floats = 0;
        TensorInfo? largest = null;
        foreach (var t in description.Tensors)
        {
            floats += t.Length;
            if (largest is null || t.Length > largest.Length) largest = t;
        }
        if (floats * sizeof(float) > _options.MaxWeightBytes)
            throw new NotSupportedException(
                $"ONNX export: {description.Name}'s weights take {floats * sizeof(float):N0} bytes (its largest tensor, '{largest!.Name}', " +
                $"{(long)largest.Length * sizeof(float):N0}), more than one ONNX file holds: a protobuf message stops at 2 GiB, and Kiln " +
                "does not write ONNX's external-data files. Save the weights with SaveWeights (safetensors has no such limit), or export a smaller model.");
    }

    public static ModelProto Build(Model model, OnnxExportOptions options) => new OnnxGraphBuilder(model, options).Build();

    private ModelProto Build()
    {
        var description = _model.Description;
        var layers = description.Layers;
        if (layers.Count == 0)
            throw new NotSupportedException($"ONNX export: {description.Name} lists no layers (a description written by hand); only generated models can be exported.");
        CheckWeightsFit(description);
        _graph.Name = _options.GraphName ?? description.Name;
        _graph.DocString = $"Inference graph of the Kiln model {description.Name}, exported with its weights.";

        foreach (var layer in layers)
            foreach (string source in layer.Inbound)
            {
                if (!_readers.TryGetValue(source, out var list)) _readers[source] = list = new List<LayerInfo>();
                list.Add(layer);
            }
        var outputs = OutputLayers(description, layers);
        foreach (var (_, layer) in outputs) _outputLayers.Add(layer.Name);

        DeclareInputs(description, layers);
        foreach (var layer in TopologicalOrder(layers))
            Translate(layer);
        foreach (var (info, layer) in outputs)
            DeclareOutput(info, _values[layer.Name]);

        var proto = new ModelProto
        {
            IrVersion = OnnxExport.IrVersion,
            ProducerName = "Kiln",
            ProducerVersion = typeof(Model).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion
                ?? typeof(Model).Assembly.GetName().Version?.ToString() ?? "",
            Graph = _graph,
            DocString = description.Summary,
        };
        proto.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = OnnxExport.Opset });
        return proto;
    }

    /// <summary>
    /// Which layer computes each output: by name for a model with several; for one, the layer of that
    /// name if any, else the last layer (the generator's rule when no loss names an output).
    /// </summary>
    private static List<(OutputInfo Info, LayerInfo Layer)> OutputLayers(ModelDescription description, IReadOnlyList<LayerInfo> layers)
    {
        var byName = layers.ToDictionary(l => l.Name, StringComparer.Ordinal);
        var result = new List<(OutputInfo, LayerInfo)>();
        foreach (var output in description.Outputs)
        {
            if (byName.TryGetValue(output.Name, out var layer)) result.Add((output, layer));
            else if (description.Outputs.Count == 1) result.Add((output, layers[^1]));
            else throw new NotSupportedException($"ONNX export: {description.Name}'s output '{output.Name}' names no layer.");
        }
        return result;
    }

    /// <summary>Summary order is already a topological order for generated models; this keeps the export correct if it ever is not.</summary>
    private IEnumerable<LayerInfo> TopologicalOrder(IReadOnlyList<LayerInfo> layers)
    {
        var pending = layers.Where(l => !_values.ContainsKey(l.Name)).ToList();
        var ready = new HashSet<string>(_values.Keys, StringComparer.Ordinal);
        while (pending.Count > 0)
        {
            int before = pending.Count;
            for (int i = 0; i < pending.Count; i++)
            {
                var layer = pending[i];
                if (!layer.Inbound.All(ready.Contains)) continue;
                ready.Add(layer.Name);
                pending.RemoveAt(i--);
                yield return layer;
            }
            if (pending.Count == before)
                throw new NotSupportedException($"ONNX export: layer '{pending[0].Name}' reads '{pending[0].Inbound.First(s => !ready.Contains(s))}', which no layer or input produces.");
        }
    }

    private void DeclareInputs(ModelDescription description, IReadOnlyList<LayerInfo> layers)
    {
        foreach (var input in description.Inputs)
        {
            // A channels-first input arrives as (C, H, W): already the layout convolutions want.
            int[] kilnShape = input.ChannelsFirst ? new[] { input.Shape[1], input.Shape[2], input.Shape[0] } : input.Shape;
            _graph.Input.Add(ValueInfo(input.Name, input.Shape));
            Reserve(input.Name);
            _values[input.Name] = new Value(input.Name, input.ChannelsFirst ? Layout.ChannelsFirst : Layout.ChannelsLast, kilnShape);
        }
        foreach (var layer in layers.Where(l => l.Kind == "InputLayer"))
            if (!_values.ContainsKey(layer.Name))
                throw new NotSupportedException($"ONNX export: input layer '{layer.Name}' is not among {description.Name}'s inputs.");
    }

    private void DeclareOutput(OutputInfo output, Value value)
    {
        if (value.IsImage && value.Layout == Layout.ChannelsFirst && !_transposed.ContainsKey((value.Name, Layout.ChannelsLast)))
        {
            // An image output computed channels first: its transpose back is the output itself.
            Reserve(output.Name);
            Node("Transpose", output.Name, new[] { value.Name }, new[] { output.Name }, Ints("perm", 0, 2, 3, 1));
        }
        else
        {
            var last = InLayout(value, Layout.ChannelsLast);
            if (last.Name != output.Name)
            {
                Reserve(output.Name);
                Node("Identity", output.Name, new[] { last.Name }, new[] { output.Name });
            }
        }
        _graph.Output.Add(ValueInfo(output.Name, output.Shape));
    }

    /// <summary>A value in the wanted layout: itself, or a Transpose of it made once and reused by every reader.</summary>
    private Value InLayout(Value value, Layout wanted)
    {
        if (value.Layout == wanted || !value.IsImage) return value;
        if (_transposed.TryGetValue((value.Name, wanted), out var done)) return done;
        string name = Fresh(value.Name + (wanted == Layout.ChannelsFirst ? "/nchw" : "/nhwc"));
        var perm = wanted == Layout.ChannelsFirst ? new long[] { 0, 3, 1, 2 } : new long[] { 0, 2, 3, 1 };
        Node("Transpose", name, new[] { value.Name }, new[] { name }, Ints("perm", perm));
        var result = new Value(name, wanted, value.Shape);
        _transposed[(value.Name, wanted)] = result;
        return result;
    }

    /// <summary>Where the channel axis of an image value is in its ONNX tensor.</summary>
    private static int ChannelAxis(Value v) => v.IsImage && v.Layout == Layout.ChannelsFirst ? 1 : v.Shape.Length;

    /// <summary>
    /// Maps a Keras axis (batch = 0, negative from the end, over Kiln's channels-last shape) to the
    /// value's ONNX axis: for a channels-first image, H and W move one place right and C goes to 1.
    /// </summary>
    private static long OnnxAxis(Value v, int kerasAxis)
    {
        int rank = v.Shape.Length + 1;
        int axis = kerasAxis < 0 ? kerasAxis + rank : kerasAxis;
        if (!v.IsImage || v.Layout == Layout.ChannelsLast) return axis;
        return axis switch { 1 => 2, 2 => 3, 3 => 1, _ => axis };
    }

    private void Translate(LayerInfo layer)
    {
        if (_folded.Contains(layer.Name)) return;
        switch (layer.Kind)
        {
            case "InputLayer": return; // declared with the graph inputs
            case "Dense": Dense(layer); break;
            case "Conv2D": Convolution(layer, transposed: false); break;
            case "Conv2DTranspose": Convolution(layer, transposed: true); break;
            case "MaxPooling2D": Pooling(layer, "MaxPool"); break;
            case "AveragePooling2D": Pooling(layer, "AveragePool"); break;
            case "GlobalAveragePooling2D": GlobalPooling(layer, "GlobalAveragePool"); break;
            case "GlobalMaxPooling2D": GlobalPooling(layer, "GlobalMaxPool"); break;
            case "BatchNormalization": BatchNormalization(layer); break;
            case "Dropout": _values[layer.Name] = Input(layer); break; // identity at inference
            case "Flatten": Flatten(layer); break;
            case "Reshape": Reshape(layer); break;
            case "ReLU": Activation(layer, "relu"); break;
            case "LeakyReLU": Activation(layer, "leaky_relu"); break;
            case "Softmax": Activation(layer, "softmax"); break;
            case "Activation": Activation(layer, Config<string>(layer, "activation")); break;
            case "Rescaling": Rescaling(layer); break;
            case "Normalization": Normalization(layer); break;
            case "UpSampling2D": UpSampling(layer); break;
            case "ZeroPadding2D": ZeroPadding(layer); break;
            case "Add": Merge(layer, layer.Inbound.Length == 2 ? "Add" : "Sum"); break;
            case "Subtract": Merge(layer, "Sub"); break;
            case "Multiply": Merge(layer, "Mul"); break;
            case "Average": Merge(layer, "Mean"); break;
            case "Maximum": Merge(layer, "Max"); break;
            case "Concatenate": Concatenate(layer); break;
            // Random augmentations are a copy in inference, as Predict runs them.
            case "RandomFlip" or "RandomTranslation" or "RandomRotation" or "RandomZoom" or "RandomContrast":
                _values[layer.Name] = Input(layer);
                break;
            case "RandomCrop": CenterCrop(layer); break;
            default:
                throw new NotSupportedException(
                    $"ONNX export: layer '{layer.Name}' ({layer.Kind}) of {_model.Description.Name} has no ONNX translation yet; docs/interop.md lists the layers that export.");
        }
    }

    private Value Input(LayerInfo layer, int index = 0)
    {
        string source = layer.Inbound[index];
        return _values.TryGetValue(source, out var v)
            ? v
            : throw new NotSupportedException($"ONNX export: layer '{layer.Name}' reads '{source}', which no layer or input produces.");
    }

    /// <summary>Records the ONNX value that holds a layer's output, for the layers that read it.</summary>
    private void Define(LayerInfo layer, string name, Layout layout) => _values[layer.Name] = new Value(name, layout, layer.OutputShape);

    /// <summary>
    /// The name a layer's result gets: the layer's own, unless it is a model output computed channels
    /// first, whose channels-last transpose (or the Identity after it) takes the output's name.
    /// </summary>
    private string ResultName(LayerInfo layer, Layout layout) =>
        layout == Layout.ChannelsFirst && layer.OutputShape.Length == 3 && _outputLayers.Contains(layer.Name)
            ? Fresh(layer.Name + "/nchw")
            : Fresh(layer.Name);

    private static T Config<T>(LayerInfo layer, string key)
    {
        if (layer.Config is { } config && config.TryGetValue(key, out var value) && value is T typed) return typed;
        throw new NotSupportedException($"ONNX export: layer '{layer.Name}' ({layer.Kind}) has no '{key}' in its config; rebuild the model with this Kiln version's generator.");
    }

    private static T ConfigOr<T>(LayerInfo layer, string key, T fallback) =>
        layer.Config is { } config && config.TryGetValue(key, out var value) && value is T typed ? typed : fallback;

    private string Reserve(string name)
    {
        if (!_names.Add(name)) throw new InvalidOperationException($"ONNX export: the value name '{name}' is used twice.");
        return name;
    }

    /// <summary>A name not used yet: <paramref name="wanted"/>, else with a numeric suffix.</summary>
    private string Fresh(string wanted)
    {
        string name = wanted;
        for (int i = 1; _names.Contains(name); i++) name = $"{wanted}_{i}";
        _names.Add(name);
        return name;
    }
}
