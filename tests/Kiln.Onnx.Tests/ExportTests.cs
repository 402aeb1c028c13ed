using System;
using System.IO;
using System.Linq;
using Kiln.EndToEnd.Tests;
using Kiln.Samples.FashionMnist;
using Kiln.Samples.FashionMnistCnn;
using Microsoft.ML.OnnxRuntime;
using Onnx;

namespace Kiln.Onnx.Tests;

public class ExportTests
{
    private const int Samples = 3;

    [Fact]
    public void OnnxRuntimeNativeLibraryLoads()
    {
        // Fails with a DllNotFoundException where the native onnxruntime does not load on this machine.
        Assert.Contains("CPUExecutionProvider", OrtEnv.Instance().GetAvailableProviders());
    }

    [Theory]
    [MemberData(nameof(ModelZoo.Names), MemberType = typeof(ModelZoo))]
    public void OnnxRuntimeComputesWhatPredictDoes(string modelName) => AssertSameOutputs(modelName, new OnnxExportOptions());

    [Theory]
    [MemberData(nameof(ModelZoo.WithBatchNormalization), MemberType = typeof(ModelZoo))]
    public void FoldedBatchNormalizationComputesTheSame(string modelName) =>
        AssertSameOutputs(modelName, new OnnxExportOptions { FoldBatchNormalization = true });

    [Theory]
    [MemberData(nameof(ModelZoo.Names), MemberType = typeof(ModelZoo))]
    public void ExportedGraphFollowsTheCheckerRules(string modelName)
    {
        var model = ModelZoo.Create(modelName, batchSize: 1);
        StructureChecker.Check(ModelProto.Parser.ParseFrom(model.ToOnnx()), model.Description);
        StructureChecker.Check(ModelProto.Parser.ParseFrom(model.ToOnnx(new OnnxExportOptions { FoldBatchNormalization = true })), model.Description);
    }

    [Fact]
    public void TrainedModelExportsItsLearnedWeightsAndStatistics()
    {
        // After a few steps of training the moving statistics and weights are Kiln's own, not the test's.
        var model = new FashionCnn(batchSize: 8, seed: 3);
        var random = new Random(5);
        var features = new float[32 * 28 * 28];
        var labels = new float[32];
        for (int i = 0; i < features.Length; i++) features[i] = (float)random.NextDouble();
        for (int i = 0; i < labels.Length; i++) labels[i] = random.Next(10);
        model.Fit(new Dataset(features, labels, new[] { 28, 28, 1 }, 1), epochs: 1, new Sgd(0.05f), verbose: 0);
        Assert.NotEqual(0f, model.Tensor("batch_normalization/moving_mean")[0]);

        var x = features.AsSpan(0, Samples * model.InputSize).ToArray();
        var expected = model.Predict(x, Samples);
        var actual = OnnxRuntimeRunner.Run(model.ToOnnx(), model.Description, x, Samples);
        AssertClose(expected, actual, "FashionCnn trained");
    }

    [Fact]
    public void ExportOnnxWritesTheFileOnnxRuntimeLoads()
    {
        var model = new FashionMlp(batchSize: 2, seed: 7);
        string path = Path.Combine(Path.GetTempPath(), $"kiln-onnx-{Guid.NewGuid():N}", "fashion.onnx");
        try
        {
            model.ExportOnnx(path);
            Assert.Equal(model.ToOnnx(), File.ReadAllBytes(path));
            using var session = new InferenceSession(path);
            Assert.Equal("input", Assert.Single(session.InputMetadata).Key);
            var output = Assert.Single(session.OutputMetadata);
            Assert.Equal("output", output.Key);
            Assert.Equal(new[] { -1, 10 }, output.Value.Dimensions);
            Assert.Equal("batch", output.Value.SymbolicDimensions[0]);
            var x = ModelZoo.Inputs(model, 2, seed: 1);
            AssertClose(model.Predict(x, 2), OnnxRuntimeRunner.Run(session, model.Description, x, 2), "FashionMlp from file");
        }
        finally
        {
            Directory.Delete(Path.GetDirectoryName(path)!, recursive: true);
        }
    }

