using System.Linq;
using Microsoft.CodeAnalysis;

namespace Kiln.Generator.Tests;

/// <summary>
/// Each diagnostic: a model with one mistake, the span the diagnostic must point at marked
/// with [| |], and the exact message.
/// </summary>
public class DiagnosticTests
{
    private static void AssertSingle(string markedSource, string id, string message, DiagnosticSeverity severity = DiagnosticSeverity.Error,
        System.Collections.Generic.IReadOnlyDictionary<string, string>? properties = null, IIncrementalGenerator? generator = null)
    {
        int start = markedSource.IndexOf("[|", System.StringComparison.Ordinal);
        int end = markedSource.IndexOf("|]", System.StringComparison.Ordinal) - 2;
        Assert.True(start >= 0 && end >= start, "the test source must mark the expected span with [| |]");
        string source = markedSource.Replace("[|", "").Replace("|]", "");
        var result = GeneratorHarness.Run("using Kiln;\nnamespace Models;\n" + source, properties: properties, generator: generator);
        var kiln = result.GeneratorDiagnostics.Where(d => d.Id.StartsWith("KILN")).ToList();
        var d = Assert.Single(kiln);
        Assert.Equal(id, d.Id);
        Assert.Equal(severity, d.DefaultSeverity);
        Assert.Equal(message, d.GetMessage(System.Globalization.CultureInfo.InvariantCulture));
        int offset = "using Kiln;\nnamespace Models;\n".Length;
        Assert.Equal(source.Substring(start, end - start), source.Substring(d.Location.SourceSpan.Start - offset, d.Location.SourceSpan.Length));
        Assert.Equal(start + offset, d.Location.SourceSpan.Start);
        Assert.Equal("Models.cs", d.Location.GetLineSpan().Path);
        // In the syntax tree, not at a bare path: #pragma warning and code fixes see it.
        Assert.True(d.Location.IsInSource, "the diagnostic should be located in the model's syntax tree");
    }

    [Fact]
    public void NotPartial() => AssertSingle("""
        [Sequential(4)]
        [Dense(2)]
        public class [|M|] { }
        """, "KILN0001", "'M' carries [Sequential] but is not partial; declare it 'partial class M' so Kiln can generate its forward and backward code");

    [Fact]
    public void NoLayers() => AssertSingle("""
        [[|Sequential(4)|]]
        public partial class M { }
        """, "KILN0002", "'M' has no layer attributes; add layers after [Sequential], e.g. [Flatten] [Dense(10, Activation.Softmax)]");

    [Fact]
    public void NoInputShape() => AssertSingle("""
        [[|Sequential()|]]
        [Dense(2)]
        public partial class M { }
        """, "KILN0003", "[Sequential] on 'M' needs the shape of one sample, e.g. [Sequential(28, 28)]");

    [Fact]
    public void LayersOnTwoDeclarations() => AssertSingle("""
        [Sequential(4)]
        [Dense(2)]
        public partial class M { }

        [[|Dense(3)|]]
        public partial class M { }
        """, "KILN0004", "'M' has layer attributes on more than one partial declaration, so their order is undefined; put all of them on the declaration that carries [Sequential]");

    [Fact]
    public void ModelWithABaseClass() => AssertSingle("""
        public class Base { }
        [Sequential(4)]
        [Dense(2)]
        public partial class [|M|] : Base { }
        """, "KILN0005", "'M' derives from 'Models.Base'; Kiln generates a top-level, non-generic partial class deriving from Kiln.Model");

    [Fact]
    public void NestedModel() => AssertSingle("""
        public partial class Outer
        {
            [Sequential(4)]
            [Dense(2)]
            public partial class [|M|] { }
        }
        """, "KILN0005", "'M' is nested in 'Outer'; Kiln generates a top-level, non-generic partial class deriving from Kiln.Model");

    [Fact]
    public void GenericModel() => AssertSingle("""
        [Sequential(4)]
        [Dense(2)]
        public partial class [|M|]<T> { }
        """, "KILN0005", "'M' is generic; Kiln generates a top-level, non-generic partial class deriving from Kiln.Model");

    [Fact]
    public void UserLayerAttribute() => AssertSingle("""
        public sealed class SwishAttribute : LayerAttribute { }

        [Sequential(4)]
        [Dense(8)]
        [[|Swish|]]
        [Dense(2)]
        public partial class M { }
        """, "KILN0011", "[Swish] derives from Kiln's LayerAttribute but is not a Kiln layer, and Kiln has no extension point for user layers: it would be left out of 'M'");

    [Fact]
    public void UserLayerAttributeNearAKilnLayer() => AssertSingle("""
        public sealed class DenceAttribute : LayerAttribute { public DenceAttribute(int units) { } }

        [Block]
        [Dense(8)]
        [[|Dence(2)|]]
        public class B { }

        [Sequential(4)]
        [Use<B>]
        public partial class M { }
        """, "KILN0011", "[Dence] derives from Kiln's LayerAttribute but is not a Kiln layer, and Kiln has no extension point for user layers: it would be left out of 'B'; did you mean [Dense]?");

    [Fact]
    public void LayerAttributeCannotBeSubclassedOutsideKiln()
    {
        // Its constructor is private protected: the subclass is itself a compiler error, and KILN0011 says why it could never work.
        var result = GeneratorHarness.Run("using Kiln;\npublic sealed class SwishAttribute : LayerAttribute { }\n[Sequential(4)]\n[Swish]\n[Dense(2)]\npublic partial class M { }");
        Assert.Contains(result.CompilationDiagnostics, d => d.Id == "CS0122" && d.GetMessage(System.Globalization.CultureInfo.InvariantCulture).Contains("LayerAttribute"));
        Assert.Equal("KILN0011", Assert.Single(result.GeneratorDiagnostics).Id);
    }

    [Fact]
    public void ActivationTooLargeToAllocate() => AssertSingle("""
        [Sequential(50000, 50000)]
        [[|Flatten|]]
        [Dense(1)]
        public partial class M { }
        """, "KILN0012", "'M' needs 2,500,000,000 floats of one sample's activation in one buffer, more than the 2,147,483,527 one .NET array can hold; Flatten 'flatten' is the largest part with 2,500,000,000: make it smaller (a pooling layer or fewer units/filters)",
        properties: new System.Collections.Generic.Dictionary<string, string> { ["KilnMaxParameters"] = "0" });

    [Fact]
    public void ArenaAboveTheProjectsLimit() => AssertSingle("""
        [Sequential(16)]
        [[|Dense(64, Activation.Relu)|]]
        [Dense(4)]
        public partial class M { }
        """, "KILN0013", "'M' needs about 22.5 kB of activations and scratch at batch size 32 (704 bytes per sample), more than the limit of 10.0 kB; the largest activation is Dense 'dense' with 64 floats per sample: shrink it (strides or pooling earlier), construct the model with a smaller batchSize, or raise <KilnMaxArenaBytes> in the project file",
        DiagnosticSeverity.Warning, new System.Collections.Generic.Dictionary<string, string> { ["KilnMaxArenaBytes"] = "10000" });

    [Fact]
    public void EnumValueWithoutAName() => AssertSingle("""
        [Sequential(4)]
        [Dense(2, [|(Activation)9|])]
        public partial class M { }
        """, "KILN0014", "activation is 9, which is no Activation Kiln knows; use one of Activation.Linear, Activation.Relu, Activation.Sigmoid, Activation.Tanh, Activation.Softmax");

    [Fact]
    public void OnlyViews() => AssertSingle("""
        [Sequential(8, 2)]
        [Flatten]
        [[|Reshape(4, 4)|]]
        public partial class M { }
        """, "KILN0015", "'M' ends with Reshape 'reshape' and has only Flatten or Reshape layers, so it computes nothing and has nothing to train; add a layer after it, e.g. [Dense(10, Activation.Softmax)]");

    [Fact]
    public void NumberThatIsNoFloat() => AssertSingle("""
        [Sequential(4)]
        [Rescaling([|double.NaN|])]
        [Dense(2)]
        public partial class M { }
        """, "KILN0016", "scale is NaN, which is not a finite 32-bit float (Kiln computes in float); use a finite value within ±3.4e38");

