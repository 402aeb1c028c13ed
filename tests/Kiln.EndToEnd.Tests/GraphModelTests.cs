using System;
using System.Linq;
using Kiln;

namespace Kiln.EndToEnd.Tests;

/// <summary>Graph models through the public API: several inputs packed by name, Fit, Evaluate and the description.</summary>
public sealed class GraphModelTests
{
    [Fact]
    public void SeveralInputsAreDescribedInDeclarationOrder()
    {
        var d = new TwoInputs(batchSize: 2).Description;
        Assert.Equal(["image", "tabular"], d.Inputs.Select(i => i.Name).ToArray());
        Assert.Equal([4, 4, 1], d.Inputs[0].Shape);
        Assert.Equal([3], d.Inputs[1].Shape);
        Assert.Equal([19], d.InputShape);
        Assert.Contains("Connected to", TwoInputs.Summary);
        Assert.Contains("tabular (InputLayer)", TwoInputs.Summary);
        Assert.Equal(["input"], new ResidualMlp(batchSize: 2).Description.Inputs.Select(i => i.Name).ToArray());
    }

    [Fact]
    public void FromInputsPacksEachSampleRowInTheModelsOrder()
    {
        var d = new TwoInputs(batchSize: 2).Description;
        float[] image = Enumerable.Range(0, 32).Select(i => (float)i).ToArray();        // 2 samples of 16
        float[] tabular = Enumerable.Range(0, 6).Select(i => 100f + i).ToArray();       // 2 samples of 3
        // Given in the other order, by name.
        var data = Dataset.FromInputs(d, [1f, 2f], ("tabular", tabular), ("image", image));
        Assert.Equal(2, data.Count);
        Assert.Equal(image.Take(16).Concat(tabular.Take(3)).ToArray(), data.Sample(0).ToArray());
        Assert.Equal(image.Skip(16).Concat(tabular.Skip(3)).ToArray(), data.Sample(1).ToArray());
    }

    [Fact]
    public void FromInputsNamesWhatIsWrong()
    {
        var d = new TwoInputs(batchSize: 2).Description;
        var missing = Assert.Throws<ArgumentException>(() => Dataset.FromInputs(d, [1f], ("image", new float[16])));
        Assert.Contains("needs input 'tabular' (3)", missing.Message);
        var unknown = Assert.Throws<ArgumentException>(() => Dataset.FromInputs(d, [1f], ("image", new float[16]), ("tabular", new float[3]), ("text", new float[3])));
        Assert.Contains("no input named 'text'; its inputs are 'image', 'tabular'", unknown.Message);
        var uneven = Assert.Throws<ArgumentException>(() => Dataset.FromInputs(d, [1f, 2f], ("image", new float[32]), ("tabular", new float[3])));
        Assert.Contains("input 'tabular' has 1 samples, but 'image' has 2", uneven.Message);
    }

    /// <summary>A class that needs both inputs (the image's brightness and the sign of a feature): the model must combine its branches to learn it.</summary>
    [Fact]
    public void TwoInputModelLearnsAClassThatNeedsBothInputs()
    {
        var rng = new Random(5);
        const int count = 512;
        var image = new float[count * 16];
        var tabular = new float[count * 3];
        var labels = new float[count];
        for (int s = 0; s < count; s++)
        {
            bool bright = rng.Next(2) == 1, positive = rng.Next(2) == 1;
            for (int i = 0; i < 16; i++) image[s * 16 + i] = (bright ? 0.5f : -0.5f) + (float)(rng.NextDouble() - 0.5) * 0.6f;
            for (int i = 0; i < 3; i++) tabular[s * 3 + i] = (float)(rng.NextDouble() * 2 - 1);
            tabular[s * 3 + 1] = positive ? 1f : -1f;
            labels[s] = bright ? (positive ? 2 : 1) : 0;
        }
        var model = new TwoInputs(batchSize: 32, seed: 3);
        var data = Dataset.FromInputs(model.Description, labels, ("image", image), ("tabular", tabular));
        float before = model.Evaluate(data).Accuracy;
        var history = model.Fit(data, epochs: 30, new Adam(0.02f), verbose: 0);
        float after = model.Evaluate(data).Accuracy;
        Assert.True(history["loss"][^1] < history["loss"][0] * 0.5, $"loss {history["loss"][0]} -> {history["loss"][^1]}");
        Assert.True(after > 0.95f && after > before + 0.3f, $"accuracy {before} -> {after}");
    }
}
