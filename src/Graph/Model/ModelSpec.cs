using System;
using System.Globalization;

namespace Kiln.Graph;

/// <summary>The layer attributes Kiln understands, in the order of their attribute classes.</summary>
public enum LayerKind
{
    Flatten,
    Dense,
    Relu,
    LeakyRelu,
    Sigmoid,
    Tanh,
    Softmax,
    Dropout,
    Reshape,
    Rescaling,
    Normalization,
    Conv2D,
    Conv2DTranspose,
    MaxPooling2D,
    AveragePooling2D,
    GlobalAveragePooling2D,
    GlobalMaxPooling2D,
    BatchNormalization,
    UpSampling2D,
    ZeroPadding2D,
    Add,
    Subtract,
    Multiply,
    Average,
    Maximum,
    Concatenate,
    Input,
    RandomFlip,
    RandomTranslation,
    RandomRotation,
    RandomZoom,
    RandomCrop,
    RandomContrast,
}

/// <summary>Mirrors <c>Kiln.Padding</c>.</summary>
public enum PaddingKind
{
    Valid,
    Same,
}

/// <summary>Mirrors <c>Kiln.Activation</c> (same names and values; a test keeps them in step).</summary>
public enum ActivationKind
{
    Linear,
    Relu,
    Sigmoid,
    Tanh,
    Softmax,
    LeakyRelu,
}

/// <summary>Mirrors <c>Kiln.Loss</c> (same names and values).</summary>
public enum LossKind
{
    SparseCategoricalCrossentropy,
    CategoricalCrossentropy,
    BinaryCrossentropy,
    MeanSquaredError,
}

/// <summary>
/// One attribute argument, positional or named. Numbers (ints, doubles, bools, enum
/// values) share <see cref="Number"/>; <c>params int[]</c> arguments use <see cref="Ints"/>.
/// </summary>
public sealed record Argument(string Name, double Number, EquatableArray<int> Ints, SourceSpan? Location)
{
    /// <summary>For <c>params</c> arguments written element by element: where each element is.</summary>
    public EquatableArray<SourceSpan> ElementLocations { get; init; } = EquatableArray<SourceSpan>.Empty;

    /// <summary>Where element <paramref name="index"/> of a params argument is, else the whole argument.</summary>
    public SourceSpan? LocationOfElement(int index) => index < ElementLocations.Count ? ElementLocations[index] : Location;

    /// <summary>For a <c>string</c> argument (<c>From</c>, Subtract's inputs).</summary>
    public string? Text { get; init; }

    /// <summary>For a <c>string[]</c> argument (a merge's inputs).</summary>
    public EquatableArray<string> Texts { get; init; } = EquatableArray<string>.Empty;

    /// <summary>
    /// Written by position rather than as <c>name: value</c>, so a warning can tell a Keras reading
    /// the user may not have meant (<c>[Conv2D(32, 3, 3)]</c>) from one they spelled out.
    /// </summary>
    public bool Positional { get; init; }

    /// <summary>For <c>double[]</c> arguments (Normalization's Mean and Variance).</summary>
    public EquatableArray<double> Numbers { get; init; } = EquatableArray<double>.Empty;

    public static Argument Of(string name, double number, SourceSpan? location = null) =>
        new(name, number, EquatableArray<int>.Empty, location);

    public static Argument OfInts(string name, int[] values, SourceSpan? location = null) =>
        new(name, 0, new EquatableArray<int>(values), location);

    public override string ToString() =>
        Ints.Count > 0 ? $"{Name}=({string.Join(", ", Ints)})" : $"{Name}={Number.ToString(CultureInfo.InvariantCulture)}";
}

/// <summary>The <c>[Loss]</c> attribute: the loss, and for a model with several outputs, which layer it is the loss of and its weight.</summary>
public sealed record LossSpec(LossKind Kind, bool FromLogits, SourceSpan? Location)
{
    /// <summary><c>Output = "name"</c>: the layer whose output this loss compares with its targets; null for the last layer.</summary>
    public string? Output { get; init; }

    public SourceSpan? OutputLocation { get; init; }

    /// <summary>Keras' <c>loss_weights</c>: the reported and trained loss is the weighted sum over the outputs.</summary>
    public double Weight { get; init; } = 1;

    public SourceSpan? WeightLocation { get; init; }

    /// <summary>Keras' <c>label_smoothing</c> for the cross-entropies, checked to be in [0, 1] (KILN0205); 0 for none.</summary>
    public double LabelSmoothing { get; init; }

    public SourceSpan? LabelSmoothingLocation { get; init; }
}

/// <summary>A model declaration as read from source: everything the Graph needs, nothing from Roslyn.</summary>
public sealed record ModelSpec(
    string Namespace,
    string ClassName,
    string Accessibility,
    string SourceFileName,
    EquatableArray<Argument> InputShape,
    SourceSpan? SequentialLocation,
    EquatableArray<LayerSpec> Layers,
    LossSpec? Loss)
{
    /// <summary>Every [Loss] in the order written; one per output of a model with several.</summary>
    public EquatableArray<LossSpec> Losses { get; init; } = EquatableArray<LossSpec>.Empty;

    /// <summary><see cref="Losses"/>, or the one <see cref="Loss"/> when the spec was made with just that.</summary>
    public EquatableArray<LossSpec> AllLosses => Losses.Count > 0 ? Losses : Loss is null ? EquatableArray<LossSpec>.Empty : EquatableArray.Of(Loss);

    /// <summary>The parameter count above which KILN0007 warns (MSBuild <c>KilnMaxParameters</c>); 0 or less turns the check off.</summary>
    public long MaxParameters { get; init; } = DefaultMaxParameters;

    /// <summary>
    /// <c>[Sequential(3, 32, 32, DataFormat = DataFormat.ChannelsFirst)]</c>: the input shape is
    /// (channels, height, width); the layers read it transposed to channels last.
    /// </summary>
    public bool ChannelsFirst { get; init; }

    /// <summary>Where <c>DataFormat = ...</c> is written on [Sequential].</summary>
    public SourceSpan? DataFormatLocation { get; init; }

    /// <summary>The arena bytes at <see cref="Capacity.EstimateBatchSize"/> above which KILN0013 warns (MSBuild <c>KilnMaxArenaBytes</c>); 0 or less turns the check off.</summary>
    public long MaxArenaBytes { get; init; } = DefaultMaxArenaBytes;

    /// <summary>2 GB: about what a training batch of a mid-size CNN takes; the VGG-like seed at 256 x 256 needs 1.99 GB at batch 32.</summary>
    public const long DefaultMaxArenaBytes = 2_000_000_000;

    /// <summary>Where the class name is in the declaration that carries <c>[Sequential]</c>, for diagnostics about the whole model.</summary>
    public SourceSpan? ClassLocation { get; init; }

    /// <summary>100 million parameters: 400 MB of float weights, and as much again for each gradient and optimizer slot.</summary>
    public const long DefaultMaxParameters = 100_000_000;

    public static ModelSpec Create(string className, int[] inputShape, LossSpec? loss, params LayerSpec[] layers) =>
        new("Models", className, "public", className + ".cs",
            new EquatableArray<Argument>(Array.ConvertAll(inputShape, d => Argument.Of("inputShape", d))), null,
            new EquatableArray<LayerSpec>(layers), loss);
}
