using System;
using System.Collections.Generic;
using System.Collections.Immutable;
using System.IO;
using System.Linq;
using Kiln.Generator;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;

namespace Kiln.Generator.Tests;

/// <summary>Runs the generator over source text the way the compiler does, against the real Kiln.Runtime.</summary>
internal static class GeneratorHarness
{
    internal static readonly Lazy<MetadataReference[]> References = new(() =>
    {
        var trusted = ((string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!).Split(Path.PathSeparator);
        return trusted.Select(p => (MetadataReference)MetadataReference.CreateFromFile(p))
            .Append(MetadataReference.CreateFromFile(typeof(Kiln.Model).Assembly.Location))
            .ToArray();
    });

    public static readonly CSharpParseOptions ParseOptions = new(LanguageVersion.Latest);

    public static CSharpCompilation Compilation(params (string Path, string Text)[] files) =>
        CSharpCompilation.Create("UserModels",
            files.Select(f => CSharpSyntaxTree.ParseText(f.Text, ParseOptions, path: f.Path)),
            References.Value,
            new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, nullableContextOptions: NullableContextOptions.Enable,
                generalDiagnosticOption: ReportDiagnostic.Error));

    /// <param name="properties">MSBuild properties as the generator sees them (<c>build_property.X</c>), e.g. KilnMaxParameters.</param>
    /// <param name="generator">A generator to run in place of a plain KilnGenerator (tests of its failure path).</param>
    public static GeneratorDriver Driver(bool trackSteps = false, IReadOnlyDictionary<string, string>? properties = null, IIncrementalGenerator? generator = null) =>
        CSharpGeneratorDriver.Create(new[] { (generator ?? new KilnGenerator()).AsSourceGenerator() }, parseOptions: ParseOptions,
            optionsProvider: properties is null ? null : new Options(properties),
            driverOptions: new GeneratorDriverOptions(IncrementalGeneratorOutputKind.None, trackIncrementalGeneratorSteps: trackSteps));

    /// <summary>Global analyzer options as a project's CompilerVisibleProperty items give them.</summary>
    internal sealed class Options : Microsoft.CodeAnalysis.Diagnostics.AnalyzerConfigOptionsProvider
    {
        private readonly Values global;

        public Options(IReadOnlyDictionary<string, string> properties) =>
            global = new Values(properties.ToDictionary(p => "build_property." + p.Key, p => p.Value));

        public override Microsoft.CodeAnalysis.Diagnostics.AnalyzerConfigOptions GlobalOptions => global;
        public override Microsoft.CodeAnalysis.Diagnostics.AnalyzerConfigOptions GetOptions(SyntaxTree tree) => Values.Empty;
        public override Microsoft.CodeAnalysis.Diagnostics.AnalyzerConfigOptions GetOptions(AdditionalText textFile) => Values.Empty;

        private sealed class Values : Microsoft.CodeAnalysis.Diagnostics.AnalyzerConfigOptions
        {
            public static readonly Values Empty = new(new Dictionary<string, string>());
            private readonly Dictionary<string, string> values;
            public Values(Dictionary<string, string> values) => this.values = values;
            public override bool TryGetValue(string key, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out string? value) => values.TryGetValue(key, out value);
        }
    }

    /// <summary>
    /// Emits <paramref name="compilation"/> (asserting it compiles), loads it into a collectible context named
    /// <paramref name="name"/>, hands the assembly to <paramref name="use"/> and unloads it again.
    /// </summary>
    public static void WithAssembly(Compilation compilation, string name, Action<System.Reflection.Assembly> use)
    {
        using var stream = new MemoryStream();
        var emit = compilation.Emit(stream);
        Assert.True(emit.Success, string.Join("\n", emit.Diagnostics.Take(5)));
        var context = new System.Runtime.Loader.AssemblyLoadContext(name, isCollectible: true);
        try
        {
            stream.Position = 0;
            use(context.LoadFromStream(stream));
        }
        finally
        {
            context.Unload();
        }
    }

    public sealed record Result(
        ImmutableArray<Diagnostic> GeneratorDiagnostics,
        ImmutableArray<Diagnostic> CompilationDiagnostics,
        IReadOnlyDictionary<string, string> Generated,
        Compilation Output);

    public static Result Run(string source, string path = "Models.cs", IReadOnlyDictionary<string, string>? properties = null, IIncrementalGenerator? generator = null) =>
        Run(properties, generator, (path, source));

    public static Result Run(params (string Path, string Text)[] files) => Run(null, files);

    public static Result Run(IReadOnlyDictionary<string, string>? properties, params (string Path, string Text)[] files) => Run(properties, null, files);

    public static Result Run(IReadOnlyDictionary<string, string>? properties, IIncrementalGenerator? generator, params (string Path, string Text)[] files)
    {
        var compilation = Compilation(files);
        var driver = Driver(properties: properties, generator: generator).RunGeneratorsAndUpdateCompilation(compilation, out var output, out var diagnostics);
        var generated = driver.GetRunResult().Results.SelectMany(r => r.GeneratedSources)
            .ToDictionary(s => s.HintName, s => s.SourceText.ToString());
        // Hidden and info diagnostics (unused usings) are not problems; warnings count as errors.
        return new Result(diagnostics, output.GetDiagnostics().Where(d => d.Severity >= DiagnosticSeverity.Warning).ToImmutableArray(), generated, output);
    }
}
