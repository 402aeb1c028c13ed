using System;
using System.Linq;
using Kiln;
using Kiln.EndToEnd.Tests;
using PureHDF;

namespace Kiln.Keras.Tests;

/// <summary>
/// Keras-layout files (written by benchmarks/keras-fixtures/make_fixtures.py as Keras' source
/// writes them) load into the matching Kiln models, whose predictions then equal a numpy
/// reference forward pass over the same weights.
/// </summary>
public sealed class LoadKerasWeightsTests
{
    private const float Tolerance = 1e-5f;

    [Theory]
    [InlineData("mlp.keras2.h5")]            // Keras 2 save_weights / ModelCheckpoint(save_weights_only=True)
    [InlineData("mlp.chunked.keras2.h5")]    // layer_names0, layer_names1: how Keras splits names past HDF5's 64 KB header
    [InlineData("mlp.keras2-model.h5")]      // Keras 2 model.save('x.h5'): model_weights
    [InlineData("mlp.keras3-model.h5")]      // Keras 3 model.save('x.h5'): variable paths without ':0'
    [InlineData("mlp.weights.h5")]           // Keras 3.6+ save_weights: layers/dense/vars/0, named
    [InlineData("mlp.keras")]                // Keras 3 model.save('x.keras'): the archive's model.weights.h5
    [InlineData("mlp.subclassed.weights.h5")] // a subclassed keras.Model: /encoder/vars beside layers/dense_1, by recorded names
    public void AnMlpLoadsFromEveryLayout(string file) => AssertPredicts(new KerasMlp(batchSize: 4), file, "mlp");

    [Theory]
    [InlineData("cnn.keras2.h5")]
    [InlineData("cnn.weights.h5")]           // Keras 3 before 3.6: keys only, no names
    public void AConvNetWithBatchNormLoads(string file) => AssertPredicts(new KerasCnn(batchSize: 4), file, "cnn");

    [Theory]
    [InlineData("decoder.keras2.h5")]
    [InlineData("decoder.weights.h5")]
    public void Conv2DTransposeKernelsLoadInKerasLayout(string file) => AssertPredicts(new KerasDecoder(batchSize: 4), file, "decoder");

    [Theory]
    [InlineData("tiny_resnet.keras2.h5")]    // a Functional model: layer_names lists its InputLayer too
    [InlineData("tiny_resnet.weights.h5")]
    public void AResidualGraphWithBatchNormLoads(string file) => AssertPredicts(new TinyResNet(batchSize: 4), file, "tiny_resnet");

    [Theory]
    [InlineData("inception.keras2.h5")]
    [InlineData("inception.weights.h5")]
    public void AConcatenatingGraphLoads(string file) => AssertPredicts(new InceptionLike(batchSize: 4), file, "inception");

    [Theory]
    [InlineData("normalized.keras2.h5")]
    [InlineData("normalized.weights.h5")]
    public void NormalizationStatisticsLoadAndKerasSampleCountIsSkipped(string file) => AssertPredicts(new NormalizedMlp(batchSize: 4), file, "normalized");

    [Fact]
    public void AKeras3FileWithoutNamesIsReadInKerasLayerOrderNotDeclarationOrder()
    {
        // InceptionLike declares b1 before conv2d, both 1x1 convolutions of 'in' with 2 filters.
        // Keras lists conv2d first (it is deeper), so layers/conv2d holds conv2d's weights and
        // layers/conv2d_1 b1's: pairing in declaration order would swap them silently.
        var model = new InceptionLike(batchSize: 1);
        model.LoadKerasWeights(Fixtures.Path("inception.weights.h5"));
        using var file = H5File.OpenRead(Fixtures.Path("inception.weights.h5"));
        Assert.Equal(file.Dataset("layers/conv2d/vars/0").Read<float[]>(), model.Tensor("conv2d/kernel").ToArray());
        Assert.Equal(file.Dataset("layers/conv2d_1/vars/0").Read<float[]>(), model.Tensor("b1/kernel").ToArray());
        Assert.NotEqual(model.Tensor("conv2d/kernel").ToArray(), model.Tensor("b1/kernel").ToArray());
    }

