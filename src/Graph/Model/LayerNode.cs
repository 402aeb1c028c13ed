using System.Collections.Generic;
using System.Linq;

namespace Kiln.Graph;

public enum Initializer
{
    Zeros,
    Ones,
    GlorotUniform,
    /// <summary>The values in <see cref="WeightSpec.Values"/>, one to broadcast or one per element.</summary>
    Constant,
}

/// <summary>One weight tensor of a layer (<c>kernel</c>, <c>bias</c>), Keras layout.</summary>
public sealed record WeightSpec(string Suffix, Shape Shape, bool Trainable, Initializer Init, int FanIn = 0, int FanOut = 0)
{
    public double[]? Values { get; init; }

    /// <summary>Keras' <c>L1L2(l1=)</c> factor on this weight (<see cref="RegularizerSpec"/>); 0 when not regularized.</summary>
    public double L1 { get; init; }

    /// <summary>Keras' <c>L1L2(l2=)</c> factor on this weight; 0 when not regularized.</summary>
    public double L2 { get; init; }

    public bool Regularized => L1 != 0 || L2 != 0;

    public long Size => Shape.Elements;
}

/// <summary>A layer after shape inference: its Keras name, shapes, weights and cost.</summary>
public sealed class LayerNode
{
    public LayerNode(int index, LayerSpec spec, string name, IReadOnlyList<LayerNode?> sources, IReadOnlyList<Shape> inputs, Shape output,
        IReadOnlyList<WeightSpec> weights, long flops, Window? window = null)
    {
        Window = window;
        Index = index;
        Spec = spec;
        Name = name;
        Sources = sources;
        Inputs = inputs;
        Output = output;
        Weights = weights;
        Flops = flops;
    }

    public int Index { get; }
    public LayerSpec Spec { get; }
    public LayerKind Kind => Spec.Kind;

    /// <summary>The typed spec of a layer known to be of that family (the emitter reads its fields).</summary>
    public T As<T>() where T : LayerSpec =>
        Spec as T ?? throw new System.InvalidOperationException($"layer '{Name}' is a {Spec.GetType().Name}, not a {typeof(T).Name}");

    /// <summary>Keras-style name: <c>dense</c>, <c>dense_1</c>, … or the user's <c>Name</c>.</summary>
    public string Name { get; }

    /// <summary>The Keras class this layer corresponds to, for the summary (<c>Dense</c>, <c>ReLU</c>).</summary>
    public string TypeName => Spec.KerasType;

    /// <summary>The layers this one reads, in order; null stands for the model's input.</summary>
    public IReadOnlyList<LayerNode?> Sources { get; }

    /// <summary>The shapes it reads, one per source.</summary>
    public IReadOnlyList<Shape> Inputs { get; }

    /// <summary>The (first) input shape.</summary>
    public Shape Input => Inputs.Count > 0 ? Inputs[0] : Output;
    public Shape Output { get; }
    public IReadOnlyList<WeightSpec> Weights { get; }

    /// <summary>Forward floating-point operations per sample (a multiply-add counts 2).</summary>
    public long Flops { get; }

    /// <summary>The convolution or pooling window (sizes, strides, padding), for window layers.</summary>
    public Window? Window { get; }

    /// <summary>False for <c>Trainable = false</c>: the weights are state (no gradients), and BatchNormalization uses its moving statistics, as in Keras.</summary>
    public bool IsTrainable => Spec.Trainable;

    /// <summary>The same layer with every weight non-trainable (<c>Trainable = false</c>).</summary>
    public LayerNode Frozen() => new(Index, Spec, Name, Sources, Inputs, Output,
        Weights.Select(w => w with { Trainable = false }).ToArray(), Flops, Window);

    public long ParameterCount => Count.Sum(Weights.Select(w => w.Size));
    public long TrainableCount => Count.Sum(Weights.Where(w => w.Trainable).Select(w => w.Size));

    /// <summary>The activation this layer applies, whether an argument (Dense, Conv2D) or the layer itself.</summary>
    public ActivationKind Activation => Spec.Activation;

    /// <summary>The display text of the attribute, e.g. <c>Dense(300, relu)</c>, for comments.</summary>
    public string Describe() => Spec.Describe(this);
}

/// <summary>One output of the model: the layer, and the loss that trains it (null for a model trained through another).</summary>
public sealed record ModelOutput(LayerNode Layer, LossSpec? Loss)
{
    /// <summary>Target values per sample: one class index for sparse labels, else one per output value.</summary>
    public int TargetSize => Loss?.Kind == LossKind.SparseCategoricalCrossentropy ? 1 : Layer.Output.Size;
}