    [Fact]
    public void ConvolutionSectionRunsChannelsFirstBetweenTwoTransposes()
    {
        // Input → NCHW once, convolutions, BN and pooling in NCHW, back to NHWC once before Flatten.
        var graph = ModelProto.Parser.ParseFrom(new FashionCnn(batchSize: 1).ToOnnx()).Graph;
        var transposes = graph.Node.Where(n => n.OpType == "Transpose").ToList();
        Assert.Equal(2, transposes.Count);
        Assert.Equal(new long[] { 0, 3, 1, 2 }, transposes[0].Attribute.Single(a => a.Name == "perm").Ints);
        Assert.Equal("input", transposes[0].Input[0]);
        Assert.Equal(new long[] { 0, 2, 3, 1 }, transposes[1].Attribute.Single(a => a.Name == "perm").Ints);
        var flatten = graph.Node.Single(n => n.OpType == "Flatten");
        Assert.Equal(transposes[1].Output[0], flatten.Input[0]);
    }

    [Fact]
    public void ImageOutputLeavesChannelsLastThroughOneTranspose()
    {
        // Channels-first input (no transpose in), softmax over channels inside, one transpose out named 'output'.
        var graph = ModelProto.Parser.ParseFrom(new ImageSoftmaxOutput(batchSize: 1).ToOnnx()).Graph;
        var transpose = Assert.Single(graph.Node, n => n.OpType == "Transpose");
        Assert.Equal("output", transpose.Output[0]);
        Assert.Equal(new long[] { 0, 2, 3, 1 }, transpose.Attribute.Single(a => a.Name == "perm").Ints);
        Assert.Equal(1, graph.Node.Single(n => n.OpType == "Softmax").Attribute.Single(a => a.Name == "axis").I);
        Assert.Same(transpose, graph.Node[^1]);
    }

    [Fact]
    public void BatchNormalizationIsANodeUnlessFolded()
    {
        var model = new FashionCnn(batchSize: 1);
        var plain = ModelProto.Parser.ParseFrom(model.ToOnnx()).Graph;
        Assert.Equal(2, plain.Node.Count(n => n.OpType == "BatchNormalization"));
        Assert.Contains(plain.Node.First(n => n.OpType == "BatchNormalization").Attribute, a => a.Name == "epsilon" && Math.Abs(a.F - 1e-3f) < 1e-9);
        var folded = ModelProto.Parser.ParseFrom(model.ToOnnx(new OnnxExportOptions { FoldBatchNormalization = true })).Graph;
        Assert.DoesNotContain(folded.Node, n => n.OpType == "BatchNormalization");
        // The convolutions had no bias: folding gives them one.
        Assert.All(folded.Node.Where(n => n.OpType == "Conv"), n => Assert.Equal(3, n.Input.Count));
    }

    [Fact]
    public void DropoutIsLeftOutAndTheSoftmaxIsKept()
    {
        var graph = ModelProto.Parser.ParseFrom(new FashionCnn(batchSize: 1).ToOnnx()).Graph;
        Assert.DoesNotContain(graph.Node, n => n.OpType == "Dropout");
        var softmax = graph.Node.Single(n => n.OpType == "Softmax");
        Assert.Equal(1, softmax.Attribute.Single(a => a.Name == "axis").I);
    }

