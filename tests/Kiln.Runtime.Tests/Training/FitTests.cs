using Kiln.Tests;
using System;
using System.IO;
using System.Text.RegularExpressions;
using Kiln;

namespace Kiln.Runtime.Tests.Training;

public class FitTests
{
    /// <summary>Three Gaussian blobs in 4-D, far enough apart to be linearly separable.</summary>
    internal static Dataset Blobs(int count, ulong seed, bool oneHot = false)
    {
        var rng = new Rng(seed);
        const int d = 4, k = 3;
        float[][] centers = [[3, 0, 0, 1], [-3, 3, 0, 0], [0, -3, 3, -1]];
        var x = new float[count * d];
        var y = new float[count * (oneHot ? k : 1)];
        for (int s = 0; s < count; s++)
        {
            int c = rng.NextInt(k);
            for (int i = 0; i < d; i++) x[s * d + i] = centers[c][i] + 0.7f * rng.NextNormal();
            if (oneHot) y[s * k + c] = 1; else y[s] = c;
        }
        return new Dataset(x, y, [d], oneHot ? k : 1);
    }

    [Fact]
    public void LearnsASeparableProblem()
    {
        var train = Blobs(300, 1);
        var valid = Blobs(100, 2);
        var model = new LinearModel(4, 3, batchSize: 16, seed: 5);
        var history = model.Fit(train, epochs: 15, optimizer: new Sgd(0.1f), validation: valid, verbose: 0);

        Assert.Equal(["loss", "accuracy", "val_loss", "val_accuracy"], history.Names);
        Assert.Equal(15, history.Epochs);
        Assert.True(history["loss"][^1] < history["loss"][0] / 3, $"loss {history["loss"][0]} → {history["loss"][^1]}");
        Assert.True(history["accuracy"][^1] > 0.95, $"accuracy {history["accuracy"][^1]}");
        Assert.True(history["val_accuracy"][^1] > 0.95, $"val_accuracy {history["val_accuracy"][^1]}");

        var eval = model.Evaluate(valid);
        Assert.Equal((float)history["val_loss"][^1], eval.Loss);
        Assert.Equal((float)history["val_accuracy"][^1], eval.Accuracy);
        var (loss, accuracy) = eval;
        Assert.Equal(eval.Loss, loss);
        Assert.Equal(eval.Accuracy, accuracy);
        Assert.Matches(@"^loss: \d\.\d{4} - accuracy: \d\.\d{4}$", eval.ToString());

        // Predict: Count × OutputSize probabilities whose argmax gives the same accuracy.
        var p = model.Predict(valid);
        Assert.Equal(valid.Count * 3, p.Length);
        int correct = 0;
        for (int s = 0; s < valid.Count; s++)
        {
            var row = p.AsSpan(s * 3, 3);
            Assert.Equal(1f, row[0] + row[1] + row[2], 1e-5f);
            int arg = row[1] > row[0] ? (row[2] > row[1] ? 2 : 1) : (row[2] > row[0] ? 2 : 0);
            if (arg == (int)valid.Targets[s]) correct++;
        }
        Assert.Equal(eval.Accuracy, (float)correct / valid.Count, 1e-6f);
        Assert.Equal(p, model.Predict(valid.Features, valid.Count));
    }

    [Fact]
    public void CategoricalTargetsAndAdamAndRmsPropLearnToo()
    {
        var train = Blobs(200, 3, oneHot: true);
        foreach (Optimizer opt in new Optimizer[] { new Adam(0.05f), new RmsProp(0.01f), new Sgd(0.05f, 0.9f, nesterov: true) })
        {
            var model = new LinearModel(4, 3, batchSize: 32, seed: 1, loss: Loss.CategoricalCrossentropy);
            var h = model.Fit(train, epochs: 10, optimizer: opt, verbose: 0);
            Assert.True(h["accuracy"][^1] > 0.95, $"{opt.GetType().Name}: accuracy {h["accuracy"][^1]}");
        }
    }

    [Fact]
    public void EpochLossIsTheSampleWeightedMeanAndBatchesRunInTheRightModes()
    {
        // With a zero learning rate the weights never move, so the epoch's training loss must be
        // exactly the mean over samples: the last, smaller batch (300 = 18·16 + 12) weighs 12/300.
        var train = Blobs(300, 4);
        var model = new LinearModel(4, 3, batchSize: 16, seed: 2);
        model.ResetCounters();
        var h = model.Fit(train, epochs: 2, optimizer: new Sgd(0f), shuffle: false, verbose: 0);
        Assert.Equal(2 * 19, model.TrainingForwards);
        Assert.Equal(2 * 18, model.TrainingBatchSizes[16]);
        Assert.Equal(2, model.TrainingBatchSizes[12]);
        Assert.Equal(0, model.InferenceForwards);

        var eval = model.Evaluate(train);
        Assert.Equal(19, model.InferenceForwards); // evaluate runs in inference mode
        Assert.Equal(eval.Loss, h["loss"][0], 1e-6);
        Assert.Equal(eval.Accuracy, h["accuracy"][1], 1e-6);
    }

