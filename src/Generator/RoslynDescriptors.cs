using Microsoft.CodeAnalysis;

namespace Kiln.Generator;

/// <summary>
/// The Roslyn face of the Graph diagnostic catalog (<c>Kiln.Graph.Descriptors</c>): one constant
/// descriptor per ID, so analyzer release tracking (AnalyzerReleases.*.md) sees every rule. The
/// message is formatted by Graph, hence the single "{0}"; a test keeps both lists in step.
/// Each links to its section of docs/diagnostics.md (<see cref="HelpLinks"/>).
/// </summary>
internal static class RoslynDescriptors
{
    private const string Category = "Kiln";

    // An error leaves no usable model (the generated class is a skeleton that throws), so an
    // .editorconfig or ruleset cannot turn it off or down; warnings stay configurable.
    private static readonly string[] NotConfigurable = { WellKnownDiagnosticTags.NotConfigurable };
    private static readonly string[] Configurable = { };

    public static readonly DiagnosticDescriptor NotPartial = new("KILN0001", "Model class must be partial", "{0}", Category, DiagnosticSeverity.Error, isEnabledByDefault: true, helpLinkUri: HelpLinks.For("KILN0001"), customTags: NotConfigurable);
    public static readonly DiagnosticDescriptor NoLayers = new("KILN0002", "Model has no layers", "{0}", Category, DiagnosticSeverity.Error, isEnabledByDefault: true, helpLinkUri: HelpLinks.For("KILN0002"), customTags: NotConfigurable);
    public static readonly DiagnosticDescriptor NoInputShape = new("KILN0003", "Model has no input shape", "{0}", Category, DiagnosticSeverity.Error, isEnabledByDefault: true, helpLinkUri: HelpLinks.For("KILN0003"), customTags: NotConfigurable);
    public static readonly DiagnosticDescriptor LayersSpread = new("KILN0004", "Layers spread over several partial declarations", "{0}", Category, DiagnosticSeverity.Error, isEnabledByDefault: true, helpLinkUri: HelpLinks.For("KILN0004"), customTags: NotConfigurable);
    public static readonly DiagnosticDescriptor UnsupportedDeclaration = new("KILN0005", "Model class cannot be generated", "{0}", Category, DiagnosticSeverity.Error, isEnabledByDefault: true, helpLinkUri: HelpLinks.For("KILN0005"), customTags: NotConfigurable);
    public static readonly DiagnosticDescriptor NonPositiveInputDimension = new("KILN0006", "Input dimension must be positive", "{0}", Category, DiagnosticSeverity.Error, isEnabledByDefault: true, helpLinkUri: HelpLinks.For("KILN0006"), customTags: NotConfigurable);
    public static readonly DiagnosticDescriptor TooManyParameters = new("KILN0007", "Model has more parameters than the configured limit", "{0}", Category, DiagnosticSeverity.Warning, isEnabledByDefault: true, helpLinkUri: HelpLinks.For("KILN0007"), customTags: Configurable);
    public static readonly DiagnosticDescriptor GeneratorFailure = new("KILN0008", "Kiln failed to generate the model", "{0}", Category, DiagnosticSeverity.Error, isEnabledByDefault: true, helpLinkUri: HelpLinks.For("KILN0008"), customTags: NotConfigurable);
    public static readonly DiagnosticDescriptor DuplicateLayerName = new("KILN0009", "Duplicate layer name", "{0}", Category, DiagnosticSeverity.Error, isEnabledByDefault: true, helpLinkUri: HelpLinks.For("KILN0009"), customTags: NotConfigurable);
    public static readonly DiagnosticDescriptor LayerNameNotUsable = new("KILN0010", "Layer name not usable", "{0}", Category, DiagnosticSeverity.Error, isEnabledByDefault: true, helpLinkUri: HelpLinks.For("KILN0010"), customTags: NotConfigurable);
    public static readonly DiagnosticDescriptor UnknownLayerAttribute = new("KILN0011", "Attribute is not a Kiln layer", "{0}", Category, DiagnosticSeverity.Error, isEnabledByDefault: true, helpLinkUri: HelpLinks.For("KILN0011"), customTags: NotConfigurable);
    public static readonly DiagnosticDescriptor BufferTooLarge = new("KILN0012", "Model too large to allocate", "{0}", Category, DiagnosticSeverity.Error, isEnabledByDefault: true, helpLinkUri: HelpLinks.For("KILN0012"), customTags: NotConfigurable);
    public static readonly DiagnosticDescriptor LargeArena = new("KILN0013", "Activation memory above the configured limit", "{0}", Category, DiagnosticSeverity.Warning, isEnabledByDefault: true, helpLinkUri: HelpLinks.For("KILN0013"), customTags: Configurable);
    public static readonly DiagnosticDescriptor UndefinedEnumValue = new("KILN0014", "Enum argument has no named value", "{0}", Category, DiagnosticSeverity.Error, isEnabledByDefault: true, helpLinkUri: HelpLinks.For("KILN0014"), customTags: NotConfigurable);
    public static readonly DiagnosticDescriptor OnlyViews = new("KILN0015", "Model only reshapes its input", "{0}", Category, DiagnosticSeverity.Error, isEnabledByDefault: true, helpLinkUri: HelpLinks.For("KILN0015"), customTags: NotConfigurable);
    public static readonly DiagnosticDescriptor NotAFloat = new("KILN0016", "Number is not a finite float", "{0}", Category, DiagnosticSeverity.Error, isEnabledByDefault: true, helpLinkUri: HelpLinks.For("KILN0016"), customTags: NotConfigurable);
    public static readonly DiagnosticDescriptor DenseOnRankAboveOne = new("KILN0101", "Dense needs a flat input", "{0}", Category, DiagnosticSeverity.Error, isEnabledByDefault: true, helpLinkUri: HelpLinks.For("KILN0101"), customTags: NotConfigurable);
    public static readonly DiagnosticDescriptor NonPositiveUnits = new("KILN0102", "Units must be positive", "{0}", Category, DiagnosticSeverity.Error, isEnabledByDefault: true, helpLinkUri: HelpLinks.For("KILN0102"), customTags: NotConfigurable);
    public static readonly DiagnosticDescriptor DropoutRate = new("KILN0103", "Dropout rate out of range", "{0}", Category, DiagnosticSeverity.Error, isEnabledByDefault: true, helpLinkUri: HelpLinks.For("KILN0103"), customTags: NotConfigurable);
    public static readonly DiagnosticDescriptor ReshapeNonPositive = new("KILN0104", "Reshape dimension must be positive", "{0}", Category, DiagnosticSeverity.Error, isEnabledByDefault: true, helpLinkUri: HelpLinks.For("KILN0104"), customTags: NotConfigurable);
    public static readonly DiagnosticDescriptor ReshapeCount = new("KILN0105", "Reshape changes the element count", "{0}", Category, DiagnosticSeverity.Error, isEnabledByDefault: true, helpLinkUri: HelpLinks.For("KILN0105"), customTags: NotConfigurable);
    public static readonly DiagnosticDescriptor NegativeAlpha = new("KILN0106", "LeakyRelu slope must not be negative", "{0}", Category, DiagnosticSeverity.Error, isEnabledByDefault: true, helpLinkUri: HelpLinks.For("KILN0106"), customTags: NotConfigurable);
    public static readonly DiagnosticDescriptor WindowTooLarge = new("KILN0107", "Window larger than its input", "{0}", Category, DiagnosticSeverity.Error, isEnabledByDefault: true, helpLinkUri: HelpLinks.For("KILN0107"), customTags: NotConfigurable);
    public static readonly DiagnosticDescriptor ArgumentTooSmall = new("KILN0108", "Argument out of range", "{0}", Category, DiagnosticSeverity.Error, isEnabledByDefault: true, helpLinkUri: HelpLinks.For("KILN0108"), customTags: NotConfigurable);
    public static readonly DiagnosticDescriptor NeedsImage = new("KILN0109", "Layer needs an image input", "{0}", Category, DiagnosticSeverity.Error, isEnabledByDefault: true, helpLinkUri: HelpLinks.For("KILN0109"), customTags: NotConfigurable);
    public static readonly DiagnosticDescriptor RedundantBias = new("KILN0110", "Bias before BatchNormalization is redundant", "{0}", Category, DiagnosticSeverity.Warning, isEnabledByDefault: true, helpLinkUri: HelpLinks.For("KILN0110"), customTags: Configurable);
    public static readonly DiagnosticDescriptor BatchNormArgument = new("KILN0111", "BatchNormalization argument out of range", "{0}", Category, DiagnosticSeverity.Error, isEnabledByDefault: true, helpLinkUri: HelpLinks.For("KILN0111"), customTags: NotConfigurable);
    public static readonly DiagnosticDescriptor PoolingDropsPixels = new("KILN0112", "Pooling leaves rows or columns out", "{0}", Category, DiagnosticSeverity.Warning, isEnabledByDefault: true, helpLinkUri: HelpLinks.For("KILN0112"), customTags: Configurable);
    public static readonly DiagnosticDescriptor DropoutAtTheEnd = new("KILN0113", "Dropout after the last layer with weights", "{0}", Category, DiagnosticSeverity.Warning, isEnabledByDefault: true, helpLinkUri: HelpLinks.For("KILN0113"), customTags: Configurable);
    public static readonly DiagnosticDescriptor NormalizationAxis = new("KILN0120", "Normalization axes are not a trailing run", "{0}", Category, DiagnosticSeverity.Error, isEnabledByDefault: true, helpLinkUri: HelpLinks.For("KILN0120"), customTags: NotConfigurable);
    public static readonly DiagnosticDescriptor NormalizationStatistics = new("KILN0121", "Normalization statistics of the wrong length", "{0}", Category, DiagnosticSeverity.Error, isEnabledByDefault: true, helpLinkUri: HelpLinks.For("KILN0121"), customTags: NotConfigurable);
    public static readonly DiagnosticDescriptor NegativeVariance = new("KILN0122", "Negative Normalization variance", "{0}", Category, DiagnosticSeverity.Error, isEnabledByDefault: true, helpLinkUri: HelpLinks.For("KILN0122"), customTags: NotConfigurable);
    public static readonly DiagnosticDescriptor UnknownLayer = new("KILN0130", "Layer reads a name that is not a layer above it", "{0}", Category, DiagnosticSeverity.Error, isEnabledByDefault: true, helpLinkUri: HelpLinks.For("KILN0130"), customTags: NotConfigurable);
    public static readonly DiagnosticDescriptor MergeShapes = new("KILN0131", "Merge inputs do not fit together", "{0}", Category, DiagnosticSeverity.Error, isEnabledByDefault: true, helpLinkUri: HelpLinks.For("KILN0131"), customTags: NotConfigurable);
    public static readonly DiagnosticDescriptor MergeArity = new("KILN0132", "Merge has the wrong number of inputs", "{0}", Category, DiagnosticSeverity.Error, isEnabledByDefault: true, helpLinkUri: HelpLinks.For("KILN0132"), customTags: NotConfigurable);
    public static readonly DiagnosticDescriptor UnusedLayer = new("KILN0133", "Layer output is never used", "{0}", Category, DiagnosticSeverity.Warning, isEnabledByDefault: true, helpLinkUri: HelpLinks.For("KILN0133"), customTags: Configurable);
    public static readonly DiagnosticDescriptor ConcatenateAxis = new("KILN0134", "Concatenate axis out of range", "{0}", Category, DiagnosticSeverity.Error, isEnabledByDefault: true, helpLinkUri: HelpLinks.For("KILN0134"), customTags: NotConfigurable);
    public static readonly DiagnosticDescriptor FromOnMerge = new("KILN0135", "From on a merge", "{0}", Category, DiagnosticSeverity.Error, isEnabledByDefault: true, helpLinkUri: HelpLinks.For("KILN0135"), customTags: NotConfigurable);
    public static readonly DiagnosticDescriptor InputWithSequential = new("KILN0136", "[Input] on a [Sequential] model", "{0}", Category, DiagnosticSeverity.Error, isEnabledByDefault: true, helpLinkUri: HelpLinks.For("KILN0136"), customTags: NotConfigurable);
    public static readonly DiagnosticDescriptor LayerBeforeInput = new("KILN0137", "Layer before the first [Input]", "{0}", Category, DiagnosticSeverity.Error, isEnabledByDefault: true, helpLinkUri: HelpLinks.For("KILN0137"), customTags: NotConfigurable);
    public static readonly DiagnosticDescriptor InputWithoutShape = new("KILN0138", "[Input] has no shape", "{0}", Category, DiagnosticSeverity.Error, isEnabledByDefault: true, helpLinkUri: HelpLinks.For("KILN0138"), customTags: NotConfigurable);
    public static readonly DiagnosticDescriptor LossWithoutOutput = new("KILN0139", "Loss of a model with several outputs names none", "{0}", Category, DiagnosticSeverity.Error, isEnabledByDefault: true, helpLinkUri: HelpLinks.For("KILN0139"), customTags: NotConfigurable);
    public static readonly DiagnosticDescriptor OutputTwice = new("KILN0140", "Two losses on one output", "{0}", Category, DiagnosticSeverity.Error, isEnabledByDefault: true, helpLinkUri: HelpLinks.For("KILN0140"), customTags: NotConfigurable);
    public static readonly DiagnosticDescriptor LossWeight = new("KILN0141", "Loss weight out of range", "{0}", Category, DiagnosticSeverity.Error, isEnabledByDefault: true, helpLinkUri: HelpLinks.For("KILN0141"), customTags: NotConfigurable);
    public static readonly DiagnosticDescriptor UseOfNonBlock = new("KILN0142", "[Use] of a class that is not a [Block]", "{0}", Category, DiagnosticSeverity.Error, isEnabledByDefault: true, helpLinkUri: HelpLinks.For("KILN0142"), customTags: NotConfigurable);
    public static readonly DiagnosticDescriptor NotALayerInBlock = new("KILN0143", "A block holds layers only", "{0}", Category, DiagnosticSeverity.Error, isEnabledByDefault: true, helpLinkUri: HelpLinks.For("KILN0143"), customTags: NotConfigurable);
    public static readonly DiagnosticDescriptor BlockParameterMissing = new("KILN0144", "Block parameter not given", "{0}", Category, DiagnosticSeverity.Error, isEnabledByDefault: true, helpLinkUri: HelpLinks.For("KILN0144"), customTags: NotConfigurable);
    public static readonly DiagnosticDescriptor BlockParameterOutsideBlock = new("KILN0145", "Block parameter outside a block", "{0}", Category, DiagnosticSeverity.Error, isEnabledByDefault: true, helpLinkUri: HelpLinks.For("KILN0145"), customTags: NotConfigurable);
    public static readonly DiagnosticDescriptor BlockInputMissing = new("KILN0146", "Block.In with nothing before the [Use]", "{0}", Category, DiagnosticSeverity.Error, isEnabledByDefault: true, helpLinkUri: HelpLinks.For("KILN0146"), customTags: NotConfigurable);
    public static readonly DiagnosticDescriptor KerasPositionalStrides = new("KILN0150", "Positional strides that an older reading took as the window", "{0}", Category, DiagnosticSeverity.Warning, isEnabledByDefault: true, helpLinkUri: HelpLinks.For("KILN0150"), customTags: Configurable);
    public static readonly DiagnosticDescriptor ArgumentTwice = new("KILN0151", "Argument given twice", "{0}", Category, DiagnosticSeverity.Error, isEnabledByDefault: true, helpLinkUri: HelpLinks.For("KILN0151"), customTags: NotConfigurable);
    public static readonly DiagnosticDescriptor AugmentationFactor = new("KILN0152", "Augmentation factor out of range", "{0}", Category, DiagnosticSeverity.Error, isEnabledByDefault: true, helpLinkUri: HelpLinks.For("KILN0152"), customTags: NotConfigurable);
    public static readonly DiagnosticDescriptor AugmentationMode = new("KILN0153", "Unknown flip mode", "{0}", Category, DiagnosticSeverity.Error, isEnabledByDefault: true, helpLinkUri: HelpLinks.For("KILN0153"), customTags: NotConfigurable);
    public static readonly DiagnosticDescriptor CropLargerThanInput = new("KILN0154", "Crop larger than the input", "{0}", Category, DiagnosticSeverity.Error, isEnabledByDefault: true, helpLinkUri: HelpLinks.For("KILN0154"), customTags: NotConfigurable);
    public static readonly DiagnosticDescriptor LooksChannelsFirst = new("KILN0155", "Input shape looks channels first", "{0}", Category, DiagnosticSeverity.Warning, isEnabledByDefault: true, helpLinkUri: HelpLinks.For("KILN0155"), customTags: Configurable);
    public static readonly DiagnosticDescriptor ChannelsFirstNeedsImage = new("KILN0156", "DataFormat.ChannelsFirst needs an image shape", "{0}", Category, DiagnosticSeverity.Error, isEnabledByDefault: true, helpLinkUri: HelpLinks.For("KILN0156"), customTags: NotConfigurable);
    public static readonly DiagnosticDescriptor AugmentationNeedsImage = new("KILN0157", "Image augmentation on a tensor that is not an image", "{0}", Category, DiagnosticSeverity.Error, isEnabledByDefault: true, helpLinkUri: HelpLinks.For("KILN0157"), customTags: NotConfigurable);
    public static readonly DiagnosticDescriptor AugmentationAfterWeights = new("KILN0158", "Image augmentation after a layer with weights", "{0}", Category, DiagnosticSeverity.Error, isEnabledByDefault: true, helpLinkUri: HelpLinks.For("KILN0158"), customTags: NotConfigurable);
    public static readonly DiagnosticDescriptor ContrastValueRange = new("KILN0159", "Empty contrast value range", "{0}", Category, DiagnosticSeverity.Error, isEnabledByDefault: true, helpLinkUri: HelpLinks.For("KILN0159"), customTags: NotConfigurable);
    public static readonly DiagnosticDescriptor RegularizerFactor = new("KILN0160", "Regularizer factor out of range", "{0}", Category, DiagnosticSeverity.Error, isEnabledByDefault: true, helpLinkUri: HelpLinks.For("KILN0160"), customTags: NotConfigurable);
    public static readonly DiagnosticDescriptor BiasRegularizerWithoutBias = new("KILN0161", "Bias regularizer on a layer without a bias", "{0}", Category, DiagnosticSeverity.Warning, isEnabledByDefault: true, helpLinkUri: HelpLinks.For("KILN0161"), customTags: Configurable);
    public static readonly DiagnosticDescriptor RegularizerOnFrozenLayer = new("KILN0162", "Regularizer on a frozen layer", "{0}", Category, DiagnosticSeverity.Warning, isEnabledByDefault: true, helpLinkUri: HelpLinks.For("KILN0162"), customTags: Configurable);
    public static readonly DiagnosticDescriptor SynchronizedFrozenBatchNorm = new("KILN0163", "Synchronized BatchNormalization that is frozen", "{0}", Category, DiagnosticSeverity.Warning, isEnabledByDefault: true, helpLinkUri: HelpLinks.For("KILN0163"), customTags: Configurable);
    public static readonly DiagnosticDescriptor NormalizationRegularizerWithoutWeight = new("KILN0170", "Gamma or beta regularizer without that weight", "{0}", Category, DiagnosticSeverity.Warning, isEnabledByDefault: true, helpLinkUri: HelpLinks.For("KILN0170"), customTags: Configurable);
    public static readonly DiagnosticDescriptor LossNeedsFlatOutput = new("KILN0201", "Loss needs a flat output", "{0}", Category, DiagnosticSeverity.Error, isEnabledByDefault: true, helpLinkUri: HelpLinks.For("KILN0201"), customTags: NotConfigurable);
    public static readonly DiagnosticDescriptor LossOutputMismatch = new("KILN0202", "Loss does not fit the output", "{0}", Category, DiagnosticSeverity.Error, isEnabledByDefault: true, helpLinkUri: HelpLinks.For("KILN0202"), customTags: NotConfigurable);
    public static readonly DiagnosticDescriptor ProbabilitiesWithFromLogits = new("KILN0203", "FromLogits on an output that is already a probability", "{0}", Category, DiagnosticSeverity.Error, isEnabledByDefault: true, helpLinkUri: HelpLinks.For("KILN0203"), customTags: NotConfigurable);
    public static readonly DiagnosticDescriptor LogitsWithoutFromLogits = new("KILN0204", "Cross-entropy on an output that is not a probability", "{0}", Category, DiagnosticSeverity.Warning, isEnabledByDefault: true, helpLinkUri: HelpLinks.For("KILN0204"), customTags: Configurable);
    public static readonly DiagnosticDescriptor LabelSmoothingRange = new("KILN0205", "Label smoothing out of range", "{0}", Category, DiagnosticSeverity.Error, isEnabledByDefault: true, helpLinkUri: HelpLinks.For("KILN0205"), customTags: NotConfigurable);
    public static readonly DiagnosticDescriptor LabelSmoothingOnRegression = new("KILN0206", "Label smoothing on a loss without labels", "{0}", Category, DiagnosticSeverity.Error, isEnabledByDefault: true, helpLinkUri: HelpLinks.For("KILN0206"), customTags: NotConfigurable);