    [Fact]
    public void LayersCarryTheirKerasConfig()
    {
        var conv = FashionCnn.Definition.Layers.First(l => l.Kind == "Conv2D");
        Assert.NotNull(conv.Config);
        Assert.Equal(32, conv.Config!["filters"]);
        Assert.Equal(new[] { 3, 3 }, conv.Config["kernel_size"]);
        Assert.Equal(new[] { 1, 1 }, conv.Config["strides"]);
        Assert.Equal("same", conv.Config["padding"]);
        Assert.Equal("linear", conv.Config["activation"]);
        Assert.Equal(false, conv.Config["use_bias"]);
        var dropout = FashionCnn.Definition.Layers.Single(l => l.Kind == "Dropout");
        Assert.Equal(0.3, dropout.Config!["rate"]);
        Assert.Null(FashionCnn.Definition.Layers.Single(l => l.Kind == "Flatten").Config);
    }

    [Fact]
    public void AugmentationLayersCarryTheirKerasConfig()
    {
        var layers = AugmentedCnn.Definition.Layers.ToDictionary(l => l.Kind);
        Assert.Equal("horizontal", layers["RandomFlip"].Config!["mode"]);
        var translation = layers["RandomTranslation"].Config!;
        Assert.Equal(new[] { -0.1, 0.1 }, translation["height_factor"]);
        Assert.Equal(new[] { -0.1, 0.1 }, translation["width_factor"]);
        Assert.Equal("reflect", translation["fill_mode"]);
        Assert.Equal("bilinear", translation["interpolation"]);
        Assert.Equal(0.0, translation["fill_value"]);
        var rotation = layers["RandomRotation"].Config!;
        Assert.Equal(new[] { -0.05, 0.05 }, rotation["factor"]);
        Assert.Equal(new[] { "factor", "fill_mode", "interpolation", "fill_value" }, rotation.Keys);
        // One factor: Keras' width_factor=None (the width follows the height), so no width_factor.
        var zoom = layers["RandomZoom"].Config!;
        Assert.Equal(new[] { -0.1, 0.1 }, zoom["height_factor"]);
        Assert.False(zoom.ContainsKey("width_factor"));
        var contrast = layers["RandomContrast"].Config!;
        Assert.Equal(new[] { 0.0, 0.1 }, contrast["factor"]);
        Assert.Equal(new[] { 0.0, 1.0 }, contrast["value_range"]);
        Assert.Equal(10, layers["RandomCrop"].Config!["height"]);
        Assert.Equal(10, layers["RandomCrop"].Config!["width"]);

        var modern = FashionCnnModern.Definition.Layers.Single(l => l.Kind == "RandomTranslation").Config!;
        Assert.Equal("constant", modern["fill_mode"]);
        var nearest = CroppedToTheWholeImage.Definition.Layers.Single(l => l.Kind == "RandomZoom").Config!;
        Assert.Equal(new[] { -0.2, 0.2 }, nearest["height_factor"]);
        Assert.Equal(new[] { -0.1, 0.1 }, nearest["width_factor"]);
        Assert.Equal("nearest", nearest["interpolation"]);
        var rotated = CroppedAndResizedChannelsFirst.Definition.Layers.Single(l => l.Kind == "RandomRotation").Config!;
        Assert.Equal("nearest", rotated["fill_mode"]);
        Assert.Equal(0.5, rotated["fill_value"]);
        Assert.Equal("horizontal_and_vertical", CroppedToAWindow.Definition.Layers.Single(l => l.Kind == "RandomFlip").Config!["mode"]);
    }

    [Fact]
    public void RegularizersAreKerasL1L2Flattened()
    {
        var layers = RegularizedMlp.Definition.Layers.Where(l => l.Kind == "Dense").ToList();
        var first = layers[0].Config!;
        Assert.Equal(0.0, first["kernel_regularizer_l1"]);
        Assert.Equal(1e-3, first["kernel_regularizer_l2"]);
        Assert.False(first.ContainsKey("bias_regularizer_l1"));
        Assert.False(first.ContainsKey("bias_regularizer_l2"));
        var second = layers[1].Config!;
        Assert.Equal(1e-3, second["kernel_regularizer_l1"]);
        Assert.Equal(0.0, second["kernel_regularizer_l2"]);
        Assert.Equal(0.0, second["bias_regularizer_l1"]);
        Assert.Equal(1e-3, second["bias_regularizer_l2"]);
        var conv = RegularizedCnn.Definition.Layers.First(l => l.Kind == "Conv2D").Config!;
        Assert.Equal(0.01, conv["kernel_regularizer_l1"]);
        Assert.Equal(0.02, conv["kernel_regularizer_l2"]);
        Assert.Equal(0.05, RegularizedCnn.Definition.Layers.Single(l => l.Kind == "Conv2DTranspose").Config!["bias_regularizer_l2"]);
        // Unregularized layers say nothing (Keras' None).
        Assert.DoesNotContain(PlainMlp.Definition.Layers.Where(l => l.Config is not null).SelectMany(l => l.Config!.Keys), k => k.Contains("regularizer"));
    }

