using System;
using System.IO;
using System.Linq;
using System.Runtime.CompilerServices;

namespace Kiln.Generator.Tests;

/// <summary>
/// The generated code of every sample model is an approved file, reviewed in diffs. Set
/// KILN_APPROVE=1 to rewrite the approved files on purpose after a reviewed change.
/// </summary>
public class SnapshotTests
{
    public static string SourcePath(string file, [CallerFilePath] string self = "") =>
        Path.Combine(Path.GetDirectoryName(self)!, file);

    private static string RepositoryPath(string relative) => Path.GetFullPath(Path.Combine(SourcePath(""), "..", "..", relative));

    [Theory]
    [InlineData("samples/FashionMnist/FashionMlp.cs")]
    [InlineData("samples/FashionMnistCnn/FashionCnn.cs")]
    [InlineData("samples/ImageFolderClassifier/PetsCnn.cs")]
    [InlineData("samples/Gan/GanModels.cs")]
    [InlineData("samples/FashionMnistResNet/FashionResNet.cs")]
    [InlineData("tests/Kiln.EndToEnd.Tests/GraphModels.cs")]
    [InlineData("tests/Kiln.EndToEnd.Tests/ChannelsFirstModels.cs")]
    [InlineData("tests/Kiln.EndToEnd.Tests/AugmentedCnnModel.cs")]
    [InlineData("tests/Kiln.EndToEnd.Tests/RegularizerModels.cs")]
    [InlineData("tests/Kiln.Distributed.Worker/ReplicaModels.cs")]
    public void GeneratedCodeMatchesTheApprovedFiles(string modelFile)
    {
        string source = File.ReadAllText(RepositoryPath(modelFile));
        var result = GeneratorHarness.Run(source, Path.GetFileName(modelFile));
        Assert.Empty(result.GeneratorDiagnostics);
        Assert.Empty(result.CompilationDiagnostics);
        Assert.NotEmpty(result.Generated);
        foreach (var (hint, text) in result.Generated)
        {
            // One approved file per model, named after the class (hint names are Namespace.Class.g.cs).
            string name = Path.GetFileNameWithoutExtension(Path.GetFileNameWithoutExtension(hint));
            name = name.Substring(name.LastIndexOf('.') + 1);
            Compare(name, text.ReplaceLineEndings("\n"));
        }
    }

    private static void Compare(string name, string generated)
    {
        string approvedPath = SourcePath(Path.Combine("Approved", name + ".g.cs"));
        if (Environment.GetEnvironmentVariable("KILN_APPROVE") == "1")
        {
            Directory.CreateDirectory(Path.GetDirectoryName(approvedPath)!);
            File.WriteAllText(approvedPath, generated);
        }
        Assert.True(File.Exists(approvedPath), $"no approved file {approvedPath}; review the output and run with KILN_APPROVE=1");
        string approved = File.ReadAllText(approvedPath).ReplaceLineEndings("\n");
        if (approved != generated)
        {
            File.WriteAllText(Path.ChangeExtension(approvedPath, ".received.cs"), generated);
            var approvedLines = approved.Split('\n');
            var generatedLines = generated.Split('\n');
            int line = Enumerable.Range(0, Math.Min(approvedLines.Length, generatedLines.Length))
                .FirstOrDefault(i => approvedLines[i] != generatedLines[i], Math.Min(approvedLines.Length, generatedLines.Length));
            Assert.Fail($"generated code for {name} differs from {approvedPath} at line {line + 1}:\n" +
                $"approved: {(line < approvedLines.Length ? approvedLines[line] : "<end>")}\n" +
                $"received: {(line < generatedLines.Length ? generatedLines[line] : "<end>")}\n" +
                "The received file is beside it; review the diff and run with KILN_APPROVE=1 to accept.");
        }
    }
}
