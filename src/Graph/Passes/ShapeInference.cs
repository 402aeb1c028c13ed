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
            string name = layer.UserName ?? names.Next(Names.Base(layer.Kind));
            string label = $"{Names.KerasType(layer.Kind)} '{name}'";
            var node = Infer(i, layer, name, label, current, diagnostics);
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

    private static LayerNode? Infer(int index, LayerSpec spec, string name, string label, Shape input, List<GraphDiagnostic> diagnostics)
    {
        string type = Names.KerasType(spec.Kind);
        LayerNode Node(Shape output, long flops, params WeightSpec[] weights) =>
            new(index, spec, name, type, input, output, weights, flops);

        switch (spec.Kind)
        {
            case LayerKind.Flatten:
                return Node(new Shape(input.Size), 0);

            case LayerKind.Dense:
            {
                int units = spec.Int("units");
                if (units < 1)
                {
                    diagnostics.Add(GraphDiagnostic.Create(Descriptors.NonPositiveUnits, spec.LocationOf("units"), label, units));
                    return null;
                }
                if (input.Rank != 1)
                {
                    diagnostics.Add(GraphDiagnostic.Create(Descriptors.DenseOnRankAboveOne, spec.Location, label, input,
                        input.Rank == 3 ? "put [Flatten] or [GlobalAveragePooling2D] before it" : "put [Flatten] before it"));
                    return null;
                }
                int inputs = input[0];
                bool useBias = spec.Bool("UseBias", true);
                var kernel = new WeightSpec("kernel", new Shape(inputs, units), true, Initializer.GlorotUniform, inputs, units);
                long flops = 2L * inputs * units + (useBias ? units : 0) + ActivationFlops((ActivationKind)spec.Int("activation"), units);
                return useBias
                    ? Node(new Shape(units), flops, kernel, new WeightSpec("bias", new Shape(units), true, Initializer.Zeros))
                    : Node(new Shape(units), flops, kernel);
            }

            case LayerKind.Relu:
            case LayerKind.Sigmoid:
            case LayerKind.Tanh:
            case LayerKind.Softmax:
                return Node(input, ActivationFlops(Activation(spec.Kind), input.Size));

            case LayerKind.LeakyRelu:
            {
                double alpha = spec.Double("alpha", 0.3);
                if (alpha < 0)
                {
                    diagnostics.Add(GraphDiagnostic.Create(Descriptors.NegativeAlpha, spec.LocationOf("alpha"), label, Names.Number(alpha)));
                    return null;
                }
                return Node(input, input.Size);
            }

            case LayerKind.Dropout:
            {
                double rate = spec.Double("rate");
                if (!(rate >= 0 && rate < 1))
                {
                    diagnostics.Add(GraphDiagnostic.Create(Descriptors.DropoutRate, spec.LocationOf("rate"), label, Names.Number(rate)));
                    return null;
                }
                return Node(input, 0);
            }

            case LayerKind.Reshape:
            {
                int[] target = spec.Ints("targetShape");
                for (int d = 0; d < target.Length; d++)
                {
                    if (target[d] < 1)
                    {
                        diagnostics.Add(GraphDiagnostic.Create(Descriptors.ReshapeNonPositive, spec.Find("targetShape")?.LocationOfElement(d) ?? spec.Location, label, target[d], d));
                        return null;
                    }
                }
                var output = new Shape(target);
                if (target.Length == 0 || output.Size != input.Size)
                {
                    diagnostics.Add(GraphDiagnostic.Create(Descriptors.ReshapeCount, spec.LocationOf("targetShape"), label,
                        input, input.Size, output, target.Length == 0 ? 0 : output.Size));
                    return null;
                }
                return Node(output, 0);
            }

            case LayerKind.Conv2D:
            case LayerKind.Conv2DTranspose:
            case LayerKind.MaxPooling2D:
            case LayerKind.AveragePooling2D:
            case LayerKind.GlobalAveragePooling2D:
            case LayerKind.GlobalMaxPooling2D:
            case LayerKind.UpSampling2D:
            case LayerKind.ZeroPadding2D:
                return ImageLayers.Infer(index, spec, name, label, input, diagnostics);

            case LayerKind.BatchNormalization:
                return ImageLayers.BatchNormalization(index, spec, name, label, input, diagnostics);

            case LayerKind.Rescaling:
                return PreprocessingLayers.Rescaling(index, spec, name, input);

            case LayerKind.Normalization:
                return PreprocessingLayers.Normalization(index, spec, name, label, input, diagnostics);

            default:
                return null;
        }
    }

    /// <summary>Elementwise cost of an activation on <paramref name="size"/> values.</summary>
    internal static long ActivationCost(ActivationKind a, long size) => a switch
    {
        ActivationKind.Linear => 0,
        ActivationKind.Relu or ActivationKind.LeakyRelu => size,
        _ => 4L * size,
    };

    private static ActivationKind Activation(LayerKind kind) => kind switch
    {
        LayerKind.Relu => ActivationKind.Relu,
        LayerKind.Sigmoid => ActivationKind.Sigmoid,
        LayerKind.Tanh => ActivationKind.Tanh,
        LayerKind.Softmax => ActivationKind.Softmax,
        _ => ActivationKind.Linear,
    };

    /// <summary>Rough elementwise cost: 1 per element for max-like activations, a few for exp-based ones.</summary>
    private static long ActivationFlops(ActivationKind a, int size) => a switch
    {
        ActivationKind.Linear => 0,
        ActivationKind.Relu or ActivationKind.LeakyRelu => size,
        _ => 4L * size,
    };
}
