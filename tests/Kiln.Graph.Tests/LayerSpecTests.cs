using System;
using System.Linq;

namespace Kiln.Graph.Tests;

/// <summary>The reader's argument lists become typed specs once, with Keras' defaults, for every layer kind.</summary>
public class LayerSpecTests
{
    [Fact]
    public void EveryLayerKindHasATypedSpecOfThatKind()
    {
        foreach (LayerKind kind in Enum.GetValues(typeof(LayerKind)))
        {
            var spec = LayerSpecs.Create(kind, Array.Empty<Argument>(), null);
            Assert.Equal(kind, spec.Kind);
            Assert.False(string.IsNullOrEmpty(spec.BaseName));
        }
    }

    [Fact]
    public void UnwrittenArgumentsTakeKerasDefaults()
    {
        var bn = Assert.IsType<BatchNormalizationSpec>(LayerSpecs.Create(LayerKind.BatchNormalization, Array.Empty<Argument>(), null));
        Assert.Equal((0.99, 1e-3, true, true), (bn.Momentum, bn.Epsilon, bn.Center, bn.Scale));
        var leaky = Assert.IsType<ActivationSpec>(LayerSpecs.Create(LayerKind.LeakyRelu, Array.Empty<Argument>(), null));
        Assert.Equal(0.3f, leaky.Alpha);
        var pool = Assert.IsType<PoolingSpec>(LayerSpecs.Create(LayerKind.MaxPooling2D, new[] { Argument.Of("poolSize", 3) }, null));
        Assert.Equal((3, 3, 3, 3), (pool.PoolHeight, pool.PoolWidth, pool.StrideHeight, pool.StrideWidth));
        var conv = Assert.IsType<ConvolutionSpec>(LayerSpecs.Create(LayerKind.Conv2D, new[] { Argument.Of("filters", 8), Argument.Of("kernelSize", 3) }, null));
        Assert.Equal((1, 1, PaddingKind.Valid, true), (conv.StrideHeight, conv.StrideWidth, conv.Padding, conv.UseBias));
    }

    [Fact]
    public void StrideHeightOverridesStridesAndTheSiteNamesWhatWasWritten()
    {
        var span = new SourceSpan("M.cs", 10, 5, 0, 10, 0, 15);
        var spec = LayerSpecs.Create(LayerKind.Conv2D, new[]
        {
            Argument.Of("filters", 8), Argument.Of("kernelSize", 3), Argument.Of("Strides", 2, span), Argument.Of("StrideHeight", 1),
        }, null);
        var conv = Assert.IsType<ConvolutionSpec>(spec);
        Assert.Equal((1, 2), (conv.StrideHeight, conv.StrideWidth));
        Assert.Equal("Strides", conv.WrittenName(nameof(ConvolutionSpec.StrideWidth), "?"));
        Assert.Equal(span, conv.LocationOf(nameof(ConvolutionSpec.StrideWidth)));
    }

    [Fact]
    public void SpecsCompareByValue()
    {
        var a = LayerSpecs.Create(LayerKind.Reshape, new[] { Argument.OfInts("targetShape", new[] { 2, 3 }) }, null);
        var b = LayerSpecs.Create(LayerKind.Reshape, new[] { Argument.OfInts("targetShape", new[] { 2, 3 }) }, null);
        var c = LayerSpecs.Create(LayerKind.Reshape, new[] { Argument.OfInts("targetShape", new[] { 3, 2 }) }, null);
        Assert.Equal(a, b);
        Assert.NotEqual(a, c);
        Assert.Equal(new[] { 2, 3 }, ((ReshapeSpec)a).TargetShape.ToArray());
    }
}
