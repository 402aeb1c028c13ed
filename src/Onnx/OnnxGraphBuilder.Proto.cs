using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using Google.Protobuf;
using Onnx;

namespace Kiln;

// The few protobuf shapes the builder writes: nodes, attributes, initializers and declared values.
internal sealed partial class OnnxGraphBuilder
{
    private void Node(string op, string name, IEnumerable<string> inputs, IEnumerable<string> outputs, params AttributeProto[] attributes)
    {
        var node = new NodeProto { OpType = op, Name = name };
        node.Input.AddRange(inputs);
        node.Output.AddRange(outputs);
        node.Attribute.AddRange(attributes);
        _graph.Node.Add(node);
    }

    /// <summary>A float initializer, little-endian raw data as ONNX stores it; returns its (unique) name.</summary>
    private string Initializer(string wanted, long[] dims, float[] values)
    {
        var bytes = new byte[values.Length * sizeof(float)];
        for (int i = 0; i < values.Length; i++) BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(i * sizeof(float)), values[i]);
        return AddInitializer(wanted, dims, TensorProto.Types.DataType.Float, bytes);
    }

    /// <summary>An int64 initializer (shapes, pads).</summary>
    private string Initializer(string wanted, long[] dims, long[] values)
    {
        var bytes = new byte[values.Length * sizeof(long)];
        for (int i = 0; i < values.Length; i++) BinaryPrimitives.WriteInt64LittleEndian(bytes.AsSpan(i * sizeof(long)), values[i]);
        return AddInitializer(wanted, dims, TensorProto.Types.DataType.Int64, bytes);
    }

    private string AddInitializer(string wanted, long[] dims, TensorProto.Types.DataType type, byte[] bytes)
    {
        string name = Fresh(wanted);
        var tensor = new TensorProto { Name = name, DataType = (int)type, RawData = ByteString.CopyFrom(bytes) };
        tensor.Dims.AddRange(dims);
        _graph.Initializer.Add(tensor);
        return name;
    }

    /// <summary>A graph input or output: float, a dynamic <c>batch</c> dimension, then one sample's shape.</summary>
    private static ValueInfoProto ValueInfo(string name, int[] sampleShape)
    {
        var shape = new TensorShapeProto();
        shape.Dim.Add(new TensorShapeProto.Types.Dimension { DimParam = "batch" });
        foreach (int d in sampleShape) shape.Dim.Add(new TensorShapeProto.Types.Dimension { DimValue = d });
        return new ValueInfoProto
        {
            Name = name,
            Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)TensorProto.Types.DataType.Float, Shape = shape } },
        };
    }

    private static AttributeProto Int(string name, long value) =>
        new() { Name = name, Type = AttributeProto.Types.AttributeType.Int, I = value };

    private static AttributeProto Float(string name, float value) =>
        new() { Name = name, Type = AttributeProto.Types.AttributeType.Float, F = value };

    private static AttributeProto String(string name, string value) =>
        new() { Name = name, Type = AttributeProto.Types.AttributeType.String, S = ByteString.CopyFromUtf8(value) };

    private static AttributeProto Ints(string name, params long[] values)
    {
        var attribute = new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Ints };
        attribute.Ints.AddRange(values);
        return attribute;
    }
}
