using System;
using System.Diagnostics;
using System.IO;
using System.Linq;

namespace Kiln.Generator.Tests;

/// <summary>
/// The package works where the repository is not: pack Kiln, then build and run a fresh
/// project outside the solution that only has a PackageReference to it.
/// </summary>
public class PackagingTests
{
    private const string ConsumerModel = """
        using System;
        using Kiln;

        [Sequential(4)]
        [Dense(16, Activation.Relu)]
        [Dense(3, Activation.Softmax)]
        [Loss(Loss.SparseCategoricalCrossentropy)]
        public partial class Blobs { }

        public static class Program
        {
            public static int Main()
            {
                // Three separable blobs: the class is the index of the largest of the first three features.
                var rng = new Rng(7);
                const int count = 600;
                var x = new float[count * 4];
                var y = new float[count];
                for (int i = 0; i < count; i++)
                {
                    int c = i % 3;
                    for (int j = 0; j < 4; j++) x[i * 4 + j] = rng.NextNormal() * 0.3f + (j == c ? 2f : 0f);
                    y[i] = c;
                }
                var data = new Dataset(x, y, new[] { 4 }, 1);
                var model = new Blobs(batchSize: 32, seed: 1);
                model.Fit(data, epochs: 5, new Adam(0.01f), verbose: 0);
                var result = model.Evaluate(data);
                Console.WriteLine(Blobs.Summary);
                Console.WriteLine($"accuracy {result.Metric:F3}");
                return result.Metric > 0.95f ? 0 : 1;
            }
        }
        """;

    [Fact]
    public void APackageReferenceIsAllAProjectNeeds()
    {
        string repo = Path.GetFullPath(Path.Combine(SnapshotTests.SourcePath(""), "..", ".."));
        string configuration = AppContext.BaseDirectory.Contains($"{Path.DirectorySeparatorChar}Debug{Path.DirectorySeparatorChar}") ? "Debug" : "Release";
        string work = Path.Combine(Path.GetTempPath(), "kiln-package-" + Guid.NewGuid().ToString("N"));
        // The README's layout: the feed and the project side by side, outside the repository.
        string feed = Path.Combine(work, "kiln-feed"), consumer = Path.Combine(work, "MyModel");
        Directory.CreateDirectory(consumer);
        try
        {
            Run("dotnet", $"pack \"{Path.Combine(repo, "src", "Runtime", "Kiln.Runtime.csproj")}\" -c {configuration} --no-build -o \"{feed}\"", repo);
            string package = Assert.Single(Directory.GetFiles(feed, "Kiln.*.nupkg"));
            string version = Path.GetFileNameWithoutExtension(package).Substring("Kiln.".Length);
            using (var zip = System.IO.Compression.ZipFile.OpenRead(package))
            {
                var entries = zip.Entries.Select(e => e.FullName).ToList();
                foreach (string expected in new[] { "analyzers/dotnet/cs/Kiln.Generator.dll", "analyzers/dotnet/cs/Kiln.CodeFixes.dll", "build/net10.0/Kiln.props", "buildTransitive/net10.0/Kiln.props",
                    "lib/net10.0/Kiln.Runtime.xml" /* IntelliSense for the attributes and the Model API */ })
                    Assert.Contains(expected, entries);
            }

            // The three files of the README's "Using Kiln in your own project", as written there, with
            // two additions for this machine: packages restored under the work folder, and the
            // machine's package cache as a source (it serves Kiln's own dependencies offline).
            string readme = File.ReadAllText(Path.Combine(repo, "README.md"));
            string project = ReadmeBlock(readme, "xml", "<Project Sdk=");
            Assert.Contains($"<PackageReference Include=\"Kiln\" Version=\"{version}\" />", project);
            project = project.Replace("</PropertyGroup>", $"  <RestorePackagesPath>{Path.Combine(work, "packages")}</RestorePackagesPath>\n  </PropertyGroup>");
            File.WriteAllText(Path.Combine(consumer, "MyModel.csproj"), project);
            string cache = Environment.GetEnvironmentVariable("NUGET_PACKAGES")
                ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
            File.WriteAllText(Path.Combine(consumer, "nuget.config"), ReadmeBlock(readme, "xml", "<configuration>")
                .Replace("</packageSources>", $"  <add key=\"machine-cache\" value=\"{cache}\" />\n  </packageSources>"));

            // The README's first snippet is a whole Program.cs: it compiles as pasted, without a warning.
            File.WriteAllText(Path.Combine(consumer, "Program.cs"), ReadmeBlock(readme, "csharp", "[Sequential("));
            Run("dotnet", "build -c Release -p:TreatWarningsAsErrors=true", consumer);

            // A small model trains and evaluates through the package alone.
            File.WriteAllText(Path.Combine(consumer, "Program.cs"), ConsumerModel);
            string output = Run("dotnet", "run -c Release -p:TreatWarningsAsErrors=true", consumer);
            Assert.Contains("Total params: 131", output);
            Assert.Contains("accuracy ", output);

            // build/Kiln.props hands <KilnMaxParameters> to the generator: 131 parameters are over 100.
            string limited = Run("dotnet", "build -c Release -p:KilnMaxParameters=100", consumer);
            Assert.Contains("warning KILN0007: 'Blobs' has 131 parameters, more than the limit of 100", limited);
            // ... and <KilnMaxArenaBytes>: its arena at batch 32 is more than 100 bytes.
            string arena = Run("dotnet", "build -c Release -p:KilnMaxArenaBytes=100 -p:TreatWarningsAsErrors=false", consumer);
            Assert.Contains("warning KILN0013: 'Blobs' needs about", arena);

            // An older target framework is refused at restore, by name, not later with CS0246.
            File.WriteAllText(Path.Combine(consumer, "MyModel.csproj"), project.Replace("<TargetFramework>net10.0</TargetFramework>", "<TargetFramework>net8.0</TargetFramework>"));
            string refused = Run("dotnet", "restore", consumer, expectSuccess: false);
            Assert.Contains("NU1202", refused);
            Assert.Contains("not compatible with net8.0", refused);
        }
        finally
        {
            try { Directory.Delete(work, recursive: true); } catch (IOException) { }
        }
    }

