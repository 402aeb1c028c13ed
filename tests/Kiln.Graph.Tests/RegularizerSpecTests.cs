using System;
using System.Linq;
using Kiln.Graph;

namespace Kiln.Graph.Tests;

/// <summary>KernelL1/KernelL2/BiasL1/BiasL2: read once into the typed spec, carried on the weights to the program, checked.</summary>
public class RegularizerSpecTests
{
    [Fact]
    public void ArgumentsAreReadIntoTheSpecAndDefaultToNone()
    {
        var dense = Assert.IsType<DenseSpec>(LayerSpecs.Create(LayerKind.Dense, new[] { Argument.Of("units", 4), Argument.Of("KernelL2", 1e-4), Argument.Of("BiasL1", 0.5) }, null));
        Assert.Equal(new RegularizerSpec(0, 1e-4, 0.5, 0), dense.Regularizers);
        var conv = Assert.IsType<ConvolutionSpec>(LayerSpecs.Create(LayerKind.Conv2DTranspose, new[] { Argument.Of("filters", 2), Argument.Of("kernelSize", 3), Argument.Of("KernelL1", 0.01) }, null));
        Assert.Equal(new RegularizerSpec(KernelL1: 0.01), conv.Regularizers);
        var plain = Assert.IsType<DenseSpec>(LayerSpecs.Create(LayerKind.Dense, new[] { Argument.Of("units", 4) }, null));
        Assert.False(plain.Regularizers.Any);
        // Value-equal specs keep the generator's pipeline cached; different factors are different specs.
        Assert.NotEqual(plain, dense);
    }

    [Fact]
    public void FactorsRideOnTheWeightsIntoTheProgram()
    {
        var spec = ModelSpec.Create("M", new[] { 4, 4, 1 }, Models.Loss(LossKind.SparseCategoricalCrossentropy),
            new ConvolutionSpec(false, 2, 3, 3) { Regularizers = new RegularizerSpec(KernelL1: 0.01, KernelL2: 0.02) },
            Models.Flatten(),
            new DenseSpec(3, ActivationKind.Softmax) { Regularizers = new RegularizerSpec(BiasL2: 0.5) });
        var program = Models.Compile(spec);
        var slots = program.Parameters.ToDictionary(p => p.Name, p => (p.Weight.L1, p.Weight.L2));
        Assert.Equal((0.01, 0.02), slots["conv2d/kernel"]);
        Assert.Equal((0.0, 0.0), slots["conv2d/bias"]);
        Assert.Equal((0.0, 0.0), slots["dense/kernel"]);
        Assert.Equal((0.0, 0.5), slots["dense/bias"]);
        Assert.Equal("l1 0.01, l2 0.02", RegularizerSpec.Describe(0.01, 0.02));
    }

    [Theory]
    [InlineData(-1e-4)]
    [InlineData(double.NaN)]
    [InlineData(double.PositiveInfinity)]
    public void NegativeOrNonFiniteFactorIsKiln0160(double bad)
    {
        var spec = ModelSpec.Create("M", new[] { 4 }, null, new DenseSpec(3) { Regularizers = new RegularizerSpec(KernelL2: bad) });
        var compiled = ModelCompiler.Compile(spec);
        var d = Assert.Single(compiled.Diagnostics, x => x.Id == "KILN0160");
        Assert.Contains("Dense 'dense' has KernelL2 = ", d.Message);
        Assert.True(compiled.HasErrors);
    }
}
