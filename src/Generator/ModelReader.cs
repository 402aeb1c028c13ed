using System.Collections.Generic;
using System.Collections.Immutable;
using System.Linq;
using System.Threading;
using Kiln.Graph;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace Kiln.Generator;

/// <summary>What the pipeline carries per model: plain, value-equatable data (no symbols), plus the declaring trees for locations.</summary>
internal sealed record ModelInput(ModelSpec? Spec, EquatableArray<GraphDiagnostic> Diagnostics, SourceTrees Trees);

/// <summary>
/// The syntax trees that declare a model, so diagnostics can be reported inside them (where
/// <c>#pragma warning</c> and code fixes see them) rather than at a bare file path. Compared by
/// reference: Roslyn keeps the same tree object for a file that did not change, so an edit
/// elsewhere leaves the pipeline cached.
/// </summary>
internal sealed class SourceTrees : System.IEquatable<SourceTrees>
{
    private readonly SyntaxTree[] _trees;

    public SourceTrees(SyntaxTree[] trees) => _trees = trees;

    public SyntaxTree? Find(string path)
    {
        foreach (var t in _trees)
            if (t.FilePath == path) return t;
        return null;
    }

    public bool Equals(SourceTrees? other) =>
        other is not null && _trees.Length == other._trees.Length && _trees.Zip(other._trees, ReferenceEquals).All(same => same);

    public override bool Equals(object? obj) => Equals(obj as SourceTrees);

    public override int GetHashCode() => _trees.Aggregate(17, (h, t) => unchecked(h * 31 + System.Runtime.CompilerServices.RuntimeHelpers.GetHashCode(t)));
}

/// <summary>
/// Reads the attributes of a <c>[Sequential]</c> class into a <see cref="ModelSpec"/>, in the
/// order they are written, with the location of every attribute and argument.
/// </summary>
internal static partial class ModelReader
{
    private const string Namespace = "Kiln";

    private static readonly Dictionary<string, LayerKind> LayerAttributes = new()
    {
        ["FlattenAttribute"] = LayerKind.Flatten,
        ["DenseAttribute"] = LayerKind.Dense,
        ["ReluAttribute"] = LayerKind.Relu,
        ["LeakyReluAttribute"] = LayerKind.LeakyRelu,
        ["SigmoidAttribute"] = LayerKind.Sigmoid,
        ["TanhAttribute"] = LayerKind.Tanh,
        ["SoftmaxAttribute"] = LayerKind.Softmax,
        ["DropoutAttribute"] = LayerKind.Dropout,
        ["ReshapeAttribute"] = LayerKind.Reshape,
        ["RescalingAttribute"] = LayerKind.Rescaling,
        ["NormalizationAttribute"] = LayerKind.Normalization,
        ["Conv2DAttribute"] = LayerKind.Conv2D,
        ["Conv2DTransposeAttribute"] = LayerKind.Conv2DTranspose,
        ["MaxPooling2DAttribute"] = LayerKind.MaxPooling2D,
        ["AveragePooling2DAttribute"] = LayerKind.AveragePooling2D,
        ["GlobalAveragePooling2DAttribute"] = LayerKind.GlobalAveragePooling2D,
        ["GlobalMaxPooling2DAttribute"] = LayerKind.GlobalMaxPooling2D,
        ["BatchNormalizationAttribute"] = LayerKind.BatchNormalization,
        ["UpSampling2DAttribute"] = LayerKind.UpSampling2D,
        ["ZeroPadding2DAttribute"] = LayerKind.ZeroPadding2D,
        ["AddAttribute"] = LayerKind.Add,
        ["SubtractAttribute"] = LayerKind.Subtract,
        ["MultiplyAttribute"] = LayerKind.Multiply,
        ["AverageAttribute"] = LayerKind.Average,
        ["MaximumAttribute"] = LayerKind.Maximum,
        ["ConcatenateAttribute"] = LayerKind.Concatenate,
        ["InputAttribute"] = LayerKind.Input,
        ["RandomFlipAttribute"] = LayerKind.RandomFlip,
        ["RandomTranslationAttribute"] = LayerKind.RandomTranslation,
        ["RandomRotationAttribute"] = LayerKind.RandomRotation,
        ["RandomZoomAttribute"] = LayerKind.RandomZoom,
        ["RandomCropAttribute"] = LayerKind.RandomCrop,
        ["RandomContrastAttribute"] = LayerKind.RandomContrast,
        // Keras' spellings (src/Runtime/Attributes/KerasAliases.cs): the same layers.
        ["ReLUAttribute"] = LayerKind.Relu,
        ["LeakyReLUAttribute"] = LayerKind.LeakyRelu,
        ["MaxPool2DAttribute"] = LayerKind.MaxPooling2D,
        ["AvgPool2DAttribute"] = LayerKind.AveragePooling2D,
        ["GlobalAvgPool2DAttribute"] = LayerKind.GlobalAveragePooling2D,
        ["GlobalMaxPool2DAttribute"] = LayerKind.GlobalMaxPooling2D,
    };

