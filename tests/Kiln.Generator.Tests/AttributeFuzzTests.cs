using System;
using System.Collections.Generic;
using System.Linq;
using System.Text;
using Microsoft.CodeAnalysis;

namespace Kiln.Generator.Tests;

/// <summary>
/// Random attribute lists, valid and not: any layer, any argument a user could type (zero,
/// negative, huge, NaN), user names, From, merges, losses. Whatever they are, each model gets
/// KILN diagnostics or generated code, and the compilation as a whole has no C# error: not in
/// generated code, no CS8785 (a generator crash), no KILN0008 (Kiln's own failure); and each model
/// Kiln accepts trains and predicts, finite unless an argument is wild (NaN, 1e308, …), and otherwise
/// computes the same in ONNX Runtime. GraphFuzzTests checks gradients on valid graphs and NameFuzzTests
/// checks names; this one checks nothing slips through.
/// </summary>
public class AttributeFuzzTests
{
    private static readonly string[] Ints = { "-1", "0", "1", "2", "3", "8", "16", "100000", "int.MaxValue" };
    private static readonly string[] Doubles = { "0.0", "0.3", "0.5", "1.0", "-0.5", "1.5", "1e308", "double.NaN", "double.PositiveInfinity", "1.0 / 255" };
    // Enum values cast from numbers Kiln does not define are something a user can write too.
    private static readonly string[] Activations = { "Activation.Linear", "Activation.Relu", "Activation.Sigmoid", "Activation.Tanh", "Activation.Softmax",
        "Activation.Relu", "Activation.Softmax", "Activation.Linear", "Activation.Sigmoid", "(Activation)9" };
    private static readonly string[] Losses = { "Loss.SparseCategoricalCrossentropy", "Loss.CategoricalCrossentropy", "Loss.BinaryCrossentropy", "Loss.MeanSquaredError",
        "Loss.SparseCategoricalCrossentropy", "Loss.CategoricalCrossentropy", "Loss.BinaryCrossentropy", "Loss.MeanSquaredError", "(Loss)9" };
    private static readonly string?[] Names = { null, null, null, null, null, null, null, null, "a", "b", "dense", "x", "dense_1", "" };

    private static string Pick(Random r, string[] pool) => pool[r.Next(pool.Length)];

    /// <summary>Mostly small, sensible values (so most models get far enough to compile), sometimes anything.</summary>
    private static string Int(Random r, params string[] usual) => r.Next(10) == 0 ? Pick(r, Ints) : Pick(r, usual);

    private static string Double(Random r, params string[] usual) => r.Next(10) == 0 ? Pick(r, Doubles) : Pick(r, usual);

