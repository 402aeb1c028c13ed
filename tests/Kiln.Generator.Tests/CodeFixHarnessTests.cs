using System.Threading.Tasks;
using Kiln.CodeFixes;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Testing;
using Microsoft.CodeAnalysis.Testing;

namespace Kiln.Generator.Tests;

/// <summary>
/// The code fixes through Roslyn's code-fix test harness (Microsoft.CodeAnalysis.CSharp.CodeFix.Testing):
/// the harness takes analyzers, so <see cref="GeneratorAnalyzer"/> runs the real generator and
/// reports its diagnostics; the harness then checks the marked diagnostics, applies the chosen
/// action, and checks that the fixed source has no diagnostic left (the generator accepts it).
/// </summary>
public class CodeFixHarnessTests
{
    private sealed class Test<TFix> : CSharpCodeFixTest<GeneratorAnalyzer, TFix, DefaultVerifier>
        where TFix : Microsoft.CodeAnalysis.CodeFixes.CodeFixProvider, new()
    {
        public Test(string source, string fixedSource, string key)
        {
            TestCode = source;
            FixedCode = fixedSource;
            CodeActionEquivalenceKey = key;
            // Offline: the framework and Kiln.Runtime the tests themselves run on, not a downloaded reference pack.
            ReferenceAssemblies = new ReferenceAssemblies("net10.0");
            TestState.AdditionalReferences.AddRange(GeneratorHarness.References.Value);
            // Our providers have no FixAllProvider (one [Loss] or Dense per model).
            CodeFixTestBehaviors = CodeFixTestBehaviors.SkipFixAllCheck;
        }
    }

    private static Task Verify<TFix>(string source, string fixedSource, string key)
        where TFix : Microsoft.CodeAnalysis.CodeFixes.CodeFixProvider, new() =>
        new Test<TFix>(source, fixedSource, key).RunAsync();

    [Fact]
    public Task FlattenBeforeADenseOnAnImage() => Verify<FlattenBeforeDenseCodeFix>("""
        using Kiln;
        [Sequential(8, 8, 1)]
        [Conv2D(4, 3)]
        [{|KILN0101:Dense(2, Activation.Softmax)|}]
        [Loss(Loss.SparseCategoricalCrossentropy)]
        public partial class M { }
        """, """
        using Kiln;
        [Sequential(8, 8, 1)]
        [Conv2D(4, 3)]
        [Flatten]
        [Dense(2, Activation.Softmax)]
        [Loss(Loss.SparseCategoricalCrossentropy)]
        public partial class M { }
        """, FlattenBeforeDenseCodeFix.FlattenKey);

    [Fact]
    public Task GlobalAveragePoolingBeforeADenseOnAnImage() => Verify<FlattenBeforeDenseCodeFix>("""
        using Kiln;
        [Sequential(8, 8, 1)]
        [Conv2D(4, 3)]
        [{|KILN0101:Dense(2, Activation.Softmax)|}]
        [Loss(Loss.SparseCategoricalCrossentropy)]
        public partial class M { }
        """, """
        using Kiln;
        [Sequential(8, 8, 1)]
        [Conv2D(4, 3)]
        [GlobalAveragePooling2D]
        [Dense(2, Activation.Softmax)]
        [Loss(Loss.SparseCategoricalCrossentropy)]
        public partial class M { }
        """, FlattenBeforeDenseCodeFix.GlobalAveragePoolingKey);

    private const string Logits = """
        using Kiln;
        [Sequential(4)]
        [Dense(3, UseBias = false)]
        [{|KILN0204:Loss(Loss.SparseCategoricalCrossentropy)|}]
        public partial class M { }
        """;

    [Fact]
    public Task LogitsGetFromLogits() => Verify<LossOutputCodeFix>(Logits, """
        using Kiln;
        [Sequential(4)]
        [Dense(3, UseBias = false)]
        [Loss(Loss.SparseCategoricalCrossentropy, FromLogits = true)]
        public partial class M { }
        """, LossOutputCodeFix.FromLogitsKey);

    [Fact]
    public Task LogitsGetASoftmax() => Verify<LossOutputCodeFix>(Logits, """
        using Kiln;
        [Sequential(4)]
        [Dense(3, Activation.Softmax, UseBias = false)]
        [Loss(Loss.SparseCategoricalCrossentropy)]
        public partial class M { }
        """, LossOutputCodeFix.SoftmaxKey);

    [Fact]
    public Task ASigmoidUnitGetsBinaryCrossentropy() => Verify<LossOutputCodeFix>("""
        using Kiln;
        [Sequential(4)]
        [Dense(1, Activation.Sigmoid)]
        [{|KILN0202:Loss(Loss.CategoricalCrossentropy)|}]
        public partial class M { }
        """, """
        using Kiln;
        [Sequential(4)]
        [Dense(1, Activation.Sigmoid)]
        [Loss(Loss.BinaryCrossentropy)]
        public partial class M { }
        """, LossOutputCodeFix.BinaryKey);

