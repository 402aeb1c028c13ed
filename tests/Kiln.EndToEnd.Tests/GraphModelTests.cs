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
    public void ABlockUsedTwiceGetsItsParametersAndNamesPerUse()
    {
        var d = new BlockResNet(batchSize: 2).Description;
        var shapes = d.Tensors.ToDictionary(t => t.Name, t => t.Shape);
        Assert.Equal([3, 3, 2, 2], shapes["projection_block.conv2d/kernel"]);     // Filters = 2
        Assert.Equal([1, 1, 2, 2], shapes["projection_block.conv2d_2/kernel"]);   // the shortcut, From = Block.In
        Assert.Equal([3, 3, 2, 3], shapes["stage2.conv2d/kernel"]);               // Filters = 3
        Assert.Equal([1, 1, 2, 3], shapes["stage2.conv2d_2/kernel"]);
        Assert.Equal([3], shapes["stage2.main/gamma"]);
        Assert.Contains("stage2.add (Add)", BlockResNet.Summary);
        Assert.Contains("(None, 2, 2, 3)", BlockResNet.Summary);                 // Strides = 2 in the second use
        // The second use reads the first's last layer; both shortcuts read their use's input (Block.In).
        var rows = BlockResNet.Summary.Split('\n');
        Assert.EndsWith("projection_block.re_lu_1[0][0]", rows.Single(r => r.Contains("stage2.conv2d (Conv2D)")).TrimEnd());
        Assert.EndsWith("projection_block.re_lu_1[0][0]", rows.Single(r => r.Contains("stage2.conv2d_2 (Conv2D)")).TrimEnd());
        Assert.EndsWith(" re_lu[0][0]", rows.Single(r => r.Contains("projection_block.conv2d_2 (Conv2D)")).TrimEnd());
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

    [Fact]
    public void SeveralOutputsAreDescribedAndReportedPerOutput()
    {
        var model = new TwoHeads(batchSize: 16, seed: 2);
        var d = model.Description;
        Assert.Equal(["class", "size"], d.Outputs.Select(o => o.Name).ToArray());
        Assert.Equal([Loss.SparseCategoricalCrossentropy, Loss.MeanSquaredError], d.Outputs.Select(o => o.Loss!.Value).ToArray());
        Assert.Equal(0.5, d.Outputs[1].Weight);
        Assert.Equal([4], d.OutputShape);
        Assert.Equal(2, d.TargetSize);
        Assert.Equal(["class_accuracy", "size_mae"], model.Metrics.Select(m => m.Name).ToArray());

        // The class is the brightest quadrant; the value is the mean brightness.
        var rng = new Random(9);
        const int count = 256;
        var x = new float[count * 16];
        var y = new float[count * 2];
        for (int s = 0; s < count; s++)
        {
            int cls = rng.Next(3);
            float sum = 0;
            for (int i = 0; i < 16; i++)
            {
                int quadrant = (i / 4 < 2 ? 0 : 1) + (i % 4 < 2 ? 0 : 1);
                x[s * 16 + i] = (float)rng.NextDouble() * 0.2f + (quadrant == cls ? 0.8f : 0f);
                sum += x[s * 16 + i];
            }
            y[s * 2] = cls;
            y[s * 2 + 1] = sum / 16;
        }
        var data = new Dataset(x, y, [4, 4, 1], 2);
        var history = model.Fit(data, epochs: 40, new Adam(0.02f), verbose: 0);
        Assert.True(history["loss"][^1] < history["loss"][0] * 0.5, $"loss {history["loss"][0]} -> {history["loss"][^1]}");
        var result = model.Evaluate(data);
        // Keras' columns: the weighted loss, each output's own loss, each output's metric.
        Assert.Equal(["loss", "class_loss", "size_loss", "class_accuracy", "size_mae"], history.Names.ToArray());
        Assert.Equal(result.Loss, result["class_loss"] + 0.5f * result["size_loss"], 4);
        Assert.True(result["class_accuracy"] > 0.9, $"class accuracy {result["class_accuracy"]}");
        Assert.True(result["size_mae"] < 0.1, $"size mae {result["size_mae"]}");

        // Predict returns both outputs side by side: 3 probabilities summing to 1, then the value.
        var predictions = model.Predict(x.AsSpan(0, 16 * 4), 4);
        for (int s = 0; s < 4; s++)
            Assert.Equal(1f, predictions[s * 4] + predictions[s * 4 + 1] + predictions[s * 4 + 2], 4);
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
