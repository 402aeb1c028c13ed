using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Text;
using Kiln.Generator;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;

namespace Kiln.Benchmarks.GeneratorTiming;

/// <summary>
/// The generator's cost on 10 models of 20 layers each (convolutions, batch normalization,
/// activations, pooling, dense layers): in memory through <see cref="CSharpGeneratorDriver"/>,
/// and with <c>--build</c> the difference it makes to a real <c>dotnet build</c>.
///
///   dotnet run -c Release --project benchmarks/GeneratorTiming [-- [--runs 21] [--build] [--steps]]
/// </summary>
public static class Program
{
    private const int Models = 10;
    private static readonly CSharpParseOptions Parse = new(LanguageVersion.Latest);

    public static int Main(string[] args)
    {
        int runs = args.SkipWhile(a => a != "--runs").Skip(1).Select(int.Parse).FirstOrDefault(21);
        bool build = args.Contains("--build");

        Console.WriteLine($"Kiln generator timing: {Models} models x {Layers(ModelSource(0, 0)).Count} layers, median of {runs} runs, {Environment.ProcessorCount} CPUs, .NET {Environment.Version}");
        var generated = InMemory(runs, args.Contains("--steps"));
        if (build)
        {
            // As configured on this machine (UseSharedCompilation=false: a csc process per build, so
            // the generator is loaded and JIT-compiled in every build), then with the compiler server.
            var before = CompilerServers();
            try
            {
                DotnetBuild(4, sharedCompilation: false, generated);
                DotnetBuild(4, sharedCompilation: true, generated);
            }
            finally
            {
                // Stop the compiler server these builds started (by id; any other is left alone).
                foreach (int pid in CompilerServers().Except(before))
                    try { Process.GetProcessById(pid).Kill(); } catch (ArgumentException) { } catch (InvalidOperationException) { }
            }
        }
        return 0;
    }

    /// <summary>One model: 20 layer attributes; <paramref name="variant"/> changes its last hidden layer's width (an edit).</summary>
    public static string ModelSource(int index, int variant) => $$"""
        using Kiln;

        namespace Bench;

        [Sequential(32, 32, 3)]
        [Conv2D({{16 + index}}, 3, Padding = Padding.Same, UseBias = false)]
        [BatchNormalization]
        [Relu]
        [Conv2D({{16 + index}}, 3, Padding = Padding.Same, UseBias = false)]
        [BatchNormalization]
        [Relu]
        [MaxPooling2D(2)]
        [Conv2D(32, 3, Padding = Padding.Same, UseBias = false)]
        [BatchNormalization]
        [Relu]
        [Conv2D(32, 3, Padding = Padding.Same, UseBias = false)]
        [BatchNormalization]
        [LeakyRelu(0.1)]
        [MaxPooling2D(2)]
        [Conv2D(64, 3, Padding = Padding.Same, Activation = Activation.Relu)]
        [GlobalAveragePooling2D]
        [Dense(64, Activation.Relu)]
        [Dropout(0.3)]
        [Dense({{32 + variant}}, Activation.Relu)]
        [Dense(10, Activation.Softmax)]
        [Loss(Loss.SparseCategoricalCrossentropy)]
        public partial class Model{{index}} { }
        """;

    private static List<string> Layers(string source) =>
        source.Split('\n').Where(l => l.StartsWith('[') && !l.StartsWith("[Sequential") && !l.StartsWith("[Loss")).ToList();

    private static string OtherSource(int variant) => $"namespace Bench; public static class Other {{ public static int Value => {variant}; }}";

    private static MetadataReference[] References() =>
        ((string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!).Split(Path.PathSeparator)
            .Select(p => (MetadataReference)MetadataReference.CreateFromFile(p))
            .Append(MetadataReference.CreateFromFile(typeof(Kiln.Model).Assembly.Location))
            .ToArray();

    private static CSharpCompilation Compilation(MetadataReference[] references) =>
        CSharpCompilation.Create("Bench",
            Enumerable.Range(0, Models).Select(i => CSharpSyntaxTree.ParseText(ModelSource(i, 0), Parse, path: $"Model{i}.cs"))
                .Append(CSharpSyntaxTree.ParseText(OtherSource(0), Parse, path: "Other.cs")),
            references,
            new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, nullableContextOptions: NullableContextOptions.Enable));

