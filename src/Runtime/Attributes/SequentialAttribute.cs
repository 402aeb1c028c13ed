using System;

namespace Kiln;

/// <summary>
/// Marks a <c>partial class</c> as a sequential model. The arguments are the shape of one
/// sample, channels last (Keras' <c>input_shape</c>) unless <see cref="DataFormat"/> says
/// otherwise. The layers are the attributes that follow, in order, on the same declaration.
/// </summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = false, Inherited = false)]
public sealed class SequentialAttribute : Attribute
{
    public SequentialAttribute(params int[] inputShape) => InputShape = inputShape;

    public int[] InputShape { get; }

    /// <summary>
    /// Keras' <c>data_format</c>: <see cref="Kiln.DataFormat.ChannelsFirst"/> declares the sample as
    /// (channels, height, width), as PyTorch and CIFAR files store images; the generated code
    /// transposes each sample once into channels last as it enters the model. The alternative is to
    /// convert the data once with <see cref="ChannelLayout.ToChannelsLast"/>.
    /// </summary>
    public DataFormat DataFormat { get; set; }
}

/// <summary>
/// The loss the model trains with; the last attribute of a model. A model with several outputs has
/// one per output: <c>[Loss(Loss.MeanSquaredError, Output = "size", Weight = 0.5)]</c>, Keras'
/// <c>compile(loss={"size": "mse"}, loss_weights={"size": 0.5})</c>.
/// </summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = true, Inherited = false)]
public sealed class LossAttribute : Attribute
{
    public LossAttribute(Loss loss) => Loss = loss;

    public Loss Loss { get; }

    /// <summary>As Keras' <c>from_logits</c>: the model's output is unnormalized scores.</summary>
    public bool FromLogits { get; set; }

    /// <summary>The layer whose output this loss trains, by name; every loss of a model with several names one. Default: the last layer.</summary>
    public string? Output { get; set; }

    /// <summary>Keras' <c>loss_weights</c>: this output's loss counts this many times in the reported and trained loss.</summary>
    public double Weight { get; set; } = 1;

    /// <summary>
    /// Keras' <c>label_smoothing</c>, in [0, 1], for the cross-entropies: the targets become
    /// y·(1 − ls) + ls/classes (binary: y·(1 − ls) + ls/2; sparse labels as their one-hot rows)
    /// in the trained and the reported loss. Default 0, no smoothing.
    /// </summary>
    public double LabelSmoothing { get; set; }
}

/// <summary>
/// Keras' <c>Input(shape=..., name=...)</c>: one input of a model with several (an image and tabular
/// features), in place of <see cref="SequentialAttribute"/>. The layers after it read it, until a
/// layer names another with <c>From</c>. A model's inputs are packed side by side in each sample's
/// row, in the order the attributes are written (<see cref="ModelDescription.Inputs"/>;
/// <c>Dataset.FromInputs</c> builds such rows from one array per input).
/// </summary>
public sealed class InputAttribute : LayerAttribute
{
    public InputAttribute(params int[] shape) => Shape = shape;

    /// <summary>The shape of one sample of this input, channels last unless <see cref="DataFormat"/> says otherwise.</summary>
    public int[] Shape { get; }

    /// <summary>Keras' <c>data_format</c> for this input, as on <see cref="SequentialAttribute.DataFormat"/>.</summary>
    public DataFormat DataFormat { get; set; }
}