    /// <summary>Reads the model; should reading itself fail, the model gets KILN0008 at its name instead of the compiler's CS8785.</summary>
    /// <summary>
    /// For a class with <c>[Input]</c> attributes: read it as <see cref="Read"/> does, unless it also
    /// has <c>[Sequential]</c>, whose pipeline reads (and reports) it instead.
    /// </summary>
    public static ModelInput ReadFunctional(GeneratorAttributeSyntaxContext context, CancellationToken cancellationToken)
    {
        var skip = new ModelInput(null, EquatableArray<GraphDiagnostic>.Empty, new SourceTrees(new[] { context.TargetNode.SyntaxTree }));
        if (context.TargetSymbol.GetAttributes().Any(a => a.AttributeClass is { Name: "SequentialAttribute" } s && IsKiln(s)))
            return skip;
        // [Input] on several partial declarations: the first one reads the model (and reports the others as KILN0004).
        var first = context.TargetSymbol.GetAttributes()
            .Where(a => a.AttributeClass is { Name: "InputAttribute" } s && IsKiln(s) && a.ApplicationSyntaxReference is not null)
            .Select(a => a.ApplicationSyntaxReference!.GetSyntax(cancellationToken).FirstAncestorOrSelf<ClassDeclarationSyntax>())
            .FirstOrDefault();
        if (first is not null && first != context.TargetNode) return skip;
        return Read(context, cancellationToken);
    }

    public static ModelInput Read(GeneratorAttributeSyntaxContext context, CancellationToken cancellationToken)
    {
        try
        {
            return ReadModel(context, cancellationToken);
        }
        catch (System.Exception e) when (e is not System.OperationCanceledException)
        {
            var declaration = (ClassDeclarationSyntax)context.TargetNode;
            var failure = KilnGenerator.Failure(declaration.Identifier.ValueText, Span(declaration.Identifier.GetLocation()), e);
            return new ModelInput(null, new EquatableArray<GraphDiagnostic>(new[] { failure }), new SourceTrees(new[] { declaration.SyntaxTree }));
        }
    }

