using System.Collections.Generic;
using System.Linq;
using Kiln.Graph;
using static Kiln.Graph.Tests.Models;

namespace Kiln.Graph.Tests;

/// <summary>A channels-first [Sequential]: the layers see (H, W, C), and the program transposes the input once, in the arena.</summary>
public class ChannelsFirstTests
{
    private static ModelSpec Cnn(bool channelsFirst, params int[] shape) =>
        ModelSpec.Create("M", shape, Loss(LossKind.SparseCategoricalCrossentropy),
            new ConvolutionSpec(false, 4, 3, 3, Padding: PaddingKind.Same), new GlobalPoolingSpec(false), Dense(3, ActivationKind.Softmax))
        with { ChannelsFirst = channelsFirst };

    [Fact]
    public void LayersReadChannelsLastAndTheDeclaredShapeIsKept()
    {
        var program = Compile(Cnn(true, 3, 32, 32));
        Assert.Equal(new[] { 32, 32, 3 }, program.Graph.Input.Dims);
        Assert.Equal(new[] { 3, 32, 32 }, program.Graph.DeclaredInput.Dims);
        Assert.Equal(new[] { 32, 32, 3 }, program.Graph.Layers[0].Input.Dims);
        Assert.StartsWith("Model: \"M\"\nInput: (None, 3, 32, 32) channels first, transposed once to (None, 32, 32, 3)\n", Summary.Render(program));
    }

    [Fact]
    public void TheInputIsTransposedFirstAndItsGradientLast()
    {
        var program = Compile(Cnn(true, 3, 8, 8));
        var transpose = program.Forward[0];
        Assert.Equal(StepKind.TransposeInput, transpose.Kind);
        Assert.Equal(BufferRole.Input, transpose.X!.Role);
        Assert.True(transpose.Y!.InArena);
        // Every layer reads the arena copy; none reads the caller's span, so no saved copy is made.
        Assert.DoesNotContain(program.Forward.Skip(1), s => s.Reads().Any(b => b.Root.Role == BufferRole.Input));
        Assert.DoesNotContain(program.Forward, s => s.Kind == StepKind.SaveInput);
        var back = program.Backward[^1];
        Assert.Equal(StepKind.TransposeInputBackward, back.Kind);
        Assert.Equal(BufferRole.InputGradient, back.DX!.Role);
        Assert.True(back.OnlyForInputGradient);
        Assert.Same(program.Backward[^2].DX, back.DY);
    }

    [Fact]
    public void ChannelsFirstNeedsThreeDimensions()
    {
        var compiled = ModelCompiler.Compile(ModelSpec.Create("M", new[] { 784 }, null, Dense(3)) with { ChannelsFirst = true });
        Assert.Equal("KILN0156", Assert.Single(compiled.Diagnostics).Id);
    }

    public static IEnumerable<object[]> Shapes() => new[]
    {
        new object[] { new[] { 3, 32, 32 }, true },
        new object[] { new[] { 1, 28, 28 }, true },
        new object[] { new[] { 4, 16, 8 }, true },
        new object[] { new[] { 32, 32, 3 }, false },
        new object[] { new[] { 3, 4, 5 }, false },   // too small to be an image
        new object[] { new[] { 2, 32, 32 }, false },  // 2 is not a usual channel count
    };

    [Theory]
    [MemberData(nameof(Shapes))]
    public void Kiln0155FlagsShapesThatLookChannelsFirst(int[] shape, bool flagged)
    {
        var compiled = ModelCompiler.Compile(Cnn(false, shape));
        Assert.Equal(flagged, compiled.Diagnostics.Any(d => d.Id == "KILN0155"));
        Assert.DoesNotContain(ModelCompiler.Compile(Cnn(true, shape)).Diagnostics, d => d.Id == "KILN0155");
    }
}
