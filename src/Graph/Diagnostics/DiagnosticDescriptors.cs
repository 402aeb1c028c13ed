using System.Collections.Generic;

namespace Kiln.Graph;

public enum Severity
{
    Info,
    Warning,
    Error,
}

/// <summary>A kind of model mistake: stable ID, title and a message format ({0}, {1} … filled per case).</summary>
public sealed record DiagnosticDescriptor(string Id, string Title, string MessageFormat, Severity Severity);

/// <summary>
/// Every diagnostic Kiln reports. IDs are stable: 00xx the class declaration, 01xx layer
/// arguments and shapes, 02xx the loss. Each message says what to do.
/// </summary>
public static class Descriptors
{
    public static readonly DiagnosticDescriptor NotPartial = new(
        "KILN0001", "Model class must be partial",
        "'{0}' carries [Sequential] but is not partial; declare it 'partial class {0}' so Kiln can generate its forward and backward code",
        Severity.Error);

    public static readonly DiagnosticDescriptor NoLayers = new(
        "KILN0002", "Model has no layers",
        "'{0}' has no layer attributes; add layers after [Sequential], e.g. [Flatten] [Dense(10, Activation.Softmax)]",
        Severity.Error);

    public static readonly DiagnosticDescriptor NoInputShape = new(
        "KILN0003", "Model has no input shape",
        "[Sequential] on '{0}' needs the shape of one sample, e.g. [Sequential(28, 28)]",
        Severity.Error);

    public static readonly DiagnosticDescriptor LayersSpread = new(
        "KILN0004", "Layers spread over several partial declarations",
        "'{0}' has layer attributes on more than one partial declaration, so their order is undefined; put all of them on the declaration that carries [Sequential]",
        Severity.Error);

    public static readonly DiagnosticDescriptor UnsupportedDeclaration = new(
        "KILN0005", "Model class cannot be generated",
        "'{0}' {1}; Kiln generates a top-level, non-generic partial class deriving from Kiln.Model",
        Severity.Error);

    public static readonly DiagnosticDescriptor NonPositiveInputDimension = new(
        "KILN0006", "Input dimension must be positive",
        "input dimension {0} of '{1}' is {2}; every dimension of a sample must be at least 1",
        Severity.Error);

    public static readonly DiagnosticDescriptor TooManyParameters = new(
        "KILN0007", "Model has more parameters than the configured limit",
        "'{0}' has {1:N0} parameters, more than the limit of {2:N0}; the largest layer is {3} with {4:N0}: make it smaller (a pooling layer before Flatten shrinks the Dense after it), or raise <KilnMaxParameters> in the project file",
        Severity.Warning);

    public static readonly DiagnosticDescriptor GeneratorFailure = new(
        "KILN0008", "Kiln failed to generate the model",
        "Kiln failed to generate '{0}': {1}: {2}; this is a bug in Kiln, not in the model: please report it with the model's attributes (no code was generated for '{0}')",
        Severity.Error);

    public static readonly DiagnosticDescriptor DuplicateLayerName = new(
        "KILN0009", "Duplicate layer name",
        "Layers {0} and {1} are both named '{2}'; layer names must be unique within a model, as in Keras: {3}",
        Severity.Error);

    public static readonly DiagnosticDescriptor LayerNameNotUsable = new(
        "KILN0010", "Layer name not usable",
        "'{0}' cannot be a layer name: it {1}; a layer name is 1 to {2} ASCII letters, digits, '_', '.' or '-', e.g. 'block1.conv_2'",
        Severity.Error);

    public static readonly DiagnosticDescriptor UnknownLayerAttribute = new(
        "KILN0011", "Attribute is not a Kiln layer",
        "[{0}] derives from Kiln's LayerAttribute but is not a Kiln layer, and Kiln has no extension point for user layers: it would be left out of '{1}'{2}",
        Severity.Error);

