using System.Linq;
using System.Text.RegularExpressions;
using Microsoft.CodeAnalysis;

namespace Kiln.Generator.Tests;

/// <summary>
/// The convolutional models of the seeds, written as Kiln attributes: their summaries must
/// show the output shapes and parameter counts Keras prints for the same definitions. Seeds that
/// write Keras 1's <c>Conv2D(64, 3, 3)</c> for a 3×3 kernel are written <c>Conv2D(64, 3)</c>: in
/// Keras 2+ and Kiln the third positional argument is the strides (KILN0150 warns about it).
/// </summary>
public class SeedModelTests
{
    /// <summary>(layer, output shape, params) rows and the totals, read from the generated summary.</summary>
    internal static (string[] Rows, string Totals) Summarize(string model)
    {
        var result = GeneratorHarness.Run("using Kiln;\nnamespace Seeds;\n" + model);
        // Warnings (a redundant bias, pooling that drops pixels) are expected on some seed models.
        Assert.DoesNotContain(result.GeneratorDiagnostics, d => d.DefaultSeverity == DiagnosticSeverity.Error);
        string code = Assert.Single(result.Generated).Value;
        var summary = Regex.Match(code, "public const string Summary = @\"(.*?)\";", RegexOptions.Singleline).Groups[1].Value.Replace("\"\"", "\"");
        var lines = summary.Split('\n');
        var rows = lines.SkipWhile(l => !l.StartsWith("=")).Skip(1).TakeWhile(l => !l.StartsWith("="))
            .Select(l => Regex.Replace(l.Trim(), @"\s{2,}", " | "))
            .Select(l => string.Join(" | ", l.Split(" | ").Take(3)))
            .ToArray();
        string totals = string.Join("; ", lines.Where(l => l.Contains("params:")));
        return (rows, totals);
    }

    [Fact]
    public void FashionCnnOfTheConvolutionIssue()
    {
        var (rows, totals) = Summarize("""
            [Sequential(28, 28, 1)]
            [Conv2D(32, 3, Padding = Padding.Same)] [BatchNormalization] [Relu]
            [MaxPooling2D(2)]
            [Conv2D(64, 3, Padding = Padding.Same)] [BatchNormalization] [Relu]
            [MaxPooling2D(2)]
            [Flatten]
            [Dense(128, Activation.Relu)]
            [Dropout(0.3)]
            [Dense(10, Activation.Softmax)]
            [Loss(Loss.SparseCategoricalCrossentropy)]
            public partial class FashionCnn { }
            """);
        Assert.Equal(new[]
        {
            "conv2d (Conv2D) | (None, 28, 28, 32) | 320",
            "batch_normalization (BatchNormalization) | (None, 28, 28, 32) | 128",
            "re_lu (ReLU) | (None, 28, 28, 32) | 0",
            "max_pooling2d (MaxPooling2D) | (None, 14, 14, 32) | 0",
            "conv2d_1 (Conv2D) | (None, 14, 14, 64) | 18496",
            "batch_normalization_1 (BatchNormalization) | (None, 14, 14, 64) | 256",
            "re_lu_1 (ReLU) | (None, 14, 14, 64) | 0",
            "max_pooling2d_1 (MaxPooling2D) | (None, 7, 7, 64) | 0",
            "flatten (Flatten) | (None, 3136) | 0",
            "dense (Dense) | (None, 128) | 401536",
            "dropout (Dropout) | (None, 128) | 0",
            "dense_1 (Dense) | (None, 10) | 1290",
        }, rows);
        Assert.Equal("Total params: 422,026; Trainable params: 421,834; Non-trainable params: 192", totals);
    }

    [Fact]
    public void Seed001LogisticRegressionWithBatchNormalization()
    {
        var (rows, totals) = Summarize("""
            [Sequential(224, 224, 3)]
            [BatchNormalization]
            [Flatten]
            [Dense(2, Activation.Softmax)]
            [Loss(Loss.CategoricalCrossentropy)]
            public partial class Model1 { }
            """);
        Assert.Equal(new[]
        {
            "batch_normalization (BatchNormalization) | (None, 224, 224, 3) | 12",
            "flatten (Flatten) | (None, 150528) | 0",
            "dense (Dense) | (None, 2) | 301058",
        }, rows);
        Assert.Equal("Total params: 301,070; Trainable params: 301,064; Non-trainable params: 6", totals);
    }

