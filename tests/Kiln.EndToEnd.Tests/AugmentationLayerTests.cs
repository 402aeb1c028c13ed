using System;
using System.IO;
using System.Linq;
using Kiln;

namespace Kiln.EndToEnd.Tests;

/// <summary>
/// The augmentation layers through generated code: random in training from the model's stream,
/// a copy in inference, deterministic for a seed, different per sample and per step, resumed
/// exactly from a training checkpoint, and free of allocation per step.
/// </summary>
[Collection(nameof(Serial))]
public sealed class AugmentationLayerTests
{
    private static float[] Images(int n, int size, int seed)
    {
        var rng = new Random(seed);
        var x = new float[n * size];
        for (int i = 0; i < x.Length; i++) x[i] = (float)rng.NextDouble();
        return x;
    }

    private static Model[] Probes(int batch, int seed) =>
    [
        new FlipBothProbe(batch, seed), new FlipHorizontalProbe(batch, seed), new TranslationProbe(batch, seed),
        new TranslationConstantNearestProbe(batch, seed), new RotationProbe(batch, seed), new ZoomProbe(batch, seed),
        new ZoomRangesProbe(batch, seed), new ContrastProbe(batch, seed),
    ];

    [Fact]
    public void InferenceIsACopyAndTrainingTransforms()
    {
        foreach (var model in Probes(8, 3))
        {
            int size = model.Description.InputSize;
            var x = Images(8, size, 1);
            Assert.Equal(x, model.Forward(x, 8).ToArray());
            Assert.NotEqual(x, model.Forward(x, 8, training: true).ToArray());
        }
        // RandomCrop: the centre window in inference, the same every time.
        var crop = new CropProbe(4, 3);
        var images = Images(4, 9 * 8 * 2, 2);
        var inference = crop.Forward(images, 4).ToArray();
        var expected = new float[inference.Length];
        Kernels.Augmentation.CenterCrop(images, expected, 4, 9, 8, 2, 5, 4);
        Assert.Equal(expected, inference);
        Assert.Equal(inference, crop.Forward(images, 4).ToArray());
    }

    [Fact]
    public void TheTrainingForwardMatchesTheKernelOnTheModelsStream()
    {
        var model = new TranslationConstantNearestProbe(4, 9);
        var x = Images(4, 6 * 5 * 2, 3);
        var stream = model.Random;
        var expected = new float[x.Length];
        Kernels.Augmentation.RandomTranslation(x, expected, 4, 6, 5, 2, -0.2f, 0.3f, -0.5f, 0.1f, FillMode.Constant, Interpolation.Nearest, -2, ref stream);
        Assert.Equal(expected, model.Forward(x, 4, training: true).ToArray());
        Assert.Equal(stream.State, model.Random.State);
    }

    [Fact]
    public void DrawsDifferPerSampleAndPerStepAndRepeatForASeed()
    {
        foreach (var (a, b) in Probes(6, 21).Zip(Probes(6, 21)))
        {
            int size = a.Description.InputSize;
            // Six copies of one image: each sample gets its own draw.
            var one = Images(1, size, 4);
            var x = Enumerable.Repeat(one, 6).SelectMany(v => v).ToArray();
            var first = a.Forward(x, 6, training: true).ToArray();
            int distinct = Enumerable.Range(0, 6).Select(s => string.Join(",", first.Skip(s * size).Take(size))).Distinct().Count();
            Assert.True(distinct >= (a is FlipBothProbe or FlipHorizontalProbe ? 2 : 5), $"{a.GetType().Name}: {distinct} distinct samples of 6");
            var second = a.Forward(x, 6, training: true).ToArray();
            Assert.NotEqual(first, second);
            // The same seed gives the same draws, step after step.
            Assert.Equal(first, b.Forward(x, 6, training: true).ToArray());
            Assert.Equal(second, b.Forward(x, 6, training: true).ToArray());
        }
    }

    private static Dataset Data(int count, int seed)
    {
        var rng = new Random(seed);
        var x = new float[count * 144];
        var y = new float[count];
        for (int s = 0; s < count; s++)
        {
            int c = rng.Next(3);
            y[s] = c;
            for (int i = 0; i < 144; i++) x[s * 144 + i] = (float)(rng.NextDouble() * 60 + (i / 12 % 3 == c ? 180 : 0));
        }
        return new Dataset(x, y, [12, 12, 1], 1);
    }