    [Fact]
    public void CopyAugmentationsExportNoNodes()
    {
        // FashionCnnModern's translation and flip are copies in inference: the graph starts with the input's transpose into the first Conv.
        var graph = ModelProto.Parser.ParseFrom(new FashionCnnModern(batchSize: 1).ToOnnx()).Graph;
        Assert.Equal(new[] { "Transpose", "Conv" }, graph.Node.Take(2).Select(n => n.OpType));
        Assert.Equal("input", graph.Node[0].Input[0]);
        Assert.DoesNotContain(graph.Node, n => n.OpType is "Slice" or "Resize" || (n.OpType == "Identity" && n.Output[0] != "output"));
    }

    [Fact]
    public void RandomCropIsASliceWhenTheWindowHasTheTargetSize()
    {
        var graph = ModelProto.Parser.ParseFrom(new CroppedToAWindow(batchSize: 1).ToOnnx()).Graph;
        var slice = Assert.Single(graph.Node, n => n.OpType == "Slice");
        Assert.Equal("input", slice.Input[0]);
        Assert.Equal(new long[] { 0, 1 }, Int64s(graph, slice.Input[1]));
        Assert.Equal(new long[] { 6, 7 }, Int64s(graph, slice.Input[2]));
        Assert.Equal(new long[] { 1, 2 }, Int64s(graph, slice.Input[3]));
        Assert.DoesNotContain(graph.Node, n => n.OpType is "Resize" or "Transpose");
        // A crop to the whole image is nothing at all.
        var whole = ModelProto.Parser.ParseFrom(new CroppedToTheWholeImage(batchSize: 1).ToOnnx()).Graph;
        Assert.DoesNotContain(whole.Node, n => n.OpType is "Slice" or "Resize" || (n.OpType == "Identity" && n.Output[0] != "output"));
        Assert.Equal("input", whole.Node.Single(n => n.OpType == "Add").Input[0]);
    }

    [Fact]
    public void RandomCropResizesTheCentredWindowWithHalfPixelCentres()
    {
        // 8 × 8 to 5 × 3: the window is all 8 rows and columns 2..5, resized to (5, 3), channels first.
        var graph = ModelProto.Parser.ParseFrom(new CroppedAndResizedChannelsFirst(batchSize: 1).ToOnnx()).Graph;
        var slice = Assert.Single(graph.Node, n => n.OpType == "Slice");
        Assert.Equal(new long[] { 0, 2 }, Int64s(graph, slice.Input[1]));
        Assert.Equal(new long[] { 8, 6 }, Int64s(graph, slice.Input[2]));
        Assert.Equal(new long[] { 2, 3 }, Int64s(graph, slice.Input[3]));
        var resize = Assert.Single(graph.Node, n => n.OpType == "Resize");
        Assert.Equal(slice.Output[0], resize.Input[0]);
        Assert.Equal("linear", resize.Attribute.Single(a => a.Name == "mode").S.ToStringUtf8());
        Assert.Equal("half_pixel", resize.Attribute.Single(a => a.Name == "coordinate_transformation_mode").S.ToStringUtf8());
        Assert.DoesNotContain(graph.Node, n => n.OpType == "Transpose" && graph.Node.IndexOf(n) < graph.Node.IndexOf(resize));
        // AugmentedCnn crops 12 × 12 to 10 × 10: the whole image is the window, so only the Resize.
        var augmented = ModelProto.Parser.ParseFrom(new AugmentedCnn(batchSize: 1).ToOnnx()).Graph;
        Assert.DoesNotContain(augmented.Node, n => n.OpType == "Slice");
        Assert.Single(augmented.Node, n => n.OpType == "Resize");
    }

