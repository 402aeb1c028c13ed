using System;
using System.Linq;

namespace Kiln.Generator.Tests;

/// <summary>Graph wirings found by the graph fuzz and the new gradient-check models, reduced to a few layers each.</summary>
public class GraphReaderRegressionTests
{
    /// <summary>
    /// A layer read by a view (Flatten or Reshape: the view's gradient is the layer's own gradient
    /// buffer) and by one more layer (whose part is added afterwards): the part needs a buffer of
    /// its own, not a second constant and local with the view's name.
    /// </summary>
    [Theory]
    [InlineData("[Conv2D(2, 1, Name = \"first\")] [Flatten(Name = \"flat\")] [GlobalAveragePooling2D(From = \"first\")] [Dense(3, Name = \"pooled\")] [Concatenate(\"flat\", \"pooled\")]", "3, 3, 1")]
    [InlineData("[Conv2D(2, 1, Name = \"first\")] [GlobalAveragePooling2D] [Dense(3, Name = \"pooled\")] [Flatten(From = \"first\", Name = \"flat\")] [Concatenate(\"pooled\", \"flat\")]", "3, 3, 1")]
    [InlineData("[Dense(4, Name = \"first\")] [Reshape(2, 2)] [Flatten(Name = \"flat\")] [Dense(4, From = \"first\", Name = \"side\")] [Add(\"flat\", \"side\")]", "4")]
    [InlineData("[Dense(4, Name = \"first\")] [Reshape(4, Name = \"view\")] [Dense(4, From = \"first\", Name = \"side\")] [Concatenate(\"view\", \"side\")]", "4")]
    [InlineData("[Dense(4, Name = \"first\")] [Reshape(4, Name = \"view\")] [Relu(From = \"first\", Name = \"side\")] [Add(\"view\", \"side\")]", "4")]
    public void ALayerReadByAViewAndAnotherLayerCompiles(string layers, string input)
    {
        var result = GeneratorHarness.Run($$"""
            using Kiln;
            namespace Models;
            [Sequential({{input}})]
            {{layers}}
            [Dense(2)]
            [Loss(Loss.MeanSquaredError)]
            public partial class ViewAndBranch { }
            """);
        Assert.Empty(result.GeneratorDiagnostics);
        Assert.True(result.CompilationDiagnostics.IsEmpty, string.Join("\n", result.CompilationDiagnostics.Take(5)));
    }

    /// <summary>
    /// The average of two softmax heads is a probability distribution, so a cross-entropy on it
    /// needs no FromLogits and no Softmax (KILN0204 suggests both, and both would be wrong here).
    /// </summary>
    [Fact]
    public void AnAverageOfSoftmaxHeadsIsAProbability()
    {
        var result = GeneratorHarness.Run("""
            using Kiln;
            namespace Models;
            [Sequential(5)]
            [Dense(6, Activation.Tanh, Name = "features")]
            [Dense(3, Activation.Softmax, Name = "head1")]
            [Dense(3, Activation.Softmax, From = "features", Name = "head2")]
            [Average("head1", "head2")]
            [Loss(Loss.SparseCategoricalCrossentropy)]
            public partial class AveragedHeads { }
            """);
        Assert.Empty(result.GeneratorDiagnostics);
        Assert.Empty(result.CompilationDiagnostics);
    }

    /// <summary>
    /// KILN0110 (a bias right before BatchNormalization) is about the layer the BatchNormalization
    /// reads, not the attribute written above it: here the BN reads 'x' (a ReLU output), and the
    /// biased linear Dense above it feeds the Add.
    /// </summary>
    [Fact]
    public void RedundantBiasLintFollowsTheWiringNotTheAttributeOrder()
    {
        var result = GeneratorHarness.Run("""
            using Kiln;
            namespace Models;
            [Sequential(4)]
            [Dense(4, Activation.Relu, Name = "x")]
            [Dense(4, Name = "linear")]
            [BatchNormalization(From = "x", Name = "bn")]
            [Add("linear", "bn")]
            [Dense(2)]
            [Loss(Loss.MeanSquaredError)]
            public partial class BnOnABranch { }
            """);
        Assert.Empty(result.GeneratorDiagnostics);
        Assert.Empty(result.CompilationDiagnostics);
    }

    /// <summary>The converse: a BatchNormalization that reads a biased linear Dense through From gets KILN0110.</summary>
    [Fact]
    public void RedundantBiasLintSeesABatchNormalizationReadingThroughFrom()
    {
        // 'linear' is read only by the BatchNormalization, through From, with another layer written between them.
        var result = GeneratorHarness.Run("""
            using Kiln;
            namespace Models;
            [Sequential(4)]
            [Dense(4, Activation.Relu, Name = "x")]
            [Dense(4, Name = "linear")]
            [Relu(From = "x", Name = "r")]
            [BatchNormalization(From = "linear", Name = "bn")]
            [Add("r", "bn")]
            [Dense(2)]
            [Loss(Loss.MeanSquaredError)]
            public partial class BnReadsThroughFrom { }
            """);
        var d = Assert.Single(result.GeneratorDiagnostics);
        Assert.Equal("KILN0110", d.Id);
        Assert.Contains("'linear'", d.GetMessage());
    }

    /// <summary>A bias whose output another layer also reads is not redundant, even though a BatchNormalization reads it too.</summary>
    [Fact]
    public void RedundantBiasLintKeepsQuietWhenAnotherLayerReadsTheBias()
    {
        var result = GeneratorHarness.Run("""
            using Kiln;
            namespace Models;
            [Sequential(4)]
            [Dense(4, Name = "linear")]
            [Relu(Name = "r")]
            [BatchNormalization(From = "linear", Name = "bn")]
            [Add("r", "bn")]
            [Dense(2)]
            [Loss(Loss.MeanSquaredError)]
            public partial class BiasReadTwice { }
            """);
        Assert.Empty(result.GeneratorDiagnostics);
        Assert.Empty(result.CompilationDiagnostics);
    }
}
