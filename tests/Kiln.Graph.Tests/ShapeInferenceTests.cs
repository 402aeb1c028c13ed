using System.Collections.Generic;
using System.Linq;
using Kiln.Graph;
using static Kiln.Graph.Tests.Models;

namespace Kiln.Graph.Tests;

public class ShapeInferenceTests
{
    [Fact]
    public void SeedMlpHasKerasShapesAndParameterCounts()
    {
        var program = Compile(FashionMlp());
        var layers = program.Graph.Layers;
        Assert.Equal(new[] { "flatten", "dense", "dense_1", "dense_2" }, layers.Select(l => l.Name));
        Assert.Equal(new[] { "(None, 784)", "(None, 300)", "(None, 100)", "(None, 10)" }, layers.Select(l => l.Output.ToKeras()));
        Assert.Equal(new long[] { 0, 235_500, 30_100, 1_010 }, layers.Select(l => l.ParameterCount));
        Assert.Equal(266_610, program.Graph.TotalParameters);
        Assert.Equal(266_610, program.Graph.TrainableParameters);
        // 2·in·out for the GEMM, plus the bias add and the activation per unit.
        Assert.Equal(2L * 784 * 300 + 300 + 300, layers[1].Flops);
    }

    [Fact]
    public void LayersAreNamedLikeKeras()
    {
        var spec = ModelSpec.Create("M", new[] { 4 }, null,
            Dense(4), Relu(), Dense(4), LeakyRelu(), Sigmoid(), Tanh(), Dropout(0.5), Dense(4), Softmax(), Reshape(2, 2));
        var names = Compile(spec).Graph.Layers.Select(l => $"{l.Name} ({l.TypeName})");
        Assert.Equal(new[]
        {
            "dense (Dense)", "re_lu (ReLU)", "dense_1 (Dense)", "leaky_re_lu (LeakyReLU)", "activation (Activation)",
            "activation_1 (Activation)", "dropout (Dropout)", "dense_2 (Dense)", "softmax (Softmax)", "reshape (Reshape)",
        }, names);
    }

    [Fact]
    public void UserNamesReplaceGeneratedOnes()
    {
        var spec = ModelSpec.Create("M", new[] { 4 }, null, Dense(4) with { UserName = "hidden" }, Dense(2));
        Assert.Equal(new[] { "hidden", "dense" }, Compile(spec).Graph.Layers.Select(l => l.Name));
    }

    [Fact]
    public void DenseWithoutBiasHasOnlyAKernel()
    {
        var layer = Compile(ModelSpec.Create("M", new[] { 7 }, null, Dense(3, useBias: false))).Graph.Layers[0];
        Assert.Equal(21, layer.ParameterCount);
        Assert.Equal(new[] { "kernel" }, layer.Weights.Select(w => w.Suffix));
    }

    [Fact]
    public void ReshapeAndFlattenKeepTheElementCount()
    {
        // Shape inference alone: a model of views only is KILN0015 once compiled.
        var diagnostics = new List<GraphDiagnostic>();
        var graph = ShapeInference.Run(ModelSpec.Create("M", new[] { 6, 4 }, null, Reshape(3, 8), Flatten(), Reshape(2, 2, 6)), diagnostics)!;
        Assert.Empty(diagnostics);
        Assert.Equal(new[] { "(3, 8)", "(24)", "(2, 2, 6)" }, graph.Layers.Select(l => l.Output.ToString()));
    }

    [Fact]
    public void OneMistakeGivesOneDiagnostic()
    {
        // Dense on a 2-D input stops inference: the layers after it are not checked against a wrong shape.
        var diagnostics = new List<GraphDiagnostic>();
        var graph = ShapeInference.Run(ModelSpec.Create("M", new[] { 28, 28 }, Loss(LossKind.SparseCategoricalCrossentropy),
            Dense(10), Dense(0), Dense(10, ActivationKind.Softmax)), diagnostics);
        Assert.Null(graph);
        var d = Assert.Single(diagnostics);
        Assert.Equal("KILN0101", d.Id);
    }

    [Theory]
    [InlineData(LossKind.BinaryCrossentropy, 10, ActivationKind.Softmax, false, "KILN0202")]
    [InlineData(LossKind.SparseCategoricalCrossentropy, 1, ActivationKind.Sigmoid, false, "KILN0202")]
    [InlineData(LossKind.CategoricalCrossentropy, 5, ActivationKind.Sigmoid, false, "KILN0202")]
    [InlineData(LossKind.SparseCategoricalCrossentropy, 10, ActivationKind.Softmax, true, "KILN0203")]
    [InlineData(LossKind.BinaryCrossentropy, 1, ActivationKind.Sigmoid, true, "KILN0203")]
    [InlineData(LossKind.SparseCategoricalCrossentropy, 10, ActivationKind.Linear, false, "KILN0204")]
    [InlineData(LossKind.BinaryCrossentropy, 3, ActivationKind.Relu, false, "KILN0204")]
    [InlineData(LossKind.SparseCategoricalCrossentropy, 10, ActivationKind.Linear, true, null)]
    [InlineData(LossKind.BinaryCrossentropy, 4, ActivationKind.Sigmoid, false, null)]
    [InlineData(LossKind.MeanSquaredError, 3, ActivationKind.Linear, false, null)]
    [InlineData(LossKind.MeanSquaredError, 3, ActivationKind.Softmax, false, null)]
    public void LossMustFitTheOutput(LossKind loss, int units, ActivationKind activation, bool fromLogits, string? expected)
    {
        var compiled = ModelCompiler.Compile(ModelSpec.Create("M", new[] { 4 }, Loss(loss, fromLogits), Dense(units, activation)));
        if (expected is null) Assert.Empty(compiled.Diagnostics);
        else Assert.Equal(expected, Assert.Single(compiled.Diagnostics).Id);
    }
}
