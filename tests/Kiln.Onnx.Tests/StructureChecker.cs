using System;
using System.Collections.Generic;
using System.Linq;
using Onnx;

namespace Kiln.Onnx.Tests;

/// <summary>
/// The rules of ONNX's checker (onnx/checker.cc: check_model, check_graph, check_node,
/// check_tensor, check_value_info, check_attribute) that an exported graph can break, written
/// against the parsed file: IR and opset versions, declared input and output types and shapes with
/// the dynamic batch dimension, initializers whose data fill their shapes, nodes in topological
/// order whose every input is defined before use, each value defined once (SSA), attributes with
/// exactly the field their type names, and operators of the default domain only.
/// </summary>
internal static class StructureChecker
{
    // Every operator the exporter writes; all exist in opset 17 of the default domain.
    private static readonly HashSet<string> Operators = new(StringComparer.Ordinal)
    {
        "Add", "AveragePool", "BatchNormalization", "Concat", "Conv", "ConvTranspose", "Div", "Flatten", "Gemm",
        "GlobalAveragePool", "GlobalMaxPool", "Identity", "LeakyRelu", "Max", "MaxPool", "Mean", "Mul", "Pad",
        "Relu", "Reshape", "Resize", "Shape", "Sigmoid", "Slice", "Softmax", "Sub", "Sum", "Tanh", "Transpose",
    };

    public static void Check(ModelProto model, ModelDescription description)
    {
        Assert.Equal(OnnxExport.IrVersion, model.IrVersion);
        var opset = Assert.Single(model.OpsetImport);
        Assert.Equal("", opset.Domain);
        Assert.Equal(17, opset.Version);
        Assert.False(string.IsNullOrEmpty(model.ProducerName));

        var graph = model.Graph;
        Assert.False(string.IsNullOrEmpty(graph.Name), "a graph needs a name");

        // Inputs and outputs: Kiln's names and order, float, (batch, shape as declared).
        Assert.Equal(description.Inputs.Select(i => i.Name), graph.Input.Select(i => i.Name));
        for (int i = 0; i < description.Inputs.Count; i++) CheckValueInfo(graph.Input[i], description.Inputs[i].Shape);
        Assert.Equal(description.Outputs.Select(o => o.Name), graph.Output.Select(o => o.Name));
        for (int i = 0; i < description.Outputs.Count; i++) CheckValueInfo(graph.Output[i], description.Outputs[i].Shape);

        var defined = new HashSet<string>(StringComparer.Ordinal);
        foreach (var input in graph.Input)
            Assert.True(defined.Add(input.Name), $"input '{input.Name}' is declared twice");
        foreach (var tensor in graph.Initializer)
        {
            Assert.True(defined.Add(tensor.Name), $"initializer '{tensor.Name}' reuses a name");
            CheckTensor(tensor);
        }

        var used = new HashSet<string>(StringComparer.Ordinal);
        var nodeNames = new HashSet<string>(StringComparer.Ordinal);
        foreach (var node in graph.Node)
        {
            Assert.True(Operators.Contains(node.OpType), $"node '{node.Name}' runs '{node.OpType}', which the exporter should not write");
            Assert.Equal("", node.Domain);
            Assert.True(nodeNames.Add(node.Name), $"node name '{node.Name}' is used twice");
            Assert.NotEmpty(node.Output);
            foreach (string input in node.Input)
            {
                if (input.Length == 0) continue; // an omitted optional input
                Assert.True(defined.Contains(input), $"node '{node.Name}' ({node.OpType}) reads '{input}' before anything defines it");
                used.Add(input);
            }
            foreach (string output in node.Output)
            {
                Assert.False(string.IsNullOrEmpty(output), $"node '{node.Name}' has an unnamed output");
                Assert.True(defined.Add(output), $"'{output}' is defined twice (SSA), the second time by node '{node.Name}'");
            }
            var attributeNames = new HashSet<string>(StringComparer.Ordinal);
            foreach (var attribute in node.Attribute)
            {
                Assert.True(attributeNames.Add(attribute.Name), $"node '{node.Name}' sets '{attribute.Name}' twice");
                CheckAttribute(node, attribute);
            }
        }
        foreach (var output in graph.Output)
        {
            Assert.Contains(graph.Node, n => n.Output.Contains(output.Name));
            used.Add(output.Name);
        }
        foreach (var tensor in graph.Initializer)
            Assert.True(used.Contains(tensor.Name), $"initializer '{tensor.Name}' is read by no node");
    }

