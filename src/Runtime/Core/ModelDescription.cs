using System;
using System.Collections.Generic;

namespace Kiln;

/// <summary>One named tensor of a model (Keras names such as <c>dense_1/kernel</c>).</summary>
/// <param name="Name">Keras-style name, <c>layer/weight</c>.</param>
/// <param name="Shape">Shape as Keras reports it (a Dense kernel is (inputs, units)).</param>
/// <param name="Offset">Offset in <see cref="Model.Parameters"/> when trainable, else in <see cref="Model.State"/>.</param>
/// <param name="Trainable">Trainable weights get gradients; others (BN moving statistics) are state.</param>
/// <param name="L1">Keras' <c>L1L2(l1=)</c> on this weight (<c>KernelL1</c>/<c>BiasL1</c> on its layer): l1·Σ|w| joins the loss.</param>
/// <param name="L2">Keras' <c>L1L2(l2=)</c> on this weight (<c>KernelL2</c>/<c>BiasL2</c>): l2·Σw² joins the loss.</param>
public sealed record TensorInfo(string Name, int[] Shape, int Offset, bool Trainable, double L1 = 0, double L2 = 0)
{
    /// <summary>True when a regularizer penalizes this weight (Keras: it contributes to <c>model.losses</c> while trainable).</summary>
    public bool Regularized => L1 != 0 || L2 != 0;

    public int Length
    {
        get
        {
            int n = 1;
            foreach (int d in Shape) n *= d;
            return n;
        }
    }
}

/// <summary>
/// One input of a model: its name and the shape of one sample as declared. A model with several packs
/// them side by side in each sample's row, in this order. <paramref name="ChannelsFirst"/>: declared
/// <c>DataFormat.ChannelsFirst</c>, so <paramref name="Shape"/> is (channels, height, width) and the
/// generated code transposes each sample once into channels last.
/// </summary>
public sealed record InputInfo(string Name, int[] Shape, bool ChannelsFirst = false)
{
    public int Size => ModelDescription.Product(Shape);
}

/// <summary>
/// One output of a model: its name, the shape of one sample, its loss (Keras' <c>compile(loss={...},
/// loss_weights={...})</c>). A model with several packs them side by side in each sample's output
/// row, and their targets side by side in each target row, in this order.
/// </summary>
public sealed record OutputInfo(string Name, int[] Shape, Loss? Loss, bool FromLogits = false, double Weight = 1)
{
    public int Size => ModelDescription.Product(Shape);

    /// <summary>Target values per sample: one class index for sparse labels, else one per output value.</summary>
    public int TargetSize => Loss == Kiln.Loss.SparseCategoricalCrossentropy ? 1 : Size;
}

/// <summary>
/// What the generator knows about a model at compile time, handed to the runtime once per
/// model type: shapes, loss, the parameter layout and the arena size as a function of batch.
/// </summary>
public sealed class ModelDescription
{
    public ModelDescription(
        string name,
        int[] inputShape,
        int[] outputShape,
        Loss? loss,
        bool fromLogits,
        int parameterCount,
        int stateCount,
        int arenaFloatsPerSample,
        int arenaFixedFloats,
        IReadOnlyList<TensorInfo> tensors,
        string summary,
        IReadOnlyList<InputInfo>? inputs = null,
        IReadOnlyList<OutputInfo>? outputs = null,
        IReadOnlyList<LayerInfo>? layers = null)
    {
        Name = name;
        InputShape = inputShape;
        OutputShape = outputShape;
        Loss = loss;
        FromLogits = fromLogits;
        ParameterCount = parameterCount;
        StateCount = stateCount;
        ArenaFloatsPerSample = arenaFloatsPerSample;
        ArenaFixedFloats = arenaFixedFloats;
        Tensors = tensors;
        Summary = summary;
        InputSize = Product(inputShape);
        OutputSize = Product(outputShape);
        Inputs = inputs ?? [new InputInfo("input", inputShape)];
        Outputs = outputs ?? [new OutputInfo("output", outputShape, loss, fromLogits)];
        Layers = layers ?? [];
        int outputsSize = 0, targets = 0;
        foreach (var output in Outputs)
        {
            outputsSize += output.Size;
            targets += output.TargetSize;
        }
        if (outputsSize != OutputSize)
            throw new ArgumentException($"{name}: the outputs hold {outputsSize} floats per sample, but the output shape ({string.Join(", ", outputShape)}) holds {OutputSize}.", nameof(outputs));
        TargetSize = targets;
        int packed = 0;
        foreach (var input in Inputs) packed += input.Size;
        if (packed != InputSize)
            throw new ArgumentException($"{name}: the inputs hold {packed} floats per sample, but the input shape ({string.Join(", ", inputShape)}) holds {InputSize}.", nameof(inputs));
    }

    public string Name { get; }
    /// <summary>The shape of one sample's input row; for a model with several inputs, their sizes added up (see <see cref="Inputs"/>).</summary>
    public int[] InputShape { get; }

    /// <summary>The model's inputs in the order their values sit in each sample's row; one, named <c>input</c>, for a <c>[Sequential]</c> model.</summary>
    public IReadOnlyList<InputInfo> Inputs { get; }
    public int[] OutputShape { get; }
    public int InputSize { get; }
    public int OutputSize { get; }
    /// <summary>The training loss of a model with one output; null for a model trained only through another (a GAN generator), and for one with several outputs (see <see cref="Outputs"/>).</summary>
    public Loss? Loss { get; }

    /// <summary>The model's layers in the summary's order, as Keras' <c>model.layers</c> (empty for a description written by hand).</summary>
    public IReadOnlyList<LayerInfo> Layers { get; }

    /// <summary>The model's outputs, in the order their values sit in each sample's output row; one for a model with one output.</summary>
    public IReadOnlyList<OutputInfo> Outputs { get; }

    /// <summary>Whether some output has a loss, so the model trains on its own.</summary>
    public bool HasLoss
    {
        get
        {
            foreach (var o in Outputs)
                if (o.Loss is not null) return true;
            return false;
        }
    }
    public bool FromLogits { get; }
    public int ParameterCount { get; }
    public int StateCount { get; }
    public int ArenaFloatsPerSample { get; }
    public int ArenaFixedFloats { get; }
    public IReadOnlyList<TensorInfo> Tensors { get; }
    public string Summary { get; }

    /// <summary>Floats per sample the targets have: one class index for sparse labels, else the output size; for several outputs, theirs side by side.</summary>
    public int TargetSize { get; }

    /// <summary>A description of one output alone, for checking and resolving a metric of that output.</summary>
    internal ModelDescription ForOutput(OutputInfo output) =>
        new($"{Name} output '{output.Name}'", InputShape, output.Shape, output.Loss, output.FromLogits, 0, 0, 0, 0, [], Summary, Inputs);

    public long ArenaFloats(int batchSize) => (long)ArenaFloatsPerSample * batchSize + ArenaFixedFloats;

    internal static int Product(int[] shape)
    {
        int n = 1;
        foreach (int d in shape) n = checked(n * d);
        return n;
    }
}
