using System;
using System.IO;
using Kiln;
using Xunit.Abstractions;

namespace Kiln.Runtime.Tests.Training;

// Seed 004 end to end on the real data, with a linear softmax model standing in for the MLP.
public class FashionMnistPipelineTests(ITestOutputHelper log)
{
    [Fact]
    public void Seed004ScalingAndTraining()
    {
        Assert.True(Directory.Exists(FashionMnist.DefaultDirectory),
            $"{FashionMnist.DefaultDirectory} is missing: install it with `sudo apt-get install -y dataset-fashion-mnist`.");
        var (trainAll, test) = FashionMnist.Load();
        var valid = trainAll.Take(5000);   // x_train_all[:5000]
        var train = trainAll.Skip(5000);   // x_train_all[5000:]

        // scaler.fit_transform(x_train.reshape(-1, 1)): one global mean and std.
        var scaler = new StandardScaler();
        var trainScaled = scaler.FitTransform(train);
        var validScaled = scaler.Transform(valid);
        var testScaled = scaler.Transform(test);
        float min = float.MaxValue, max = float.MinValue;
        foreach (float v in trainScaled.Features) { min = MathF.Min(min, v); max = MathF.Max(max, v); }
        // The seed prints: np.max(x_train_scaled), np.min(x_train_scaled) → 2.0231433 -0.8105136
        Assert.Equal(2.0231433f, max, 1e-5f);
        Assert.Equal(-0.8105136f, min, 1e-5f);

        var model = new LinearModel(784, 10, batchSize: 32, seed: 1);
        var output = new StringWriter();
        var history = model.Fit(trainScaled, epochs: 1, optimizer: new Sgd(0.01f), validation: validScaled, output: output);
        log.WriteLine(output.ToString());
        Assert.StartsWith("Train on 55000 samples, validate on 5000 samples", output.ToString());
        Assert.Contains("55000/55000 - ", output.ToString());
        Assert.True(history["val_accuracy"][0] > 0.78, output.ToString());
        Assert.True(model.Evaluate(testScaled).Accuracy > 0.75);
    }
}