    [Fact]
    public void NumberBeyondFloatInAnArray() => AssertSingle("""
        [Sequential(4)]
        [Normalization(Mean = new double[] { 0.5 }, [|Variance = new double[] { 1e308 }|])]
        [Dense(2)]
        public partial class M { }
        """, "KILN0016", "Variance is 1E+308, which is not a finite 32-bit float (Kiln computes in float); use a finite value within ±3.4e38");

    [Fact]
    public void ParametersAboveTheDefaultLimit() => AssertSingle("""
        [Sequential(10000)]
        [[|Dense(10001, Activation.Relu)|]]
        [Dense(10, Activation.Softmax)]
        [Loss(Loss.SparseCategoricalCrossentropy)]
        public partial class M { }
        """, "KILN0007", "'M' has 100,120,021 parameters, more than the limit of 100,000,000; the largest layer is Dense 'dense' with 100,020,001: make it smaller (a pooling layer before Flatten shrinks the Dense after it), or raise <KilnMaxParameters> in the project file",
        DiagnosticSeverity.Warning);

    [Fact]
    public void ParametersAboveTheProjectsLimit() => AssertSingle("""
        [Sequential(32, 32, 3)]
        [Conv2D(16, 3, Activation = Activation.Relu)]
        [Flatten]
        [[|Dense(10, Activation.Softmax)|]]
        [Loss(Loss.SparseCategoricalCrossentropy)]
        public partial class M { }
        """, "KILN0007", "'M' has 144,458 parameters, more than the limit of 100,000; the largest layer is Dense 'dense' with 144,010: make it smaller (a pooling layer before Flatten shrinks the Dense after it), or raise <KilnMaxParameters> in the project file",
        DiagnosticSeverity.Warning, new System.Collections.Generic.Dictionary<string, string> { ["KilnMaxParameters"] = "100000" });

    [Theory]
    [InlineData("0")]          // off
    [InlineData("200000")]     // above the model
    public void AParameterLimitThatDoesNotApply(string limit)
    {
        var result = GeneratorHarness.Run("""
            using Kiln;
            namespace Models;
            [Sequential(32, 32, 3)]
            [Conv2D(16, 3, Activation = Activation.Relu)]
            [Flatten]
            [Dense(10, Activation.Softmax)]
            [Loss(Loss.SparseCategoricalCrossentropy)]
            public partial class M { }
            """, properties: new System.Collections.Generic.Dictionary<string, string> { ["KilnMaxParameters"] = limit });
        Assert.Empty(result.GeneratorDiagnostics);
        Assert.Empty(result.CompilationDiagnostics);
        Assert.Single(result.Generated);
    }

    [Theory]
    [InlineData("")]           // the property is declared visible but not set
    [InlineData("lots")]
    public void AnUnsetOrUnreadableLimitIsTheDefault(string limit)
    {
        var result = GeneratorHarness.Run("using Kiln;\n[Sequential(10000)]\n[Dense(10001)]\npublic partial class M { }",
            properties: new System.Collections.Generic.Dictionary<string, string> { ["KilnMaxParameters"] = limit });
        Assert.Equal("KILN0007", Assert.Single(result.GeneratorDiagnostics).Id);
        Assert.Contains("the limit of 100,000,000", result.GeneratorDiagnostics[0].GetMessage(System.Globalization.CultureInfo.InvariantCulture));
    }

    /// <summary>The generator with Graph passes that throw, as a bug in Kiln would.</summary>
    private static IIncrementalGenerator Throwing(System.Exception e) =>
        (IIncrementalGenerator)typeof(KilnGenerator).GetConstructor(System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Instance,
            new[] { typeof(System.Func<Kiln.Graph.ModelSpec, Kiln.Graph.CompiledModel>) })!
            .Invoke(new object[] { new System.Func<Kiln.Graph.ModelSpec, Kiln.Graph.CompiledModel>(_ => throw e) });

    [Fact]
    public void AnExceptionInKilnIsALocatedDiagnostic() => AssertSingle("""
        [Sequential(4)]
        [Dense(2)]
        public partial class [|M|] { }
        """, "KILN0008", "Kiln failed to generate 'M': System.InvalidOperationException: Sequence contains no elements (at line 2); this is a bug in Kiln, not in the model: please report it with the model's attributes (no code was generated for 'M')",
        generator: Throwing(new System.InvalidOperationException("Sequence contains no elements\r\n(at line 2)")));

    [Fact]
    public void AFailedModelGetsASkeletonAndNoCompilerError()
    {
        var result = GeneratorHarness.Run("""
            using Kiln;
            namespace Models;
            [Sequential(4)]
            [Dense(2)]
            public partial class M { }
            """, generator: Throwing(new System.ArgumentException("boom")));
        Assert.Equal("KILN0008", Assert.Single(result.GeneratorDiagnostics).Id);
        Assert.Contains("error KILN0008: Kiln failed to generate 'M': System.ArgumentException: boom", Assert.Single(result.Generated).Value);
        Assert.Empty(result.CompilationDiagnostics);
    }

    [Fact]
    public void CancellationIsNotTurnedIntoADiagnostic()
    {
        // OperationCanceledException is the compiler's to handle; Kiln must not report it as its own failure.
        var result = GeneratorHarness.Run("""
            using Kiln;
            namespace Models;
            [Sequential(4)]
            [Dense(2)]
            public partial class M { }
            """, generator: Throwing(new System.OperationCanceledException()));
        Assert.DoesNotContain(result.GeneratorDiagnostics, d => d.Id == "KILN0008");
        Assert.Empty(result.Generated);
    }

    [Fact]
    public void TwoLayersWithTheSameName() => AssertSingle("""
        [Sequential(4)]
        [Dense(8, Name = "hidden")]
        [Relu]
        [Dense(2, [|Name = "hidden"|])]
        public partial class M { }
        """, "KILN0009", "Layers 1 (Dense) and 3 (Dense) are both named 'hidden'; layer names must be unique within a model, as in Keras: give one of them another Name");

    [Fact]
    public void ANameThatAnUnnamedLayerGetsAutomatically() => AssertSingle("""
        [Sequential(4)]
        [Dense(8, [|Name = "dense_1"|])]
        [Dense(8)]
        [Dense(2)]
        public partial class M { }
        """, "KILN0009", "Layers 1 (Dense) and 3 (Dense, named automatically) are both named 'dense_1'; layer names must be unique within a model, as in Keras: give layer 1 another Name (unnamed layers get Keras' automatic names: dense, dense_1, ...)");

    [Fact]
    public void AnAutomaticNameTakenByALaterLayer() => AssertSingle("""
        [Sequential(4)]
        [Dense(8)]
        [Relu([|Name = "dense"|])]
        [Dense(2, Name = "out")]
        public partial class M { }
        """, "KILN0009", "Layers 1 (Dense, named automatically) and 2 (ReLU) are both named 'dense'; layer names must be unique within a model, as in Keras: give layer 2 another Name (unnamed layers get Keras' automatic names: dense, dense_1, ...)");

    [Theory]
    [InlineData("", "''", "is empty")]
    [InlineData("hidden layer", "'hidden layer'", "contains a space")]
    [InlineData("encoder/dense", "'encoder/dense'", "contains '/', which separates the layer from its weight in tensor names such as 'dense/kernel'")]
    [InlineData("d\u00e9nse", "'d\u00e9nse'", "contains '\u00e9' (U+00E9)")]
    [InlineData("tab\t", "'tab\\u0009'", "contains U+0009")]
    [InlineData("a\"b", "'a\"b'", "contains '\"'")]
    [InlineData("optimizer.state.0", "'optimizer.state.0'", "starts with 'optimizer.state.', which checkpoints keep for optimizer state")]
    [InlineData("x0123456789x0123456789x0123456789x0123456789x0123456789x0123456789x0123456789x0123456789x0123456789x0123456789",
        "'x0123456789x0123456789x0123456789x0123456789x0123456789x0123...'", "has 110 characters")]
    public void ALayerNameThatCannotBeUsed(string name, string shown, string problem) => AssertSingle($$"""
        [Sequential(4)]
        [Dense(2, [|Name = {{Microsoft.CodeAnalysis.CSharp.SymbolDisplay.FormatLiteral(name, quote: true)}}|])]
        public partial class M { }
        """, "KILN0010", $"{shown} cannot be a layer name: it {problem}; a layer name is 1 to 100 ASCII letters, digits, '_', '.' or '-', e.g. 'block1.conv_2'");