    private static ModelInput ReadModel(GeneratorAttributeSyntaxContext context, CancellationToken cancellationToken)
    {
        var symbol = (INamedTypeSymbol)context.TargetSymbol;
        var declaration = (ClassDeclarationSyntax)context.TargetNode;
        var diagnostics = new List<GraphDiagnostic>();
        var identifier = Span(declaration.Identifier.GetLocation());

        if (!declaration.Modifiers.Any(SyntaxKind.PartialKeyword))
            diagnostics.Add(GraphDiagnostic.Create(Descriptors.NotPartial, identifier, symbol.Name));
        if (symbol.ContainingType is not null)
            diagnostics.Add(GraphDiagnostic.Create(Descriptors.UnsupportedDeclaration, identifier, symbol.Name, $"is nested in '{symbol.ContainingType.Name}'"));
        if (symbol.IsGenericType)
            diagnostics.Add(GraphDiagnostic.Create(Descriptors.UnsupportedDeclaration, identifier, symbol.Name, "is generic"));
        if (symbol.IsStatic || symbol.IsAbstract)
            diagnostics.Add(GraphDiagnostic.Create(Descriptors.UnsupportedDeclaration, identifier, symbol.Name, symbol.IsStatic ? "is static" : "is abstract"));
        var baseType = symbol.BaseType;
        if (baseType is not null && baseType.SpecialType != SpecialType.System_Object && !(baseType.Name == "Model" && IsKiln(baseType)))
            diagnostics.Add(GraphDiagnostic.Create(Descriptors.UnsupportedDeclaration, identifier, symbol.Name, $"derives from '{baseType.ToDisplayString()}'"));

        // Layers written on another partial declaration would have no defined order.
        foreach (var reference in symbol.DeclaringSyntaxReferences)
        {
            if (reference.SyntaxTree == declaration.SyntaxTree && reference.Span == declaration.Span) continue;
            if (reference.GetSyntax(cancellationToken) is not ClassDeclarationSyntax other) continue;
            var stray = other.AttributeLists.SelectMany(l => l.Attributes)
                .FirstOrDefault(a => IsModelAttribute(context.SemanticModel.Compilation, a, cancellationToken));
            if (stray is not null)
                diagnostics.Add(GraphDiagnostic.Create(Descriptors.LayersSpread, Span(stray.GetLocation()), symbol.Name));
        }

        var attributes = symbol.GetAttributes();
        var layers = new List<LayerSpec>();
        var input = new List<Argument>();
        SourceSpan? sequentialLocation = null;
        Argument? dataFormat = null;
        var blocks = new Names.Counter();
        var blockTrees = new List<SyntaxTree>();
        var losses = new List<LossSpec>();
        foreach (var syntax in declaration.AttributeLists.SelectMany(l => l.Attributes))
        {
            cancellationToken.ThrowIfCancellationRequested();
            var data = attributes.FirstOrDefault(a => a.ApplicationSyntaxReference is { } r && r.SyntaxTree == syntax.SyntaxTree && r.Span == syntax.Span);
            if (data?.AttributeClass is { } user && UnknownLayer(user, symbol.Name, Span(syntax.GetLocation())) is { } unknown)
            {
                diagnostics.Add(unknown);
                continue;
            }
            if (data?.AttributeClass is not { } type || !IsKiln(type) || data.AttributeConstructor is null) continue;
            diagnostics.AddRange(UndefinedEnumValues(data, syntax));
            var location = Span(syntax.GetLocation());
            var arguments = ReadArguments(data, syntax);
            if (type.Name == "SequentialAttribute")
            {
                sequentialLocation = location;
                input.AddRange(arguments.Where(a => a.Name == "inputShape").SelectMany(Expand));
                dataFormat = arguments.FirstOrDefault(a => a.Name == "DataFormat");
            }
            else if (type.Name == "LossAttribute")
            {
                var kind = arguments.FirstOrDefault(a => a.Name == "loss");
                var fromLogits = arguments.FirstOrDefault(a => a.Name == "FromLogits");
                var output = arguments.FirstOrDefault(a => a.Name == "Output");
                var weight = arguments.FirstOrDefault(a => a.Name == "Weight");
                var smoothing = arguments.FirstOrDefault(a => a.Name == "LabelSmoothing");
                losses.Add(new LossSpec((LossKind)(int)(kind?.Number ?? 0), fromLogits is not null && fromLogits.Number != 0, location)
                {
                    Output = output?.Text,
                    OutputLocation = output?.Location,
                    Weight = weight?.Number ?? 1,
                    WeightLocation = weight?.Location,
                    LabelSmoothing = smoothing?.Number ?? 0,
                    LabelSmoothingLocation = smoothing?.Location,
                });
            }
            else if (type.Name == "UseAttribute" && type.IsGenericType)
            {
                InlineBlock(type, data, syntax, location, arguments, layers, blocks, blockTrees, diagnostics, cancellationToken);
            }
            else if (LayerAttributes.TryGetValue(type.Name, out var layerKind))
            {
                if (Twice(type, arguments) is { } twice) diagnostics.Add(twice);
                if (BlockParameter(arguments) is { } parameter)
                    diagnostics.Add(GraphDiagnostic.Create(Descriptors.BlockParameterOutsideBlock, parameter.Location ?? location, parameter.Name));
                if (layerKind == LayerKind.Input && symbol.GetAttributes().Any(a => a.AttributeClass is { Name: "SequentialAttribute" } s && IsKiln(s)))
                    diagnostics.Add(GraphDiagnostic.Create(Descriptors.InputWithSequential, location, symbol.Name));
                string? name = data.NamedArguments.FirstOrDefault(n => n.Key == "Name").Value.Value as string;
                var nameSyntax = syntax.ArgumentList?.Arguments.FirstOrDefault(a => a.NameEquals?.Name.Identifier.ValueText == "Name");
                layers.Add(LayerSpecs.Create(layerKind, arguments, location) with
                {
                    UserName = name,
                    UserNameLocation = nameSyntax is null ? null : Span(nameSyntax.GetLocation()),
                });
            }
        }

        var spec = new ModelSpec(
            symbol.ContainingNamespace.IsGlobalNamespace ? "" : symbol.ContainingNamespace.ToDisplayString(),
            symbol.Name,
            SyntaxFacts.GetText(symbol.DeclaredAccessibility),
            System.IO.Path.GetFileName(declaration.SyntaxTree.FilePath),
            new EquatableArray<Argument>(input.ToArray()),
            sequentialLocation,
            new EquatableArray<LayerSpec>(layers.ToArray()),
            losses.FirstOrDefault())
        {
            ClassLocation = identifier,
            Losses = new EquatableArray<LossSpec>(losses.ToArray()),
            ChannelsFirst = dataFormat?.Number == 1,
            DataFormatLocation = dataFormat?.Location,
        };
        var trees = symbol.DeclaringSyntaxReferences.Select(r => r.SyntaxTree).Concat(blockTrees).Distinct().ToArray();
        return new ModelInput(spec, new EquatableArray<GraphDiagnostic>(diagnostics.ToArray()), new SourceTrees(trees));
    }

