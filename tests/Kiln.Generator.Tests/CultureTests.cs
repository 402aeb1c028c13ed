using System;
using System.Globalization;
using System.IO;
using System.Linq;

namespace Kiln.Generator.Tests;

/// <summary>
/// The compiler runs with the user's culture; what Kiln emits must not depend on it: generated
/// code equals the approved files and diagnostic messages read the same in every culture.
/// </summary>
public class CultureTests
{
    /// <summary>Cultures whose numbers look unlike the invariant ones: '.' or a narrow no-break space between thousands, ',' before decimals, and one made up with a different minus too.</summary>
    public static TheoryData<string> Cultures() => new() { "de-DE", "fr-FR", "made-up" };

    private static CultureInfo Culture(string name)
    {
        if (name != "made-up") return CultureInfo.GetCultureInfo(name);
        var culture = (CultureInfo)CultureInfo.InvariantCulture.Clone();
        culture.NumberFormat.NegativeSign = "~";
        culture.NumberFormat.NumberGroupSeparator = "'";
        culture.NumberFormat.NumberDecimalSeparator = "#";
        culture.NumberFormat.NumberGroupSizes = new[] { 2 };
        culture.NumberFormat.PercentSymbol = "pc";
        return culture;
    }

    private static T In<T>(string culture, Func<T> run)
    {
        var saved = (CultureInfo.CurrentCulture, CultureInfo.CurrentUICulture);
        try
        {
            CultureInfo.CurrentCulture = CultureInfo.CurrentUICulture = Culture(culture);
            return run();
        }
        finally
        {
            (CultureInfo.CurrentCulture, CultureInfo.CurrentUICulture) = saved;
        }
    }

    [Theory]
    [MemberData(nameof(Cultures))]
    public void GeneratedCodeIsTheApprovedFileInAnyCulture(string culture)
    {
        foreach (var (sample, model) in new[] { ("samples/FashionMnistCnn/FashionCnn.cs", "FashionCnn"), ("samples/Gan/GanModels.cs", "SeedGenerator") })
        {
            string source = File.ReadAllText(SnapshotTests.SourcePath(Path.Combine("..", "..", sample)));
            var result = In(culture, () => GeneratorHarness.Run(source, Path.GetFileName(sample)));
            Assert.Empty(result.GeneratorDiagnostics);
            string generated = result.Generated.Single(g => g.Key.EndsWith("." + model + ".g.cs", StringComparison.Ordinal)).Value.ReplaceLineEndings("\n");
            string approved = File.ReadAllText(SnapshotTests.SourcePath(Path.Combine("Approved", model + ".g.cs"))).ReplaceLineEndings("\n");
            Assert.Equal(approved, generated);
        }
    }

    [Theory]
    [MemberData(nameof(Cultures))]
    public void DiagnosticMessagesAreTheSameInAnyCulture(string culture)
    {
        const string source = """
            using Kiln;
            namespace Models;
            [Sequential(12, 12)]
            [Flatten]
            [Dense(1000, Activation.Relu)]
            [Dense(10, Activation.Softmax)]
            [Dropout(0.25)]
            [Loss(Loss.SparseCategoricalCrossentropy)]
            public partial class M { }
            """;
        var properties = new System.Collections.Generic.Dictionary<string, string> { ["KilnMaxParameters"] = "100000" };
        string Messages(CultureInfo format) => string.Join("\n",
            GeneratorHarness.Run(source, properties: properties).GeneratorDiagnostics.Select(d => d.Id + ": " + d.GetMessage(format)));
        string invariant = In("en-US", () => Messages(CultureInfo.InvariantCulture));
        Assert.Contains("KILN0007: 'M' has 155,010 parameters, more than the limit of 100,000", invariant);
        Assert.Contains("KILN0113: ", invariant);
        Assert.Equal(invariant, In(culture, () => Messages(CultureInfo.CurrentCulture)));
    }
}