    [Fact]
    public void ZeroInputDimension() => AssertSingle("""
        [Sequential(28, [|0|])]
        [Flatten]
        [Dense(2)]
        public partial class M { }
        """, "KILN0006", "input dimension 1 of 'M' is 0; every dimension of a sample must be at least 1");

    [Fact]
    public void DenseOnAnImage() => AssertSingle("""
        [Sequential(28, 28)]
        [[|Dense(10, Activation.Softmax)|]]
        [Loss(Loss.SparseCategoricalCrossentropy)]
        public partial class M { }
        """, "KILN0101", "Dense 'dense' needs one value per sample, but its input is (28, 28); put [Flatten] before it");

    [Fact]
    public void ZeroUnits() => AssertSingle("""
        [Sequential(4)]
        [Dense(8)]
        [Dense([|0|])]
        public partial class M { }
        """, "KILN0102", "Dense 'dense_1' has 0 units; give it at least 1");

    [Fact]
    public void UnitsWrittenByName() => AssertSingle("""
        [Sequential(4)]
        [Dense([|units: -3|])]
        public partial class M { }
        """, "KILN0102", "Dense 'dense' has -3 units; give it at least 1");

    [Theory]
    [InlineData("1.0", "1")]
    [InlineData("-0.5", "-0.5")]
    public void DropoutRateOutOfRange(string rate, string shown) => AssertSingle($$"""
        [Sequential(4)]
        [Dense(8)]
        [Dropout([|{{rate}}|])]
        [Dense(2)]
        public partial class M { }
        """, "KILN0103", $"Dropout 'dropout' has rate {shown}; the fraction of units dropped must be in [0, 1)");

    [Fact]
    public void ReshapeWithZero() => AssertSingle("""
        [Sequential(4)]
        [Reshape(4, [|0|])]
        public partial class M { }
        """, "KILN0104", "Reshape 'reshape' has dimension 0 at position 1; every target dimension must be at least 1 (-1 is not inferred: write the size)");

    [Fact]
    public void ReshapeChangesCount() => AssertSingle("""
        [Sequential(28, 28)]
        [Reshape([|14, 28, 3|])]
        public partial class M { }
        """, "KILN0105", "Reshape 'reshape' reshapes (28, 28) (784 values) to (14, 28, 3) (1176 values); the target must hold the same number of values");

    [Fact]
    public void NegativeLeakySlope() => AssertSingle("""
        [Sequential(4)]
        [Dense(4)]
        [LeakyRelu([|-0.1|])]
        public partial class M { }
        """, "KILN0106", "LeakyReLU 'leaky_re_lu' has alpha -0.1; use a slope of 0 or more (Keras' default is 0.3)");

    [Fact]
    public void DenseAfterAConvolution() => AssertSingle("""
        [Sequential(28, 28, 1)]
        [Conv2D(8, 3, UseBias = false)]
        [[|Dense(10, Activation.Softmax)|]]
        public partial class M { }
        """, "KILN0101", "Dense 'dense' needs one value per sample, but its input is (26, 26, 8); put [Flatten] or [GlobalAveragePooling2D] before it");

    [Fact]
    public void KernelLargerThanItsInput() => AssertSingle("""
        [Sequential(32, 32, 1)]
        [MaxPooling2D(16)]
        [[|Conv2D(8, 3)|]]
        public partial class M { }
        """, "KILN0107", "Conv2D 'conv2d' has a 3x3 window, but its input is (2, 2, 1); use a smaller window, Padding = Padding.Same, or fewer downsampling layers before it");

    [Fact]
    public void PoolLargerThanItsInput() => AssertSingle("""
        [Sequential(8, 8, 3)]
        [[|MaxPooling2D(16)|]]
        public partial class M { }
        """, "KILN0107", "MaxPooling2D 'max_pooling2d' has a 16x16 window, but its input is (8, 8, 3); use a smaller window, Padding = Padding.Same, or fewer downsampling layers before it");

    [Fact]
    public void SamePaddedPoolTooLargeToIndex() => AssertSingle("""
        [Sequential(8, 8, 3)]
        [[|AveragePooling2D(100000, Padding = Padding.Same)|]]
        public partial class M { }
        """, "KILN0107", "AveragePooling2D 'average_pooling2d' has a 100000x100000 window, but its input is (8, 8, 3) (padded 100000x100000), 30,000,000,000 values in one window, more than Kiln's kernels index; use a smaller window, Padding = Padding.Same, or fewer downsampling layers before it");

    [Fact]
    public void ZeroFilters() => AssertSingle("""
        [Sequential(28, 28, 1)]
        [Conv2D([|0|], 3)]
        public partial class M { }
        """, "KILN0108", "Conv2D 'conv2d' has filters = 0; it must be at least 1");

    [Fact]
    public void ZeroStrides() => AssertSingle("""
        [Sequential(28, 28, 1)]
        [Conv2D(4, 3, [|Strides = 0|])]
        public partial class M { }
        """, "KILN0108", "Conv2D 'conv2d' has Strides = 0; it must be at least 1");

    // KILN0150: positional arguments read as Keras reads them; the forms an older reading took as the window warn.
    [Fact]
    public void Conv2DWithKeras1KernelArguments() => AssertSingle("""
        [Sequential(28, 28, 1)]
        [Conv2D(32, 3, [|3|])]
        public partial class M { }
        """, "KILN0150", "Conv2D 'conv2d': Conv2D(32, 3, 3) means what it means in Keras, (filters, kernel_size, strides): a 3x3 window with strides 3, so the windows do not overlap; if you meant a 3x3 window with stride 1, write [Conv2D(32, 3)]; to keep strides 3, write them by name: strides: 3",
        DiagnosticSeverity.Warning);

    [Fact]
    public void Conv2DWithStridesPastTheKernel() => AssertSingle("""
        [Sequential(28, 28, 1)]
        [Conv2D(8, 3, [|5|])]
        public partial class M { }
        """, "KILN0150", "Conv2D 'conv2d': Conv2D(8, 3, 5) means what it means in Keras, (filters, kernel_size, strides): a 3x3 window with strides 5, so pixels between the windows are never read; if you meant a 3x5 window, write [Conv2D(8, 3, KernelWidth = 5)]; to keep strides 5, write them by name: strides: 5",
        DiagnosticSeverity.Warning);

    [Fact]
    public void Conv2DTransposeWithStridesPastTheKernel() => AssertSingle("""
        [Sequential(4, 4, 1)]
        [Conv2DTranspose(8, 2, [|3|])]
        public partial class M { }
        """, "KILN0150", "Conv2DTranspose 'conv2d_transpose': Conv2DTranspose(8, 2, 3) means what it means in Keras, (filters, kernel_size, strides): a 2x2 window with strides 3, so some output rows and columns get only the bias; if you meant a 2x3 window, write [Conv2DTranspose(8, 2, KernelWidth = 3)]; to keep strides 3, write them by name: strides: 3",
        DiagnosticSeverity.Warning);

    [Fact]
    public void PoolingWithStridesPastTheWindow() => AssertSingle("""
        [Sequential(8, 8, 1)]
        [MaxPooling2D(2, [|3|])]
        public partial class M { }
        """, "KILN0150", "MaxPooling2D 'max_pooling2d': MaxPooling2D(2, 3) means what it means in Keras, (pool_size, strides): a 2x2 window with strides 3, so pixels between the windows are never read; if you meant a 2x3 window, write [MaxPooling2D(2, PoolWidth = 3)]; to keep strides 3, write them by name: strides: 3",
        DiagnosticSeverity.Warning);

