using System.Collections.Generic;
using System.Linq;
using System.Threading;
using Kiln.Graph;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace Kiln.Generator;

/// <summary>
/// <c>[Use&lt;TBlock&gt;(Filters = 32, Strides = 2, Name = "stage2")]</c>: the layers of a
/// <c>[Block]</c> class, read in its attribute order and inlined where the [Use] stands, with
/// <c>Block.Filters</c>/<c>Units</c>/<c>Strides</c> replaced by the [Use]'s values, the block's
/// names prefixed (<c>stage2.main</c>) and <c>Block.In</c> naming the layer the block reads.
/// </summary>
internal static partial class ModelReader
{
    // The values of Kiln.Block's constants (the generator does not reference the runtime).
    private const int FiltersParameter = int.MinValue + 101, UnitsParameter = int.MinValue + 102, StridesParameter = int.MinValue + 103;
    private const string InputParameter = "\u0001block-input";

    private static void InlineBlock(INamedTypeSymbol use, AttributeData data, AttributeSyntax syntax, SourceSpan location, List<Argument> arguments,
        List<LayerSpec> layers, Names.Counter blocks, List<SyntaxTree> blockTrees, List<GraphDiagnostic> diagnostics, CancellationToken cancellationToken)
    {
        var block = use.TypeArguments[0] as INamedTypeSymbol;
        if (block is null || !block.GetAttributes().Any(a => a.AttributeClass is { Name: "BlockAttribute" } b && IsKiln(b)))
        {
            diagnostics.Add(GraphDiagnostic.Create(Descriptors.UseOfNonBlock, location, use.TypeArguments[0].Name));
            return;
        }
        var declaration = block.DeclaringSyntaxReferences.Select(r => r.GetSyntax(cancellationToken)).OfType<ClassDeclarationSyntax>()
            .FirstOrDefault(d => d.AttributeLists.Count > 0);
        if (declaration is null) return;
        blockTrees.Add(declaration.SyntaxTree);

        int Parameter(string name, int fallback) => arguments.FirstOrDefault(a => a.Name == name) is { } a ? (int)a.Number : fallback;
        string? useName = data.NamedArguments.FirstOrDefault(n => n.Key == "Name").Value.Value as string;
        string? from = arguments.FirstOrDefault(a => a.Name == "From")?.Text;
        bool trainable = Parameter("Trainable", 1) != 0;
        string prefix = useName ?? blocks.Next(Snake(block.Name));
        // The block's input by name: the [Use]'s From, else the layer written before the [Use].
        string? input = from ?? (layers.Count > 0 ? Names.Of(layers)[layers.Count - 1] : null);

        // The block's layers as written, then their names within this use (the user's, else Keras' automatic ones).
        var inner = new List<(LayerKind Kind, List<Argument> Arguments, SourceSpan Location, string? Name, SourceSpan? NameLocation)>();
        var attributes = block.GetAttributes();
        foreach (var attribute in declaration.AttributeLists.SelectMany(l => l.Attributes))
        {
            cancellationToken.ThrowIfCancellationRequested();
            var d = attributes.FirstOrDefault(a => a.ApplicationSyntaxReference is { } r && r.SyntaxTree == attribute.SyntaxTree && r.Span == attribute.Span);
            if (d?.AttributeClass is { } user && UnknownLayer(user, block.Name, Span(attribute.GetLocation())) is { } unknown)
            {
                diagnostics.Add(unknown);
                continue;
            }
            if (d?.AttributeClass is not { } type || !IsKiln(type) || d.AttributeConstructor is null || type.Name == "BlockAttribute") continue;
            diagnostics.AddRange(UndefinedEnumValues(d, attribute));
            var where = Span(attribute.GetLocation());
            if (!LayerAttributes.TryGetValue(type.Name, out var kind) || kind == LayerKind.Input)
            {
                diagnostics.Add(GraphDiagnostic.Create(Descriptors.NotALayerInBlock, where, block.Name, Strip(type.Name)));
                continue;
            }
            var nameSyntax = attribute.ArgumentList?.Arguments.FirstOrDefault(a => a.NameEquals?.Name.Identifier.ValueText == "Name");
            var read = ReadArguments(d, attribute);
            if (Twice(type, read) is { } twice) diagnostics.Add(twice);
            inner.Add((kind, read, where, d.NamedArguments.FirstOrDefault(n => n.Key == "Name").Value.Value as string,
                nameSyntax is null ? null : Span(nameSyntax.GetLocation())));
        }
        var counter = new Names.Counter();
        var names = inner.Select(l => l.Name ?? counter.Next(LayerSpecs.Create(l.Kind, l.Arguments, null).BaseName)).ToList();
        var own = new HashSet<string>(names);

        string Rename(string name, SourceSpan? at)
        {
            if (name == InputParameter)
            {
                if (input is null) diagnostics.Add(GraphDiagnostic.Create(Descriptors.BlockInputMissing, at ?? location, block.Name));
                return input ?? "";
            }
            return own.Contains(name) ? prefix + "." + name : name;
        }

        for (int i = 0; i < inner.Count; i++)
        {
            var (kind, written, where, _, nameLocation) = inner[i];
            var substituted = new List<Argument>();
            foreach (var a in written)
            {
                var b = a;
                if (a.Text is { } text) b = a with { Text = Rename(text, a.Location) };
                if (a.Texts.Count > 0) b = b with { Texts = new EquatableArray<string>(a.Texts.Select((t, k) => Rename(t, a.LocationOfElement(k))).ToArray()) };
                if (a.Number == FiltersParameter || a.Number == UnitsParameter || a.Number == StridesParameter)
                {
                    string parameter = a.Number == FiltersParameter ? "Filters" : a.Number == UnitsParameter ? "Units" : "Strides";
                    int value = Parameter(parameter, parameter == "Strides" ? 1 : 0);
                    if (value == 0)
                        diagnostics.Add(GraphDiagnostic.Create(Descriptors.BlockParameterMissing, location, block.Name, parameter, a.Location?.ToString() ?? block.Name));
                    b = b with { Number = value };
                }
                substituted.Add(b);
            }
            var spec = LayerSpecs.Create(kind, substituted, where) with { UserName = prefix + "." + names[i], UserNameLocation = nameLocation ?? location };
            if (!trainable && spec.Trainable) spec = spec with { Trainable = false, FrozenByUse = true };
            // With From on the [Use], the block's first layer reads that layer instead of the one written before.
            if (i == 0 && from is not null && spec.From is null && spec is not MergeSpec) spec = spec with { From = from };
            layers.Add(spec);
        }
    }

    /// <summary>A Block.* value written outside a block, where nothing replaces it.</summary>
    private static Argument? BlockParameter(List<Argument> arguments) => arguments.FirstOrDefault(a =>
        a.Number == FiltersParameter || a.Number == UnitsParameter || a.Number == StridesParameter
        || a.Text == InputParameter || a.Texts.Contains(InputParameter));

    /// <summary><c>ProjectionBlock</c> → <c>projection_block</c>, as Keras names a model class's instances.</summary>
    private static string Snake(string name)
    {
        var sb = new System.Text.StringBuilder();
        for (int i = 0; i < name.Length; i++)
        {
            if (char.IsUpper(name[i]) && i > 0 && (char.IsLower(name[i - 1]) || i + 1 < name.Length && char.IsLower(name[i + 1]))) sb.Append('_');
            sb.Append(char.ToLowerInvariant(name[i]));
        }
        return sb.ToString();
    }
}
