using System;
using System.Collections.Generic;
using System.Linq;
using System.Text;
using System.Text.RegularExpressions;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;

namespace Kiln.Generator.Tests;

/// <summary>
/// Layer names a user may write: every model gets a KILN name error or generated code that
/// compiles without a warning, whatever the names collide with (C# keywords, the generated
/// code's own locals and members, each other once made identifiers, Keras' automatic names).
/// </summary>
public class NameFuzzTests
{
    /// <summary>Names chosen to collide with something; null is "no Name", so the layer gets Keras' automatic one.</summary>
    private static readonly string?[] Pool =
    {
        null, null, null, null, null, null,
        // C# keywords, contextual ones included.
        "class", "int", "var", "default", "global", "this", "base", "new", "in", "out", "ref", "params", "value", "__arglist", "float", "return",
        // Parameters, locals and members of the generated code and of Kiln.Model.
        "p", "s", "n", "input", "inputGradient", "savedInput", "training", "targets", "gradient", "fromOutputGradient", "inputGradientWanted",
        "batchStatistics", "_batchStatistics", "foldedKernel", "foldedBias", "rng", "seed", "batchSize",
        "Summary", "Definition", "Parameters", "State", "Random", "Trainable", "Kernels", "Span", "System", "ArenaSlice", "WeightGradient",
        "FlopsPerSample", "ArenaBytes", "ForwardCore", "OutputBuffer",
        // Spelled like derived names: buffers, gradients, offsets, weight offsets, windows.
        "d_input", "d_dense", "dense_z", "dense_logits", "dense_mask", "dense_statistics", "d_re_lu", "DenseKernel", "Dense1At", "DDenseAt",
        "InputAt", "Conv2dWindow", "BatchNormalizationGamma", "Window", "At", "kernel", "bias", "layer", "layer_",
        // Keras' automatic names, and names that become the same identifier.
        "dense", "dense_1", "dense_2", "dense1", "Dense1", "re_lu", "re_lu_1", "conv2d", "conv2d_1", "batch_normalization", "dropout", "flatten",
        "a_b", "a.b", "a-b", "a__b", "a_b_2", "x", "X", "_x", "x_",
        // Digits, dots and dashes in odd places.
        "1", "1x", "_1x", "x1", "0_0", ".", "..", "-", "_", "__", ".hidden", "-x", "x-", "1.5",
        // Not usable: KILN0010.
        "", " ", "x y", "a/b", "ünï", "层", "naïve", "tab\t", "optimizer.state.1", new string('w', 101),
    };

    private static readonly Regex Usable = new("^[A-Za-z0-9_.-]{1,100}$");

    /// <summary>One random layer: its attribute text without the Name argument, and the Keras base name of its kind.</summary>
    private sealed record Layer(string Attribute, string KerasBase);

    [Fact]
    public void RandomNamesEitherGetANameErrorOrCompile()
    {
        var random = new Random(20240611);
        const int models = 150;
        var files = new List<(string Path, string Text)>();
        var expected = new Dictionary<string, (bool Unusable, bool Duplicate, string Text)>();
        for (int m = 0; m < models; m++)
        {
            string className = "M" + m;
            var layers = RandomChain(random);
            var names = layers.Select(_ => Pool[random.Next(Pool.Length)]).ToArray();
            var text = new StringBuilder("using Kiln;\nnamespace Models;\n");
            text.Append("[Sequential(8, 8, 2)]\n");
            for (int i = 0; i < layers.Count; i++)
                text.Append(WithName(layers[i].Attribute, names[i])).Append('\n');
            text.Append(random.Next(3) switch
            {
                0 => "[Loss(Loss.SparseCategoricalCrossentropy)]\n",
                1 => "[Loss(Loss.CategoricalCrossentropy)]\n",
                _ => "",
            });
            text.Append($"public partial class {className} {{ }}\n");

            // The oracle: the name rule, and Keras' automatic names (per base name, counting unnamed layers only).
            var counters = new Dictionary<string, int>();
            var final = new List<string>();
            for (int i = 0; i < layers.Count; i++)
            {
                if (names[i] is { } given)
                {
                    final.Add(given);
                    continue;
                }
                counters.TryGetValue(layers[i].KerasBase, out int count);
                counters[layers[i].KerasBase] = count + 1;
                final.Add(count == 0 ? layers[i].KerasBase : layers[i].KerasBase + "_" + count);
            }
            bool unusable = names.Any(n => n is not null && (!Usable.IsMatch(n) || n.StartsWith("optimizer.state.", StringComparison.Ordinal)));
            var usable = final.Where((n, i) => names[i] is null || Usable.IsMatch(n) && !n.StartsWith("optimizer.state.", StringComparison.Ordinal)).ToList();
            bool duplicate = usable.Distinct(StringComparer.Ordinal).Count() != usable.Count;
            files.Add((className + ".cs", text.ToString()));
            expected[className] = (unusable, duplicate, text.ToString());
        }

        var result = GeneratorHarness.Run(null, files.ToArray());

        int compiled = 0, rejected = 0;
        foreach (var (className, (unusable, duplicate, text)) in expected)
        {
            var kiln = result.GeneratorDiagnostics.Where(d => d.Location.GetLineSpan().Path == className + ".cs").ToList();
            var errors = kiln.Where(d => d.Severity == DiagnosticSeverity.Error).Select(d => d.Id).ToList();
            var compilerErrors = result.CompilationDiagnostics.Where(d => d.Location.SourceTree?.FilePath.EndsWith("Models." + className + ".g.cs", StringComparison.Ordinal) == true).ToList();
            string context = $"{className}:\n{text}\nKiln: {string.Join("\n", kiln)}\nCompiler: {string.Join("\n", compilerErrors.Take(5))}";
            Assert.True(errors.All(id => id is "KILN0009" or "KILN0010"), "only name errors are expected from these models\n" + context);
            Assert.True(unusable == errors.Contains("KILN0010"), "KILN0010 exactly when a name breaks the rule\n" + context);
            Assert.True(duplicate == errors.Contains("KILN0009"), "KILN0009 exactly when two final names are the same\n" + context);
            if (errors.Count > 0)
            {
                rejected++;
                // A skeleton that compiles, so the name error is the only one.
                Assert.Contains("Kiln could not generate " + className, result.Generated["Models." + className + ".g.cs"], StringComparison.Ordinal);
                Assert.True(compilerErrors.Count == 0, "the skeleton of a rejected model compiles\n" + context);
                continue;
            }
            compiled++;
            Assert.True(result.Generated.ContainsKey("Models." + className + ".g.cs"), "an accepted model gets generated code\n" + context);
            Assert.True(compilerErrors.Count == 0, "the generated code of an accepted model compiles\n" + context);
        }
        // Everything else in the compilation (the models' own files) is clean too.
        Assert.Empty(result.CompilationDiagnostics);
        // The pool is nasty enough to reject some models and mild enough to accept most.
        Assert.InRange(compiled, models / 3, models);
        Assert.InRange(rejected, 10, models);
    }