    public static readonly DiagnosticDescriptor BufferTooLarge = new(
        "KILN0012", "Model too large to allocate",
        "'{0}' needs {1:N0} floats of {2} in one buffer, more than the {3:N0} one .NET array can hold; {4} is the largest part with {5:N0}: make it smaller (a pooling layer or fewer units/filters)",
        Severity.Error);

    public static readonly DiagnosticDescriptor LargeArena = new(
        "KILN0013", "Activation memory above the configured limit",
        "'{0}' needs about {1} of activations and scratch at batch size {2} ({3} per sample{4}), more than the limit of {5}; the largest activation is {6} with {7:N0} floats per sample: shrink it (strides or pooling earlier), construct the model with a smaller batchSize, or raise <KilnMaxArenaBytes> in the project file",
        Severity.Warning);

    public static readonly DiagnosticDescriptor UndefinedEnumValue = new(
        "KILN0014", "Enum argument has no named value",
        "{0} is {1}, which is no {2} Kiln knows; use one of {3}",
        Severity.Error);

    public static readonly DiagnosticDescriptor OnlyViews = new(
        "KILN0015", "Model only reshapes its input",
        "'{0}' ends with {1} and has only Flatten or Reshape layers, so it computes nothing and has nothing to train; add a layer after it, e.g. [Dense(10, Activation.Softmax)]",
        Severity.Error);

    public static readonly DiagnosticDescriptor NotAFloat = new(
        "KILN0016", "Number is not a finite float",
        "{0} is {1}, which is not a finite 32-bit float (Kiln computes in float); use a finite value within ±3.4e38",
        Severity.Error);

    public static readonly DiagnosticDescriptor DenseOnRankAboveOne = new(
        "KILN0101", "Dense needs a flat input",
        "{0} needs one value per sample, but its input is {1}; {2}",
        Severity.Error);

    public static readonly DiagnosticDescriptor NonPositiveUnits = new(
        "KILN0102", "Units must be positive",
        "{0} has {1} units; give it at least 1",
        Severity.Error);

    public static readonly DiagnosticDescriptor DropoutRate = new(
        "KILN0103", "Dropout rate out of range",
        "{0} has rate {1}; the fraction of units dropped must be in [0, 1)",
        Severity.Error);

    public static readonly DiagnosticDescriptor ReshapeNonPositive = new(
        "KILN0104", "Reshape dimension must be positive",
        "{0} has dimension {1} at position {2}; every target dimension must be at least 1 (-1 is not inferred: write the size)",
        Severity.Error);

    public static readonly DiagnosticDescriptor ReshapeCount = new(
        "KILN0105", "Reshape changes the element count",
        "{0} reshapes {1} ({2} values) to {3} ({4} values); the target must hold the same number of values",
        Severity.Error);

    public static readonly DiagnosticDescriptor NegativeAlpha = new(
        "KILN0106", "LeakyRelu slope must not be negative",
        "{0} has alpha {1}; use a slope of 0 or more (Keras' default is 0.3)",
        Severity.Error);

    public static readonly DiagnosticDescriptor WindowTooLarge = new(
        "KILN0107", "Window larger than its input",
        "{0} has a {1}x{2} window, but its input is {3}{4}; use a smaller window, Padding = Padding.Same, or fewer downsampling layers before it",
        Severity.Error);

    public static readonly DiagnosticDescriptor ArgumentTooSmall = new(
        "KILN0108", "Argument out of range",
        "{0} has {1} = {2}; it must be at least {3}",
        Severity.Error);

    public static readonly DiagnosticDescriptor NeedsImage = new(
        "KILN0109", "Layer needs an image input",
        "{0} works on images of shape (height, width, channels), but its input is {1}; {2}",
        Severity.Error);

    public static readonly DiagnosticDescriptor RedundantBias = new(
        "KILN0110", "Bias before BatchNormalization is redundant",
        "{0} adds a bias that the BatchNormalization right after it subtracts again; set UseBias = false on {0}",
        Severity.Warning);

