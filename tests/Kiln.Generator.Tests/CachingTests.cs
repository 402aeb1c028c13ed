using System.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;

namespace Kiln.Generator.Tests;

public class CachingTests
{
    private const string Model = """
        using Kiln;
        namespace Models;
        [Sequential(28, 28)]
        [Flatten]
        [Dense(300, Activation.Relu)]
        [Dense(10, Activation.Softmax)]
        [Loss(Loss.SparseCategoricalCrossentropy)]
        public partial class Mlp { }
        """;

    [Fact]
    public void AnEditElsewhereLeavesEveryStepCached()
    {
        var compilation = GeneratorHarness.Compilation(("Model.cs", Model), ("Other.cs", "namespace Models; public class Other { public int A; }"));
        var driver = GeneratorHarness.Driver(trackSteps: true).RunGenerators(compilation);

        // An unrelated edit: another file changes.
        var other = compilation.SyntaxTrees.Single(t => t.FilePath == "Other.cs");
        var edited = compilation.ReplaceSyntaxTree(other,
            CSharpSyntaxTree.ParseText("namespace Models; public class Other { public int A; public int B; }", GeneratorHarness.ParseOptions, path: "Other.cs"));
        driver = driver.RunGenerators(edited);

        var result = driver.GetRunResult().Results.Single();
        foreach (var step in new[] { KilnGenerator.ReadStep, KilnGenerator.CompileStep })
        {
            var outputs = result.TrackedSteps[step].SelectMany(s => s.Outputs).ToList();
            Assert.NotEmpty(outputs);
            Assert.All(outputs, o => Assert.True(o.Reason is IncrementalStepRunReason.Cached or IncrementalStepRunReason.Unchanged,
                $"step {step} ran again ({o.Reason}) after an unrelated edit"));
        }
        Assert.All(result.TrackedOutputSteps.SelectMany(s => s.Value).SelectMany(s => s.Outputs),
            o => Assert.Equal(IncrementalStepRunReason.Cached, o.Reason));
    }

    [Fact]
    public void EditingTheModelRegenerates()
    {
        var compilation = GeneratorHarness.Compilation(("Model.cs", Model));
        var driver = GeneratorHarness.Driver(trackSteps: true).RunGenerators(compilation);
        var tree = compilation.SyntaxTrees.Single();
        var edited = compilation.ReplaceSyntaxTree(tree,
            CSharpSyntaxTree.ParseText(Model.Replace("Dense(300", "Dense(200"), GeneratorHarness.ParseOptions, path: "Model.cs"));
        driver = driver.RunGenerators(edited);
        var result = driver.GetRunResult().Results.Single();
        Assert.Contains(result.TrackedSteps[KilnGenerator.CompileStep].SelectMany(s => s.Outputs), o => o.Reason == IncrementalStepRunReason.Modified);
        Assert.Contains("(None, 200)", result.GeneratedSources.Single().SourceText.ToString());
    }

    /// <summary>A [Use]d block lives in another file: editing it must regenerate the model that inlines it.</summary>
    [Fact]
    public void EditingABlockRegeneratesTheModelThatUsesIt()
    {
        const string block = """
            using Kiln;
            namespace Models;
            [Block]
            [Dense(Block.Units, Activation.Relu)]
            [Dense(8, Name = "out")]
            public class Head { }
            """;
        const string model = """
            using Kiln;
            namespace Models;
            [Sequential(4)]
            [Dense(6)]
            [Use<Head>(Units = 5, Name = "head")]
            [Loss(Loss.MeanSquaredError)]
            public partial class WithBlock { }
            """;
        var compilation = GeneratorHarness.Compilation(("Model.cs", model), ("Block.cs", block));
        var driver = GeneratorHarness.Driver(trackSteps: true).RunGenerators(compilation);
        Assert.Contains("head.out (Dense)", driver.GetRunResult().Results.Single().GeneratedSources.Single().SourceText.ToString());
        var tree = compilation.SyntaxTrees.Single(t => t.FilePath == "Block.cs");
        var edited = compilation.ReplaceSyntaxTree(tree,
            CSharpSyntaxTree.ParseText(block.Replace("Dense(8", "Dense(7"), GeneratorHarness.ParseOptions, path: "Block.cs"));
        driver = driver.RunGenerators(edited);
        Assert.Contains("(None, 7)", driver.GetRunResult().Results.Single().GeneratedSources.Single().SourceText.ToString());
    }

    [Fact]
    public void TheParameterLimitIsAnInputOfTheCompileStep()
    {
        var compilation = GeneratorHarness.Compilation(("Model.cs", Model));
        var limit = new System.Collections.Generic.Dictionary<string, string> { ["KilnMaxParameters"] = "1000000" };
        var driver = GeneratorHarness.Driver(trackSteps: true, properties: limit).RunGenerators(compilation);
        Assert.Empty(driver.GetRunResult().Diagnostics);

        // The same limit written differently parses to the same value: nothing runs again.
        driver = driver.WithUpdatedAnalyzerConfigOptions(new GeneratorHarness.Options(
            new System.Collections.Generic.Dictionary<string, string> { ["KilnMaxParameters"] = " 1_000_000 " })).RunGenerators(compilation);
        var result = driver.GetRunResult().Results.Single();
        Assert.All(result.TrackedSteps[KilnGenerator.CompileStep].SelectMany(s => s.Outputs),
            o => Assert.Equal(IncrementalStepRunReason.Cached, o.Reason));

        // A lower limit recompiles, and the model (266,610 parameters) is now over it.
        driver = driver.WithUpdatedAnalyzerConfigOptions(new GeneratorHarness.Options(
            new System.Collections.Generic.Dictionary<string, string> { ["KilnMaxParameters"] = "200000" })).RunGenerators(compilation);
        result = driver.GetRunResult().Results.Single();
        Assert.Contains(result.TrackedSteps[KilnGenerator.CompileStep].SelectMany(s => s.Outputs), o => o.Reason == IncrementalStepRunReason.Modified);
        Assert.Equal("KILN0007", Assert.Single(result.Diagnostics).Id);
    }

    [Fact]
    public void GraphEnumsMirrorTheRuntimeEnums()
    {
        // The generator casts attribute enum values to Graph enums by number.
        foreach (var value in System.Enum.GetValues<Kiln.Activation>())
            Assert.Equal(value.ToString(), ((Kiln.Graph.ActivationKind)(int)value).ToString());
        foreach (var value in System.Enum.GetValues<Kiln.Loss>())
            Assert.Equal(value.ToString(), ((Kiln.Graph.LossKind)(int)value).ToString());
        Assert.Equal(System.Enum.GetValues<Kiln.Loss>().Length, System.Enum.GetValues<Kiln.Graph.LossKind>().Length);
        foreach (var value in System.Enum.GetValues<Kiln.FlipMode>())
            Assert.Equal(value.ToString(), ((Kiln.Graph.FlipModeKind)(int)value).ToString());
        foreach (var value in System.Enum.GetValues<Kiln.FillMode>())
            Assert.Equal(value.ToString(), ((Kiln.Graph.FillModeKind)(int)value).ToString());
        foreach (var value in System.Enum.GetValues<Kiln.Interpolation>())
            Assert.Equal(value.ToString(), ((Kiln.Graph.InterpolationKind)(int)value).ToString());
    }
}