    [Theory]
    [InlineData("[Conv2D(64, 7, 2, Padding = Padding.Same)]")] // the ResNet stem
    [InlineData("[Conv2D(64, 1, 2)]")] // a ResNet projection shortcut
    [InlineData("[Conv2D(32, 3, strides: 3)]")] // strides by name: meant
    [InlineData("[Conv2DTranspose(8, 2, 2)]")] // the usual upsampling
    [InlineData("[MaxPooling2D(3, 2, Padding = Padding.Same)]")] // overlapping pooling
    [InlineData("[MaxPooling2D(2, strides: 3)]")]
    public void KerasReadingsThatAreUsualDoNotWarn(string layer)
    {
        var result = GeneratorHarness.Run("using Kiln;\nnamespace Models;\n[Sequential(32, 32, 3)]\n" + layer + "\npublic partial class M { }");
        Assert.Empty(result.GeneratorDiagnostics);
        Assert.Empty(result.CompilationDiagnostics);
    }

    [Fact]
    public void StridesByPositionAndByProperty() => AssertSingle("""
        [Sequential(28, 28, 1)]
        [Conv2D(64, 7, 2, [|Strides = 2|])]
        public partial class M { }
        """, "KILN0151", "[Conv2D] gets strides twice, 2 by position and Strides = 2; write it once");

    [Fact]
    public void OffsetByNameAndByProperty() => AssertSingle("""
        [Sequential(4)]
        [Rescaling(0.5, offset: 1, [|Offset = 2|])]
        public partial class M { }
        """, "KILN0151", "[Rescaling] gets offset twice, offset: 1 and Offset = 2; write it once");

    [Theory]
    [InlineData("Dense(4, [|KernelL2 = -0.1|])", "Dense 'dense' has KernelL2 = -0.1")]
    [InlineData("Dense(4, KernelL2 = 1e-4, [|BiasL1 = -1e-3|])", "Dense 'dense' has BiasL1 = -0.001")]
    [InlineData("Conv2D(2, 3, [|KernelL1 = -2|])", "Conv2D 'conv2d' has KernelL1 = -2")]
    [InlineData("Conv2DTranspose(2, 3, [|BiasL2 = -0.5|])", "Conv2DTranspose 'conv2d_transpose' has BiasL2 = -0.5")]
    [InlineData("BatchNormalization([|GammaL1 = -1|])", "BatchNormalization 'batch_normalization' has GammaL1 = -1")]
    [InlineData("BatchNormalization(GammaL2 = 1e-4, [|BetaL2 = -0.25|])", "BatchNormalization 'batch_normalization' has BetaL2 = -0.25")]
    public void NegativeRegularizerFactor(string layer, string start) => AssertSingle($$"""
        [Sequential(4, 4, 1)]
        {{(layer.StartsWith("Dense") ? "[Flatten]" : "")}}
        [{{layer}}]
        public partial class M { }
        """, "KILN0160", start + "; a regularizer factor adds factor·Σ|w| (L1) or factor·Σw² (L2) to the loss and must be finite and ≥ 0 (1e-4 to 1e-2 is usual); 0 turns it off");

    [Fact]
    public void BiasRegularizerWithoutABias() => AssertSingle("""
        [Sequential(4)]
        [Dense(4, UseBias = false, KernelL2 = 1e-4, [|BiasL2 = 1e-4|])]
        public partial class M { }
        """, "KILN0161", "Dense 'dense' has BiasL2 but UseBias = false, so there is no bias to regularize and BiasL2 does nothing; remove BiasL2, or drop UseBias = false",
        DiagnosticSeverity.Warning);

    [Fact]
    public void RegularizerOnAFrozenLayer() => AssertSingle("""
        [Sequential(4, 4, 1)]
        [Conv2D(2, 3, Trainable = false, [|KernelL2 = 1e-4|])]
        public partial class M { }
        """, "KILN0162", "Conv2D 'conv2d' has KernelL2 but Trainable = false; as in Keras, only trainable weights are regularized, so KernelL2 adds nothing to the loss; remove it, or unfreeze the layer",
        DiagnosticSeverity.Warning);

    [Theory]
    [InlineData("Scale = false, [|GammaL2 = 1e-4|]", "BatchNormalization 'batch_normalization' has GammaL2 but Scale = false, so the layer has no gamma to regularize and GammaL2 does nothing; remove GammaL2, or drop Scale = false")]
    [InlineData("Center = false, GammaL1 = 1e-3, [|BetaL1 = 1e-3|]", "BatchNormalization 'batch_normalization' has BetaL1 but Center = false, so the layer has no beta to regularize and BetaL1 does nothing; remove BetaL1, or drop Center = false")]
    public void GammaOrBetaRegularizerWithoutThatWeight(string arguments, string message) => AssertSingle($$"""
        [Sequential(4, 4, 1)]
        [Conv2D(2, 3, UseBias = false)]
        [BatchNormalization({{arguments}})]
        public partial class M { }
        """, "KILN0170", message, DiagnosticSeverity.Warning);

    [Fact]
    public void GammaRegularizerOnAFrozenBatchNormalization() => AssertSingle("""
        [Sequential(4, 4, 1)]
        [Conv2D(2, 3, UseBias = false)]
        [BatchNormalization(Trainable = false, [|GammaL2 = 1e-4|])]
        public partial class M { }
        """, "KILN0162", "BatchNormalization 'batch_normalization' has GammaL2 but Trainable = false; as in Keras, only trainable weights are regularized, so GammaL2 adds nothing to the loss; remove it, or unfreeze the layer",
        DiagnosticSeverity.Warning);

    [Fact]
    public void SynchronizedBatchNormalizationThatIsFrozen() => AssertSingle("""
        [Sequential(4, 4, 2)]
        [BatchNormalization(Trainable = false, [|Synchronized = true|])]
        public partial class M { }
        """, "KILN0163", "BatchNormalization 'batch_normalization' has Synchronized = true but Trainable = false; a frozen BatchNormalization normalizes by its moving statistics in training too (Keras), so it has no batch statistics to synchronize across ranks; remove Synchronized, or unfreeze the layer",
        DiagnosticSeverity.Warning);

    [Fact]
    public void ABlockFrozenByItsUseKeepsItsRegularizersQuiet()
    {
        // The block's regularizers act where it learns; freezing one [Use] (a pretrained stage) is not a mistake in the block.
        // Its own Trainable = false still is.
        var result = GeneratorHarness.Run("""
            using Kiln;
            namespace Models;
            [Block]
            [Conv2D(Block.Filters, 3, Padding = Padding.Same, UseBias = false, KernelL2 = 1e-4)]
            [BatchNormalization(GammaL2 = 1e-4, Synchronized = true)]
            [Conv2D(Block.Filters, 1, Trainable = false, KernelL2 = 1e-4)]
            public class B { }
            [Sequential(4, 4, 1)]
            [Use<B>(Filters = 2, Trainable = false, Name = "frozen")]
            [Use<B>(Filters = 2)]
            public partial class M { }
            """);
        var kiln = result.GeneratorDiagnostics.Where(d => d.Id.StartsWith("KILN", System.StringComparison.Ordinal)).ToList();
        Assert.True(kiln.Count == 2 && kiln.All(d => d.Id == "KILN0162"), string.Join("\n", kiln));
        Assert.All(kiln, d => Assert.Contains(".conv2d_1' has KernelL2", d.GetMessage(System.Globalization.CultureInfo.InvariantCulture), System.StringComparison.Ordinal));
    }

    [Fact]
    public void WholeNumbersForNormalizationStatisticsAreOnlyTheCompilersError()
    {
        // new[] { 1 } is an int[], which C# will not assign to a double[] (CS0029). Kiln reads such an argument as unwritten
        // rather than adding a second, wrong complaint that it holds no values.
        var result = GeneratorHarness.Run("""
            using Kiln;
            namespace Models;
            [Sequential(4, 2)]
            [Normalization(Mean = new[] { 0, 1 }, Variance = new[] { 1 })]
            [Flatten]
            [Dense(2)]
            public partial class M { }
            """);
        Assert.Empty(result.GeneratorDiagnostics.Where(d => d.Id.StartsWith("KILN", System.StringComparison.Ordinal)));
        Assert.Equal(new[] { "CS0029", "CS0029" }, result.CompilationDiagnostics.Select(d => d.Id).ToArray());
    }