    private static GeneratorDriver Driver() =>
        CSharpGeneratorDriver.Create(new[] { new KilnGenerator().AsSourceGenerator() }, parseOptions: Parse);

    private static CSharpCompilation Replace(CSharpCompilation compilation, string path, string text) =>
        compilation.ReplaceSyntaxTree(compilation.SyntaxTrees.Single(t => t.FilePath == path), CSharpSyntaxTree.ParseText(text, Parse, path: path));

    /// <summary>The in-memory table; returns the generated files (hint name, text) for the build comparison.</summary>
    private static Dictionary<string, string> InMemory(int runs, bool steps)
    {
        var references = References();

        // First a trivial generator that finds the same classes and reads their attributes: it
        // JIT-compiles Roslyn's own paths (the compiler server has those compiled already), so
        // Kiln's first run after it is mostly the JIT of Kiln's code, as in each real build.
        var sw = Stopwatch.StartNew();
        CSharpGeneratorDriver.Create(new[] { new TrivialGenerator().AsSourceGenerator() }, parseOptions: Parse).RunGenerators(Compilation(references));
        double trivialMs = sw.Elapsed.TotalMilliseconds;
        sw.Restart();
        var first = Driver().RunGenerators(Compilation(references));
        double firstMs = sw.Elapsed.TotalMilliseconds;
        var result = first.GetRunResult();
        int generated = result.GeneratedTrees.Length;
        long lines = result.GeneratedTrees.Sum(t => (long)t.GetText().Lines.Count);
        if (generated != Models || !result.Diagnostics.IsEmpty)
            throw new InvalidOperationException($"expected {Models} generated files and no diagnostics, got {generated} and {string.Join("; ", result.Diagnostics)}");

        // Cold: a new driver on a new compilation (as a build's first generator run, JIT warm as on a build server).
        var cold = Measure(runs, () =>
        {
            var compilation = Compilation(references);
            var driver = Driver();
            var t = Stopwatch.StartNew();
            driver = driver.RunGenerators(compilation);
            return (t.Elapsed.TotalMilliseconds, driver.GetTimingInfo().ElapsedTime.TotalMilliseconds);
        });

        // Warm: the driver of the previous run, after an edit to a file with no model (every step cached).
        var baseline = Compilation(references);
        var warmDriver = Driver().RunGenerators(baseline);
        int edit = 0;
        var unrelated = Measure(runs, () =>
        {
            var compilation = Replace(baseline, "Other.cs", OtherSource(++edit));
            var t = Stopwatch.StartNew();
            warmDriver = warmDriver.RunGenerators(compilation);
            return (t.Elapsed.TotalMilliseconds, warmDriver.GetTimingInfo().ElapsedTime.TotalMilliseconds);
        });

        // One model edited (its width alternates): that model is read, compiled and emitted again.
        var modelDriver = Driver().RunGenerators(baseline);
        var oneModel = Measure(runs, () =>
        {
            var compilation = Replace(baseline, "Model3.cs", ModelSource(3, ++edit % 2 == 1 ? 8 : 0));
            var t = Stopwatch.StartNew();
            modelDriver = modelDriver.RunGenerators(compilation);
            return (t.Elapsed.TotalMilliseconds, modelDriver.GetTimingInfo().ElapsedTime.TotalMilliseconds);
        });

        if (steps)
        {
            // Where a warm run's time goes: each tracked step's time over 5 unrelated edits.
            var tracked = CSharpGeneratorDriver.Create(new[] { new KilnGenerator().AsSourceGenerator() }, parseOptions: Parse,
                driverOptions: new GeneratorDriverOptions(IncrementalGeneratorOutputKind.None, trackIncrementalGeneratorSteps: true)).RunGenerators(baseline);
            for (int i = 0; i < 5; i++)
            {
                var sw2 = Stopwatch.StartNew();
                tracked = tracked.RunGenerators(Replace(baseline, "Other.cs", OtherSource(1000 + i)));
                var rr = tracked.GetRunResult().Results[0];
                Console.WriteLine($"unrelated edit {sw2.Elapsed.TotalMilliseconds:F1} ms: " + string.Join(", ", rr.TrackedSteps.Select(kv => $"{kv.Key}={kv.Value.Sum(x => x.ElapsedTime.TotalMilliseconds):F2}")));
            }
        }

        Console.WriteLine();
        Console.WriteLine($"In memory (CSharpGeneratorDriver.RunGenerators; {generated} files, {lines} generated lines):");
        Console.WriteLine();
        Console.WriteLine("| run | wall ms (median) | min | max | generator ms (driver timing, median) |");
        Console.WriteLine("|---|---:|---:|---:|---:|");
        Console.WriteLine($"| (a trivial generator's first run in a fresh process: Roslyn's JIT) | {trivialMs:F1} | | | |");
        Console.WriteLine($"| Kiln's first run, after that (JIT of Kiln's code, as in every real build) | {firstMs:F1} | | | {first.GetTimingInfo().ElapsedTime.TotalMilliseconds:F1} |");
        Row("cold: new driver, new compilation", cold);
        Row("warm: after an edit to an unrelated file", unrelated);
        Row("warm: after editing one model", oneModel);
        return result.Results.SelectMany(r => r.GeneratedSources).ToDictionary(g => g.HintName, g => g.SourceText.ToString());
    }

