using System.Collections.Generic;
using System.Linq;
using Microsoft.CodeAnalysis;

namespace Kiln.Generator.Tests;

/// <summary>
/// Models too large for the runtime's buffers are build errors at the layer responsible
/// (KILN0012), counts are exact past int.MaxValue, and a large activation arena warns (KILN0013).
/// </summary>
public class CapacityTests
{
    private static readonly Dictionary<string, string> NoParameterLimit = new() { ["KilnMaxParameters"] = "0" };

    private static string Message(Diagnostic d) => d.GetMessage(System.Globalization.CultureInfo.InvariantCulture);

    [Fact]
    public void TheLimitIsTheRuntimes()
    {
        // Model's constructor refuses arrays above Array.MaxLength - 64 floats.
        Assert.Equal(Kiln.Graph.Lowering.MaxBufferFloats, System.Array.MaxLength - 64L);
    }

    [Fact]
    public void ADenseOnAFlattenedImageIsCountedExactlyAndReportedAtTheDense()
    {
        // 196,608 x 100,000 + 100,000 = 19,660,900,000 parameters in the first Dense: once reported as 2,147,583,647.
        const string source = """
            using Kiln;
            namespace Models;
            [Sequential(256, 256, 3)]
            [Flatten]
            [Dense(100000)]
            [Dense(10, Activation.Softmax)]
            [Loss(Loss.SparseCategoricalCrossentropy)]
            public partial class Huge { }
            """;
        var result = GeneratorHarness.Run(source);
        var tooMany = Assert.Single(result.GeneratorDiagnostics, d => d.Id == "KILN0007");
        Assert.StartsWith("'Huge' has 19,661,900,010 parameters, more than the limit of 100,000,000; the largest layer is Dense 'dense' with 19,660,900,000", Message(tooMany));
        var tooLarge = Assert.Single(result.GeneratorDiagnostics, d => d.Id == "KILN0012");
        Assert.Equal("'Huge' needs 19,661,900,016 floats of trainable parameters in one buffer, more than the 2,147,483,527 one .NET array can hold; Dense 'dense' is the largest part with 19,660,900,000: make it smaller (a pooling layer or fewer units/filters)",
            Message(tooLarge));
        string dense = "Dense(100000)";
        Assert.Equal(source.IndexOf(dense, System.StringComparison.Ordinal), tooMany.Location.SourceSpan.Start);
        Assert.Equal(source.IndexOf(dense, System.StringComparison.Ordinal), tooLarge.Location.SourceSpan.Start);
        Assert.Equal(dense.Length, tooLarge.Location.SourceSpan.Length);
    }

    [Fact]
    public void AnActivationTooLargeForOneBufferIsReportedAtTheFirstLayerThatReadsIt()
    {
        var result = GeneratorHarness.Run("""
            using Kiln;
            namespace Models;
            [Sequential(50000, 50000)]
            [Flatten]
            [Dense(1)]
            public partial class Wide { }
            """, properties: NoParameterLimit);
        var d = Assert.Single(result.GeneratorDiagnostics);
        Assert.Equal("KILN0012", d.Id);
        Assert.Equal("'Wide' needs 2,500,000,000 floats of one sample's activation in one buffer, more than the 2,147,483,527 one .NET array can hold; Flatten 'flatten' is the largest part with 2,500,000,000: make it smaller (a pooling layer or fewer units/filters)",
            Message(d));
    }

    [Fact]
    public void AHugeActivationIsNotAlsoMiscountedAsParameters()
    {
        // The Dense after the Flatten was sized from a saturated dimension: KILN0007 would print a wrong count.
        var result = GeneratorHarness.Run("using Kiln;\n[Sequential(50000, 50000)]\n[Flatten]\n[Dense(1)]\npublic partial class Wide { }");
        Assert.Equal("KILN0012", Assert.Single(result.GeneratorDiagnostics).Id);
    }

    [Fact]
    public void AnArenaTooLargeForOneSampleIsAnError()
    {
        // Each activation fits, but the input kept for backward, the ReLU output and their gradients together do not.
        var result = GeneratorHarness.Run("""
            using Kiln;
            namespace Models;
            [Sequential(35000, 35000)]
            [Relu]
            [Flatten]
            [Dense(1)]
            public partial class Deep { }
            """, properties: NoParameterLimit);
        var d = Assert.Single(result.GeneratorDiagnostics);
        Assert.Equal("KILN0012", d.Id);
        Assert.Contains("floats of activations and scratch (the arena) for one sample in one buffer", Message(d));
        Assert.Contains("ReLU 're_lu' is the largest part with 1,225,000,000", Message(d));
    }

    [Theory]
    [InlineData("[Conv2DTranspose(4, int.MaxValue)]")]      // (6 - 1) + int.MaxValue rows once wrapped to a negative size
    [InlineData("[UpSampling2D(int.MaxValue)]")]
    [InlineData("[ZeroPadding2D(int.MaxValue)]")]
    public void AbsurdSizesAreKilnErrorsNotCrashes(string layer)
    {
        var result = GeneratorHarness.Run("using Kiln;\n[Sequential(6, 6, 3)]\n" + layer + "\n[Flatten]\n[Dense(1)]\npublic partial class M { }",
            properties: NoParameterLimit);
        Assert.Equal("KILN0012", Assert.Single(result.GeneratorDiagnostics).Id);
        Assert.Empty(result.CompilationDiagnostics);
    }

    [Fact]
    public void TheVggSeedWarnsAboutItsArenaAtBatch32AtItsLargestActivation()
    {
        // 1.99 GB since max poolings take their convolution's ReLU derivative (the convolutions' outputs die in forward): under the default 2 GB, over 1.5.
        var result = GeneratorHarness.Run(SeedModelTests.VggSource, properties: new Dictionary<string, string> { ["KilnMaxArenaBytes"] = "1500000000" });
        var d = Assert.Single(result.GeneratorDiagnostics, x => x.Id == "KILN0013");
        Assert.Equal(DiagnosticSeverity.Warning, d.DefaultSeverity);
        Assert.Equal("'Vgg' needs about 1.99 GB of activations and scratch at batch size 32 (62.3 MB per sample), more than the limit of 1.50 GB; the largest activation is Conv2D 'conv2d' with 4,129,024 floats per sample: shrink it (strides or pooling earlier), construct the model with a smaller batchSize, or raise <KilnMaxArenaBytes> in the project file",
            Message(d));
        Assert.StartsWith("Conv2D(64, 3, ", d.Location.SourceTree!.ToString().Substring(d.Location.SourceSpan.Start));
    }

    [Theory]
    [InlineData("0")]
    [InlineData("3000000000")]
    public void AnArenaLimitThatDoesNotApply(string limit)
    {
        var result = GeneratorHarness.Run(SeedModelTests.VggSource, properties: new Dictionary<string, string> { ["KilnMaxArenaBytes"] = limit });
        Assert.DoesNotContain(result.GeneratorDiagnostics, d => d.Id == "KILN0013");
        Assert.Single(result.Generated);
    }
}
