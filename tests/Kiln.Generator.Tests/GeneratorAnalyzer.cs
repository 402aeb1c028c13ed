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
        context.RegisterCompilationAction(c =>
        {
            var parse = c.Compilation.SyntaxTrees.FirstOrDefault()?.Options as CSharpParseOptions ?? GeneratorHarness.ParseOptions;
            CSharpGeneratorDriver.Create(new[] { new KilnGenerator().AsSourceGenerator() }, parseOptions: parse)
                .RunGeneratorsAndUpdateCompilation(c.Compilation, out _, out var diagnostics, c.CancellationToken);
            foreach (var d in diagnostics.Where(d => d.Id.StartsWith("KILN", System.StringComparison.Ordinal)))
                c.ReportDiagnostic(Diagnostic.Create(Descriptors.First(x => x.Id == d.Id), d.Location, d.GetMessage(System.Globalization.CultureInfo.InvariantCulture)));
        });
    }
}
