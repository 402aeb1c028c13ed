using System.Collections.Generic;
using System.Collections.Immutable;
using System.Linq;
using System.Threading;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.Diagnostics;

namespace Kiln.Generator.Tests;

/// <summary>
/// A model with errors still gets its public surface (a skeleton whose members throw), so the
/// only errors its user sees are Kiln's; and those errors cannot be configured away.
/// </summary>
public class SkeletonTests
{
    private const string Broken = """
        using Kiln;
        namespace Models;
        [Sequential(28, 28, 1)]
        [Conv2D(8, 3)]
        [Dense(10, Activation.Softmax)]
        [Loss(Loss.SparseCategoricalCrossentropy)]
        public partial class Cnn { }
        """;

    // Every way a Keras user touches a model: constructor, Summary, Fit, Evaluate, Predict, SaveWeights, Definition.
    private const string User = """
        using Kiln;
        namespace Models;
        public static class Program
        {
            public static string Run(Dataset data)
            {
                var model = new Cnn(batchSize: 32, seed: 1);
                model.Fit(data, epochs: 2, optimizer: new Sgd(0.01f), validation: data);
                var result = model.Evaluate(data);
                float[] predictions = model.Predict(data);
                model.SaveWeights("cnn.safetensors");
                long bytes = Cnn.ArenaBytes(32) + Cnn.FlopsPerSample + Cnn.ArenaFloatsPerSample;
                return Cnn.Summary + Cnn.Definition.Name + result + predictions.Length + bytes;
            }
        }
        """;

    [Fact]
    public void UserCodeOfABrokenModelCompilesWithOnlyKilnsError()
    {
        var result = GeneratorHarness.Run(("Cnn.cs", Broken), ("Program.cs", User));
        Assert.Equal("KILN0101", Assert.Single(result.GeneratorDiagnostics).Id);
        Assert.Empty(result.CompilationDiagnostics);
        Assert.Contains("Kiln could not generate Cnn", Assert.Single(result.Generated).Value);
    }

    [Fact]
    public void EveryMemberThrowsNamingTheModelAndItsFirstError()
    {
        var result = GeneratorHarness.Run(("Cnn.cs", Broken), ("Program.cs", User));
        using var stream = new System.IO.MemoryStream();
        Assert.True(result.Output.Emit(stream).Success);
        var assembly = System.Reflection.Assembly.Load(stream.ToArray());
        var type = assembly.GetType("Models.Cnn")!;
        var e = Assert.Throws<System.Reflection.TargetInvocationException>(() => System.Activator.CreateInstance(type, 32, 0));
        var error = Assert.IsType<System.InvalidOperationException>(e.InnerException);
        Assert.Equal("Kiln could not generate 'Cnn' because its attributes have errors; the first: Cnn.cs(5,2): error KILN0101: Dense 'dense' needs one value per sample, but its input is (26, 26, 8); put [Flatten] or [GlobalAveragePooling2D] before it",
            error.Message);
        var summary = Assert.Throws<System.Reflection.TargetInvocationException>(() => type.GetProperty("Summary")!.GetValue(null));
        Assert.Equal(error.Message, summary.InnerException!.Message);
    }

    [Theory]
    [InlineData("public class Cnn { }")]                 // KILN0001: a partial declaration would not compile
    [InlineData("public partial class Cnn<T> { }")]      // KILN0005
    public void NoSkeletonForAClassThatCannotBeDeclared(string declaration)
    {
        var result = GeneratorHarness.Run("using Kiln;\n[Sequential(4)]\n[Dense(2)]\n" + declaration);
        Assert.NotEmpty(result.GeneratorDiagnostics);
        Assert.Empty(result.Generated);
    }

    [Fact]
    public void ErrorsAreNotConfigurableWarningsAre()
    {
        Assert.All(GeneratorAnalyzer.Descriptors, d => Assert.Equal(d.DefaultSeverity == DiagnosticSeverity.Error, d.CustomTags.Contains(WellKnownDiagnosticTags.NotConfigurable)));
    }

    [Theory]
    [InlineData("none")]
    [InlineData("suggestion")]
    [InlineData("warning")]
    public void AnEditorConfigCannotSilenceAnError(string severity)
    {
        // As `dotnet_diagnostic.KILN0101.severity = none` in .editorconfig, and KILN0204 (a warning) likewise.
        var options = new Dictionary<string, ReportDiagnostic> { ["KILN0101"] = Parse(severity), ["KILN0204"] = Parse(severity) };
        var kiln = Analyze(Broken, options);
        var d = Assert.Single(kiln);
        Assert.Equal("KILN0101", d.Id);
        Assert.Equal(DiagnosticSeverity.Error, d.Severity);
    }

    [Fact]
    public void AnEditorConfigStillSilencesAWarning()
    {
        const string logits = "using Kiln;\n[Sequential(4)]\n[Dense(3)]\n[Loss(Loss.CategoricalCrossentropy)]\npublic partial class M { }";
        Assert.Equal("KILN0204", Assert.Single(Analyze(logits, new Dictionary<string, ReportDiagnostic>())).Id);
        Assert.Empty(Analyze(logits, new Dictionary<string, ReportDiagnostic> { ["KILN0204"] = ReportDiagnostic.Suppress }));
    }

    private static ReportDiagnostic Parse(string severity) => severity switch
    {
        "none" => ReportDiagnostic.Suppress,
        "suggestion" => ReportDiagnostic.Info,
        "warning" => ReportDiagnostic.Warn,
        _ => throw new System.ArgumentOutOfRangeException(nameof(severity), severity, "not an .editorconfig severity"),
    };

    /// <summary>The KILN diagnostics the compiler would show, with per-tree severities as an .editorconfig sets them.</summary>
    private static ImmutableArray<Diagnostic> Analyze(string source, Dictionary<string, ReportDiagnostic> severities)
    {
        var compilation = GeneratorHarness.Compilation(("Models.cs", source));
        compilation = compilation.WithOptions(compilation.Options.WithSyntaxTreeOptionsProvider(new TreeOptions(severities)));
        return compilation.WithAnalyzers(ImmutableArray.Create<DiagnosticAnalyzer>(new GeneratorAnalyzer()))
            .GetAnalyzerDiagnosticsAsync().Result
            .Where(d => d.Id.StartsWith("KILN", System.StringComparison.Ordinal)).ToImmutableArray();
    }

    /// <summary>What an .editorconfig's <c>dotnet_diagnostic.ID.severity</c> lines give the compiler for each tree.</summary>
    private sealed class TreeOptions(Dictionary<string, ReportDiagnostic> severities) : SyntaxTreeOptionsProvider
    {
        public override GeneratedKind IsGenerated(SyntaxTree tree, CancellationToken cancellationToken) => GeneratedKind.NotGenerated;

        public override bool TryGetDiagnosticValue(SyntaxTree tree, string diagnosticId, CancellationToken cancellationToken, out ReportDiagnostic severity) =>
            severities.TryGetValue(diagnosticId, out severity);

        public override bool TryGetGlobalDiagnosticValue(string diagnosticId, CancellationToken cancellationToken, out ReportDiagnostic severity) =>
            severities.TryGetValue(diagnosticId, out severity);
    }
}