    [Fact]
    public void RegularizersOnEveryWeightedLayerAreClean()
    {
        foreach (string layer in new[] { "Dense(4, KernelL1 = 1e-5, KernelL2 = 1e-4, BiasL1 = 0, BiasL2 = 1e-3)", "Conv2D(2, 3, KernelL2 = 0.01)", "Conv2DTranspose(2, 2, Strides = 2, BiasL1 = 0.1)", "BatchNormalization(GammaL1 = 1e-4, GammaL2 = 1e-3, BetaL2 = 1e-2)" })
        {
            var result = GeneratorHarness.Run($"using Kiln;\nnamespace Models;\n[Sequential(4, 4, 1)]\n{(layer.StartsWith("Dense") ? "[Flatten]\n" : "")}[{layer}]\npublic partial class M {{ }}");
            Assert.Empty(result.GeneratorDiagnostics.Where(d => d.Id.StartsWith("KILN")));
        }
    }

    [Fact]
    public void ConvolutionOnAFlatInput() => AssertSingle("""
        [Sequential(28, 28)]
        [[|Conv2D(32, 3)|]]
        public partial class M { }
        """, "KILN0109", "Conv2D 'conv2d' works on images of shape (height, width, channels), but its input is (28, 28); add a channel axis: declare [Sequential(28, 28, 1)] or put [Reshape(28, 28, 1)] before it");

    [Fact]
    public void BiasBeforeBatchNormalization() => AssertSingle("""
        [Sequential(28, 28, 1)]
        [[|Conv2D(32, 3, Padding = Padding.Same)|]]
        [BatchNormalization]
        [Relu]
        public partial class M { }
        """, "KILN0110", "Conv2D 'conv2d' adds a bias that the BatchNormalization right after it subtracts again; set UseBias = false on Conv2D 'conv2d'",
        DiagnosticSeverity.Warning);

    [Fact]
    public void BatchNormalizationMomentum() => AssertSingle("""
        [Sequential(4)]
        [BatchNormalization([|Momentum = 1.5|])]
        public partial class M { }
        """, "KILN0111", "BatchNormalization 'batch_normalization' has Momentum = 1.5; it weighs the old moving statistics and must be in [0, 1] (Keras' default is 0.99)");

    [Fact]
    public void PoolingThatDropsPixels() => AssertSingle("""
        [Sequential(224, 224, 3)]
        [Conv2D(100, 2, UseBias = false)]
        [[|MaxPooling2D(16)|]]
        public partial class M { }
        """, "KILN0112", "MaxPooling2D 'max_pooling2d' on (223, 223, 100) with a 16x16 window and strides 16x16 never reads the last 15 row(s) and 15 column(s); use Padding = Padding.Same or an input size the pooling divides evenly",
        DiagnosticSeverity.Warning);

    [Fact]
    public void DropoutAsTheLastLayer() => AssertSingle("""
        [Sequential(4)]
        [Dense(8, Activation.Relu)]
        [Dense(1)]
        [[|Dropout(0.5)|]]
        [Loss(Loss.MeanSquaredError)]
        public partial class M { }
        """, "KILN0113", "Dropout 'dropout' is the last layer: it does nothing at inference, and in training it only zeroes random outputs before the loss compares them with the targets; remove it, or move it before the last layer with weights (e.g. between two Dense layers)",
        DiagnosticSeverity.Warning);

    [Fact]
    public void DropoutWithOnlyAnActivationAfterIt() => AssertSingle("""
        [Sequential(4)]
        [Dense(3)]
        [[|Dropout(0.2, Name = "drop")|]]
        [Softmax]
        [Loss(Loss.SparseCategoricalCrossentropy)]
        public partial class M { }
        """, "KILN0113", "Dropout 'drop' has no layer with weights after it: it does nothing at inference, and in training it only zeroes random outputs before the loss compares them with the targets; remove it, or move it before the last layer with weights (e.g. between two Dense layers)",
        DiagnosticSeverity.Warning);

    [Fact]
    public void NormalizationAxesNotTrailing() => AssertSingle("""
        [Sequential(28, 28, 3)]
        [Normalization([|Axis = new[] { 1 }|])]
        public partial class M { }
        """, "KILN0120", "Normalization 'normalization' keeps axes (1) of (batch, 28, 28, 3); keep a trailing run of sample axes, e.g. Axis = new[] { -1 } for one mean and variance per channel");

    [Fact]
    public void NormalizationStatisticsOfTheWrongLength() => AssertSingle("""
        [Sequential(8, 8, 3)]
        [Normalization([|Mean = new[] { 0.5, 0.5 }|])]
        public partial class M { }
        """, "KILN0121", "Normalization 'normalization' has 2 Mean value(s), but its axes keep 3 statistics; give 1 value to broadcast or 3");

    [Fact]
    public void NegativeNormalizationVariance() => AssertSingle("""
        [Sequential(8, 8, 3)]
        [Normalization(Mean = new[] { 0.5 }, [|Variance = new[] { 1.0, -0.25, 2.0 }|])]
        public partial class M { }
        """, "KILN0122", "Normalization 'normalization' has Variance -0.25; a variance is never negative, and the layer divides by its square root (NaN for a negative one); give 0 or more");

    [Fact]
    public void LossOnAnImage() => AssertSingle("""
        [Sequential(4, 4)]
        [Softmax]
        [[|Loss(Loss.CategoricalCrossentropy)|]]
        public partial class M { }
        """, "KILN0201", "[Loss(CategoricalCrossentropy)] compares one vector per sample, but the model's output is (4, 4); end the model with [Flatten] and a [Dense] layer");

    [Fact]
    public void BinaryCrossentropyOnSoftmax() => AssertSingle("""
        [Sequential(4)]
        [Dense(10, Activation.Softmax)]
        [[|Loss(Loss.BinaryCrossentropy)|]]
        public partial class M { }
        """, "KILN0202", "[Loss(BinaryCrossentropy)] treats each of the 10 units as an independent yes/no, but 'dense' applies softmax across them; for one class out of 10 use SparseCategoricalCrossentropy, for independent labels use Activation.Sigmoid");

    [Fact]
    public void CategoricalOnOneUnit() => AssertSingle("""
        [Sequential(4)]
        [Dense(1, Activation.Sigmoid)]
        [[|Loss(Loss.SparseCategoricalCrossentropy)|]]
        public partial class M { }
        """, "KILN0202", "[Loss(SparseCategoricalCrossentropy)] needs one score per class, but the output has 1 unit; for two classes use [Dense(1, Activation.Sigmoid)] with BinaryCrossentropy, or give the output one unit per class");

    [Fact]
    public void SoftmaxWithFromLogits() => AssertSingle("""
        [Sequential(4)]
        [Dense(3, Activation.Softmax)]
        [[|Loss(Loss.SparseCategoricalCrossentropy, FromLogits = true)|]]
        public partial class M { }
        """, "KILN0203", "[Loss(SparseCategoricalCrossentropy)] is set FromLogits = true, but the output layer 'dense' applies softmax; remove the activation from 'dense' or set FromLogits = false");

    [Fact]
    public void LinearOutputWithoutFromLogits() => AssertSingle("""
        [Sequential(4)]
        [Dense(3)]
        [[|Loss(Loss.SparseCategoricalCrossentropy)|]]
        public partial class M { }
        """, "KILN0204", "[Loss(SparseCategoricalCrossentropy)] expects probabilities, but the output layer 'dense' has no Softmax; set FromLogits = true or give 'dense' Activation.Softmax",
        DiagnosticSeverity.Warning);