    [Fact]
    public void SameSeedTrainsBitwiseTheSameAndAnotherStreamDoesNot()
    {
        var data = Data(96, 5);
        float[] Train(int seed, bool advance)
        {
            var model = new AugmentedCnn(16, seed);
            if (advance) model.Random.NextUInt64();
            model.Fit(data, 2, new Adam(1e-2f), verbose: 0);
            return model.Parameters.Span.ToArray();
        }
        var a = Train(4, false);
        Assert.Equal(a, Train(4, false));
        Assert.NotEqual(a, Train(4, true));
    }

    [Fact]
    public void ResumingFromATrainingCheckpointMatchesAnUninterruptedRunBitwise()
    {
        var dir = Directory.CreateTempSubdirectory("kiln-augment-");
        try
        {
            var data = Data(80, 6);
            const int epochs = 4;
            var whole = new AugmentedCnn(16, 7);
            whole.Fit(data, epochs, new Adam(1e-2f), verbose: 0);

            var first = new AugmentedCnn(16, 7);
            var stop = new LambdaCallback { OnEpochEnd = (epoch, _, c) => c.StopTraining = epoch + 1 == 2 };
            first.Fit(data, epochs, new Adam(1e-2f), verbose: 0,
                callbacks: [new ModelCheckpoint(Path.Combine(dir.FullName, "epoch_{epoch}.safetensors")), stop]);

            var resumed = new AugmentedCnn(16, 999);
            resumed.Fit(data, epochs, new Adam(1e-2f), verbose: 0, resumeFrom: Path.Combine(dir.FullName, "epoch_2.safetensors"));
            Assert.True(whole.Parameters.Span.SequenceEqual(resumed.Parameters.Span), "resumed weights differ from the uninterrupted run's");
            Assert.Equal(whole.Random.State, resumed.Random.State);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [Fact]
    public void ATrainingStepAllocatesNothingAfterWarmUp()
    {
        var model = new AugmentedCnn(32, 1);
        var optimizer = new Adam(1e-3f);
        var data = Data(32, 8);
        var x = new float[32 * 144];
        var y = new float[32];
        for (int i = 0; i < 32; i++)
        {
            data.Sample(i).CopyTo(x.AsSpan(i * 144, 144));
            y[i] = i % 3;
        }
        WarmUp.Run(() =>
        {
            model.TrainOnBatch(x, y, 32, optimizer);
            model.TrainOnBatch(x.AsSpan(0, 19 * 144), y.AsSpan(0, 19), 19, optimizer);
        }, calls: 20);
        float loss = 0;
        var (allocated, workers) = WarmUp.Allocations(() =>
        {
            for (int i = 0; i < 10; i++) loss += model.TrainOnBatch(x, y, 32, optimizer);
            model.TrainOnBatch(x.AsSpan(0, 19 * 144), y.AsSpan(0, 19), 19, optimizer);
        });
        Assert.True(float.IsFinite(loss) && loss > 0, $"loss {loss}");
        Assert.Equal(0, allocated);
        Assert.Equal(0, workers);
    }

    [Fact]
    public void AskingTheInputGradientThroughAnAugmentationInTrainingIsAClearError()
    {
        var model = new AugmentedCnn(4, 2);
        var x = Images(4, 144, 9);
        var targets = new float[] { 0, 1, 2, 0 };
        model.Forward(x, 4, training: true);
        model.ComputeLoss(targets, 4, gradient: true);
        var e = Assert.Throws<InvalidOperationException>(() => model.Backward(4, new float[4 * 144]));
        Assert.Contains("RandomCrop 'random_crop'", e.Message);
        // Without the input gradient, backward runs (Fit and TrainOnBatch never ask for it).
        model.Forward(x, 4, training: true);
        model.ComputeLoss(targets, 4, gradient: true);
        model.Backward(4);
    }

    [Fact]
    public void TheSummaryShowsKerasTypesAndNoParameters()
    {
        foreach (string line in new[]
        {
            "random_translation (RandomTranslation)", "random_flip (RandomFlip)", "random_rotation (RandomRotation)",
            "random_zoom (RandomZoom)", "random_contrast (RandomContrast)", "random_crop (RandomCrop)",
        })
            Assert.Contains(line, AugmentedCnn.Summary);
        Assert.Contains("(None, 10, 10, 1)", AugmentedCnn.Summary);
        var layers = new AugmentedCnn(2, 1).Layers;
        Assert.Equal(6, layers.Count(l => l.Kind.StartsWith("Random")));
        Assert.All(layers.Where(l => l.Kind.StartsWith("Random")), l => Assert.Equal(0, l.ParameterCount));
    }
}