    public static readonly DiagnosticDescriptor BatchNormArgument = new(
        "KILN0111", "BatchNormalization argument out of range",
        "{0} has {1} = {2}; {3}",
        Severity.Error);

    public static readonly DiagnosticDescriptor PoolingDropsPixels = new(
        "KILN0112", "Pooling leaves rows or columns out",
        "{0} on {1} with a {2}x{3} window and strides {4}x{5} never reads the last {6} row(s) and {7} column(s); use Padding = Padding.Same or an input size the pooling divides evenly",
        Severity.Warning);

    public static readonly DiagnosticDescriptor DropoutAtTheEnd = new(
        "KILN0113", "Dropout after the last layer with weights",
        "{0} {1}: it does nothing at inference, and in training it only zeroes random outputs before the loss compares them with the targets; remove it, or move it before the last layer with weights (e.g. between two Dense layers)",
        Severity.Warning);

    public static readonly DiagnosticDescriptor NormalizationAxis = new(
        "KILN0120", "Normalization axes are not a trailing run",
        "{0} keeps axes ({1}) of (batch, {2}); keep a trailing run of sample axes, e.g. Axis = new[] {{ -1 }} for one mean and variance per channel",
        Severity.Error);

    public static readonly DiagnosticDescriptor NormalizationStatistics = new(
        "KILN0121", "Normalization statistics of the wrong length",
        "{0} has {1} {2} value(s), but its axes keep {3} statistics; give 1 value to broadcast or {3}",
        Severity.Error);

    public static readonly DiagnosticDescriptor NegativeVariance = new(
        "KILN0122", "Negative Normalization variance",
        "{0} has Variance {1}; a variance is never negative, and the layer divides by its square root (NaN for a negative one); give 0 or more",
        Severity.Error);

    public static readonly DiagnosticDescriptor UnknownLayer = new(
        "KILN0130", "Layer reads a name that is not a layer above it",
        "{0} reads '{1}', but no layer above it has that name; {2}",
        Severity.Error);

    public static readonly DiagnosticDescriptor MergeShapes = new(
        "KILN0131", "Merge inputs do not fit together",
        "{0} cannot merge '{1}' {2} with '{3}' {4}; {5}",
        Severity.Error);

    public static readonly DiagnosticDescriptor MergeArity = new(
        "KILN0132", "Merge has the wrong number of inputs",
        "{0} names {1} input(s) but needs {2}; list the names of the layers it merges, e.g. [Add(\"main\", \"shortcut\")]",
        Severity.Error);

    public static readonly DiagnosticDescriptor UnusedLayer = new(
        "KILN0133", "Layer output is never used",
        "{0} is not the model's output and no layer reads it, so it computes nothing the model returns; {1}",
        Severity.Warning);

    public static readonly DiagnosticDescriptor ConcatenateAxis = new(
        "KILN0134", "Concatenate axis out of range",
        "{0} joins along axis {1}, but its inputs are {2}; as in Keras the batch is axis 0, so use an axis from 1 to the input rank, or -1 for the last",
        Severity.Error);

    public static readonly DiagnosticDescriptor InputWithSequential = new(
        "KILN0136", "[Input] on a [Sequential] model",
        "'{0}' has [Sequential] and [Input] attributes; [Sequential(...)] declares the one input of a model, [Input(...)] each input of a model with several: use one or the other",
        Severity.Error);

    public static readonly DiagnosticDescriptor LayerBeforeInput = new(
        "KILN0137", "Layer before the first [Input]",
        "{0} is written before any [Input], so it has nothing to read; a model declared with [Input] attributes starts with one, e.g. [Input(28, 28, 1, Name = \"image\")]",
        Severity.Error);

    public static readonly DiagnosticDescriptor InputWithoutShape = new(
        "KILN0138", "[Input] has no shape",
        "{0} needs the shape of one sample, e.g. [Input(28, 28, 1, Name = \"image\")]",
        Severity.Error);

