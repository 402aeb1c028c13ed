using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using Kiln;
using Kiln.Samples;
using Kiln.Samples.Gan;

// Seed 000 in Kiln: a GAN whose discriminator is frozen while the generator trains. The seed
// trains on CIFAR-10 class 5 (dogs), which cannot be downloaded here: by default this trains on
// Fashion-MNIST (all classes, or --class N), each 28x28 image padded to 32x32 and repeated into
// three channels, scaled to [0, 1] as the seed scales CIFAR-10; --cifar --data DIR trains on CIFAR-10.
// As the seed: latent 32, batch 32, discriminator RMSprop(8e-4, clipvalue 1, decay 1e-8) on 32
// fakes (label 1) + 32 reals (label 0) with labels += 0.05 * U[0,1), adversarial RMSprop(1e-3,
// epsilon 1e-8) with targets 0, real images taken in order and wrapped, losses printed and
// images saved every 100 steps. The default models are the seed's with a quarter of the channels
// (see GanModels.cs); --seed-size trains the seed's own, about 4x slower per step.
var rest = new List<string>();
int steps = 1000, every = 100;
int? label = null;
bool cifar = false;
bool seedSize = false;
for (int i = 0; i < args.Length; i++)
{
    bool hasValue = i + 1 < args.Length;
    switch (args[i])
    {
        case "--steps" when hasValue && TryCount(args[i + 1], out steps): i++; break;
        case "--every" when hasValue && TryCount(args[i + 1], out every): i++; break;
        case "--class" when hasValue && TryClass(args[i + 1], out int c): label = c; i++; break;
        case "--cifar": cifar = true; break;
        case "--seed-size": seedSize = true; break;
        case "--data" or "--seed" or "--batch" or "--out" when hasValue: rest.Add(args[i]); rest.Add(args[++i]); break;
        default: return Usage($"bad argument '{args[i]}'.");
    }
}
var options = SampleOptions.Parse([.. rest], "Gan", epochs: 1, batchSize: 32, outDirectory: Path.Combine("runs", "gan"));
if (options is null) return Usage(null);
if (cifar && options.DataDirectory is null) return Usage("--cifar needs --data DIR, the folder that holds cifar-10-batches-bin.");
int batch = options.BatchSize;
string outDirectory = options.OutDirectory!;

// ---- data: n images of 32x32x3 in [0, 1] ----
float[] images;
string dataName;
try
{
    (images, dataName) = cifar
        ? LoadCifar10(options.DataDirectory!, label ?? 5)
        : LoadFashionMnist(options.DataDirectory, label);
}
catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException or InvalidDataException)
{
    Console.Error.WriteLine(e.Message);
    return 1;
}
const int ImageSize = 32 * 32 * 3;
int count = images.Length / ImageSize;
if (count < batch)
{
    Console.Error.WriteLine($"{dataName} has {count} images, fewer than one batch of {batch}.");
    return 1;
}

// ---- models: the discriminator trains on fakes and reals together, so its batch is twice as large ----
Model generator = seedSize ? new SeedGenerator(batch, options.Seed) : new NarrowGenerator(batch, options.Seed);
Model discriminator = seedSize ? new SeedDiscriminator(2 * batch, options.Seed + 1) : new NarrowDiscriminator(2 * batch, options.Seed + 1);
Console.WriteLine(seedSize ? SeedGenerator.Summary : NarrowGenerator.Summary);
Console.WriteLine(seedSize ? SeedDiscriminator.Summary : NarrowDiscriminator.Summary);
var gan = new GanTrainer(generator, discriminator,
    discriminatorOptimizer: new RmsProp(learningRate: 8e-4f, clipValue: 1f, decay: 1e-8f),
    generatorOptimizer: new RmsProp(learningRate: 1e-3f, rho: 0.9f, epsilon: 1e-8f));

// The grids show the same 32 latent vectors every time (drawn from their own stream, so saving
// changes nothing in training), next to the step's real batch.
var fixedLatent = new float[batch * gan.LatentSize];
var latentRng = new Rng((ulong)(uint)options.Seed ^ 0x6A09E667UL);
for (int i = 0; i < fixedLatent.Length; i++) fixedLatent[i] = latentRng.NextNormal();
int columns = batch >= 8 ? 8 : batch;
var grid = new ImageGrid(32, 32, 3, (batch + columns - 1) / columns, columns, panels: 2, scale: 2);
Directory.CreateDirectory(outDirectory);

