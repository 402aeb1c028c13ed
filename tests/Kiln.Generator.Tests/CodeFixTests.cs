using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Kiln.CodeFixes;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CodeActions;
using Microsoft.CodeAnalysis.CodeFixes;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.Text;

namespace Kiln.Generator.Tests;

/// <summary>
/// The KILN0101 code fix: the generator reports the Dense, the fix's actions run in a workspace,
/// the new text is exactly as expected, and the generator accepts the fixed model.
/// </summary>
public class CodeFixTests
{
    private const string Path = "Models.cs";

    /// <summary>The generator's KILN0101 on the source, and the actions the fix offers for it.</summary>
    private static async Task<(Document Document, List<CodeAction> Actions)> ActionsFor(string source)
    {
        var workspace = new AdhocWorkspace();
        var project = workspace.AddProject(ProjectInfo.Create(ProjectId.CreateNewId(), VersionStamp.Default, "UserModels", "UserModels", LanguageNames.CSharp,
            compilationOptions: new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, nullableContextOptions: NullableContextOptions.Enable),
            parseOptions: GeneratorHarness.ParseOptions,
            metadataReferences: GeneratorHarness.References.Value));
        var document = workspace.AddDocument(DocumentInfo.Create(DocumentId.CreateNewId(project.Id), Path, filePath: Path,
            loader: TextLoader.From(TextAndVersion.Create(SourceText.From(source), VersionStamp.Default))));

        var compilation = (await document.Project.GetCompilationAsync())!;
        GeneratorHarness.Driver().RunGeneratorsAndUpdateCompilation(compilation, out _, out var diagnostics);
        var diagnostic = Assert.Single(diagnostics, d => d.Id == "KILN0101");

