using System;
using System.Collections.Generic;

namespace Kiln;

/// <summary>One named tensor of a model (Keras names such as <c>dense_1/kernel</c>).</summary>
/// <param name="Name">Keras-style name, <c>layer/weight</c>.</param>
/// <param name="Shape">Shape as Keras reports it (a Dense kernel is (inputs, units)).</param>
/// <param name="Offset">Offset in <see cref="Model.Parameters"/> when trainable, else in <see cref="Model.State"/>.</param>
/// <param name="Trainable">Trainable weights get gradients; others (BN moving statistics) are state.</param>
public sealed record TensorInfo(string Name, int[] Shape, int Offset, bool Trainable)
{
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

/// <summary>One input of a model: its name and the shape of one sample. A model with several packs them side by side in each sample's row, in this order.</summary>
public sealed record InputInfo(string Name, int[] Shape)
{
    public int Size => ModelDescription.Product(Shape);
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
        IReadOnlyList<InputInfo>? inputs = null)
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
        Inputs = inputs ?? [new InputInfo("input", inputShape)];
        int packed = 0;
        foreach (var input in Inputs) packed += input.Size;
        if (packed != InputSize)
            throw new ArgumentException($"{name}: the inputs hold {packed} floats per sample, but the input shape ({string.Join(", ", inputShape)}) holds {InputSize}.", nameof(inputs));
        OutputSize = Product(outputShape);
    }

    public string Name { get; }
    /// <summary>The shape of one sample's input row; for a model with several inputs, their sizes added up (see <see cref="Inputs"/>).</summary>
    public int[] InputShape { get; }

    /// <summary>The model's inputs in the order their values sit in each sample's row; one, named <c>input</c>, for a <c>[Sequential]</c> model.</summary>
    public IReadOnlyList<InputInfo> Inputs { get; }
    public int[] OutputShape { get; }
    public int InputSize { get; }
    public int OutputSize { get; }
    /// <summary>The training loss; null for a model trained only through another (a GAN generator).</summary>
    public Loss? Loss { get; }
    public bool FromLogits { get; }
    public int ParameterCount { get; }
    public int StateCount { get; }
    public int ArenaFloatsPerSample { get; }
    public int ArenaFixedFloats { get; }
    public IReadOnlyList<TensorInfo> Tensors { get; }
    public string Summary { get; }

    /// <summary>Floats per sample the targets have: one class index for sparse labels, else the output size.</summary>
    public int TargetSize => Loss == Kiln.Loss.SparseCategoricalCrossentropy ? 1 : OutputSize;

    public long ArenaFloats(int batchSize) => (long)ArenaFloatsPerSample * batchSize + ArenaFixedFloats;

    internal static int Product(int[] shape)
    {
        int n = 1;
        foreach (int d in shape) n = checked(n * d);
        return n;
    }
}
