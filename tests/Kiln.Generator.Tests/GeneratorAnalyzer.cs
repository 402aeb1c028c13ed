using System.Collections.Immutable;
using System.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.Diagnostics;

namespace Kiln.Generator.Tests;

/// <summary>
/// The generator's diagnostics as an analyzer's, for the tools that take analyzers only:
/// CompilationWithAnalyzers (which applies .editorconfig severities as the compiler does) and
/// the Roslyn code-fix test harness. It runs the real KilnGenerator over the compilation.
/// </summary>
// A test adapter that is never loaded by a compiler, so the rules for shipped analyzers do not apply.
#pragma warning disable RS1036
[DiagnosticAnalyzer(LanguageNames.CSharp)]
public sealed class GeneratorAnalyzer : DiagnosticAnalyzer
#pragma warning restore RS1036
{
    internal static readonly ImmutableArray<DiagnosticDescriptor> Descriptors =
        ((DiagnosticDescriptor[])typeof(KilnGenerator).Assembly.GetType("Kiln.Generator.RoslynDescriptors")!.GetField("All")!.GetValue(null)!)
        .ToImmutableArray();

    public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics => Descriptors;

    public override void Initialize(AnalysisContext context)
    {
        context.ConfigureGeneratedCodeAnalysis(GeneratedCodeAnalysisFlags.None);
        context.EnableConcurrentExecution();
        // The generator runs once per compilation; each diagnostic is reported from its own tree's
        // semantic-model action, so it is local to that document, as the IDE shows generator diagnostics.
        context.RegisterCompilationStartAction(start =>
        {
            var diagnostics = new System.Lazy<ImmutableArray<Diagnostic>>(() =>
            {
                var parse = start.Compilation.SyntaxTrees.FirstOrDefault()?.Options as CSharpParseOptions ?? GeneratorHarness.ParseOptions;
                CSharpGeneratorDriver.Create(new[] { new KilnGenerator().AsSourceGenerator() }, parseOptions: parse)
                    .RunGeneratorsAndUpdateCompilation(start.Compilation, out _, out var found, start.CancellationToken);
                return found;
            });
            start.RegisterSemanticModelAction(c =>
            {
                foreach (var d in diagnostics.Value.Where(d => d.Id.StartsWith("KILN", System.StringComparison.Ordinal) && d.Location.SourceTree == c.SemanticModel.SyntaxTree))
                    c.ReportDiagnostic(Diagnostic.Create(Descriptors.First(x => x.Id == d.Id), d.Location, d.GetMessage(System.Globalization.CultureInfo.InvariantCulture)));
            });
        });
    }
}