    public static readonly DiagnosticDescriptor[] All =
    {
        NotPartial,
        NoLayers,
        NoInputShape,
        LayersSpread,
        UnsupportedDeclaration,
        NonPositiveInputDimension,
        TooManyParameters,
        GeneratorFailure,
        DuplicateLayerName,
        LayerNameNotUsable,
        UnknownLayerAttribute,
        BufferTooLarge,
        LargeArena,
        UndefinedEnumValue,
        OnlyViews,
        NotAFloat,
        DenseOnRankAboveOne,
        NonPositiveUnits,
        DropoutRate,
        ReshapeNonPositive,
        ReshapeCount,
        NegativeAlpha,
        WindowTooLarge,
        ArgumentTooSmall,
        NeedsImage,
        RedundantBias,
        BatchNormArgument,
        PoolingDropsPixels,
        DropoutAtTheEnd,
        NormalizationAxis,
        NormalizationStatistics,
        NegativeVariance,
        UnknownLayer,
        MergeShapes,
        MergeArity,
        UnusedLayer,
        ConcatenateAxis,
        FromOnMerge,
        InputWithSequential,
        LayerBeforeInput,
        InputWithoutShape,
        LossWithoutOutput,
        OutputTwice,
        LossWeight,
        UseOfNonBlock,
        NotALayerInBlock,
        BlockParameterMissing,
        BlockParameterOutsideBlock,
        BlockInputMissing,
        KerasPositionalStrides,
        ArgumentTwice,
        AugmentationFactor,
        AugmentationMode,
        CropLargerThanInput,
        LooksChannelsFirst,
        ChannelsFirstNeedsImage,
        AugmentationNeedsImage,
        AugmentationAfterWeights,
        ContrastValueRange,
        RegularizerFactor,
        BiasRegularizerWithoutBias,
        RegularizerOnFrozenLayer,
        SynchronizedFrozenBatchNorm,
        NormalizationRegularizerWithoutWeight,
        LossNeedsFlatOutput,
        LossOutputMismatch,
        ProbabilitiesWithFromLogits,
        LogitsWithoutFromLogits,
        LabelSmoothingRange,
        LabelSmoothingOnRegression,
    };
}
