using System.Collections.Generic;
using System.Linq;
using Kiln.Graph;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Text;

namespace Kiln.Generator;

/// <summary>The generated file and the diagnostics of one model: strings and records, so the pipeline caches.</summary>
internal sealed record GeneratedModel(string HintName, string? Source, EquatableArray<GraphDiagnostic> Diagnostics, SourceTrees Trees);

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
    public const string OptionsStep = "Kiln.Options";

    /// <summary>The MSBuild property that sets the parameter count above which KILN0007 warns.</summary>
    public const string MaxParametersProperty = "build_property.KilnMaxParameters";

    /// <summary>The MSBuild property that sets the arena bytes (at batch 32) above which KILN0013 warns.</summary>
    public const string MaxArenaBytesProperty = "build_property.KilnMaxArenaBytes";

    /// <summary>The limit from the project, or the default when it is unset or not a whole number; 0 or less turns the check off.</summary>
    internal static long ReadMaxParameters(Microsoft.CodeAnalysis.Diagnostics.AnalyzerConfigOptions options) =>
        ReadLong(options, MaxParametersProperty, ModelSpec.DefaultMaxParameters);

    private static long ReadLong(Microsoft.CodeAnalysis.Diagnostics.AnalyzerConfigOptions options, string property, long fallback) =>
        options.TryGetValue(property, out var text)
        && long.TryParse(text.Trim().Replace("_", ""), System.Globalization.NumberStyles.AllowLeadingSign, System.Globalization.CultureInfo.InvariantCulture, out long value)
            ? value
            : fallback;

    private readonly System.Func<ModelSpec, CompiledModel> _compile;

    public KilnGenerator()
        : this(ModelCompiler.Compile)
    {
    }

    /// <summary>For tests: runs <paramref name="compile"/> in place of the Graph passes, e.g. one that throws.</summary>
    internal KilnGenerator(System.Func<ModelSpec, CompiledModel> compile) => _compile = compile;

    public void Initialize(IncrementalGeneratorInitializationContext context)
    {
        var compile = _compile;
        var sequential = Models(context, "Kiln.SequentialAttribute", ModelReader.Read);
        // A model with several inputs declares them with [Input] instead of [Sequential].
        var functional = Models(context, "Kiln.InputAttribute", ModelReader.ReadFunctional);

        // The project's <KilnMaxParameters> and <KilnMaxArenaBytes> (made visible by build/Kiln.props):
        // two longs, so an edit elsewhere in the project file leaves the compile step cached.
        var maxParameters = context.AnalyzerConfigOptionsProvider
            .Select(static (options, _) => new Limits(ReadMaxParameters(options.GlobalOptions),
                ReadLong(options.GlobalOptions, MaxArenaBytesProperty, ModelSpec.DefaultMaxArenaBytes)))
            .WithTrackingName(OptionsStep);

        foreach (var models in new[] { sequential, functional })
        {
            var compiled = models
                .Combine(maxParameters)
                .Select((pair, _) => Compile(pair.Left, pair.Right, compile))
                .WithTrackingName(CompileStep);

            context.RegisterSourceOutput(compiled, static (spc, model) =>
            {
                foreach (var d in model.Diagnostics)
                    spc.ReportDiagnostic(ToRoslyn(d, model.Trees));
                if (model.Source is not null)
                    spc.AddSource(model.HintName, SourceText.From(model.Source, System.Text.Encoding.UTF8));
            });
        }
    }

    private static IncrementalValuesProvider<ModelInput> Models(IncrementalGeneratorInitializationContext context, string attribute,
        System.Func<GeneratorAttributeSyntaxContext, System.Threading.CancellationToken, ModelInput> read) =>
        context.SyntaxProvider
            .ForAttributeWithMetadataName(attribute, static (node, _) => node is Microsoft.CodeAnalysis.CSharp.Syntax.ClassDeclarationSyntax, read)
            .WithTrackingName(ReadStep);

    private sealed record Limits(long MaxParameters, long MaxArenaBytes);

    private static GeneratedModel Compile(ModelInput input, Limits limits, System.Func<ModelSpec, CompiledModel> compile)
    {
        if (input.Spec is null)
            return new GeneratedModel("", null, input.Diagnostics, input.Trees);
        var spec = input.Spec with { MaxParameters = limits.MaxParameters, MaxArenaBytes = limits.MaxArenaBytes };
        string hint = (spec.Namespace.Length > 0 ? spec.Namespace + "." : "") + spec.ClassName + ".g.cs";
        var diagnostics = new List<GraphDiagnostic>(input.Diagnostics);
        string? source = null;
        if (!diagnostics.Any(d => d.Severity == Severity.Error))
        {
            try
            {
                var compiled = compile(spec);
                diagnostics.AddRange(compiled.Diagnostics);
                source = compiled.Program is null ? null : Emitter.Emit(compiled.Program);
            }
            catch (System.Exception e) when (e is not System.OperationCanceledException)
            {
                // A bug in Kiln, not in the model: say so at the model, and generate the skeleton below.
                diagnostics.Add(Failure(spec.ClassName, spec.ClassLocation, e));
                source = null;
            }
        }
        if (source is null && diagnostics.FirstOrDefault(d => d.Severity == Severity.Error) is { } first && CanDeclare(diagnostics))
            source = Emitter.Skeleton(spec, first);
        return new GeneratedModel(hint, source, new EquatableArray<GraphDiagnostic>(diagnostics.ToArray()), input.Trees);
    }

    /// <summary>
    /// Whether a partial declaration of the class compiles at all: not when it is not partial
    /// (KILN0001) or is nested, generic, static, abstract or has another base (KILN0005).
    /// </summary>
    private static bool CanDeclare(List<GraphDiagnostic> diagnostics) =>
        !diagnostics.Any(d => d.Id == Descriptors.NotPartial.Id || d.Id == Descriptors.UnsupportedDeclaration.Id);

    /// <summary>KILN0008 for an exception Kiln threw while reading or compiling <paramref name="className"/>: its type and message, on one line.</summary>
    internal static GraphDiagnostic Failure(string className, SourceSpan? location, System.Exception e)
    {
        string message = string.Join(" ", e.Message.Split(new[] { '\r', '\n' }, System.StringSplitOptions.RemoveEmptyEntries)).Trim();
        return GraphDiagnostic.Create(Descriptors.GeneratorFailure, location, className, e.GetType().FullName ?? e.GetType().Name, message);
    }

    private static readonly Dictionary<string, Microsoft.CodeAnalysis.DiagnosticDescriptor> ById =
        RoslynDescriptors.All.ToDictionary(d => d.Id);

    /// <summary>Inside the declaring tree when it is known (so #pragma and code fixes apply), else at the file path.</summary>
    private static Diagnostic ToRoslyn(GraphDiagnostic d, SourceTrees trees)
    {
        var location = d.Location is not { } s ? Location.None
            : trees.Find(s.FilePath) is { } tree ? Location.Create(tree, new TextSpan(s.Start, s.Length))
            : Location.Create(s.FilePath, new TextSpan(s.Start, s.Length), new LinePositionSpan(new LinePosition(s.Line, s.Column), new LinePosition(s.EndLine, s.EndColumn)));
        return Diagnostic.Create(ById[d.Id], location, d.Message);
    }
}
