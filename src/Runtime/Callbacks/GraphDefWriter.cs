using System;
using System.Collections.Generic;
using System.Linq;

namespace Kiln;

/// <summary>
/// Encodes a model's layer graph (<see cref="Model.Layers"/>) as a <c>tensorflow.GraphDef</c>
/// (tensorflow/core/framework/graph.proto) for TensorBoard's Graphs tab: one <c>NodeDef</c> per
/// layer, its op the Keras type (<c>Conv2D</c>), its inputs the layers it reads, and attributes
/// TensorBoard shows: <c>_output_shapes</c> (the edge labels, batch as −1), <c>parameters</c> and
/// <c>kernel</c>. Layers Kiln fuses into one kernel sit in one name scope (node
/// <c>k3_Conv2D_BatchNormalization_ReLU/conv2d</c>), so the graph collapses to the kernels that
/// run and expands to the layers declared. A <c>[Sequential]</c> model's declared input is an
/// <c>InputLayer</c> node named <c>input</c>.
/// </summary>
internal static class GraphDefWriter
{
    // GraphDef, NodeDef, the attr map entry, AttrValue, AttrValue.ListValue, TensorShapeProto and its Dim.
    private const int NodeField = 1, VersionsField = 4;
    private const int NameField = 1, OpField = 2, InputField = 3, AttrField = 5;
    private const int KeyField = 1, MapValueField = 2;
    private const int ListField = 1, StringField = 2, IntField = 3;
    private const int ListShapeField = 7;
    private const int DimField = 2, DimSizeField = 1;
    private const int ProducerField = 1;

    /// <summary>The serialized GraphDef of <paramref name="description"/>'s layers; empty when the description lists none.</summary>
    public static byte[] Encode(ModelDescription description)
    {
        var layers = description.Layers;
        if (layers.Count == 0) return [];
        var nodeName = NodeNames(layers);
        var w = new ProtobufWriter(4096);

        // A [Sequential] model's declared input is no layer; the inbound names call it Inputs[0].Name ("input", or "input_1" ... when a layer is named so).
        string declared = description.Inputs[0].Name;
        bool readsDeclaredInput = layers.Any(l => l.Inbound.Contains(declared) && !nodeName.ContainsKey(declared));
        if (readsDeclaredInput)
        {
            int node = w.BeginMessage(NodeField);
            w.String(NameField, declared);
            w.String(OpField, "InputLayer");
            OutputShapes(w, description.Inputs[0].Shape); // as the data arrives (channels first when declared so)
            w.EndMessage(node);
        }
        foreach (var layer in layers)
        {
            int node = w.BeginMessage(NodeField);
            w.String(NameField, nodeName[layer.Name]);
            w.String(OpField, layer.Kind);
            foreach (string source in layer.Inbound)
                w.String(InputField, nodeName.TryGetValue(source, out string? name) ? name
                    : source == declared ? declared
                    : throw new InvalidOperationException($"{description.Name}: layer '{layer.Name}' reads '{source}', which is not one of its layers."));
            OutputShapes(w, layer.OutputShape);
            IntAttribute(w, "parameters", layer.ParameterCount);
            if (layer.Kernel.Length > 0) StringAttribute(w, "kernel", layer.Kernel);
            w.EndMessage(node);
        }
        int versions = w.BeginMessage(VersionsField);
        w.Int64(ProducerField, 1);
        w.EndMessage(versions);
        return w.Written.ToArray();
    }

    /// <summary>
    /// Each layer's node name: its own name, inside its kernel's scope when the kernel runs two
    /// or more layers (a kernel of one layer, a view and an input need no scope).
    /// </summary>
    public static Dictionary<string, string> NodeNames(IReadOnlyList<LayerInfo> layers)
    {
        var scopes = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var group in layers.Where(l => l.Kernel.Length > 0 && l.Kernel != "view").GroupBy(l => l.Kernel))
            if (group.Count() > 1)
                scopes[group.Key] = group.Key + "_" + string.Join("_", group.Select(l => l.Kind));
        var names = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var l in layers)
            names[l.Name] = scopes.TryGetValue(l.Kernel, out string? scope) ? scope + "/" + l.Name : l.Name;
        return names;
    }

    private static void OutputShapes(ProtobufWriter w, int[] sampleShape)
    {
        int entry = BeginAttribute(w, "_output_shapes", out int attribute);
        int list = w.BeginMessage(ListField);
        int shape = w.BeginMessage(ListShapeField);
        Dimension(w, -1); // the batch
        foreach (int d in sampleShape) Dimension(w, d);
        w.EndMessage(shape);
        w.EndMessage(list);
        EndAttribute(w, entry, attribute);
    }

    private static void Dimension(ProtobufWriter w, long size)
    {
        int dim = w.BeginMessage(DimField);
        w.Int64(DimSizeField, size);
        w.EndMessage(dim);
    }

    private static void IntAttribute(ProtobufWriter w, string key, long value)
    {
        int entry = BeginAttribute(w, key, out int attribute);
        w.Int64(IntField, value);
        EndAttribute(w, entry, attribute);
    }

    private static void StringAttribute(ProtobufWriter w, string key, string value)
    {
        int entry = BeginAttribute(w, key, out int attribute);
        w.String(StringField, value);
        EndAttribute(w, entry, attribute);
    }

    // A map<string, AttrValue> entry: key (1) and the AttrValue (2), whose one field the caller writes between.
    private static int BeginAttribute(ProtobufWriter w, string key, out int attribute)
    {
        int entry = w.BeginMessage(AttrField);
        w.String(KeyField, key);
        attribute = w.BeginMessage(MapValueField);
        return entry;
    }

    private static void EndAttribute(ProtobufWriter w, int entry, int attribute)
    {
        w.EndMessage(attribute);
        w.EndMessage(entry);
    }
}
