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
    public void AugmentationFactorsReadAsKerasParsesThem()
    {
        var flip = Assert.IsType<RandomFlipSpec>(LayerSpecs.Create(LayerKind.RandomFlip, Array.Empty<Argument>(), null));
        Assert.Equal(FlipModeKind.HorizontalAndVertical, flip.Mode);
        var keras = Assert.IsType<RandomFlipSpec>(LayerSpecs.Create(LayerKind.RandomFlip, new[] { Argument.Of("mode", 0) with { Text = "vertical" } }, null));
        Assert.Equal(FlipModeKind.Vertical, keras.Mode);
        // One factor f is [−|f|, |f|]; a pair is sorted; fill reflect and bilinear by default.
        var rotation = Assert.IsType<RandomRotationSpec>(LayerSpecs.Create(LayerKind.RandomRotation, new[] { Argument.Of("factor", -0.2) }, null));
        Assert.Equal((-0.2, 0.2, FillModeKind.Reflect, InterpolationKind.Bilinear), (rotation.Lower, rotation.Upper, rotation.Fill, rotation.Interpolation));
        var pair = Assert.IsType<RandomRotationSpec>(LayerSpecs.Create(LayerKind.RandomRotation, new[] { Argument.Of("lower", 0.3), Argument.Of("upper", -0.1) }, null));
        Assert.Equal((-0.1, 0.3), (pair.Lower, pair.Upper));
        // RandomZoom with one factor keeps the aspect ratio; RandomContrast's single factor is (0, f) with value range (0, 255).
        var zoom = Assert.IsType<RandomZoomSpec>(LayerSpecs.Create(LayerKind.RandomZoom, new[] { Argument.Of("heightFactor", 0.2) }, null));
        Assert.True(zoom.KeepAspect);
        var contrast = Assert.IsType<RandomContrastSpec>(LayerSpecs.Create(LayerKind.RandomContrast, new[] { Argument.Of("factor", 0.2) }, null));
        Assert.Equal((0, 0.2, 0, 255), (contrast.Lower, contrast.Upper, contrast.ValueRangeLow, contrast.ValueRangeHigh));
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
    public void PositionalArgumentsAreKeras()
    {
        var span = new SourceSpan("M.cs", 20, 1, 0, 20, 0, 21);
        // [Conv2D(64, 7, 2)]: Keras' (filters, kernel_size, strides).
        var conv = Assert.IsType<ConvolutionSpec>(LayerSpecs.Create(LayerKind.Conv2D, new[]
        {
            Argument.Of("filters", 64) with { Positional = true }, Argument.Of("kernelSize", 7) with { Positional = true },
            Argument.Of("strides", 2, span) with { Positional = true },
        }, null));
        Assert.Equal((64, 7, 7, 2, 2), (conv.Filters, conv.KernelHeight, conv.KernelWidth, conv.StrideHeight, conv.StrideWidth));
        Assert.Equal(span, conv.PositionalStrides);
        // [MaxPooling2D(3, 2)]: Keras' (pool_size, strides).
        var pool = Assert.IsType<PoolingSpec>(LayerSpecs.Create(LayerKind.MaxPooling2D, new[]
        {
            Argument.Of("poolSize", 3) with { Positional = true }, Argument.Of("strides", 2, span) with { Positional = true },
        }, null));
        Assert.Equal((3, 3, 2, 2), (pool.PoolHeight, pool.PoolWidth, pool.StrideHeight, pool.StrideWidth));
        // strides: 2 by name is meant, so not a site for KILN0150.
        var named = Assert.IsType<PoolingSpec>(LayerSpecs.Create(LayerKind.MaxPooling2D, new[] { Argument.Of("poolSize", 3), Argument.Of("strides", 2, span) }, null));
        Assert.Null(named.PositionalStrides);
    }

    [Fact]
    public void KernelAndPoolSidesOverrideOneSideOfTheSize()
    {
        var conv = Assert.IsType<ConvolutionSpec>(LayerSpecs.Create(LayerKind.Conv2D, new[]
        {
            Argument.Of("filters", 8), Argument.Of("kernelSize", 7), Argument.Of("KernelWidth", 1),
        }, null));
        Assert.Equal((7, 1), (conv.KernelHeight, conv.KernelWidth));
        var pool = Assert.IsType<PoolingSpec>(LayerSpecs.Create(LayerKind.AveragePooling2D, new[] { Argument.Of("PoolHeight", 1) }, null));
        Assert.Equal((1, 2, 1, 2), (pool.PoolHeight, pool.PoolWidth, pool.StrideHeight, pool.StrideWidth));
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