    private static void Row(string name, (double Median, double Min, double Max, double Generator) m) =>
        Console.WriteLine($"| {name} | {m.Median:F2} | {m.Min:F2} | {m.Max:F2} | {m.Generator:F2} |");

    /// <summary>Three untimed warm-up runs, then <paramref name="runs"/> timed: median, min, max of wall time, median of the driver's own timing.</summary>
    /// <summary>Finds [Sequential] classes and reads their attributes, like Kiln's first step, and emits one line each.</summary>
    private sealed class TrivialGenerator : IIncrementalGenerator
    {
        public void Initialize(IncrementalGeneratorInitializationContext context)
        {
            var names = context.SyntaxProvider.ForAttributeWithMetadataName("Kiln.SequentialAttribute",
                static (node, _) => node is Microsoft.CodeAnalysis.CSharp.Syntax.ClassDeclarationSyntax,
                static (ctx, _) => ctx.TargetSymbol.Name + ":" + string.Join(",", ctx.TargetSymbol.GetAttributes().Select(a => a.AttributeClass?.Name + a.ConstructorArguments.Length)));
            context.RegisterSourceOutput(names, static (spc, text) =>
                spc.AddSource(text.Substring(0, text.IndexOf(':')) + ".trivial.g.cs", "// " + text));
        }
    }

    private static (double Median, double Min, double Max, double Generator) Measure(int runs, Func<(double Wall, double Generator)> run)
    {
        for (int i = 0; i < 3; i++) run();
        var samples = Enumerable.Range(0, runs).Select(_ => run()).ToList();
        var wall = samples.Select(s => s.Wall).OrderBy(x => x).ToList();
        var gen = samples.Select(s => s.Generator).OrderBy(x => x).ToList();
        return (wall[wall.Count / 2], wall[0], wall[^1], gen[gen.Count / 2]);
    }

    /// <summary>
    /// A project with the 10 models, built with `dotnet build` after touching one model file (so
    /// the compiler runs), with and without the generator as an analyzer, alternating.
    /// </summary>
    /// <summary>Ids of the running VBCSCompiler (compiler server) processes (Linux: read from /proc).</summary>
    private static HashSet<int> CompilerServers()
    {
        var ids = new HashSet<int>();
        if (!Directory.Exists("/proc")) return ids;
        foreach (var process in Process.GetProcesses())
        {
            try
            {
                if (File.ReadAllText($"/proc/{process.Id}/cmdline").Contains("VBCSCompiler")) ids.Add(process.Id);
            }
            catch (IOException) { }
            catch (UnauthorizedAccessException) { }
        }
        return ids;
    }