    private static void CheckValueInfo(ValueInfoProto value, int[] sampleShape)
    {
        Assert.Equal(TypeProto.ValueOneofCase.TensorType, value.Type.ValueCase);
        Assert.Equal((int)TensorProto.Types.DataType.Float, value.Type.TensorType.ElemType);
        var dims = value.Type.TensorType.Shape.Dim;
        Assert.Equal(sampleShape.Length + 1, dims.Count);
        Assert.Equal(TensorShapeProto.Types.Dimension.ValueOneofCase.DimParam, dims[0].ValueCase);
        Assert.Equal("batch", dims[0].DimParam);
        for (int d = 0; d < sampleShape.Length; d++)
        {
            Assert.Equal(TensorShapeProto.Types.Dimension.ValueOneofCase.DimValue, dims[d + 1].ValueCase);
            Assert.Equal(sampleShape[d], dims[d + 1].DimValue);
        }
    }

    private static void CheckTensor(TensorProto tensor)
    {
        Assert.False(string.IsNullOrEmpty(tensor.Name), "an initializer needs a name");
        long count = 1;
        foreach (long d in tensor.Dims)
        {
            Assert.True(d >= 0, $"initializer '{tensor.Name}' has a negative dimension");
            count *= d;
        }
        int size = tensor.DataType switch
        {
            (int)TensorProto.Types.DataType.Float => 4,
            (int)TensorProto.Types.DataType.Int64 => 8,
            _ => throw new Xunit.Sdk.XunitException($"initializer '{tensor.Name}' has data type {tensor.DataType}"),
        };
        // The checker: raw_data, or the typed field, never both; the bytes fill the shape.
        Assert.True(tensor.FloatData.Count == 0 && tensor.Int64Data.Count == 0, $"initializer '{tensor.Name}' mixes raw and typed data");
        Assert.Equal(count * size, tensor.RawData.Length);
    }

    private static void CheckAttribute(NodeProto node, AttributeProto a)
    {
        Assert.False(string.IsNullOrEmpty(a.Name), $"node '{node.Name}' has an unnamed attribute");
        // Exactly the field the type names is set (check_attribute).
        int set = (a.F != 0 ? 1 : 0) + (a.I != 0 ? 1 : 0) + (a.S.Length > 0 ? 1 : 0) + (a.T is not null ? 1 : 0) + (a.G is not null ? 1 : 0)
                  + (a.Floats.Count > 0 ? 1 : 0) + (a.Ints.Count > 0 ? 1 : 0) + (a.Strings.Count > 0 ? 1 : 0);
        Assert.True(set <= 1, $"attribute '{a.Name}' of node '{node.Name}' sets {set} value fields");
        bool matches = a.Type switch
        {
            AttributeProto.Types.AttributeType.Float => a.Ints.Count == 0 && a.I == 0 && a.S.Length == 0,
            AttributeProto.Types.AttributeType.Int => a.F == 0 && a.Ints.Count == 0 && a.S.Length == 0,
            AttributeProto.Types.AttributeType.String => a.S.Length > 0,
            AttributeProto.Types.AttributeType.Ints => a.Ints.Count > 0,
            _ => false,
        };
        Assert.True(matches, $"attribute '{a.Name}' of node '{node.Name}' has type {a.Type} but not that value");
    }
}
