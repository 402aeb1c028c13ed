using System.Collections.Generic;
using System.Linq;
using Kiln.Graph;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Text;

namespace Kiln.Generator;

/// <summary>The generated file and the diagnostics of one model: strings and records, so the pipeline caches.</summary>
internal sealed record GeneratedModel(string HintName, string? Source, EquatableArray<GraphDiagnostic> Diagnostics);

/// <summary>
/// Finds every <c>[Sequential]</c> class, compiles its attributes through Kiln.Graph, reports
/// the diagnostics at the attributes, and adds the generated forward/backward code.
/// </summary>
[Generator(LanguageNames.CSharp)]
public sealed class KilnGenerator : IIncrementalGenerator
{
    /// <summary>Names of the pipeline steps, for tests that check caching.</summary>
    public const string ReadStep = "Kiln.Read";
    public const string CompileStep = "Kiln.Compile";

    public void Initialize(IncrementalGeneratorInitializationContext context)
    {
        var models = context.SyntaxProvider
            .ForAttributeWithMetadataName(
                "Kiln.SequentialAttribute",
                static (node, _) => node is Microsoft.CodeAnalysis.CSharp.Syntax.ClassDeclarationSyntax,
                ModelReader.Read)
            .WithTrackingName(ReadStep)
            .Select(static (input, _) => Compile(input))
            .WithTrackingName(CompileStep);

        context.RegisterSourceOutput(models, static (spc, model) =>
        {
            foreach (var d in model.Diagnostics)
                spc.ReportDiagnostic(ToRoslyn(d));
            if (model.Source is not null)
                spc.AddSource(model.HintName, SourceText.From(model.Source, System.Text.Encoding.UTF8));
        });
    }

    private static GeneratedModel Compile(ModelInput input)
    {
        var spec = input.Spec!;
        string hint = (spec.Namespace.Length > 0 ? spec.Namespace + "." : "") + spec.ClassName + ".g.cs";
        var diagnostics = new List<GraphDiagnostic>(input.Diagnostics);
        if (diagnostics.Any(d => d.Severity == Severity.Error))
            return new GeneratedModel(hint, null, new EquatableArray<GraphDiagnostic>(diagnostics.ToArray()));
        var compiled = ModelCompiler.Compile(spec);
        diagnostics.AddRange(compiled.Diagnostics);
        string? source = compiled.Program is null ? null : Emitter.Emit(compiled.Program);
        return new GeneratedModel(hint, source, new EquatableArray<GraphDiagnostic>(diagnostics.ToArray()));
    }

    private static readonly Dictionary<string, Microsoft.CodeAnalysis.DiagnosticDescriptor> ById =
        RoslynDescriptors.All.ToDictionary(d => d.Id);

    private static Diagnostic ToRoslyn(GraphDiagnostic d)
    {
        var location = d.Location is { } s
            ? Location.Create(s.FilePath, new TextSpan(s.Start, s.Length), new LinePositionSpan(new LinePosition(s.Line, s.Column), new LinePosition(s.EndLine, s.EndColumn)))
            : Location.None;
        return Diagnostic.Create(ById[d.Id], location, d.Message);
    }
}
