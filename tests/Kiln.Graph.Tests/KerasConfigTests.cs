using System;
using System.Linq;
using Kiln.Graph;

namespace Kiln.Graph.Tests;

/// <summary>KerasConfig: one explicit case per layer family, so no kind loses its config silently.</summary>
public class KerasConfigTests
{
    private static LayerNode Node(LayerSpec spec) =>
        new(0, spec, "layer", Array.Empty<LayerNode?>(), Array.Empty<Shape>(), new Shape(4, 4, 1), Array.Empty<WeightSpec>(), 0);

    [Fact]
    public void EveryLayerKindAndSpecFamilyHasACase()
    {
        var seen = new System.Collections.Generic.HashSet<Type>();
        foreach (var kind in Enum.GetValues<LayerKind>())
        {
            var spec = LayerSpecs.Create(kind, Array.Empty<Argument>(), null);
            seen.Add(spec.GetType());
            var exception = Record.Exception(() => KerasConfig.Of(Node(spec)));
            Assert.True(exception is null, $"{kind}: {exception?.Message}");
        }
        var families = typeof(LayerSpec).Assembly.GetTypes().Where(t => t.IsSubclassOf(typeof(LayerSpec)) && !t.IsAbstract);
        Assert.All(families, t => Assert.Contains(t, seen));
    }

    [Fact]
    public void AugmentationsUseKerasKeysWithTheirRangesResolved()
    {
        var translation = KerasConfig.Of(Node(new RandomTranslationSpec(-0.2, 0.1, -0.3, 0.3, FillModeKind.Wrap, InterpolationKind.Nearest, 0.5)));
        Assert.Equal(new[] { "height_factor", "width_factor", "fill_mode", "interpolation", "fill_value" }, translation.Select(kv => kv.Key));
        Assert.Equal(new[] { -0.2, 0.1 }, translation[0].Value);
        Assert.Equal("wrap", translation[2].Value);
        Assert.Equal("nearest", translation[3].Value);
        Assert.Equal(0.5, translation[4].Value);
        Assert.Equal("vertical", KerasConfig.Of(Node(new RandomFlipSpec(FlipModeKind.Vertical))).Single().Value);
        var zoom = KerasConfig.Of(Node(new RandomZoomSpec(-0.1, 0.2, 0.0, 0.3, KeepAspect: false)));
        Assert.Equal(new[] { 0.0, 0.3 }, zoom.Single(kv => kv.Key == "width_factor").Value);
        var contrast = KerasConfig.Of(Node(new RandomContrastSpec(0.1, 0.4, -1, 1)));
        Assert.Equal(new[] { "factor", "value_range" }, contrast.Select(kv => kv.Key));
        Assert.Equal(new[] { -1.0, 1.0 }, contrast[1].Value);
        Assert.Equal(new[] { "height", "width" }, KerasConfig.Of(Node(new RandomCropSpec(3, 5))).Select(kv => kv.Key));
    }

    [Fact]
    public void RegularizersAreFlattenedL1L2PerWeight()
    {
        var dense = KerasConfig.Of(Node(new DenseSpec(3) { Regularizers = new RegularizerSpec(BiasL1: 0.25) })).ToDictionary(kv => kv.Key, kv => kv.Value);
        Assert.Equal(0.25, dense["bias_regularizer_l1"]);
        Assert.Equal(0.0, dense["bias_regularizer_l2"]);
        Assert.False(dense.ContainsKey("kernel_regularizer_l1"));
        var conv = KerasConfig.Of(Node(new ConvolutionSpec(false, 2, 3, 3) { Regularizers = new RegularizerSpec(KernelL2: 1e-4) })).ToDictionary(kv => kv.Key, kv => kv.Value);
        Assert.Equal(0.0, conv["kernel_regularizer_l1"]);
        Assert.Equal(1e-4, conv["kernel_regularizer_l2"]);
        Assert.DoesNotContain(KerasConfig.Of(Node(new DenseSpec(3))), kv => kv.Key.Contains("regularizer"));
    }
}