    [Fact]
    public void ValidationSplitTakesTheLastFractionBeforeShuffling()
    {
        var data = Blobs(100, 6);
        var a = new LinearModel(4, 3, batchSize: 8, seed: 9);
        var ha = a.Fit(data, epochs: 3, optimizer: new Sgd(0.05f), validationSplit: 0.2, verbose: 0);
        // The same as training on the first 80 and validating on the last 20 explicitly.
        var b = new LinearModel(4, 3, batchSize: 8, seed: 9);
        var hb = b.Fit(data.Take(80), epochs: 3, optimizer: new Sgd(0.05f), validation: data.Skip(80), verbose: 0);
        Assert.Equal(a.Parameters.Span.ToArray(), b.Parameters.Span.ToArray());
        foreach (string name in ha.Names) Assert.Equal(hb[name], ha[name]);
        Assert.Equal((float)ha["val_loss"][^1], a.Evaluate(data.Skip(80)).Loss);

        // Keras: split_at = floor(n·(1 − split)); 10·0.75 = 7.5 → 7 train, 3 validate.
        var output = new StringWriter();
        new LinearModel(4, 3, 4, 1).Fit(data.Take(10), 1, new Sgd(), validationSplit: 0.25, output: output);
        Assert.StartsWith("Train on 7 samples, validate on 3 samples", output.ToString());
    }

    [Fact]
    public void SameSeedGivesBitwiseIdenticalParameters()
    {
        var data = Blobs(150, 7);
        float[] Run(int seed)
        {
            var m = new LinearModel(4, 3, batchSize: 16, seed: seed);
            m.Fit(data, epochs: 4, optimizer: new Adam(0.01f), validationSplit: 0.1, verbose: 0);
            return m.Parameters.Span.ToArray();
        }
        var first = Run(42);
        var second = Run(42);
        Assert.Equal(first.Length, second.Length);
        for (int i = 0; i < first.Length; i++)
            Assert.Equal(BitConverter.SingleToInt32Bits(first[i]), BitConverter.SingleToInt32Bits(second[i]));
        Assert.NotEqual(first, Run(43));
    }

    [Fact]
    public void ShufflingChangesTheOrderEachEpoch()
    {
        var data = Blobs(64, 8);
        var shuffled = new LinearModel(4, 3, 8, 1);
        var ordered = new LinearModel(4, 3, 8, 1);
        shuffled.Fit(data, 2, new Sgd(0.1f), verbose: 0);
        ordered.Fit(data, 2, new Sgd(0.1f), shuffle: false, verbose: 0);
        Assert.NotEqual(shuffled.Parameters.Span.ToArray(), ordered.Parameters.Span.ToArray());
    }

