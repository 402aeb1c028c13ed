using System;
using System.IO;
using Kiln;
using Kiln.Runtime.Tests.Training;

namespace Kiln.Runtime.Tests.Checkpoints;

public class ResumeTests
{
    private static void AssertBitwise(ReadOnlySpan<float> expected, ReadOnlySpan<float> actual, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
            Assert.True(BitConverter.SingleToInt32Bits(expected[i]) == BitConverter.SingleToInt32Bits(actual[i]),
                $"{what}[{i}]: {expected[i]:R} uninterrupted vs {actual[i]:R} resumed");
    }

    // AdamW with clipnorm and an exclusion: the optimizer is rebuilt on the model's variables after the
    // resume, and its checkpoint is Adam's state under the name AdamW.
    private static Optimizer MakeOptimizer(string kind) => kind switch
    {
        "adam" => new Adam(0.02f),
        "adamw" => Excluding(new AdamW(0.02, weightDecay: 0.05, clipNorm: 0.5), "bias"),
        _ => throw new ArgumentException(kind),
    };

    private static Optimizer Excluding(Optimizer optimizer, string pattern)
    {
        optimizer.ExcludeFromWeightDecay(pattern);
        return optimizer;
    }

    [Theory]
    [InlineData("adam")]
    [InlineData("adamw")]
    public void StoppingAfterEpochThreeAndResumingMatchesAnUninterruptedRunBitwise(string kind)
    {
        using var dir = new TempDirectory();
        var data = FitTests.Blobs(230, 21);
        const int epochs = 6;

        // Uninterrupted: 6 epochs with shuffling, validation split, input noise from the RNG,
        // moving statistics in State, and Adam's moments.
        var whole = new NoisyModel(4, 3, batchSize: 16, seed: 7);
        var wholeHistory = whole.Fit(data, epochs, MakeOptimizer(kind), validationSplit: 0.2, verbose: 0);

        // Interrupted: the same run, stopped by a callback after epoch 3 (nothing is killed), with
        // a training checkpoint written at each epoch's end.
        var first = new NoisyModel(4, 3, batchSize: 16, seed: 7);
        var stopAtThree = new LambdaCallback { OnEpochEnd = (epoch, _, c) => c.StopTraining = epoch + 1 == 3 };
        var checkpoint = new ModelCheckpoint(dir.File("ckpt/epoch_{epoch}.safetensors"));
        var firstHistory = first.Fit(data, epochs, MakeOptimizer(kind), validationSplit: 0.2, verbose: 0, callbacks: [checkpoint, stopAtThree]);
        Assert.Equal(3, firstHistory.Epochs);
        Assert.True(File.Exists(dir.File("ckpt/epoch_3.safetensors")));
        Assert.False(File.Exists(dir.File("ckpt/epoch_4.safetensors")));

        // A new process would start from a new model (any seed) and a new optimizer.
        var resumed = new NoisyModel(4, 3, batchSize: 16, seed: 12345);
        var optimizer = MakeOptimizer(kind);
        var epochsRun = new System.Collections.Generic.List<int>();
        var resumedHistory = resumed.Fit(data, epochs, optimizer, validationSplit: 0.2, verbose: 0,
            callbacks: [new LambdaCallback { OnEpochBegin = (e, _) => epochsRun.Add(e) }],
            resumeFrom: dir.File("ckpt/epoch_3.safetensors"));

        Assert.Equal([3, 4, 5], epochsRun);
        AssertBitwise(whole.Parameters.Span, resumed.Parameters.Span, "parameters");
        AssertBitwise(whole.State.Span, resumed.State.Span, "state");
        Assert.Equal(whole.Random.State, resumed.Random.State);
        Assert.Equal(epochs * 12, optimizer.Iterations); // 184 training samples → 12 batches an epoch
        // The history carries on from the checkpoint's epochs, every value identical.
        Assert.Equal(epochs, resumedHistory.Epochs);
        foreach (string name in wholeHistory.Names) Assert.Equal(wholeHistory[name], resumedHistory[name]);
    }

    [Fact]
    public void LoadCheckpointRestoresOptimizerRngEpochAndLearningRate()
    {
        using var dir = new TempDirectory();
        var data = FitTests.Blobs(64, 3);
        var model = new NoisyModel(4, 3, 8, 1);
        var sgd = new Sgd(0.1f, momentum: 0.9f);
        model.Fit(data, 2, sgd, verbose: 0);
        sgd.LearningRate = 0.025f; // as ReduceLROnPlateau would have left it
        model.SaveCheckpoint(dir.File("c.safetensors"), sgd, epoch: 2);

        var other = new NoisyModel(4, 3, 8, 99);
        var fresh = new Sgd(0.1f, momentum: 0.9f);
        var info = other.LoadCheckpoint(dir.File("c.safetensors"), fresh);
        Assert.Equal(2, info.Epoch);
        Assert.Equal(16, info.Step);
        Assert.Null(info.History);
        Assert.Equal(16, fresh.Iterations);
        Assert.Equal(0.025f, fresh.LearningRate);
        Assert.Equal(sgd.StateBuffers[0], fresh.StateBuffers[0]);
        Assert.Equal(model.Random.State, other.Random.State);
        Assert.Equal(model.Parameters.Span.ToArray(), other.Parameters.Span.ToArray());

        // The wrong optimizer kind is refused before anything changes.
        var third = new NoisyModel(4, 3, 8, 5);
        var before = third.Parameters.Span.ToArray();
        var e = Assert.Throws<InvalidDataException>(() => third.LoadCheckpoint(dir.File("c.safetensors"), new Adam()));
        Assert.Contains("Sgd", e.Message);
        Assert.Contains("c.safetensors", e.Message);
        Assert.Equal(before, third.Parameters.Span.ToArray());

        // A weights-only file is no training checkpoint, and says so.
        model.SaveWeights(dir.File("w.safetensors"));
        var w = Assert.Throws<InvalidDataException>(() => third.Fit(data, 3, new Sgd(), verbose: 0, resumeFrom: dir.File("w.safetensors")));
        Assert.Contains("weights only", w.Message);
        Assert.Throws<ArgumentException>(() => third.Fit(data, 3, new Sgd(), verbose: 0, initialEpoch: 1, resumeFrom: dir.File("c.safetensors")));
    }

    [Fact]
    public void InitialEpochRunsTheRemainingEpochsAsKeras()
    {
        var model = new LinearModel(4, 3, 16, 1);
        var output = new StringWriter();
        var h = model.Fit(FitTests.Blobs(40, 1), epochs: 5, new Sgd(), verbose: 2, output: output, initialEpoch: 3);
        Assert.Equal(2, h.Epochs);
        Assert.Contains("Epoch 4/5", output.ToString());
        Assert.Contains("Epoch 5/5", output.ToString());
        Assert.DoesNotContain("Epoch 3/5", output.ToString());
    }
}