/// <summary>The model after shape inference.</summary>
public sealed class ModelGraph
{
    public ModelGraph(ModelSpec spec, Shape input, IReadOnlyList<LayerNode> layers, IReadOnlyList<ModelOutput>? outputs = null)
    {
        Spec = spec;
        Input = input;
        Layers = layers;
        Outputs = outputs ?? new[] { new ModelOutput(layers[layers.Count - 1], spec.Loss) };
        DeclaredInputName = FreeInputName(layers);
        foreach (var layer in layers)
            foreach (var source in layer.Sources)
                if (source is not null) _readers[source] = _readers.TryGetValue(source, out int n) ? n + 1 : 1;
    }

    private readonly Dictionary<LayerNode, int> _readers = new();

    /// <summary>How many times layers read <paramref name="layer"/>'s output (a merge naming it twice counts twice).</summary>
    public int Readers(LayerNode layer) => _readers.TryGetValue(layer, out int n) ? n : 0;

    public ModelSpec Spec { get; }

    /// <summary>What the layers read: the [Sequential] shape, channels last; for [Input] layers, their sizes added up.</summary>
    public Shape Input { get; }

    /// <summary>
    /// What the model's metadata calls a [Sequential] model's declared input (the layers' inbound names, the summary's "Connected
    /// to", Kiln.InputInfo): "input", or as Keras names a layer whose name is taken, "input_1", "input_2", ... when a layer is
    /// named so. Readers of the metadata (layer outputs, TensorBoard's graph, ONNX export) then never take a layer for the input.
    /// </summary>
    public string DeclaredInputName { get; }

    private static string FreeInputName(IReadOnlyList<LayerNode> layers)
    {
        var names = new HashSet<string>(layers.Select(l => l.Name), System.StringComparer.Ordinal);
        string name = "input";
        for (int k = 1; names.Contains(name); k++) name = "input_" + k.ToString(System.Globalization.CultureInfo.InvariantCulture);
        return name;
    }

    /// <summary>The input as the user declares it and gives the data: (C, H, W) for a channels-first [Sequential], else <see cref="Input"/>.</summary>
    public Shape DeclaredInput => Spec.ChannelsFirst ? new Shape(Input[2], Input[0], Input[1]) : Input;
    public IReadOnlyList<LayerNode> Layers { get; }
    /// <summary>What the model returns: the last layer, or one layer per [Loss(Output = ...)].</summary>
    public IReadOnlyList<ModelOutput> Outputs { get; }

    /// <summary>The output row of one sample: the output, or several side by side in <see cref="Outputs"/> order.</summary>
    public Shape Output => Outputs.Count == 1 ? Outputs[0].Layer.Output : new Shape(Outputs.Sum(o => o.Layer.Output.Size));

    /// <summary>The loss of a model with one output.</summary>
    public LossSpec? Loss => Outputs.Count == 1 ? Outputs[0].Loss : null;

    /// <summary>Where an output's columns start in each packed output row.</summary>
    public int OutputOffset(ModelOutput output) => Outputs.TakeWhile(o => o != output).Sum(o => o.Layer.Output.Size);

    public bool IsOutput(LayerNode layer) => Outputs.Any(o => o.Layer == layer);

    /// <summary>True when every layer reads the one before it (the first reads the input): a Keras Sequential model.</summary>
    public bool IsChain => !Layers.Any(l => l.Spec is InputSpec) && Layers.Select((l, i) => l.Sources.Count == 1 && l.Sources[0] == (i == 0 ? null : Layers[i - 1])).All(x => x);

    /// <summary>The [Input] layers of a model declared with them, in the order their columns sit in each packed input row.</summary>
    public IEnumerable<LayerNode> InputLayers => Layers.Where(l => l.Spec is InputSpec);

    /// <summary>Where an [Input]'s columns start in each packed input row.</summary>
    public int InputOffset(LayerNode input) => InputLayers.TakeWhile(l => l != input).Sum(l => l.Output.Size);

    public long TotalParameters => Count.Sum(Layers.Select(l => l.ParameterCount));
    public long TrainableParameters => Count.Sum(Layers.Select(l => l.TrainableCount));
    public long Flops => Count.Sum(Layers.Select(l => l.Flops));
}

/// <summary>
/// Sums of sizes that saturate at long.MaxValue: an absurd layer (a kernel of int.MaxValue²)
/// must reach Capacity's KILN0012, not throw Enumerable.Sum's OverflowException.
/// </summary>
public static class Count
{
    public static long Sum(IEnumerable<long> values)
    {
        long total = 0;
        foreach (long v in values)
            total = v > 0 && total > long.MaxValue - v ? long.MaxValue : total + v;
        return total;
    }
}