    [Fact]
    public void BatchNormMovingStatisticsLoadIntoState()
    {
        var model = new KerasCnn(batchSize: 1);
        model.LoadKerasWeights(Fixtures.Path("cnn.keras2.h5"));
        using var file = H5File.OpenRead(Fixtures.Path("cnn.keras2.h5"));
        var bn = file.Group("batch_normalization_1");
        foreach (string weight in new[] { "gamma", "beta", "moving_mean", "moving_variance" })
            Assert.Equal(bn.Dataset($"batch_normalization_1/{weight}:0").Read<float[]>(), model.Tensor($"batch_normalization_1/{weight}").ToArray());
        Assert.Equal(4, model.Description.Tensors.Single(t => t.Name == "batch_normalization_1/moving_variance").Shape.Single());
    }

    [Theory]
    [InlineData("mlp.keras2.h5")]            // positions, as Keras' load_weights
    [InlineData("mlp.weights.h5")]           // Keras 3 keys: dense, dense_1, dense_2 by class, whatever the names
    public void LayersNamedOtherwisePairAsKerasPairsThem(string file) => AssertPredicts(new RenamedMlp(batchSize: 4), file, "mlp");

    [Fact]
    public void Float64WeightsAreRoundedToFloat32()
    {
        var reference = new KerasMlp(batchSize: 1);
        reference.LoadKerasWeights(Fixtures.Path("mlp.keras2.h5"));
        var model = new KerasMlp(batchSize: 1);
        model.LoadKerasWeights(Fixtures.Path("mlp.float64.keras2.h5"));
        // The float64 file holds the float32 weights widened, so rounding back gives them exactly.
        Assert.Equal(Fixtures.Weights(reference), Fixtures.Weights(model));
    }

    [Fact]
    public void Float16WeightsAreWidened()
    {
        var reference = new KerasMlp(batchSize: 1);
        reference.LoadKerasWeights(Fixtures.Path("mlp.weights.h5"));
        var model = new KerasMlp(batchSize: 1);
        model.LoadKerasWeights(Fixtures.Path("mlp.float16.weights.h5"));
        var expected = Fixtures.Weights(reference).Select(v => (float)(Half)v).ToArray();
        Assert.Equal(expected, Fixtures.Weights(model));
        Assert.NotEqual(Fixtures.Weights(reference), Fixtures.Weights(model));
    }

    [Fact]
    public void ByNameLoadsTheLayersNamedAlikeAndLeavesTheOthers()
    {
        var full = new KerasMlp(batchSize: 1);
        full.LoadKerasWeights(Fixtures.Path("mlp.keras2.h5"));
        var model = new MlpWithNewHead(batchSize: 1, seed: 3);
        float[] head = model.Tensor("head/kernel").ToArray();
        model.LoadKerasWeights(Fixtures.Path("mlp.keras2.h5"), byName: true);
        foreach (string t in new[] { "dense/kernel", "dense/bias", "dense_1/kernel", "dense_1/bias" })
            Assert.Equal(full.Tensor(t).ToArray(), model.Tensor(t).ToArray());
        Assert.Equal(head, model.Tensor("head/kernel").ToArray());
    }

    [Fact]
    public void ByNameReadsTheNamesKeras36Writes()
    {
        var full = new KerasMlp(batchSize: 1);
        full.LoadKerasWeights(Fixtures.Path("mlp.keras2.h5"));
        var model = new MlpWithNewHead(batchSize: 1);
        model.LoadKerasWeights(Fixtures.Path("mlp.weights.h5"), byName: true);
        Assert.Equal(full.Tensor("dense_1/kernel").ToArray(), model.Tensor("dense_1/kernel").ToArray());
    }

    [Fact]
    public void LoadingTwiceGivesTheSameWeights()
    {
        var model = new KerasCnn(batchSize: 1, seed: 5);
        model.LoadKerasWeights(Fixtures.Path("cnn.weights.h5"));
        float[] once = Fixtures.Weights(model);
        model.LoadKerasWeights(Fixtures.Path("cnn.keras2.h5"));
        Assert.Equal(once, Fixtures.Weights(model));
    }

    private static void AssertPredicts(Model model, string file, string expected)
    {
        var (inputs, outputs, count) = Fixtures.Expected(expected);
        float[] before = Fixtures.Weights(model);
        model.LoadKerasWeights(Fixtures.Path(file));
        Assert.NotEqual(before, Fixtures.Weights(model));
        float[] predicted = model.Predict(inputs, count);
        Assert.Equal(outputs.Length, predicted.Length);
        for (int i = 0; i < outputs.Length; i++)
            Assert.True(Math.Abs(outputs[i] - predicted[i]) <= Tolerance,
                $"{file}: output {i} is {predicted[i]}, numpy's reference {outputs[i]} (difference {Math.Abs(outputs[i] - predicted[i]):G3})");
    }
}
