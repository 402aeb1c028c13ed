using System.Linq;
using Kiln;
using Kiln.EndToEnd.Tests;

namespace Kiln.Keras.Tests;

/// <summary>Keras' model.layers order for a Kiln graph, and the keys Keras 3 gives layers in a .weights.h5 file.</summary>
public sealed class KerasLayerOrderTests
{
    [Theory]
    [InlineData("Conv2D", "conv2d")]
    [InlineData("ReLU", "re_lu")]
    [InlineData("LeakyReLU", "leaky_re_lu")]
    [InlineData("BatchNormalization", "batch_normalization")]
    [InlineData("Conv2DTranspose", "conv2d_transpose")]
    [InlineData("GlobalAveragePooling2D", "global_average_pooling2d")]
    [InlineData("MaxPooling2D", "max_pooling2d")]
    [InlineData("InputLayer", "input_layer")]
    [InlineData("Dense", "dense")]
    public void ClassNamesAreSnakeCasedAsKerasDoes(string kind, string key) => Assert.Equal(key, KerasLayerOrder.SnakeCase(kind));

    [Fact]
    public void AChainKeepsItsDeclarationOrder()
    {
        var model = new KerasCnn(batchSize: 1);
        Assert.Equal(model.Layers.Select(l => l.Name), KerasLayerOrder.Of(model).Select(l => l.Name));
    }

    [Fact]
    public void AGraphIsOrderedByDepthThenByTheWalkFromTheOutput()
    {
        // As Keras' map_graph lists InceptionLike built with the functional API (make_fixtures.py checks the same list).
        var order = KerasLayerOrder.Of(new InceptionLike(batchSize: 1)).Select(l => l.Name);
        Assert.Equal(["in", "conv2d", "average_pooling2d", "b1", "b3", "bp", "mixed", "top", "bottom", "concatenate", "flatten", "dense"], order);
    }

    [Fact]
    public void Keras3KeysNumberEachClassInThatOrder()
    {
        var keys = KerasLayerOrder.Keras3Keys(KerasLayerOrder.Of(new InceptionLike(batchSize: 1)));
        Assert.Equal("conv2d", keys["conv2d"]);
        Assert.Equal("conv2d_1", keys["b1"]);
        Assert.Equal("conv2d_5", keys["bottom"]);
        Assert.Equal("max_pooling2d", keys["in"]);
        Assert.Equal("concatenate_1", keys["concatenate"]);
    }

    [Fact]
    public void InputsAreLayersAtTheirDepth()
    {
        // image is deepest (4 layers from the output); conv2d and tabular tie at 3, and the walk
        // from the output reaches conv2d (through the concatenation's first input) first.
        var order = KerasLayerOrder.Of(new TwoInputs(batchSize: 1)).Select(l => l.Name);
        Assert.Equal(["image", "conv2d", "tabular", "image_features", "tabular_features", "concatenate", "dense"], order);
    }
}