    private static string Layer(Random r, List<string> names)
    {
        string body = r.Next(22) switch
        {
            0 or 1 or 2 => $"Dense({Int(r, "4", "8", "10")}{(r.Next(2) == 0 ? ", " + Pick(r, Activations) : "")}{(r.Next(5) == 0 ? ", UseBias = false" : "")})",
            3 => "Flatten",
            4 => Pick(r, new[] { "Relu", "Sigmoid", "Tanh", "Softmax" }),
            5 => $"LeakyRelu({Double(r, "0.3", "0.1")})",
            6 => $"Dropout({Double(r, "0.25", "0.5")})",
            7 => $"Reshape({string.Join(", ", Enumerable.Range(0, r.Next(0, 4)).Select(_ => Int(r, "2", "4", "8")))})",
            8 => $"Rescaling({Double(r, "1.0 / 255", "2.0")}{(r.Next(3) == 0 ? ", Offset = " + Double(r, "-1.0") : "")})",
            9 => r.Next(2) == 0 ? "Normalization" : $"Normalization(Mean = new double[] {{ {Double(r, "0.5")} }}, Variance = new double[] {{ {Double(r, "1.0")} }})",
            10 or 11 => $"Conv2D({Int(r, "4", "8")}, {Int(r, "1", "3")}{(r.Next(3) == 0 ? ", Strides = " + Int(r, "2") : "")}{(r.Next(3) == 0 ? ", Padding = Padding.Same" : "")}{(r.Next(3) == 0 ? ", Activation = " + Pick(r, Activations) : "")})",
            12 => $"Conv2DTranspose({Int(r, "4")}, {Int(r, "2", "3")}, Strides = {Int(r, "1", "2")})",
            13 => $"MaxPooling2D({Int(r, "2")})",
            14 => $"AveragePooling2D({Int(r, "2")}{(r.Next(3) == 0 ? ", Padding = Padding.Same" : "")})",
            15 => Pick(r, new[] { "GlobalAveragePooling2D", "GlobalMaxPooling2D" }),
            16 => $"BatchNormalization(Momentum = {Double(r, "0.99", "0.9")}, Epsilon = {Double(r, "0.001")}{(r.Next(4) == 0 ? ", Center = false, Scale = false" : "")})",
            17 => $"UpSampling2D({Int(r, "2")})",
            18 => $"ZeroPadding2D({Int(r, "1", "2")})",
            19 => $"{Pick(r, new[] { "Add", "Multiply", "Average", "Maximum", "Concatenate" })}({string.Join(", ", Enumerable.Range(0, r.Next(0, 4)).Select(_ => Quote(r, names)))})",
            20 => $"Subtract({Quote(r, names)}, {Quote(r, names)})",
            _ => r.Next(3) == 0 ? $"Input({Int(r, "4", "8")})" : "Relu",
        };
        var extras = new List<string>();
        string? name = Names[r.Next(Names.Length)];
        if (name is not null) extras.Add($"Name = \"{name}\"");
        if (r.Next(12) == 0) extras.Add($"From = {Quote(r, names)}");
        if (r.Next(12) == 0) extras.Add("Trainable = false");
        if (name is not null) names.Add(name);
        return "[" + With(body, extras) + "]";
    }

    /// <summary>A layer name written above, or one that is not there.</summary>
    private static string Quote(Random r, List<string> names) => "\"" + (names.Count > 0 && r.Next(4) != 0 ? names[r.Next(names.Count)] : "missing") + "\"";

    private static string With(string body, List<string> extras)
    {
        if (extras.Count == 0) return body;
        int open = body.IndexOf('(');
        if (open < 0) return body + "(" + string.Join(", ", extras) + ")";
        bool empty = body[open + 1] == ')';
        return body.Substring(0, body.Length - 1) + (empty ? "" : ", ") + string.Join(", ", extras) + ")";
    }

    /// <summary>A model a careful user writes (so valid code generation is exercised as much as rejection).</summary>
    private static string Valid(Random r, string className)
    {
        var text = new StringBuilder("using Kiln;\nnamespace Models;\n");
        text.Append($"[Sequential(8, 8, {r.Next(1, 4)})]\n");
        // Images scaled first, as the Keras tutorials do: what reaches the first layer's input gradient then lives in the arena.
        if (r.Next(3) == 0) text.Append("[Rescaling(1.0 / 255)]\n");
        string[] image = { "[Conv2D(4, 3, Padding = Padding.Same)]", "[Conv2D(4, 3, Strides = 2, Activation = Activation.Relu)]", "[BatchNormalization]", "[Relu]",
            "[LeakyRelu(0.2)]", "[Dropout(0.25)]", "[ZeroPadding2D(1)]", "[Conv2DTranspose(2, 2, Strides = 2)]", "[AveragePooling2D(2)]",
            // The tutorials' block, whose BN, activation and pooling the generator fuses forward and backward.
            "[Conv2D(4, 3, Padding = Padding.Same, UseBias = false)]\n[BatchNormalization]\n[Relu]\n[MaxPooling2D(2, Padding = Padding.Same)]" };
        for (int i = r.Next(0, 4); i > 0; i--) text.Append(Pick(r, image)).Append('\n');
        text.Append(r.Next(3) == 0 ? "[GlobalMaxPooling2D]\n" : "[Flatten]\n");
        if (r.Next(2) == 0) text.Append($"[Dense({r.Next(2, 9)}, Activation.{Pick(r, new[] { "Relu", "Tanh", "Sigmoid" })})]\n");
        text.Append(r.Next(3) switch
        {
            0 => "[Dense(3, Activation.Softmax)]\n[Loss(Loss.SparseCategoricalCrossentropy)]\n",
            1 => "[Dense(1, Activation.Sigmoid)]\n[Loss(Loss.BinaryCrossentropy)]\n",
            _ => "[Dense(2)]\n[Loss(Loss.MeanSquaredError)]\n",
        });
        return text.Append($"public partial class {className} {{ }}\n").ToString();
    }