    public static readonly DiagnosticDescriptor LossWithoutOutput = new(
        "KILN0139", "Loss of a model with several outputs names none",
        "{0} is one of {1} losses, so it must say which layer's output it trains: add Output = \"name\" (and Weight = w for Keras' loss_weights)",
        Severity.Error);

    public static readonly DiagnosticDescriptor OutputTwice = new(
        "KILN0140", "Two losses on one output",
        "{0} names '{1}', which another [Loss] already trains; give each output one loss",
        Severity.Error);

    public static readonly DiagnosticDescriptor LossWeight = new(
        "KILN0141", "Loss weight out of range",
        "{0} has Weight {1}; a loss weight scales that output's loss in the sum and must be finite and at least 0",
        Severity.Error);

    public static readonly DiagnosticDescriptor UseOfNonBlock = new(
        "KILN0142", "[Use] of a class that is not a [Block]",
        "[Use<{0}>] inlines a block, but '{0}' has no [Block] attribute; mark the class that holds the layers with [Block]",
        Severity.Error);

    public static readonly DiagnosticDescriptor NotALayerInBlock = new(
        "KILN0143", "A block holds layers only",
        "[Block] '{0}' holds [{1}], but a block holds layer attributes only (no [Use], [Input], [Sequential] or [Loss]); put it on the model",
        Severity.Error);

    public static readonly DiagnosticDescriptor BlockParameterMissing = new(
        "KILN0144", "Block parameter not given",
        "[Block] '{0}' uses Block.{1} (at {2}), but this [Use] gives no {1}; add {1} = ... to it",
        Severity.Error);

    public static readonly DiagnosticDescriptor BlockParameterOutsideBlock = new(
        "KILN0145", "Block parameter outside a block",
        "Block.* values stand for a [Use]'s parameters and mean something only in a [Block] class; write the value itself here (argument '{0}')",
        Severity.Error);

    public static readonly DiagnosticDescriptor BlockInputMissing = new(
        "KILN0146", "Block.In with nothing before the [Use]",
        "[Block] '{0}' reads Block.In, but nothing is written before this [Use]; put a layer before it or give the [Use] a From",
        Severity.Error);

    public static readonly DiagnosticDescriptor FromOnMerge = new(
        "KILN0135", "From on a merge",
        "{0} reads the layers it names (or, for an [Input], nothing), so From has no meaning on it; list every input in a merge instead",
        Severity.Error);

    public static readonly DiagnosticDescriptor LossNeedsFlatOutput = new(
        "KILN0201", "Loss needs a flat output",
        "{0} compares one vector per sample, but the model's output is {1}; end the model with [Flatten] and a [Dense] layer",
        Severity.Error);

    public static readonly DiagnosticDescriptor LossOutputMismatch = new(
        "KILN0202", "Loss does not fit the output",
        "{0} {1}",
        Severity.Error);

    public static readonly DiagnosticDescriptor ProbabilitiesWithFromLogits = new(
        "KILN0203", "FromLogits on an output that is already a probability",
        "{0} is set FromLogits = true, but the output layer {1} applies {2}; remove the activation from {1} or set FromLogits = false",
        Severity.Error);

    public static readonly DiagnosticDescriptor LogitsWithoutFromLogits = new(
        "KILN0204", "Cross-entropy on an output that is not a probability",
        "{0} expects probabilities, but the output layer {1} has no {2}; set FromLogits = true or {3}",
        Severity.Warning);

    public static readonly DiagnosticDescriptor KerasPositionalStrides = new(
        "KILN0150", "Positional strides that an older reading took as the window",
        "{0}: {1} means what it means in Keras, {2}: a {3}x{3} window with strides {4}, {5}; if you meant {6}, write {7}; to keep strides {4}, write them by name: strides: {4}",
        Severity.Warning);

    public static readonly DiagnosticDescriptor ArgumentTwice = new(
        "KILN0151", "Argument given twice",
        "[{0}] gets {1} twice, {2} and {3}; write it once",
        Severity.Error);