    private static void DotnetBuild(int runs, bool sharedCompilation, Dictionary<string, string> generated)
    {
        string shared = $"-nodeReuse:false -p:UseSharedCompilation={(sharedCompilation ? "true" : "false")}";
        string dir = Path.Combine(Path.GetTempPath(), "kiln-generator-timing-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(dir);
        try
        {
            for (int i = 0; i < Models; i++) File.WriteAllText(Path.Combine(dir, $"Model{i}.cs"), ModelSource(i, 0));
            // The generator's output as ordinary files: the cost of compiling the generated code alone.
            Directory.CreateDirectory(Path.Combine(dir, "Generated"));
            foreach (var file in generated) File.WriteAllText(Path.Combine(dir, "Generated", file.Key), file.Value);
            // Outside the repository: no Directory.Build.props; the runtime and generator as built here.
            File.WriteAllText(Path.Combine(dir, "Bench.csproj"), $"""
                <Project Sdk="Microsoft.NET.Sdk">
                  <PropertyGroup>
                    <TargetFramework>net10.0</TargetFramework>
                    <Nullable>enable</Nullable>
                    <ImplicitUsings>disable</ImplicitUsings>
                    <TreatWarningsAsErrors>true</TreatWarningsAsErrors>
                    <GenerateDocumentationFile>false</GenerateDocumentationFile>
                  </PropertyGroup>
                  <ItemGroup>
                    <Reference Include="Kiln.Runtime" HintPath="{typeof(Kiln.Model).Assembly.Location}" />
                    <Analyzer Include="{typeof(KilnGenerator).Assembly.Location}" Condition="'$(Mode)' == 'generator'" />
                    <Compile Remove="Generated/**" Condition="'$(Mode)' != 'pregenerated'" />
                  </ItemGroup>
                </Project>
                """);
            Dotnet("restore -nologo -v q", dir);
            // Warm the build server and both configurations.
            string[] modes = { "generator", "pregenerated", "none" };
            foreach (string mode in modes) Build(dir, mode, 0, shared);

            var times = modes.ToDictionary(m => m, _ => new List<double>());
            for (int r = 1; r <= runs; r++)
                foreach (string mode in modes) times[mode].Add(Build(dir, mode, r, shared));
            var with = times["generator"];
            var pregenerated = times["pregenerated"];
            var without = times["none"];
            double Median(List<double> x) { var s = x.OrderBy(v => v).ToList(); return s[s.Count / 2]; }

            // The compiler's own account of the generator's time in one of those builds.
            File.AppendAllText(Path.Combine(dir, "Model0.cs"), "// report\n");
            string report = Dotnet($"build --no-restore -nologo -v d -p:Mode=generator -p:ReportAnalyzer=true {shared}", dir);
            string generatorLine = report.Split('\n').Select(l => l.Trim())
                .FirstOrDefault(l => l.Contains("Kiln.Generator.KilnGenerator")) ?? "(not reported)";

            Console.WriteLine();
            Console.WriteLine($"dotnet build --no-restore {shared} after touching one model file, {runs} builds each, interleaved ({(sharedCompilation ? "compiler server, warm" : "no compiler server: csc starts per build")}):");
            Console.WriteLine();
            Console.WriteLine("| build | median s | min | max |");
            Console.WriteLine("|---|---:|---:|---:|");
            Console.WriteLine($"| with the generator | {Median(with):F2} | {with.Min():F2} | {with.Max():F2} |");
            Console.WriteLine($"| its output as plain files, no generator | {Median(pregenerated):F2} | {pregenerated.Min():F2} | {pregenerated.Max():F2} |");
            Console.WriteLine($"| neither (the 10 attributed classes only) | {Median(without):F2} | {without.Min():F2} | {without.Max():F2} |");
            Console.WriteLine($"| added to the build: generator minus neither (medians) | {Median(with) - Median(without):F2} | | |");
            Console.WriteLine($"| of which running the generator: generator minus plain files (medians) | {Median(with) - Median(pregenerated):F2} | | |");
            Console.WriteLine();
            Console.WriteLine($"ReportAnalyzer, one more build with the generator (seconds, %, generator): {generatorLine}");
        }
        finally
        {
            try { Directory.Delete(dir, recursive: true); } catch (IOException) { }
        }
    }

    private static double Build(string dir, string mode, int run, string shared)
    {
        File.AppendAllText(Path.Combine(dir, "Model0.cs"), $"// edit {run} {mode}\n");
        var sw = Stopwatch.StartNew();
        Dotnet($"build --no-restore -nologo -v q -p:Mode={mode} {shared}", dir);
        return sw.Elapsed.TotalSeconds;
    }

    private static string Dotnet(string arguments, string dir)
    {
        var start = new ProcessStartInfo("dotnet", arguments) { WorkingDirectory = dir, RedirectStandardOutput = true, RedirectStandardError = true };
        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        start.Environment["DOTNET_NOLOGO"] = "1";
        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync();
        string stdout = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode != 0)
            throw new InvalidOperationException($"dotnet {arguments} exited with {process.ExitCode}:\n{stdout}\n{stderr.Result}");
        return stdout;
    }
}