    private static string Model(Random r, string className)
    {
        if (r.Next(3) == 0) return Valid(r, className);
        var text = new StringBuilder("using Kiln;\nnamespace Models;\n");
        var shape = r.Next(6) switch
        {
            0 => new[] { Int(r, "8") },
            1 => new[] { Int(r, "8", "6"), Int(r, "8", "6") },
            2 => Enumerable.Range(0, r.Next(0, 4)).Select(_ => Pick(r, Ints)).ToArray(),
            _ => new[] { Int(r, "8", "6"), Int(r, "8", "6"), Int(r, "1", "3") },
        };
        text.Append($"[Sequential({string.Join(", ", shape)})]\n");
        var names = new List<string>();
        int layers = r.Next(0, 6);
        for (int i = 0; i < layers; i++) text.Append(Layer(r, names)).Append('\n');
        int losses = r.Next(6) switch { 0 or 1 => 0, 5 => 2, _ => 1 };
        for (int i = 0; i < losses; i++)
        {
            var extras = new List<string>();
            if (r.Next(4) == 0) extras.Add("FromLogits = true");
            if (r.Next(5) == 0) extras.Add($"Output = {Quote(r, names)}");
            if (r.Next(8) == 0) extras.Add($"Weight = {Double(r, "0.5")}");
            text.Append("[" + With($"Loss({Pick(r, Losses)})", extras) + "]\n");
        }
        text.Append($"public partial class {className} {{ }}\n");
        return text.ToString();
    }

    /// <summary>Four fixed seeds; KILN_FUZZ_SEEDS=first-last (as for GraphFuzzTests) runs each of those too, to hunt locally.</summary>
    public static TheoryData<int, int> Seeds()
    {
        var seeds = new TheoryData<int, int> { { 20251202, 120 }, { 7, 120 }, { 1234567, 120 }, { 99, 120 } };
        if (Environment.GetEnvironmentVariable("KILN_FUZZ_SEEDS") is { } range && range.Split('-') is [var first, var last])
            for (int seed = int.Parse(first); seed <= int.Parse(last); seed++) seeds.Add(seed, 120);
        return seeds;
    }

    [Theory]
    [MemberData(nameof(Seeds))]
    public void RandomAttributesGetKilnDiagnosticsOrCompile(int seed, int models)
    {
        var random = new Random(seed);
        var files = Enumerable.Range(0, models).Select(m => ("F" + m + ".cs", Model(random, "F" + m))).ToArray();
        var result = GeneratorHarness.Run(files);
        int rejected = 0;
        var accepted = new List<(string ClassName, string Text, bool Wild, bool LossMayDiverge)>();
        foreach (var (path, text) in files)
        {
            string className = path.Substring(0, path.Length - 3);
            var kiln = result.GeneratorDiagnostics.Where(d => d.Location.GetLineSpan().Path == path).ToList();
            string context = $"{path}:\n{text}Kiln: {string.Join("\n", kiln)}";
            Assert.False(kiln.Any(d => d.Id == "KILN0008"), "Kiln fails on this model\n" + context);
            Assert.True(result.Generated.TryGetValue("Models." + className + ".g.cs", out var generated), "every model gets code (real or a skeleton)\n" + context);
            // DefaultSeverity: the harness reports warnings as errors.
            bool error = kiln.Any(d => d.DefaultSeverity == DiagnosticSeverity.Error);
            Assert.True(error == generated.Contains("Kiln could not generate", StringComparison.Ordinal),
                "a skeleton exactly when Kiln reports an error\n" + context);
            if (error) rejected++;
            // Cross-entropy on an output that is not a probability (KILN0204) may well be infinite or NaN, in Keras too: an
            // all-zero row renormalizes to 0/0.
            else accepted.Add((className, text, Wild.Any(w => text.Contains(w, StringComparison.Ordinal)), kiln.Any(d => d.Id == "KILN0204")));
        }
        // Nothing but KILN diagnostics: no generator crash, no error in generated or user code.
        Assert.DoesNotContain(result.GeneratorDiagnostics, d => !d.Id.StartsWith("KILN", StringComparison.Ordinal));
        var sources = files.ToDictionary(f => "Models." + f.Item1.Replace(".cs", ".g.cs"), f => f.Item2);
        Assert.True(result.CompilationDiagnostics.IsEmpty, string.Join("\n", result.CompilationDiagnostics.Take(5).Select(d =>
            d + "\n" + (d.Location.SourceTree is { } t ? t.GetText().Lines[d.Location.GetLineSpan().StartLinePosition.Line].ToString() : "")
            + "\nfrom:\n" + sources.GetValueOrDefault(System.IO.Path.GetFileName(d.Location.SourceTree?.FilePath ?? ""), ""))));
        // Both outcomes are exercised (most random lists have some mistake).
        Console.WriteLine($"seed {seed}: {rejected} of {models} models rejected, the others trained; errors: " + string.Join(", ", result.GeneratorDiagnostics
            .Where(d => d.DefaultSeverity == DiagnosticSeverity.Error).GroupBy(d => d.Id).OrderByDescending(g => g.Count()).Select(g => $"{g.Key} x{g.Count()}")));
        Assert.InRange(rejected, models / 5, models - models / 10);

        TrainEach(result.Output, accepted);
    }