    // KILN0204's fix names a layer that can carry the activation: never a Dropout, Flatten or Reshape.
    [Fact]
    public void LinearOutputUnderATrailingDropout()
    {
        var result = GeneratorHarness.Run("""
            using Kiln;
            [Sequential(4)]
            [Dense(8, Activation.Relu)]
            [Dense(3)]
            [Dropout(0.5)]
            [Loss(Loss.SparseCategoricalCrossentropy)]
            public partial class M { }
            """);
        var messages = result.GeneratorDiagnostics.Select(d => $"{d.Id}: {d.GetMessage(System.Globalization.CultureInfo.InvariantCulture)}").ToList();
        Assert.Equal(new[]
        {
            "KILN0113: Dropout 'dropout' is the last layer: it does nothing at inference, and in training it only zeroes random outputs before the loss compares them with the targets; remove it, or move it before the last layer with weights (e.g. between two Dense layers)",
            "KILN0204: [Loss(SparseCategoricalCrossentropy)] expects probabilities, but the output layer 'dropout' has no Softmax; set FromLogits = true or remove the Dropout 'dropout' and give 'dense_1' Activation.Softmax",
        }, messages.OrderBy(m => m));
    }

    [Fact]
    public void SoftmaxUnderATrailingDropoutIsOnlyTheDropoutWarning() => AssertSingle("""
        [Sequential(4)]
        [Dense(3, Activation.Softmax)]
        [[|Dropout(0.5)|]]
        [Loss(Loss.SparseCategoricalCrossentropy)]
        public partial class M { }
        """, "KILN0113", "Dropout 'dropout' is the last layer: it does nothing at inference, and in training it only zeroes random outputs before the loss compares them with the targets; remove it, or move it before the last layer with weights (e.g. between two Dense layers)",
        DiagnosticSeverity.Warning);

    [Fact]
    public void LinearOutputEndingInFlatten() => AssertSingle("""
        [Sequential(4, 4, 3)]
        [Conv2D(3, 4)]
        [Flatten]
        [[|Loss(Loss.SparseCategoricalCrossentropy)|]]
        public partial class M { }
        """, "KILN0204", "[Loss(SparseCategoricalCrossentropy)] expects probabilities, but the output layer 'flatten' has no Softmax; set FromLogits = true or end the model with [Softmax] after 'flatten'",
        DiagnosticSeverity.Warning);

    [Fact]
    public void SigmoidUnderATrailingDropoutIsNamedAtTheLayerThatAppliesIt()
    {
        var result = GeneratorHarness.Run("""
            using Kiln;
            [Sequential(4)]
            [Dense(3, Activation.Sigmoid)]
            [Dropout(0.5)]
            [Loss(Loss.SparseCategoricalCrossentropy)]
            public partial class M { }
            """);
        var mismatch = Assert.Single(result.GeneratorDiagnostics, d => d.Id == "KILN0202");
        Assert.Equal("[Loss(SparseCategoricalCrossentropy)] needs scores that compete across classes, but 'dense' applies sigmoid to each unit; use Activation.Softmax (or FromLogits = true with a linear output)",
            mismatch.GetMessage(System.Globalization.CultureInfo.InvariantCulture));
    }

    [Fact]
    public void UnknownLayerName() => AssertSingle("""
        [Sequential(4)]
        [Dense(8, Name = "stem")]
        [Dense(8, Name = "main")]
        [Add("main", [|"stme"|])]
        public partial class M { }
        """, "KILN0130", "Add 'add' reads 'stme', but no layer above it has that name; the layers above it are 'stem', 'main'");

    [Fact]
    public void LayerNamedBelowItsReader() => AssertSingle("""
        [Sequential(4)]
        [Dense(8, Name = "stem")]
        [Dense(8, [|From = "head"|])]
        [Dense(2, Name = "head")]
        public partial class M { }
        """, "KILN0130", "Dense 'dense' reads 'head', but no layer above it has that name; 'head' is written below it (a layer can read only layers above it); move the attributes so 'head' comes first");

    [Fact]
    public void MergeShapesDisagreeAtTheBranch() => AssertSingle("""
        [Sequential(8, 8, 3)]
        [Conv2D(16, 3, Padding = Padding.Same, Name = "stem")]
        [Conv2D(32, 3, Strides = 2, Padding = Padding.Same)]
        [[|Conv2D(32, 3, Padding = Padding.Same, Name = "main")|]]
        [Add("stem", "main")]
        public partial class M { }
        """, "KILN0131", "Add 'add' cannot merge 'main' (4, 4, 32) with 'stem' (8, 8, 16); give the shortcut a projection, e.g. [Conv2D(filters, 1, Strides = s, From = ...)] so both branches have the same height, width and channels");

    [Fact]
    public void ConcatenateOtherAxesDisagree() => AssertSingle("""
        [Sequential(8, 8, 3)]
        [Conv2D(4, 1, Name = "a")]
        [[|MaxPooling2D(2, Name = "b")|]]
        [Concatenate("a", "b")]
        public partial class M { }
        """, "KILN0131", "Concatenate 'concatenate' cannot merge 'b' (4, 4, 4) with 'a' (8, 8, 4); Concatenate along axis -1 needs every other axis to agree");

    [Fact]
    public void MergeOfOneInput() => AssertSingle("""
        [Sequential(4)]
        [Dense(8, Name = "a")]
        [Add([|"a"|])]
        public partial class M { }
        """, "KILN0132", "Add 'add' names 1 input(s) but needs at least two; list the names of the layers it merges, e.g. [Add(\"main\", \"shortcut\")]");

    [Fact]
    public void UnusedBranch() => AssertSingle("""
        [Sequential(4)]
        [Dense(8, Name = "a")]
        [[|Dense(8, Name = "forgotten")|]]
        [Dense(2, From = "a")]
        public partial class M { }
        """, "KILN0133", "Dense 'forgotten' is not the model's output and no layer reads it, so it computes nothing the model returns; the next layer, 'dense', reads 'a' instead; add 'forgotten' to a merge or remove it",
        DiagnosticSeverity.Warning);

    [Fact]
    public void ConcatenateAlongTheBatch() => AssertSingle("""
        [Sequential(4)]
        [Dense(8, Name = "a")]
        [Dense(8, Name = "b")]
        [Concatenate("a", "b", [|Axis = 0|])]
        public partial class M { }
        """, "KILN0134", "Concatenate 'concatenate' joins along axis 0, but its inputs are (8); as in Keras the batch is axis 0, so use an axis from 1 to the input rank, or -1 for the last");

    [Fact]
    public void FromOnAMerge() => AssertSingle("""
        [Sequential(4)]
        [Dense(8, Name = "a")]
        [Dense(8, Name = "b")]
        [Add("a", "b", [|From = "a"|])]
        public partial class M { }
        """, "KILN0135", "Add 'add' reads the layers it names (or, for an [Input], nothing), so From has no meaning on it; list every input in a merge instead");

    [Fact]
    public void InputOnASequentialModel() => AssertSingle("""
        [Sequential(4)]
        [[|Input(3, Name = "extra")|]]
        [Dense(2)]
        public partial class M { }
        """, "KILN0136", "'M' has [Sequential] and [Input] attributes; [Sequential(...)] declares the one input of a model, [Input(...)] each input of a model with several: use one or the other");

    [Fact]
    public void LayerBeforeTheFirstInput() => AssertSingle("""
        [[|Dense(2)|]]
        [Input(3, Name = "features")]
        [Dense(2)]
        public partial class M { }
        """, "KILN0137", "Dense 'dense' is written before any [Input], so it has nothing to read; a model declared with [Input] attributes starts with one, e.g. [Input(28, 28, 1, Name = \"image\")]");

    [Fact]
    public void InputWithoutAShape() => AssertSingle("""
        [[|Input(Name = "features")|]]
        [Dense(2)]
        public partial class M { }
        """, "KILN0138", "InputLayer 'features' needs the shape of one sample, e.g. [Input(28, 28, 1, Name = \"image\")]");

    [Fact]
    public void LossOfSeveralWithoutOutput() => AssertSingle("""
        [Sequential(4)]
        [Dense(3, Activation.Softmax, Name = "class")]
        [Dense(1, From = "class", Name = "size")]
        [Loss(Loss.SparseCategoricalCrossentropy, Output = "class")]
        [[|Loss(Loss.MeanSquaredError)|]]
        public partial class M { }
        """, "KILN0139", "[Loss(MeanSquaredError)] is one of 2 losses, so it must say which layer's output it trains: add Output = \"name\" (and Weight = w for Keras' loss_weights)");