    [Fact]
    public void Seed001WideModel()
    {
        var (rows, totals) = Summarize("""
            [Sequential(224, 224, 3)]
            [BatchNormalization]
            [Conv2D(100, 2, Activation = Activation.Relu)]
            [MaxPooling2D(16)]
            [Flatten]
            [Dense(2, Activation.Softmax)]
            [Loss(Loss.CategoricalCrossentropy)]
            public partial class Model2 { }
            """);
        Assert.Equal(new[]
        {
            "batch_normalization (BatchNormalization) | (None, 224, 224, 3) | 12",
            "conv2d (Conv2D) | (None, 223, 223, 100) | 1300",
            "max_pooling2d (MaxPooling2D) | (None, 13, 13, 100) | 0",
            "flatten (Flatten) | (None, 16900) | 0",
            "dense (Dense) | (None, 2) | 33802",
        }, rows);
        Assert.Equal("Total params: 35,114; Trainable params: 35,108; Non-trainable params: 6", totals);
    }

    [Fact]
    public void Seed001DeepModel()
    {
        string blocks = string.Concat(Enumerable.Repeat("[Conv2D(20, 2, Padding = Padding.Same, Activation = Activation.Relu)] [MaxPooling2D(2)]\n", 7));
        var (rows, totals) = Summarize($$"""
            [Sequential(224, 224, 3)]
            [BatchNormalization]
            {{blocks}}
            [Flatten]
            [Dense(2, Activation.Softmax)]
            [Loss(Loss.CategoricalCrossentropy)]
            public partial class Model3 { }
            """);
        int[] sizes = { 224, 112, 56, 28, 14, 7, 3, 1 };
        var expected = new[] { "batch_normalization (BatchNormalization) | (None, 224, 224, 3) | 12" }.ToList();
        for (int i = 0; i < 7; i++)
        {
            string suffix = i == 0 ? "" : "_" + i;
            expected.Add($"conv2d{suffix} (Conv2D) | (None, {sizes[i]}, {sizes[i]}, 20) | {(i == 0 ? 260 : 1620)}");
            expected.Add($"max_pooling2d{suffix} (MaxPooling2D) | (None, {sizes[i + 1]}, {sizes[i + 1]}, 20) | 0");
        }
        expected.Add("flatten (Flatten) | (None, 20) | 0");
        expected.Add("dense (Dense) | (None, 2) | 42");
        Assert.Equal(expected, rows);
        Assert.Equal("Total params: 10,034; Trainable params: 10,028; Non-trainable params: 6", totals);
    }

    /// <summary>Seed 003's VGG-like stack (also the arena warning's example, CapacityTests).</summary>
    internal const string VggModel = """
            [Sequential(256, 256, 3)]
            [Conv2D(64, 3, Activation = Activation.Relu)]
            [Conv2D(64, 3, Activation = Activation.Relu)]
            [MaxPooling2D]
            [Conv2D(128, 3, Activation = Activation.Relu)]
            [Conv2D(128, 3, Activation = Activation.Relu)]
            [MaxPooling2D]
            [Conv2D(256, 3, Activation = Activation.Relu)]
            [Conv2D(256, 3, Activation = Activation.Relu)]
            [MaxPooling2D]
            [Conv2D(512, 3, Activation = Activation.Relu)]
            [MaxPooling2D]
            [Conv2D(512, 3, Activation = Activation.Relu)]
            [MaxPooling2D]
            [Conv2D(1024, 3, Activation = Activation.Relu)]
            [GlobalAveragePooling2D]
            [Dense(1024, Activation.Relu)]
            [Dense(256, Activation.Relu)]
            [Dense(1, Activation.Sigmoid)]
            [Loss(Loss.BinaryCrossentropy)]
            public partial class Vgg { }
            """;

    internal const string VggSource = "using Kiln;\nnamespace Seeds;\n" + VggModel;

    [Fact]
    public void Seed003VggLikeStack()
    {
        // The seed compiles this with categorical_crossentropy on one sigmoid unit, which Kiln
        // rejects (KILN0202); binary cross-entropy is what the model means.
        var (rows, totals) = Summarize(VggModel);
        Assert.Equal(new[]
        {
            "conv2d (Conv2D) | (None, 254, 254, 64) | 1792",
            "conv2d_1 (Conv2D) | (None, 252, 252, 64) | 36928",
            "max_pooling2d (MaxPooling2D) | (None, 126, 126, 64) | 0",
            "conv2d_2 (Conv2D) | (None, 124, 124, 128) | 73856",
            "conv2d_3 (Conv2D) | (None, 122, 122, 128) | 147584",
            "max_pooling2d_1 (MaxPooling2D) | (None, 61, 61, 128) | 0",
            "conv2d_4 (Conv2D) | (None, 59, 59, 256) | 295168",
            "conv2d_5 (Conv2D) | (None, 57, 57, 256) | 590080",
            "max_pooling2d_2 (MaxPooling2D) | (None, 28, 28, 256) | 0",
            "conv2d_6 (Conv2D) | (None, 26, 26, 512) | 1180160",
            "max_pooling2d_3 (MaxPooling2D) | (None, 13, 13, 512) | 0",
            "conv2d_7 (Conv2D) | (None, 11, 11, 512) | 2359808",
            "max_pooling2d_4 (MaxPooling2D) | (None, 5, 5, 512) | 0",
            "conv2d_8 (Conv2D) | (None, 3, 3, 1024) | 4719616",
            "global_average_pooling2d (GlobalAveragePooling2D) | (None, 1024) | 0",
            "dense (Dense) | (None, 1024) | 1049600",
            "dense_1 (Dense) | (None, 256) | 262400",
            "dense_2 (Dense) | (None, 1) | 257",
        }, rows);
        Assert.Equal("Total params: 10,717,249; Trainable params: 10,717,249; Non-trainable params: 0", totals);
    }

