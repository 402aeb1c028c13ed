using System.Linq;
using Kiln;

namespace Kiln.Keras.Tests;

/// <summary>docs/keras-weights.md's example model has the names and shapes its Keras twin saves.</summary>
public sealed class DocsExampleTests
{
    [Fact]
    public void TheDocumentedModelHasTheKerasModelsTensors()
    {
        var model = new DocsFashionCnn(batchSize: 1);
        var tensors = model.Description.Tensors.ToDictionary(t => t.Name, t => t.Shape);
        // keras.Sequential([Conv2D(32, 3, padding="same", use_bias=False), BatchNormalization(), ReLU(),
        // MaxPooling2D(2), Flatten(), Dense(10, activation="softmax")]) on (28, 28, 1) inputs.
        Assert.Equal(7, tensors.Count);
        Assert.Equal([3, 3, 1, 32], tensors["conv2d/kernel"]);
        foreach (string w in new[] { "gamma", "beta", "moving_mean", "moving_variance" })
            Assert.Equal([32], tensors[$"batch_normalization/{w}"]);
        Assert.Equal([14 * 14 * 32, 10], tensors["dense/kernel"]);
        Assert.Equal([10], tensors["dense/bias"]);
        var keys = KerasLayerOrder.Keras3Keys(KerasLayerOrder.Of(model));
        Assert.Equal(["conv2d", "batch_normalization", "re_lu", "max_pooling2d", "flatten", "dense"], model.Layers.Select(l => keys[l.Name]));
    }
}