    [Fact]
    public void TwoLossesOnOneOutput() => AssertSingle("""
        [Sequential(4)]
        [Dense(3, Activation.Softmax, Name = "class")]
        [Dense(1, From = "class", Name = "size")]
        [Loss(Loss.SparseCategoricalCrossentropy, Output = "class")]
        [Loss(Loss.MeanSquaredError, [|Output = "class"|])]
        public partial class M { }
        """, "KILN0140", "[Loss(MeanSquaredError)] names 'class', which another [Loss] already trains; give each output one loss");

    [Fact]
    public void NegativeLossWeight() => AssertSingle("""
        [Sequential(4)]
        [Dense(3, Activation.Softmax, Name = "class")]
        [Dense(1, From = "class", Name = "size")]
        [Loss(Loss.SparseCategoricalCrossentropy, Output = "class")]
        [Loss(Loss.MeanSquaredError, Output = "size", [|Weight = -1|])]
        public partial class M { }
        """, "KILN0141", "[Loss(MeanSquaredError)] has Weight -1; a loss weight scales that output's loss in the sum and must be finite and at least 0");

    [Theory]
    [InlineData("1.5", "1.5")]
    [InlineData("-0.1", "-0.1")]
    [InlineData("1.0001", "1.0001")]
    public void LabelSmoothingOutOfRange(string value, string shown) => AssertSingle($$"""
        [Sequential(4)]
        [Dense(3, Activation.Softmax)]
        [Loss(Loss.CategoricalCrossentropy, [|LabelSmoothing = {{value}}|])]
        public partial class M { }
        """, "KILN0205", $"[Loss(CategoricalCrossentropy)] has LabelSmoothing {shown}; label smoothing moves that fraction of each target towards the uniform distribution and must be in [0, 1] (0.1 is usual)");

    [Fact]
    public void LabelSmoothingOnMeanSquaredError() => AssertSingle("""
        [Sequential(4)]
        [Dense(1)]
        [Loss(Loss.MeanSquaredError, [|LabelSmoothing = 0.1|])]
        public partial class M { }
        """, "KILN0206", "[Loss(MeanSquaredError)] has LabelSmoothing 0.1, but mean squared error compares values, not class labels, and Keras' MeanSquaredError takes no label_smoothing; remove it, or use a cross-entropy loss");

    [Fact]
    public void LabelSmoothingInRangeOnEveryCrossentropyIsClean()
    {
        foreach (var (loss, output) in new[] { ("SparseCategoricalCrossentropy", "3, Activation.Softmax"), ("CategoricalCrossentropy", "3, Activation.Softmax"), ("BinaryCrossentropy", "1, Activation.Sigmoid") })
            foreach (string ls in new[] { "0", "0.1", "1" })
            {
                var result = GeneratorHarness.Run($"using Kiln;\nnamespace Models;\n[Sequential(4)]\n[Dense({output})]\n[Loss(Loss.{loss}, LabelSmoothing = {ls})]\npublic partial class M {{ }}");
                Assert.Empty(result.GeneratorDiagnostics.Where(d => d.Id.StartsWith("KILN")));
            }
    }

    [Fact]
    public void UseOfAClassThatIsNotABlock() => AssertSingle("""
        public class Plain { }

        [Sequential(4)]
        [Dense(4)]
        [[|Use<Plain>(Units = 4)|]]
        public partial class M { }
        """, "KILN0142", "[Use<Plain>] inlines a block, but 'Plain' has no [Block] attribute; mark the class that holds the layers with [Block]");

    [Fact]
    public void ABlockHoldsLayersOnly() => AssertSingle("""
        [Block]
        [Dense(Block.Units)]
        [[|Loss(Loss.MeanSquaredError)|]]
        public class B { }

        [Sequential(4)]
        [Dense(4)]
        [Use<B>(Units = 4)]
        public partial class M { }
        """, "KILN0143", "[Block] 'B' holds [Loss], but a block holds layer attributes only (no [Use], [Input], [Sequential] or [Loss]); put it on the model");

    [Fact]
    public void BlockParameterNotGiven() => AssertSingle("""
        [Block]
        [Dense(Block.Units, Activation.Relu)]
        public class B { }

        [Sequential(4)]
        [Dense(4)]
        [[|Use<B>|]]
        public partial class M { }
        """, "KILN0144", "[Block] 'B' uses Block.Units (at Models.cs:4), but this [Use] gives no Units; add Units = ... to it");

    [Fact]
    public void BlockParameterOutsideABlock() => AssertSingle("""
        [Sequential(4)]
        [Dense([|Block.Units|])]
        public partial class M { }
        """, "KILN0145", "Block.* values stand for a [Use]'s parameters and mean something only in a [Block] class; write the value itself here (argument 'units')");

    [Fact]
    public void BlockInputWithNothingBeforeTheUse() => AssertSingle("""
        [Block]
        [Dense(4, Name = "a")]
        [Dense(4, [|From = Block.In|], Name = "b")]
        [Add("a", "b")]
        public class B { }

        [Sequential(4)]
        [Use<B>]
        public partial class M { }
        """, "KILN0146", "[Block] 'B' reads Block.In, but nothing is written before this [Use]; put a layer before it or give the [Use] a From");

    [Fact]
    public void EveryDescriptorIsTested()
    {
        // Keeps this file and the catalog in step: a new diagnostic needs a test above.
        var source = System.IO.File.ReadAllText(SnapshotTests.SourcePath(nameof(DiagnosticTests) + ".cs"));
        foreach (var d in Kiln.Graph.Descriptors.All)
            Assert.True(source.Contains('"' + d.Id + '"'), $"{d.Id} ({d.Title}) has no test in DiagnosticTests.cs");
    }

    [Fact]
    public void EveryDescriptorIsDocumented()
    {
        var docs = System.IO.File.ReadAllText(SnapshotTests.SourcePath("../../docs/diagnostics.md"));
        foreach (var d in Kiln.Graph.Descriptors.All)
            Assert.True(docs.Contains("## " + d.Id), $"{d.Id} ({d.Title}) is not documented in docs/diagnostics.md");
    }

    [Fact]
    public void EveryDescriptorLinksToItsSectionOfTheDocs()
    {
        var docs = System.IO.File.ReadAllLines(SnapshotTests.SourcePath("../../docs/diagnostics.md"));
        // GitHub's heading anchors: lower case, punctuation dropped, spaces to '-'.
        var anchors = docs.Where(l => l.StartsWith("#", System.StringComparison.Ordinal))
            .Select(l => new string(l.TrimStart('#').Trim().ToLowerInvariant().Where(c => char.IsLetterOrDigit(c) || c is ' ' or '-' or '_').ToArray()).Replace(' ', '-'))
            .ToHashSet();
        foreach (var d in GeneratorAnalyzer.Descriptors)
        {
            Assert.StartsWith("docs/diagnostics.md#", d.HelpLinkUri, System.StringComparison.Ordinal);
            string anchor = d.HelpLinkUri.Substring("docs/diagnostics.md#".Length);
            Assert.True(anchors.Contains(anchor), $"{d.Id}'s help link {d.HelpLinkUri} names no heading of docs/diagnostics.md");
            Assert.Equal(d.Id.ToLowerInvariant(), anchor);
        }
    }

    [Fact]
    public void EveryDescriptorIsTrackedForRelease()
    {
        var releases = System.IO.File.ReadAllText(SnapshotTests.SourcePath("../../src/Generator/AnalyzerReleases.Unshipped.md"))
            + System.IO.File.ReadAllText(SnapshotTests.SourcePath("../../src/Generator/AnalyzerReleases.Shipped.md"));
        foreach (var d in Kiln.Graph.Descriptors.All)
            Assert.True(releases.Contains($"{d.Id} | Kiln | {d.Severity} |"), $"{d.Id} is not tracked (with severity {d.Severity}) in AnalyzerReleases.*.md");
    }

    [Fact]
    public void RoslynDescriptorsMirrorTheCatalog()
    {
        var roslyn = typeof(KilnGenerator).Assembly.GetType("Kiln.Generator.RoslynDescriptors")!
            .GetField("All")!.GetValue(null) as DiagnosticDescriptor[];
        Assert.NotNull(roslyn);
        Assert.Equal(Kiln.Graph.Descriptors.All.Select(d => (d.Id, d.Title, d.Severity.ToString())),
            roslyn!.Select(d => (d.Id, d.Title.ToString(System.Globalization.CultureInfo.InvariantCulture), d.DefaultSeverity.ToString())));
    }