    [Fact]
    public void Seed000GanGenerator()
    {
        var (rows, totals) = Summarize("""
            [Sequential(32)]
            [Dense(32768)] [Relu]
            [Reshape(16, 16, 128)]
            [Conv2D(128, 3, Padding = Padding.Same)] [Relu]
            [Conv2D(256, 5, Padding = Padding.Same)] [Relu]
            [Conv2DTranspose(256, 4, Strides = 2, Padding = Padding.Same)] [Relu]
            [Conv2D(256, 5, Padding = Padding.Same)] [Relu]
            [Conv2D(3, 7, Padding = Padding.Same)] [Tanh]
            public partial class Generator { }
            """);
        Assert.Equal(new[]
        {
            "dense (Dense) | (None, 32768) | 1081344",
            "re_lu (ReLU) | (None, 32768) | 0",
            "reshape (Reshape) | (None, 16, 16, 128) | 0",
            "conv2d (Conv2D) | (None, 16, 16, 128) | 147584",
            "re_lu_1 (ReLU) | (None, 16, 16, 128) | 0",
            "conv2d_1 (Conv2D) | (None, 16, 16, 256) | 819456",
            "re_lu_2 (ReLU) | (None, 16, 16, 256) | 0",
            "conv2d_transpose (Conv2DTranspose) | (None, 32, 32, 256) | 1048832",
            "re_lu_3 (ReLU) | (None, 32, 32, 256) | 0",
            "conv2d_2 (Conv2D) | (None, 32, 32, 256) | 1638656",
            "re_lu_4 (ReLU) | (None, 32, 32, 256) | 0",
            "conv2d_3 (Conv2D) | (None, 32, 32, 3) | 37635",
            "activation (Activation) | (None, 32, 32, 3) | 0",
        }, rows);
        Assert.Equal("Total params: 4,773,507; Trainable params: 4,773,507; Non-trainable params: 0", totals);
    }

    [Fact]
    public void Seed000GanDiscriminator()
    {
        var (rows, totals) = Summarize("""
            [Sequential(32, 32, 3)]
            [Conv2D(128, 3, Padding = Padding.Same)] [LeakyRelu]
            [Conv2D(128, 4, Strides = 2, Padding = Padding.Same)] [LeakyRelu]
            [Conv2D(128, 4, Strides = 2, Padding = Padding.Same)] [LeakyRelu]
            [Conv2D(128, 4, Strides = 2, Padding = Padding.Same)] [LeakyRelu]
            [Flatten]
            [Dropout(0.4)]
            [Dense(1, Activation.Sigmoid)]
            [Loss(Loss.BinaryCrossentropy)]
            public partial class Discriminator { }
            """);
        Assert.Equal(new[]
        {
            "conv2d (Conv2D) | (None, 32, 32, 128) | 3584",
            "leaky_re_lu (LeakyReLU) | (None, 32, 32, 128) | 0",
            "conv2d_1 (Conv2D) | (None, 16, 16, 128) | 262272",
            "leaky_re_lu_1 (LeakyReLU) | (None, 16, 16, 128) | 0",
            "conv2d_2 (Conv2D) | (None, 8, 8, 128) | 262272",
            "leaky_re_lu_2 (LeakyReLU) | (None, 8, 8, 128) | 0",
            "conv2d_3 (Conv2D) | (None, 4, 4, 128) | 262272",
            "leaky_re_lu_3 (LeakyReLU) | (None, 4, 4, 128) | 0",
            "flatten (Flatten) | (None, 2048) | 0",
            "dropout (Dropout) | (None, 2048) | 0",
            "dense (Dense) | (None, 1) | 2049",
        }, rows);
        Assert.Equal("Total params: 792,449; Trainable params: 792,449; Non-trainable params: 0", totals);
    }
}
