using System.Linq;
using Microsoft.CodeAnalysis;

namespace Kiln.Generator.Tests;

/// <summary>
/// A Keras user's first guess means what Keras means: positional arguments in Keras' order
/// (Conv2D(filters, kernel_size, strides), MaxPooling2D(pool_size, strides)), rectangular windows
/// by name, and Keras' spellings of layer names building the same layers.
/// </summary>
public class KerasArgumentTests
{
    [Fact]
    public void Conv2DThirdArgumentIsStrides()
    {
        // keras.Sequential([Input((224, 224, 3)), Conv2D(64, 7, 2, padding="same"), MaxPooling2D(3, 2)]).summary()
        var (rows, _) = SeedModelTests.Summarize("""
            [Sequential(224, 224, 3)]
            [Conv2D(64, 7, 2, Padding = Padding.Same)]
            [MaxPooling2D(3, 2)]
            [GlobalAveragePooling2D]
            [Dense(10, Activation.Softmax)]
            [Loss(Loss.SparseCategoricalCrossentropy)]
            public partial class Stem { }
            """);
        Assert.Equal("conv2d (Conv2D) | (None, 112, 112, 64) | 9472", rows[0]); // 7·7·3·64 + 64
        Assert.Equal("max_pooling2d (MaxPooling2D) | (None, 55, 55, 64) | 0", rows[1]); // ⌊(112 − 3)/2⌋ + 1
    }

    [Fact]
    public void WindowsAndStridesReachTheGeneratedCode()
    {
        var result = GeneratorHarness.Run("""
            using Kiln;
            [Sequential(32, 32, 3)]
            [Conv2D(8, 5, 2)]
            [MaxPooling2D(3, 2, Padding = Padding.Same)]
            public partial class M { }
            """);
        Assert.Empty(result.CompilationDiagnostics);
        string code = Assert.Single(result.Generated).Value;
        Assert.Contains("Conv2D(8, 5x5, strides 2x2)", code);
        Assert.Contains("MaxPooling2D(3x3, strides 2x2, same)", code);
    }

    [Fact]
    public void RectangularWindowsByName()
    {
        var (rows, _) = SeedModelTests.Summarize("""
            [Sequential(28, 28, 1)]
            [Conv2D(8, 7, KernelWidth = 1)]
            [Conv2D(4, 3, 2, KernelHeight = 1, StrideWidth = 1)]
            [MaxPooling2D(2, PoolWidth = 4)]
            [AveragePooling2D(PoolHeight = 1)]
            [Flatten]
            [Dense(1)]
            [Loss(Loss.MeanSquaredError)]
            public partial class Rect { }
            """);
        Assert.Equal("conv2d (Conv2D) | (None, 22, 28, 8) | 64", rows[0]); // 7x1 window: 7·1·1·8 + 8
        Assert.Equal("conv2d_1 (Conv2D) | (None, 11, 26, 4) | 100", rows[1]); // 1x3 window, strides 2x1: 1·3·8·4 + 4
        Assert.Equal("max_pooling2d (MaxPooling2D) | (None, 5, 6, 4) | 0", rows[2]); // 2x4 window, strides default to it
        Assert.Equal("average_pooling2d (AveragePooling2D) | (None, 5, 3, 4) | 0", rows[3]); // 1x2 window
    }

    [Fact]
    public void RescalingTakesKerasPositionalOffset()
    {
        var positional = Generated("[Rescaling(1 / 127.5, -1)]");
        var named = Generated("[Rescaling(1 / 127.5, Offset = -1)]");
        Assert.Equal(named, positional);
        Assert.Contains("offset -1", positional);
    }

    [Fact]
    public void KerasSpellingsBuildTheSameModel()
    {
        string kiln = Generated("""
            [Conv2D(4, 3)] [LeakyRelu(0.2)] [MaxPooling2D(2)] [Conv2D(4, 3)] [Relu] [AveragePooling2D(2, 1)] [GlobalAveragePooling2D]
            """, "(16, 16, 3)");
        string keras = Generated("""
            [Conv2D(4, 3)] [LeakyReLU(0.2)] [MaxPool2D(2)] [Conv2D(4, 3)] [ReLU] [AvgPool2D(2, 1)] [GlobalAvgPool2D]
            """, "(16, 16, 3)");
        Assert.Equal(kiln, keras);
        Assert.Equal(Generated("[Conv2D(4, 3)] [GlobalMaxPooling2D]", "(8, 8, 3)"), Generated("[Conv2D(4, 3)] [GlobalMaxPool2D]", "(8, 8, 3)"));
        Assert.Contains("re_lu (ReLU)", keras);
        Assert.Contains("leaky_re_lu (LeakyReLU)", keras);
    }

    /// <summary>The generated file of a model with these layers (then Flatten and a Dense), which must compile with no diagnostics.</summary>
    private static string Generated(string layers, string input = "(8, 8, 1)")
    {
        var result = GeneratorHarness.Run($$"""
            using Kiln;
            [Sequential{{input}}]
            {{layers}}
            [Flatten]
            [Dense(2)]
            [Loss(Loss.MeanSquaredError)]
            public partial class M { }
            """);
        Assert.Empty(result.GeneratorDiagnostics);
        Assert.Empty(result.CompilationDiagnostics);
        return Assert.Single(result.Generated).Value;
    }
}
