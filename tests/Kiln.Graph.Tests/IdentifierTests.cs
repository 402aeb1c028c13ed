using System.Collections.Generic;
using System.Linq;
using Kiln.Graph;
using static Kiln.Graph.Tests.Models;

namespace Kiln.Graph.Tests;

public class IdentifierTests
{
    private static LayerSpec Named(LayerSpec spec, string name) => spec with { UserName = name };

    private static ModelSpec Everything(params string?[] names)
    {
        var layers = new[]
        {
            new ConvolutionSpec(false, 2, 3, 3, Padding: PaddingKind.Same, UseBias: false),
            new BatchNormalizationSpec(),
            Relu(),
            new PoolingSpec(Max: true),
            new BatchNormalizationSpec(),
            Flatten(),
            Dense(4),
            Dropout(0.5),
            Dense(3),
            Softmax(),
        };
        for (int i = 0; i < names.Length && i < layers.Length; i++)
            if (names[i] is { } name) layers[i] = Named(layers[i], name);
        return ModelSpec.Create("M", new[] { 4, 4, 1 }, Loss(LossKind.SparseCategoricalCrossentropy), layers);
    }

    [Theory]
    [InlineData("dense_1", "dense_1", "Dense1")]
    [InlineData("block1.conv-2", "block1_conv_2", "Block1Conv2")]
    [InlineData("1x", "_1x", "_1x")]
    [InlineData("_", "layer_", "Layer")]
    [InlineData(".", "layer_", "Layer")]
    public void SanitizeAndPascal(string name, string identifier, string pascal)
    {
        Assert.Equal(identifier, Identifiers.Sanitize(name));
        Assert.Equal(pascal, Identifiers.Pascal(Identifiers.Sanitize(name)));
    }

    [Fact]
    public void KerasNamesAreTheirOwnIdentifiers()
    {
        var program = Compile(Everything());
        Assert.All(program.Graph.Layers, l => Assert.Equal(l.Name, Identifiers.Of(l)));
    }

    [Fact]
    public void ClashingNamesGetTheFirstFreeSuffix()
    {
        var program = Compile(Everything("class", "p", "input", "a.b", "a_b", "dense_z", "dense", "M", "d_dense"));
        // The Flatten takes dense_z, so the Dense named dense cannot be dense (its pre-normalization buffer would be dense_z);
        // d_dense cannot either: its d_dense_z would be dense_z's gradient, and d_dense_2 is dense_2's.
        Assert.Equal(new[] { "class_2", "p_2", "input_2", "a_b", "a_b_2", "dense_z", "dense_2", "M_2", "d_dense_3", "softmax" },
            program.Graph.Layers.Select(Identifiers.Of));
    }

    /// <summary>Identifiers checks names against what Lowering will spell; a new buffer suffix in Lowering must be added there too.</summary>
    [Fact]
    public void EveryBufferIsNamedAsIdentifiersExpects()
    {
        foreach (var spec in new[] { Everything(), Everything("class", "p", "input", "a.b", "a_b", "dense_z", "dense", "M", "d_dense", "x") }
                     .Concat(FusionAndMemoryTests.Specs().Select(s => (ModelSpec)s[0])))
        {
            var program = Compile(spec);
            var expected = new HashSet<string>(Identifiers.ModelBuffers.SelectMany(b => new[] { b, Identifiers.GradientPrefix + b }));
            foreach (var layer in program.Graph.Layers)
                foreach (var suffix in Identifiers.BufferSuffixes)
                {
                    expected.Add(Identifiers.Of(layer) + suffix);
                    expected.Add(Identifiers.GradientPrefix + Identifiers.Of(layer) + suffix);
                }
            Assert.All(program.Buffers, b => Assert.Contains(b.Name, expected));
            Assert.Equal(program.Buffers.Count, program.Buffers.Select(b => b.Name).Distinct().Count());
        }
    }
}