    private const string SoftmaxWithBinary = """
        using Kiln;
        [Sequential(4)]
        [Dense(10, activation: Activation.Softmax)]
        [{|KILN0202:Loss(Loss.BinaryCrossentropy)|}]
        public partial class M { }
        """;

    [Fact]
    public Task SoftmaxWithBinaryGetsSparseCategorical() => Verify<LossOutputCodeFix>(SoftmaxWithBinary, """
        using Kiln;
        [Sequential(4)]
        [Dense(10, activation: Activation.Softmax)]
        [Loss(Loss.SparseCategoricalCrossentropy)]
        public partial class M { }
        """, LossOutputCodeFix.SparseKey);

    [Fact]
    public Task SoftmaxWithBinaryGetsSigmoid() => Verify<LossOutputCodeFix>(SoftmaxWithBinary, """
        using Kiln;
        [Sequential(4)]
        [Dense(10, activation: Activation.Sigmoid)]
        [Loss(Loss.BinaryCrossentropy)]
        public partial class M { }
        """, LossOutputCodeFix.SigmoidKey);

    [Fact]
    public Task SigmoidWithCategoricalGetsSoftmax() => Verify<LossOutputCodeFix>("""
        using Kiln;
        [Sequential(4)]
        [Kiln.Dense(3, Kiln.Activation.Sigmoid)]
        [{|KILN0202:Loss(Loss.CategoricalCrossentropy)|}]
        public partial class M { }
        """, """
        using Kiln;
        [Sequential(4)]
        [Kiln.Dense(3, Kiln.Activation.Softmax)]
        [Loss(Loss.CategoricalCrossentropy)]
        public partial class M { }
        """, LossOutputCodeFix.SoftmaxKey);

    [Fact]
    public Task FromLogitsOnProbabilitiesIsRemoved() => Verify<LossOutputCodeFix>("""
        using Kiln;
        [Sequential(4)]
        [Dense(3, Activation.Softmax)]
        [{|KILN0203:Loss(Loss.SparseCategoricalCrossentropy, FromLogits = true)|}]
        public partial class M { }
        """, """
        using Kiln;
        [Sequential(4)]
        [Dense(3, Activation.Softmax)]
        [Loss(Loss.SparseCategoricalCrossentropy)]
        public partial class M { }
        """, LossOutputCodeFix.NoFromLogitsKey);

    private const string LooksChannelsFirst = """
        using Kiln;
        [{|KILN0155:Sequential(3, 32, 32)|}]
        [Conv2D(8, 3, Padding = Padding.Same)]
        [GlobalAveragePooling2D]
        [Dense(10, Activation.Softmax)]
        [Loss(Loss.SparseCategoricalCrossentropy)]
        public partial class M { }
        """;

    [Fact]
    public Task AChannelsFirstLookingShapeIsDeclaredChannelsFirst() => Verify<ChannelsFirstCodeFix>(LooksChannelsFirst, """
        using Kiln;
        [Sequential(3, 32, 32, DataFormat = DataFormat.ChannelsFirst)]
        [Conv2D(8, 3, Padding = Padding.Same)]
        [GlobalAveragePooling2D]
        [Dense(10, Activation.Softmax)]
        [Loss(Loss.SparseCategoricalCrossentropy)]
        public partial class M { }
        """, ChannelsFirstCodeFix.DataFormatKey);

    [Fact]
    public Task AChannelsFirstLookingShapeIsRewrittenChannelsLast() => Verify<ChannelsFirstCodeFix>(LooksChannelsFirst, """
        using Kiln;
        [Sequential(32, 32, 3)]
        [Conv2D(8, 3, Padding = Padding.Same)]
        [GlobalAveragePooling2D]
        [Dense(10, Activation.Softmax)]
        [Loss(Loss.SparseCategoricalCrossentropy)]
        public partial class M { }
        """, ChannelsFirstCodeFix.ChannelsLastShapeKey);

    [Fact]
    public Task AChannelsFirstLookingInputIsDeclaredChannelsFirst() => Verify<ChannelsFirstCodeFix>("""
        using Kiln;
        [{|KILN0155:Kiln.Input(1, 28, 28, Name = "image")|}]
        [Conv2D(8, 3, Padding = Padding.Same)]
        [GlobalAveragePooling2D]
        [Dense(10, Activation.Softmax)]
        [Loss(Loss.SparseCategoricalCrossentropy)]
        public partial class M { }
        """, """
        using Kiln;
        [Kiln.Input(1, 28, 28, Name = "image", DataFormat = Kiln.DataFormat.ChannelsFirst)]
        [Conv2D(8, 3, Padding = Padding.Same)]
        [GlobalAveragePooling2D]
        [Dense(10, Activation.Softmax)]
        [Loss(Loss.SparseCategoricalCrossentropy)]
        public partial class M { }
        """, ChannelsFirstCodeFix.DataFormatKey);
}