    [Fact]
    public void AValidModelHasNoDiagnosticsAndCompilesWithWarningsAsErrors()
    {
        var result = GeneratorHarness.Run("""
            using Kiln;
            namespace Models;
            [Sequential(8, 8)]
            [Reshape(64)]
            [Dense(32, UseBias = false)]
            [LeakyRelu]
            [Dropout(0.25)]
            [Dense(16)]
            [Tanh]
            [Dense(8, Activation.Sigmoid)]
            [Dense(4)]
            [Softmax]
            [Loss(Loss.CategoricalCrossentropy)]
            public partial class Everything { }
            """);
        Assert.Empty(result.GeneratorDiagnostics);
        Assert.Empty(result.CompilationDiagnostics);
        Assert.Single(result.Generated);
    }

    [Fact]
    public void SequentialShapeLooksChannelsFirst() => AssertSingle("""
        [[|Sequential(3, 32, 32)|]]
        [Conv2D(8, 3, Padding = Padding.Same)]
        [GlobalAveragePooling2D]
        [Dense(10, Activation.Softmax)]
        public partial class M { }
        """, "KILN0155", "[Sequential] on 'M' reads (3, 32, 32) channels last, as 3×32 images with 32 channels, but it looks like channels-first images, 3 channel(s) of 32×32; if the data is (channels, height, width), add DataFormat = DataFormat.ChannelsFirst, or convert the data with ChannelLayout.ToChannelsLast and declare (32, 32, 3)",
        DiagnosticSeverity.Warning);

    [Fact]
    public void InputShapeLooksChannelsFirst() => AssertSingle("""
        [[|Input(1, 28, 28, Name = "image")|]]
        [Conv2D(8, 3, Padding = Padding.Same)]
        [GlobalAveragePooling2D]
        [Dense(10, Activation.Softmax)]
        public partial class M { }
        """, "KILN0155", "[Input(1, 28, 28)] reads (1, 28, 28) channels last, as 1×28 images with 28 channels, but it looks like channels-first images, 1 channel(s) of 28×28; if the data is (channels, height, width), add DataFormat = DataFormat.ChannelsFirst, or convert the data with ChannelLayout.ToChannelsLast and declare (28, 28, 1)",
        DiagnosticSeverity.Warning);

    [Fact]
    public void ChannelsFirstShapeWithoutAnImageLayerIsNotFlagged()
    {
        // (3, 32, 32) read by Dense layers only is a sequence of 3 steps, not an image.
        var result = GeneratorHarness.Run("using Kiln;\nnamespace Models;\n[Sequential(3, 32, 32)]\n[Flatten]\n[Dense(2)]\npublic partial class M { }\n");
        Assert.Empty(result.GeneratorDiagnostics);
        Assert.Empty(result.CompilationDiagnostics);
    }

    [Fact]
    public void DataFormatChannelsFirstSilencesTheWarning()
    {
        var result = GeneratorHarness.Run("using Kiln;\nnamespace Models;\n[Sequential(3, 32, 32, DataFormat = DataFormat.ChannelsFirst)]\n[Conv2D(8, 3)]\n[GlobalAveragePooling2D]\n[Dense(2)]\npublic partial class M { }\n");
        Assert.Empty(result.GeneratorDiagnostics);
        Assert.Empty(result.CompilationDiagnostics);
    }

    [Fact]
    public void SequentialChannelsFirstNeedsThreeDimensions() => AssertSingle("""
        [Sequential(784, [|DataFormat = DataFormat.ChannelsFirst|])]
        [Dense(10, Activation.Softmax)]
        public partial class M { }
        """, "KILN0156", "[Sequential] on 'M' declares DataFormat.ChannelsFirst on the shape (784), but channels first means (channels, height, width), three dimensions; declare the image's three dimensions or drop DataFormat");

    [Fact]
    public void InputChannelsFirstNeedsThreeDimensions() => AssertSingle("""
        [Input(28, 28, Name = "image", [|DataFormat = DataFormat.ChannelsFirst|])]
        [Flatten]
        [Dense(10, Activation.Softmax)]
        public partial class M { }
        """, "KILN0156", "InputLayer 'image' declares DataFormat.ChannelsFirst on the shape (28, 28), but channels first means (channels, height, width), three dimensions; declare the image's three dimensions or drop DataFormat");

    // The augmentation layers' argument errors (KILN0152-0154, KILN0157-0159), each at the argument or attribute at fault.
    [Fact]
    public void RotationFactorAboveAFullTurn() => AssertSingle("""
        [Sequential(28, 28, 1)]
        [RandomRotation([|1.5|])]
        public partial class M { }
        """, "KILN0152", "RandomRotation 'random_rotation' has factor 1.5, outside [-1, 1] (a fraction of a full turn (2π), positive counter-clockwise); give a value in that range, or a (lower, upper) pair of such values");

    [Fact]
    public void TranslationRangeOutsideTheImage() => AssertSingle("""
        [Sequential(28, 28, 1)]
        [RandomTranslation(0.1, 0.2, [|-1.5|], 0.1)]
        public partial class M { }
        """, "KILN0152", "RandomTranslation 'random_translation' has widthLower -1.5, outside [-1, 1] (a fraction of the height or width, negative shifting up or left); give a value in that range, or a (lower, upper) pair of such values");

    [Fact]
    public void ContrastFactorAboveOne() => AssertSingle("""
        [Sequential(28, 28, 1)]
        [RandomContrast([|2|])]
        public partial class M { }
        """, "KILN0152", "RandomContrast 'random_contrast' has factor 2, outside [0, 1] (the contrast factor is drawn from [1 − lower, 1 + upper]); give a value in that range, or a (lower, upper) pair of such values");

    [Fact]
    public void UnknownKerasFlipMode() => AssertSingle("""
        [Sequential(28, 28, 1)]
        [RandomFlip([|"left_right"|])]
        public partial class M { }
        """, "KILN0153", "RandomFlip 'random_flip' has mode \"left_right\", which Keras does not know; use \"horizontal\", \"vertical\" or \"horizontal_and_vertical\" (or FlipMode.Horizontal, FlipMode.Vertical, FlipMode.HorizontalAndVertical)");

    [Fact]
    public void CropLargerThanTheImage() => AssertSingle("""
        [Sequential(28, 28, 1)]
        [RandomCrop([|32|], 24)]
        public partial class M { }
        """, "KILN0154", "RandomCrop 'random_crop' crops 32×24 windows from 28×28 images; the window must fit in the image: make it at most 28×28, or pad the images first ([ZeroPadding2D])");

    [Fact]
    public void AugmentationOnAFlatInput() => AssertSingle("""
        [Sequential(784)]
        [[|RandomFlip|]]
        [Dense(10)]
        public partial class M { }
        """, "KILN0157", "RandomFlip 'random_flip' transforms images, (height, width, channels), but its input is (784); augment the images before anything flattens them: put it right after the input");

    [Fact]
    public void AugmentationAfterAConvolution() => AssertSingle("""
        [Sequential(28, 28, 1)]
        [Conv2D(8, 3)]
        [[|RandomZoom(0.1)|]]
        public partial class M { }
        """, "KILN0158", "RandomZoom 'random_zoom' comes after Conv2D 'conv2d', which has trainable weights; augmentation transforms the model's input images, and Kiln does not take gradients back through a random transform: move it before Conv2D 'conv2d', right after the input (or after [Rescaling])");

    [Fact]
    public void EmptyContrastValueRange() => AssertSingle("""
        [Sequential(28, 28, 1)]
        [RandomContrast(0.2, ValueRangeLow = 1, [|ValueRangeHigh = 0|])]
        public partial class M { }
        """, "KILN0159", "RandomContrast 'random_contrast' clips to the value range [1, 0], which is empty; ValueRangeLow must be below ValueRangeHigh ([0, 255] for raw pixels, [0, 1] after [Rescaling(1 / 255.0)])");
}