Console.WriteLine($"{dataName}: {count:N0} images; {steps} steps of batch {batch}, {(seedSize ? "seed-size" : "narrow")} models; images every {every} steps in {Path.GetFullPath(outDirectory)}");
var clock = Stopwatch.StartNew();
int start = 0;
for (int step = 0; step < steps; step++)
{
    ReadOnlySpan<float> real = images.AsSpan(start * ImageSize, batch * ImageSize);
    float dLoss = gan.TrainDiscriminator(real, batch);
    float aLoss = gan.TrainGenerator(batch);
    if (step % every == 0 || step == steps - 1)
    {
        Console.WriteLine($"discriminator loss at step {step}: {dLoss:F4}");
        Console.WriteLine($"adversarial   loss at step {step}: {aLoss:F4}   ({clock.Elapsed.TotalSeconds:F0} s, {(step + 1) / clock.Elapsed.TotalSeconds:F2} steps/s)");
        grid.Clear();
        grid.Draw(0, generator.Forward(fixedLatent, batch, training: false));
        grid.Draw(1, real);
        string path = Path.Combine(outDirectory, $"step_{step:D5}.png");
        grid.WritePng(path);
    }
    start += batch;
    if (start > count - batch) start = 0;
}
Console.WriteLine($"{steps} steps in {clock.Elapsed.TotalSeconds:F1} s ({steps / clock.Elapsed.TotalSeconds:F2} steps/s); grids (generated | real) in {Path.GetFullPath(outDirectory)}");
return 0;

static int Usage(string? message)
{
    if (message is not null) Console.Error.WriteLine($"Gan: {message}");
    Console.Error.WriteLine("usage: Gan [--steps N] [--every N] [--class C] [--cifar] [--seed-size] [--out DIR] [--data DIR] [--seed S] [--batch B]");
    Console.Error.WriteLine("  --data DIR   Fashion-MNIST folder (default /usr/share/datasets/fashion-mnist), or with --cifar the CIFAR-10 binary folder");
    Console.Error.WriteLine("  --class C    train on one class (0-9); Fashion-MNIST defaults to all, CIFAR-10 to 5 (dog) as the seed");
    Console.Error.WriteLine("  --seed-size  the seed's full-width models (4.8M-parameter generator) instead of the quarter-width default");
    return 2;
}

static bool TryCount(string s, out int value) =>
    int.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out value) && value > 0;

static bool TryClass(string s, out int value) =>
    int.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out value) && value <= 9;

// Fashion-MNIST training images, 28x28 padded with 2 black pixels to 32x32, grey repeated into RGB, /255.
static (float[] Images, string Name) LoadFashionMnist(string? directory, int? label)
{
    var (train, _) = FashionMnist.Load(directory);
    var picked = new List<int>();
    for (int i = 0; i < train.Count; i++)
        if (label is null || (int)train.Target(i)[0] == label) picked.Add(i);
    var images = new float[picked.Count * 32 * 32 * 3];
    for (int k = 0; k < picked.Count; k++)
    {
        ReadOnlySpan<float> source = train.Sample(picked[k]);
        Span<float> target = images.AsSpan(k * 32 * 32 * 3, 32 * 32 * 3);
        for (int y = 0; y < 28; y++)
            for (int x = 0; x < 28; x++)
            {
                float v = source[y * 28 + x] / 255f;
                int at = ((y + 2) * 32 + x + 2) * 3;
                target[at] = target[at + 1] = target[at + 2] = v;
            }
    }
    string name = label is int c ? $"Fashion-MNIST class {c} ({FashionMnist.ClassNames[c]})" : "Fashion-MNIST (all classes)";
    return (images, name);
}

// CIFAR-10 training images of one class, /255, as the seed's x_train[y_train.flatten() == 5].
static (float[] Images, string Name) LoadCifar10(string directory, int label)
{
    var (train, _) = Cifar10.Load(directory);
    var images = new List<float>();
    for (int i = 0; i < train.Count; i++)
        if ((int)train.Target(i)[0] == label)
            foreach (float v in train.Sample(i)) images.Add(v / 255f);
    return (images.ToArray(), $"CIFAR-10 class {label} ({Cifar10.ClassNames[label]})");
}