    public static readonly DiagnosticDescriptor AugmentationFactor = new(
        "KILN0152", "Augmentation factor out of range",
        "{0} has {1} {2}, outside [{3}, {4}] ({5}); give a value in that range, or a (lower, upper) pair of such values",
        Severity.Error);

    public static readonly DiagnosticDescriptor AugmentationMode = new(
        "KILN0153", "Unknown flip mode",
        "{0} has mode \"{1}\", which Keras does not know; use \"horizontal\", \"vertical\" or \"horizontal_and_vertical\" (or FlipMode.Horizontal, FlipMode.Vertical, FlipMode.HorizontalAndVertical)",
        Severity.Error);

    public static readonly DiagnosticDescriptor CropLargerThanInput = new(
        "KILN0154", "Crop larger than the input",
        "{0} crops {1}×{2} windows from {3}×{4} images; the window must fit in the image: make it at most {3}×{4}, or pad the images first ([ZeroPadding2D])",
        Severity.Error);

    public static readonly DiagnosticDescriptor LooksChannelsFirst = new(
        "KILN0155", "Input shape looks channels first",
        "{0} reads ({1}) channels last, as {2}×{3} images with {4} channels, but it looks like channels-first images, {2} channel(s) of {3}×{4}; if the data is (channels, height, width), add DataFormat = DataFormat.ChannelsFirst, or convert the data with ChannelLayout.ToChannelsLast and declare ({3}, {4}, {2})",
        Severity.Warning);

    public static readonly DiagnosticDescriptor ChannelsFirstNeedsImage = new(
        "KILN0156", "DataFormat.ChannelsFirst needs an image shape",
        "{0} declares DataFormat.ChannelsFirst on the shape ({1}), but channels first means (channels, height, width), three dimensions; declare the image's three dimensions or drop DataFormat",
        Severity.Error);

    public static readonly DiagnosticDescriptor AugmentationNeedsImage = new(
        "KILN0157", "Image augmentation on a tensor that is not an image",
        "{0} transforms images, (height, width, channels), but its input is {1}; {2}",
        Severity.Error);

    public static readonly DiagnosticDescriptor AugmentationAfterWeights = new(
        "KILN0158", "Image augmentation after a layer with weights",
        "{0} comes after {1}, which has trainable weights; augmentation transforms the model's input images, and Kiln does not take gradients back through a random transform: move it before {1}, right after the input (or after [Rescaling])",
        Severity.Error);

    public static readonly DiagnosticDescriptor ContrastValueRange = new(
        "KILN0159", "Empty contrast value range",
        "{0} clips to the value range [{1}, {2}], which is empty; ValueRangeLow must be below ValueRangeHigh ([0, 255] for raw pixels, [0, 1] after [Rescaling(1 / 255.0)])",
        Severity.Error);

    public static readonly DiagnosticDescriptor RegularizerFactor = new(
        "KILN0160", "Regularizer factor out of range",
        "{0} has {1} = {2}; a regularizer factor adds factor·Σ|w| (L1) or factor·Σw² (L2) to the loss and must be finite and ≥ 0 (1e-4 to 1e-2 is usual); 0 turns it off",
        Severity.Error);

    public static readonly DiagnosticDescriptor BiasRegularizerWithoutBias = new(
        "KILN0161", "Bias regularizer on a layer without a bias",
        "{0} has {1} but UseBias = false, so there is no bias to regularize and {1} does nothing; remove {1}, or drop UseBias = false",
        Severity.Warning);

    public static readonly DiagnosticDescriptor RegularizerOnFrozenLayer = new(
        "KILN0162", "Regularizer on a frozen layer",
        "{0} has {1} but Trainable = false; as in Keras, only trainable weights are regularized, so {1} adds nothing to the loss; remove it, or unfreeze the layer",
        Severity.Warning);