    /// <summary>Positional arguments by parameter name, then named ones, each with the span of what the user wrote.</summary>
    private static List<Argument> ReadArguments(AttributeData data, AttributeSyntax syntax)
    {
        var result = new List<Argument>();
        var parameters = data.AttributeConstructor!.Parameters;
        var written = syntax.ArgumentList?.Arguments ?? default;
        var positional = written.Where(a => a.NameEquals is null).ToList();
        for (int i = 0; i < parameters.Length && i < data.ConstructorArguments.Length; i++)
        {
            var parameter = parameters[i];
            var value = data.ConstructorArguments[i];
            // An argument written by name (units: 3) or by position; a params array may span several.
            var byName = positional.FirstOrDefault(a => a.NameColon?.Name.Identifier.ValueText == parameter.Name);
            if (parameter.IsParams && byName is null)
            {
                var items = positional.Skip(i).ToList();
                var locations = items.Count == 1 && items[0].Expression is not LiteralExpressionSyntax && value.Kind == TypedConstantKind.Array && value.Values.Length != 1
                    ? Enumerable.Repeat(Span(items[0].GetLocation()), value.Values.Length).ToList()
                    : items.Select(a => Span(a.GetLocation())).ToList();
                bool texts = parameter.Type is IArrayTypeSymbol { ElementType.SpecialType: SpecialType.System_String };
                var ints = value.Kind == TypedConstantKind.Array && !texts ? value.Values.Select(v => ToInt(v.Value)).ToArray() : new int[0];
                // The argument as a whole spans from its first element to its last.
                var whole = items.Count > 0
                    ? Span(Location.Create(syntax.SyntaxTree, Microsoft.CodeAnalysis.Text.TextSpan.FromBounds(items[0].SpanStart, items[items.Count - 1].Span.End)))
                    : Span(syntax.GetLocation());
                result.Add(new Argument(parameter.Name, 0, new EquatableArray<int>(ints), whole)
                {
                    ElementLocations = new EquatableArray<SourceSpan>(locations.ToArray()),
                    Texts = texts && value.Kind == TypedConstantKind.Array && !value.IsNull
                        ? new EquatableArray<string>(value.Values.Select(v => v.Value as string ?? "").ToArray())
                        : EquatableArray<string>.Empty,
                });
                continue;
            }
            var argSyntax = byName ?? (i < positional.Count && positional[i].NameColon is null ? positional[i] : null);
            var location = argSyntax is null ? null : Span(argSyntax.GetLocation());
            Argument argument;
            if (value.Kind == TypedConstantKind.Array)
                argument = Argument.OfInts(parameter.Name, value.Values.Select(v => ToInt(v.Value)).ToArray(), location);
            else if (parameter.Type.SpecialType == SpecialType.System_String)
                argument = Argument.Of(parameter.Name, 0, location) with { Text = value.Value as string ?? "" };
            else
                argument = Argument.Of(parameter.Name, ToDouble(value.Value), location);
            result.Add(argument with { Positional = argSyntax is not null && byName is null });
        }
        foreach (var named in data.NamedArguments)
        {
            if (named.Key == "Name") continue;
            var argSyntax = written.FirstOrDefault(a => a.NameEquals?.Name.Identifier.ValueText == named.Key);
            var location = argSyntax is null ? null : Span(argSyntax.GetLocation());
            var value = named.Value;
            // A value C# rejects (Mean = new[] { 1 } for a double[]: CS0029) is the compiler's error to report; read as if
            // not written, rather than as an empty or zero value that would draw a wrong complaint of Kiln's own.
            if (value.Kind == TypedConstantKind.Error) continue;
            if (value.Type?.SpecialType == SpecialType.System_String)
            {
                if (value.Value is string text) result.Add(Argument.Of(named.Key, 0, location) with { Text = text });
            }
            else if (value.Kind != TypedConstantKind.Array)
                result.Add(Argument.Of(named.Key, ToDouble(value.Value), location));
            else if (value.IsNull)
                continue; // e.g. Mean = null: as if not written
            else if (value.Type is IArrayTypeSymbol { ElementType.SpecialType: SpecialType.System_Int32 })
                result.Add(Argument.OfInts(named.Key, value.Values.Select(v => ToInt(v.Value)).ToArray(), location));
            else
                result.Add(Argument.Of(named.Key, 0, location) with { Numbers = new EquatableArray<double>(value.Values.Select(v => ToDouble(v.Value)).ToArray()) });
        }
        return result;
    }