        var actions = new List<CodeAction>();
        var fix = new FlattenBeforeDenseCodeFix();
        Assert.Contains("KILN0101", fix.FixableDiagnosticIds);
        await fix.RegisterCodeFixesAsync(new CodeFixContext(document, diagnostic, (action, _) => actions.Add(action), CancellationToken.None));
        return (document, actions);
    }

    private static async Task<string> Apply(Document document, CodeAction action)
    {
        var operation = Assert.Single(await action.GetOperationsAsync(CancellationToken.None));
        var solution = Assert.IsType<ApplyChangesOperation>(operation).ChangedSolution;
        return (await solution.GetDocument(document.Id)!.GetTextAsync()).ToString();
    }

    /// <summary>Both actions on a Dense after a convolution: the exact text of each, and the fixed model compiles clean.</summary>
    private static async Task AssertFixes(string source, string withFlatten, string withPooling)
    {
        var (document, actions) = await ActionsFor(source);
        Assert.Equal(new[] { "Insert [Flatten] before the Dense layer", "Insert [GlobalAveragePooling2D] before the Dense layer" }, actions.Select(a => a.Title));
        Assert.Equal(new[] { FlattenBeforeDenseCodeFix.FlattenKey, FlattenBeforeDenseCodeFix.GlobalAveragePoolingKey }, actions.Select(a => a.EquivalenceKey));
        foreach (var (action, expected) in actions.Zip(new[] { withFlatten, withPooling }))
        {
            string fixedSource = await Apply(document, action);
            Assert.Equal(expected, fixedSource);
            var result = GeneratorHarness.Run(fixedSource, Path);
            Assert.DoesNotContain(result.GeneratorDiagnostics, d => d.Id == "KILN0101");
            Assert.Empty(result.GeneratorDiagnostics);
            Assert.Empty(result.CompilationDiagnostics);
            Assert.Single(result.Generated);
        }
    }

    [Fact]
    public Task AttributesOnTheirOwnLines() => AssertFixes("""
        using Kiln;

        namespace Models
        {
            [Sequential(28, 28, 1)]
            [Conv2D(8, 3, UseBias = false)]
            [Relu]
            // The classifier.
            [Dense(10, Activation.Softmax)]
            [Loss(Loss.SparseCategoricalCrossentropy)]
            public partial class M { }
        }
        """, """
        using Kiln;

        namespace Models
        {
            [Sequential(28, 28, 1)]
            [Conv2D(8, 3, UseBias = false)]
            [Relu]
            // The classifier.
            [Flatten]
            [Dense(10, Activation.Softmax)]
            [Loss(Loss.SparseCategoricalCrossentropy)]
            public partial class M { }
        }
        """, """
        using Kiln;

        namespace Models
        {
            [Sequential(28, 28, 1)]
            [Conv2D(8, 3, UseBias = false)]
            [Relu]
            // The classifier.
            [GlobalAveragePooling2D]
            [Dense(10, Activation.Softmax)]
            [Loss(Loss.SparseCategoricalCrossentropy)]
            public partial class M { }
        }
        """);

    [Fact]
    public Task WindowsLineEndingsStayWindowsLineEndings() => AssertFixes(
        "using Kiln;\r\n[Sequential(8, 8, 1)]\r\n\t[Conv2D(4, 3, UseBias = false)]\r\n\t[Dense(2, Activation.Softmax)]\r\n[Loss(Loss.SparseCategoricalCrossentropy)]\r\npublic partial class M { }\r\n",
        "using Kiln;\r\n[Sequential(8, 8, 1)]\r\n\t[Conv2D(4, 3, UseBias = false)]\r\n\t[Flatten]\r\n\t[Dense(2, Activation.Softmax)]\r\n[Loss(Loss.SparseCategoricalCrossentropy)]\r\npublic partial class M { }\r\n",
        "using Kiln;\r\n[Sequential(8, 8, 1)]\r\n\t[Conv2D(4, 3, UseBias = false)]\r\n\t[GlobalAveragePooling2D]\r\n\t[Dense(2, Activation.Softmax)]\r\n[Loss(Loss.SparseCategoricalCrossentropy)]\r\npublic partial class M { }\r\n");

    [Fact]
    public Task AttributesOnOneLine() => AssertFixes("""
        using Kiln;
        [Sequential(8, 8, 1)] [MaxPooling2D(2)] [Dense(2, Activation.Softmax)] [Loss(Loss.SparseCategoricalCrossentropy)]
        public partial class M { }
        """, """
        using Kiln;
        [Sequential(8, 8, 1)] [MaxPooling2D(2)] [Flatten] [Dense(2, Activation.Softmax)] [Loss(Loss.SparseCategoricalCrossentropy)]
        public partial class M { }
        """, """
        using Kiln;
        [Sequential(8, 8, 1)] [MaxPooling2D(2)] [GlobalAveragePooling2D] [Dense(2, Activation.Softmax)] [Loss(Loss.SparseCategoricalCrossentropy)]
        public partial class M { }
        """);

    [Fact]
    public Task AttributesInOneList() => AssertFixes("""
        using Kiln;
        [Sequential(8, 8, 1), Conv2D(4, 3, UseBias = false), Dense(2, Activation.Softmax), Loss(Loss.SparseCategoricalCrossentropy)]
        public partial class M { }
        """, """
        using Kiln;
        [Sequential(8, 8, 1), Conv2D(4, 3, UseBias = false), Flatten, Dense(2, Activation.Softmax), Loss(Loss.SparseCategoricalCrossentropy)]
        public partial class M { }
        """, """
        using Kiln;
        [Sequential(8, 8, 1), Conv2D(4, 3, UseBias = false), GlobalAveragePooling2D, Dense(2, Activation.Softmax), Loss(Loss.SparseCategoricalCrossentropy)]
        public partial class M { }
        """);

    [Fact]
    public Task QualifiedAttributesGetAQualifiedLayer() => AssertFixes("""
        [Kiln.Sequential(8, 8, 1)]
        [Kiln.Conv2D(4, 3, UseBias = false)]
        [Kiln.Dense(2, Kiln.Activation.Softmax)]
        [Kiln.Loss(Kiln.Loss.SparseCategoricalCrossentropy)]
        public partial class M { }
        """, """
        [Kiln.Sequential(8, 8, 1)]
        [Kiln.Conv2D(4, 3, UseBias = false)]
        [Kiln.Flatten]
        [Kiln.Dense(2, Kiln.Activation.Softmax)]
        [Kiln.Loss(Kiln.Loss.SparseCategoricalCrossentropy)]
        public partial class M { }
        """, """
        [Kiln.Sequential(8, 8, 1)]
        [Kiln.Conv2D(4, 3, UseBias = false)]
        [Kiln.GlobalAveragePooling2D]
        [Kiln.Dense(2, Kiln.Activation.Softmax)]
        [Kiln.Loss(Kiln.Loss.SparseCategoricalCrossentropy)]
        public partial class M { }
        """);

    [Fact]
    public async Task AFlatMatrixInputIsOfferedFlattenOnly()
    {
        // (28, 28) is not an image with channels: global pooling would not apply.
        var (document, actions) = await ActionsFor("""
            using Kiln;
            [Sequential(28, 28)]
            [Dense(10, Activation.Softmax)]
            [Loss(Loss.SparseCategoricalCrossentropy)]
            public partial class M { }
            """);
        var action = Assert.Single(actions);
        Assert.Equal("Insert [Flatten] before the Dense layer", action.Title);
        Assert.Equal("""
            using Kiln;
            [Sequential(28, 28)]
            [Flatten]
            [Dense(10, Activation.Softmax)]
            [Loss(Loss.SparseCategoricalCrossentropy)]
            public partial class M { }
            """, await Apply(document, action));
    }

    [Fact]
    public void TheGeneratorAndTheFixAgreeOnTheId() =>
        Assert.Equal(Kiln.Graph.Descriptors.DenseOnRankAboveOne.Id, new FlattenBeforeDenseCodeFix().FixableDiagnosticIds.Single());
}