    public static readonly DiagnosticDescriptor SynchronizedFrozenBatchNorm = new(
        "KILN0163", "Synchronized BatchNormalization that is frozen",
        "{0} has Synchronized = true but Trainable = false; a frozen BatchNormalization normalizes by its moving statistics in training too (Keras), so it has no batch statistics to synchronize across ranks; remove Synchronized, or unfreeze the layer",
        Severity.Warning);

    public static readonly DiagnosticDescriptor NormalizationRegularizerWithoutWeight = new(
        "KILN0170", "Gamma or beta regularizer without that weight",
        "{0} has {1} but {3} = false, so the layer has no {2} to regularize and {1} does nothing; remove {1}, or drop {3} = false",
        Severity.Warning);

    public static readonly DiagnosticDescriptor LabelSmoothingRange = new(
        "KILN0205", "Label smoothing out of range",
        "{0} has LabelSmoothing {1}; label smoothing moves that fraction of each target towards the uniform distribution and must be in [0, 1] (0.1 is usual)",
        Severity.Error);

    public static readonly DiagnosticDescriptor LabelSmoothingOnRegression = new(
        "KILN0206", "Label smoothing on a loss without labels",
        "{0} has LabelSmoothing {1}, but mean squared error compares values, not class labels, and Keras' MeanSquaredError takes no label_smoothing; remove it, or use a cross-entropy loss",
        Severity.Error);

    public static IReadOnlyList<DiagnosticDescriptor> All { get; } = new[]
    {
        NotPartial, NoLayers, NoInputShape, LayersSpread, UnsupportedDeclaration, NonPositiveInputDimension, TooManyParameters,
        GeneratorFailure, DuplicateLayerName, LayerNameNotUsable, UnknownLayerAttribute, BufferTooLarge, LargeArena, UndefinedEnumValue, OnlyViews, NotAFloat,
        DenseOnRankAboveOne, NonPositiveUnits, DropoutRate, ReshapeNonPositive, ReshapeCount, NegativeAlpha,
        WindowTooLarge, ArgumentTooSmall, NeedsImage, RedundantBias, BatchNormArgument, PoolingDropsPixels, DropoutAtTheEnd,
        NormalizationAxis, NormalizationStatistics, NegativeVariance,
        UnknownLayer, MergeShapes, MergeArity, UnusedLayer, ConcatenateAxis, FromOnMerge, InputWithSequential, LayerBeforeInput, InputWithoutShape,
        LossWithoutOutput, OutputTwice, LossWeight,
        UseOfNonBlock, NotALayerInBlock, BlockParameterMissing, BlockParameterOutsideBlock, BlockInputMissing,
        KerasPositionalStrides, ArgumentTwice, AugmentationFactor, AugmentationMode, CropLargerThanInput, LooksChannelsFirst, ChannelsFirstNeedsImage,
        AugmentationNeedsImage, AugmentationAfterWeights, ContrastValueRange,
        RegularizerFactor, BiasRegularizerWithoutBias, RegularizerOnFrozenLayer, SynchronizedFrozenBatchNorm,
        NormalizationRegularizerWithoutWeight,
        LossNeedsFlatOutput, LossOutputMismatch, ProbabilitiesWithFromLogits, LogitsWithoutFromLogits,
        LabelSmoothingRange, LabelSmoothingOnRegression,
    };
}

/// <summary>One reported problem: which descriptor, the formatted message, and where.</summary>
public sealed record GraphDiagnostic(string Id, Severity Severity, string Message, SourceSpan? Location)
{
    public static GraphDiagnostic Create(DiagnosticDescriptor descriptor, SourceSpan? location, params object[] args) =>
        new(descriptor.Id, descriptor.Severity, string.Format(System.Globalization.CultureInfo.InvariantCulture, descriptor.MessageFormat, args), location);

    public override string ToString() => $"{Location}: {Severity.ToString().ToLowerInvariant()} {Id}: {Message}";
}