    /// <summary>
    /// KILN0151 when a constructor argument is also set as the property of the same name
    /// (<c>[Conv2D(64, 7, 2, Strides = 2)]</c>, which C# accepts); null otherwise.
    /// </summary>
    private static GraphDiagnostic? Twice(INamedTypeSymbol type, List<Argument> arguments)
    {
        foreach (var positional in arguments.Where(a => a.Location is not null && char.IsLower(a.Name[0])))
        {
            var named = arguments.FirstOrDefault(a => a.Location is not null && a.Name != positional.Name
                && string.Equals(a.Name, positional.Name, System.StringComparison.OrdinalIgnoreCase));
            if (named is null) continue;
            string first = positional.Number.ToString(System.Globalization.CultureInfo.InvariantCulture);
            string second = named.Number.ToString(System.Globalization.CultureInfo.InvariantCulture);
            return GraphDiagnostic.Create(Descriptors.ArgumentTwice, named.Location, Strip(type.Name), positional.Name,
                positional.Positional ? first + " by position" : $"{positional.Name}: {first}", $"{named.Name} = {second}");
        }
        return null;
    }

    /// <summary>A params argument as one Argument per element, each with its own location when written out.</summary>
    private static IEnumerable<Argument> Expand(Argument a)
    {
        for (int i = 0; i < a.Ints.Count; i++)
            yield return Argument.Of(a.Name, a.Ints[i], i < a.ElementLocations.Count ? a.ElementLocations[i] : a.Location);
    }

    private static bool IsModelAttribute(Compilation compilation, AttributeSyntax syntax, CancellationToken cancellationToken)
    {
        var model = compilation.GetSemanticModel(syntax.SyntaxTree);
        return model.GetTypeInfo(syntax, cancellationToken).Type is INamedTypeSymbol type && IsKiln(type)
            && (LayerAttributes.ContainsKey(type.Name) || type.Name == "LossAttribute");
    }

    private static bool IsKiln(INamedTypeSymbol type) =>
        type.ContainingNamespace is { Name: Namespace, ContainingNamespace.IsGlobalNamespace: true };

    private static int ToInt(object? value) => value switch
    {
        int i => i,
        null => 0,
        _ => System.Convert.ToInt32(value, System.Globalization.CultureInfo.InvariantCulture),
    };

    private static double ToDouble(object? value) => value switch
    {
        bool b => b ? 1 : 0,
        null => 0,
        _ => System.Convert.ToDouble(value, System.Globalization.CultureInfo.InvariantCulture),
    };

    internal static SourceSpan Span(Location location)
    {
        var line = location.GetLineSpan();
        return new SourceSpan(location.SourceTree?.FilePath ?? "", location.SourceSpan.Start, location.SourceSpan.Length,
            line.StartLinePosition.Line, line.StartLinePosition.Character, line.EndLinePosition.Line, line.EndLinePosition.Character);
    }
}