    [Fact]
    public void PrintsOneKerasLinePerEpoch()
    {
        var train = Blobs(120, 9);
        var output = new StringWriter();
        new LinearModel(4, 3, 32, 1).Fit(train, epochs: 2, optimizer: new Sgd(0.1f), validation: Blobs(30, 10), verbose: 1, output: output);
        var lines = output.ToString().Split(Environment.NewLine, StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(5, lines.Length);
        Assert.Equal("Train on 120 samples, validate on 30 samples", lines[0]);
        Assert.Equal("Epoch 1/2", lines[1]);
        Assert.Equal("Epoch 2/2", lines[3]);
        var pattern = new Regex(@"^120/120 - \d+s - \d+(us|ms|s)/sample - loss: \d\.\d{4} - accuracy: \d\.\d{4} - val_loss: \d\.\d{4} - val_accuracy: \d\.\d{4}$");
        Assert.Matches(pattern, lines[2]);
        Assert.Matches(pattern, lines[4]);

        var silent = new StringWriter();
        new LinearModel(4, 3, 32, 1).Fit(train, 1, new Sgd(), verbose: 0, output: silent);
        Assert.Equal("", silent.ToString());
        var noValidation = new StringWriter();
        new LinearModel(4, 3, 32, 1).Fit(train, 1, new Sgd(), verbose: 2, output: noValidation);
        Assert.StartsWith($"Train on 120 samples{Environment.NewLine}Epoch 1/1{Environment.NewLine}120/120 - ", noValidation.ToString());
        Assert.DoesNotContain("val_", noValidation.ToString());
    }

    [Fact]
    public void NoAllocationPerBatch()
    {
        // 300 samples in batches of 16: 19 batches an epoch, the last of 12; validation each epoch.
        var train = Blobs(300, 11);
        var valid = Blobs(50, 12);
        var model = new LinearModel(4, 3, batchSize: 16, seed: 1);
        var optimizer = new Adam(0.01f);
        model.Fit(train, 1, optimizer, validation: valid, verbose: 0); // warm-up: JIT, optimizer state

        // Per-Fit setup (staging buffers) is the same for both, except that History reserves one
        // double per metric per epoch up front (4 metrics × 5 epochs × 8 bytes). Beyond that, 5 more
        // epochs of 19 batches and 5 more validations must add nothing: a single 24-byte object
        // per batch would show as ≥ 2,280 bytes.
        const long historyReserve = 4 * 5 * sizeof(double);
        long[] extra = WarmUp.ExtraForFiveEpochs(epochs => model.Fit(train, epochs, optimizer, validation: valid, verbose: 0), historyReserve);
        Assert.True(extra.Contains(historyReserve),
            $"5 extra epochs (95 batches) allocated {string.Join(", ", extra)} bytes (expected {historyReserve}, the history's reserve)");
    }

    [Fact]
    public void NaNLossStopsWithEpochBatchAndAdvice()
    {
        var data = Blobs(40, 13);
        data.Features[9 * 4 + 1] = float.NaN; // sample 9 → batch 3 of 10 with batches of 4, unshuffled
        var model = new LinearModel(4, 3, batchSize: 4, seed: 1);
        // An in-memory dataset is checked up front (HostileTrainingTests); a batch source meets the NaN at its batch.
        Assert.Throws<ArgumentException>(() => model.Fit(data, epochs: 2, optimizer: new Sgd(0.5f), shuffle: false, verbose: 0));
        var e = Assert.Throws<TrainingDivergedException>(() =>
            model.Fit(Pipeline.From(data).Batch(4), epochs: 2, optimizer: new Sgd(0.5f), verbose: 0));
        Assert.Contains("epoch 1/2, batch 3/10", e.Message);
        Assert.Contains("lower learning rate", e.Message);
        Assert.Equal(1, e.Epoch);
        Assert.Equal(3, e.Batch);
        foreach (float w in model.Parameters.Span) Assert.True(float.IsFinite(w)); // the bad step was not applied
    }

    [Fact]
    public void MeanSquaredErrorReportsMae()
    {
        // y = x·[1, −2] + 0.5, a regression the linear model fits exactly.
        var rng = new Rng(3);
        var x = new float[200 * 2];
        var y = new float[200];
        for (int s = 0; s < 200; s++)
        {
            x[2 * s] = rng.NextNormal();
            x[2 * s + 1] = rng.NextNormal();
            y[s] = x[2 * s] - 2 * x[2 * s + 1] + 0.5f;
        }
        var data = new Dataset(x, y, [2], 1);
        var model = new LinearModel(2, 1, 16, 1, Loss.MeanSquaredError);
        var h = model.Fit(data, 30, new Sgd(0.05f), validationSplit: 0.1, verbose: 0);
        Assert.Equal(["loss", "mae", "val_loss", "val_mae"], h.Names);
        Assert.True(h["mae"][^1] < 0.05, $"mae {h["mae"][^1]}");
        var eval = model.Evaluate(data);
        Assert.Equal("mae", eval.MetricName);
        Assert.Throws<InvalidOperationException>(() => eval.Accuracy);
    }

    [Fact]
    public void MismatchedDatasetsAreExplained()
    {
        var model = new LinearModel(4, 3, 8, 1);
        var wrongInputs = new Dataset(new float[10 * 5], new float[10], [5], 1);
        var e = Assert.Throws<ArgumentException>(() => model.Fit(wrongInputs, 1, new Sgd(), verbose: 0));
        Assert.Contains("LinearModel: input 'input' expected shape (None, 4), found (None, 5)", e.Message);
        Assert.Contains("the input takes 4 values per sample, the data has 5", e.Message);
        var oneHot = Blobs(10, 1, oneHot: true);
        var e2 = Assert.Throws<ArgumentException>(() => model.Evaluate(oneHot));
        Assert.Contains("expects 1 target value(s) per sample", e2.Message);
        var e3 = Assert.Throws<ArgumentOutOfRangeException>(() => model.Fit(Blobs(10, 1), 1, new Sgd(), validationSplit: 1.0));
        Assert.Contains("[0, 1)", e3.Message);
    }
}