    /// <summary>Arguments that may make any value infinite or NaN; a model with none of them must stay finite.</summary>
    private static readonly string[] Wild = { "1e308", "double.NaN", "double.PositiveInfinity", "100000", "int.MaxValue" };

    /// <summary>
    /// Every model Kiln accepts also runs: two training steps (a full batch and a partial one) and a prediction, with no exception,
    /// and finite numbers unless an argument is wild. An accepted argument the kernels cannot handle shows up here.
    /// </summary>
    private static void TrainEach(Compilation compilation, List<(string ClassName, string Text, bool Wild, bool LossMayDiverge)> accepted)
    {
        GeneratorHarness.WithAssembly(compilation, "AttributeFuzz", assembly =>
        {
            var rng = new Random(3);
            const int batch = 4;
            foreach (var (className, text, wild, lossMayDiverge) in accepted)
            {
                Kiln.Model model;
                try
                {
                    model = (Kiln.Model)Activator.CreateInstance(assembly.GetType("Models." + className, throwOnError: true)!, batch, 1)!;
                }
                catch (Exception e) when (e is System.Reflection.TargetInvocationException or TypeInitializationException)
                {
                    // An accepted model whose construction throws: a shape the generator should have refused with a KILN diagnostic.
                    throw new Xunit.Sdk.XunitException($"{className}: constructing the accepted model threw {e.InnerException?.GetType().Name}: {e.InnerException?.Message}\n{text}");
                }
                foreach (int n in new[] { batch, 3 })
                {
                    var x = new float[n * model.InputSize];
                    for (int i = 0; i < x.Length; i++) x[i] = rng.NextSingle();
                    if (model.Description.HasLoss)
                    {
                        var y = FuzzTargets.For(model, n, rng);
                        // A non-finite loss is refused by TrainOnBatch itself (the step is not applied): fine for a wild model, or
                        // cross-entropy on what is not a probability, only.
                        float loss;
                        try
                        {
                            loss = model.TrainOnBatch(x, y, n, new Kiln.Adam(1e-3f));
                        }
                        catch (Kiln.TrainingDivergedException e)
                        {
                            Assert.True(wild || lossMayDiverge, $"{className}: {e.Message}\n{text}");
                            continue;
                        }
                        Assert.True(wild || lossMayDiverge || float.IsFinite(loss), $"{className}: loss {loss} with n = {n}\n{text}");
                    }
                    var predicted = new float[n * model.OutputSize];
                    model.Predict(x, n, predicted);
                    Assert.True(wild || predicted.All(float.IsFinite), $"{className}: a prediction is not finite with n = {n}\n{text}");
                    if (!wild) OnnxAgreement.AssertSameAsPredict(model, x, n, className, text);
                }
            }
        });
    }
}