    [Fact]
    public void NamesThatAreKeywordsOrGeneratedIdentifiersCompile()
    {
        var result = GeneratorHarness.Run("""
            using Kiln;
            namespace Models;
            [Sequential(6, 6, 1)]
            [Conv2D(2, 3, Name = "class", UseBias = false)]
            [BatchNormalization(Name = "p")]
            [Relu(Name = "input")]
            [MaxPooling2D(2, Name = "DenseKernel")]
            [Flatten(Name = "Summary")]
            [Dense(4, Name = "a.b")]
            [Dropout(0.5, Name = "a_b")]
            [Dense(4, Name = "dense1", Trainable = false)]
            [Dense(3, Activation.Softmax, Name = "1x")]
            [Loss(Loss.SparseCategoricalCrossentropy)]
            public partial class DenseKernel { }
            """);
        Assert.Empty(result.GeneratorDiagnostics);
        Assert.Empty(result.CompilationDiagnostics);
        string generated = Assert.Single(result.Generated).Value;
        // Names stay the user's in the summary and tensor names; only identifiers change.
        Assert.Contains("new(\"class/kernel\"", generated);
        Assert.Contains("new(\"p/moving_mean\"", generated);
        Assert.Contains(" class (Conv2D) ", generated);
        // Identifiers get a suffix where the name is a keyword, a generated name (p, input, the class) or taken ('a.b' and 'a_b').
        Assert.Contains("Span<float> class_2_z = ", generated);
        Assert.Contains("Span<float> p_2_statistics = ", generated);
        Assert.Contains("Span<float> input_2 = ", generated);
        Assert.Contains("Span<float> DenseKernel_2 = ", generated);
        Assert.Contains("Span<float> a_b = ", generated);
        Assert.Contains("Span<float> a_b_2 = ", generated);
        Assert.Contains("private const int _1xKernel = ", generated);
    }

    /// <summary>An image part (convolutions, pooling, BN, activations, dropout), Flatten, a flat part, and an output Dense.</summary>
    private static List<Layer> RandomChain(Random random)
    {
        var layers = new List<Layer>();
        int size = 8;
        for (int i = random.Next(4); i > 0; i--)
        {
            switch (random.Next(6))
            {
                case 0: layers.Add(new("[Conv2D(3, 3, Padding = Padding.Same, UseBias = false)]", "conv2d")); break;
                case 1: layers.Add(new("[Conv2D(2, 3, Padding = Padding.Same, Activation = Activation.Relu)]", "conv2d")); break;
                case 2: layers.Add(new("[BatchNormalization]", "batch_normalization")); break;
                case 3 when size >= 4: layers.Add(new("[MaxPooling2D(2)]", "max_pooling2d")); size /= 2; break;
                case 4: layers.Add(new("[Relu]", "re_lu")); break;
                default: layers.Add(new("[Dropout(0.25)]", "dropout")); break;
            }
        }
        layers.Add(new("[Flatten]", "flatten"));
        for (int i = random.Next(4); i > 0; i--)
        {
            switch (random.Next(6))
            {
                case 0: layers.Add(new("[Dense(5)]", "dense")); break;
                case 1: layers.Add(new("[Dense(4, Activation.Relu, Trainable = false)]", "dense")); break;
                case 2: layers.Add(new("[BatchNormalization]", "batch_normalization")); break;
                case 3: layers.Add(new("[LeakyRelu]", "leaky_re_lu")); break;
                case 4: layers.Add(new("[Relu]", "re_lu")); break;
                default: layers.Add(new("[Dropout(0.5)]", "dropout")); break;
            }
        }
        if (random.Next(2) == 0)
        {
            layers.Add(new("[Dense(3, Activation.Softmax)]", "dense"));
        }
        else
        {
            layers.Add(new("[Dense(3)]", "dense"));
            layers.Add(new("[Softmax]", "softmax"));
        }
        return layers;
    }

    /// <summary>Adds <c>Name = "..."</c> to an attribute's argument list.</summary>
    private static string WithName(string attribute, string? name)
    {
        if (name is null) return attribute;
        string argument = "Name = " + SymbolDisplay.FormatLiteral(name, quote: true);
        string body = attribute.Substring(1, attribute.Length - 2);
        return body.EndsWith(")", StringComparison.Ordinal)
            ? "[" + body.Substring(0, body.Length - 1) + ", " + argument + ")]"
            : "[" + body + "(" + argument + ")]";
    }
}