    private static long[] Int64s(GraphProto graph, string initializer)
    {
        var raw = graph.Initializer.Single(t => t.Name == initializer).RawData.Span;
        var values = new long[raw.Length / sizeof(long)];
        for (int i = 0; i < values.Length; i++) values[i] = System.Buffers.Binary.BinaryPrimitives.ReadInt64LittleEndian(raw[(i * sizeof(long))..]);
        return values;
    }

    [Fact]
    public void WeightsPastWhatOneFileHoldsAreRefusedBeforeAnythingIsWritten()
    {
        // One ONNX file is one protobuf message (at most 2 GiB); a lowered limit stands in for a model past it.
        var model = new FashionCnn(batchSize: 1, seed: 1);
        var options = new OnnxExportOptions { MaxWeightBytes = 1000 };
        var e = Assert.Throws<NotSupportedException>(() => model.ToOnnx(options));
        var largest = model.Description.Tensors.MaxBy(t => t.Length)!;
        Assert.Contains(nameof(FashionCnn), e.Message);
        Assert.Contains($"'{largest.Name}'", e.Message);
        Assert.Contains("2 GiB", e.Message);
        string path = Path.Combine(Path.GetTempPath(), $"kiln-too-big-{Guid.NewGuid():N}.onnx");
        Assert.Throws<NotSupportedException>(() => model.ExportOnnx(path, options));
        Assert.False(File.Exists(path));
        Assert.NotEmpty(model.ToOnnx()); // the real limit takes it
    }

    [Fact]
    public void UnknownLayerKindIsRefusedByName()
    {
        var model = new HandDescribedModel("embedding_1", "Embedding");
        var e = Assert.Throws<NotSupportedException>(() => model.ToOnnx());
        Assert.Contains("'embedding_1' (Embedding)", e.Message);
        Assert.Contains(nameof(HandDescribedModel), e.Message);
    }

    private static void AssertSameOutputs(string modelName, OnnxExportOptions options)
    {
        var model = ModelZoo.Create(modelName, batchSize: Samples);
        ModelZoo.Randomize(model, seed: 11);
        var x = ModelZoo.Inputs(model, Samples, seed: 13);
        var expected = model.Predict(x, Samples);
        var onnx = model.ToOnnx(options);
        // benchmarks/onnx/check.sh collects the files for a second checker (Debian's python3-onnx).
        if (Environment.GetEnvironmentVariable("KILN_ONNX_EXPORT_DIR") is { Length: > 0 } directory)
            File.WriteAllBytes(Path.Combine(directory, $"{modelName}{(options.FoldBatchNormalization ? ".folded" : "")}.onnx"), onnx);
        var actual = OnnxRuntimeRunner.Run(onnx, model.Description, x, Samples);
        AssertClose(expected, actual, modelName);
    }

    /// <summary>Max abs difference ≤ 1e-5 where |value| ≤ 1 (probabilities), relative beyond (unbounded linear outputs).</summary>
    private static void AssertClose(float[] expected, float[] actual, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
        {
            double tolerance = 1e-5 * Math.Max(1, Math.Abs(expected[i]));
            Assert.True(Math.Abs(expected[i] - actual[i]) <= tolerance,
                $"{what}: value {i} is {actual[i]} in ONNX Runtime, {expected[i]} in Kiln (difference {Math.Abs(expected[i] - actual[i]):G3})");
        }
    }
}