    /// <summary>The first fenced block of the given language in the README that contains <paramref name="marker"/>.</summary>
    private static string ReadmeBlock(string readme, string language, string marker)
    {
        string fence = "```" + language + "\n";
        for (int at = readme.IndexOf(fence, StringComparison.Ordinal); at >= 0; at = readme.IndexOf(fence, at + 1, StringComparison.Ordinal))
        {
            int start = at + fence.Length, end = readme.IndexOf("```", start, StringComparison.Ordinal);
            string block = readme.Substring(start, end - start);
            if (block.Contains(marker, StringComparison.Ordinal)) return block;
        }
        throw new Xunit.Sdk.XunitException($"README.md has no ```{language} block containing '{marker}'");
    }

    private static string Run(string file, string arguments, string directory, bool expectSuccess = true)
    {
        var start = new ProcessStartInfo(file, arguments)
        {
            WorkingDirectory = directory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        start.Environment["DOTNET_NOLOGO"] = "1";
        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync();
        string stdout = process.StandardOutput.ReadToEnd();
        Assert.True(process.WaitForExit(TimeSpan.FromMinutes(5)), $"'{file} {arguments}' did not finish in 5 minutes");
        if (expectSuccess)
            Assert.True(process.ExitCode == 0, $"'{file} {arguments}' in {directory} exited with {process.ExitCode}:\n{stdout}\n{stderr.Result}");
        else
            Assert.True(process.ExitCode != 0, $"'{file} {arguments}' in {directory} succeeded, but should have failed:\n{stdout}");
        return stdout + stderr.Result;
    }
}
