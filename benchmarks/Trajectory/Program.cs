using System;
using System.Globalization;
using System.IO;
using Kiln;
using Kiln.Benchmarks.Trajectory;

// Writes a fresh model's weights (one raw float32 file per tensor, Kiln's layouts) to DIR/weights,
// then trains it STEPS steps of batch 32 on the training images in file order (after the first 5,000,
// as the sample holds them out) with Adam(1e-3) and writes each step's loss to DIR/kiln_losses.txt.
// benchmarks/pytorch/trajectory.py trains the same model from those weights on the same batches.
// Then it writes the trained tensors (moving statistics included) to DIR/trained and the inference-mode
// class probabilities for the 10,000 test images to DIR/kiln_test_probabilities.bin, so that the
// script can also check Kiln's inference path (BatchNormalization folded into the convolutions)
// against PyTorch's eval mode on the same weights.
// With --dropout it trains the sample's own model (samples/FashionMnistCnn, Dropout(0.3) included) and
// writes each step's dropout mask to DIR/dropout_masks.bin (one byte per unit, 1 = kept), replaying
// the model's random stream, from which only Dropout draws in a train step, so PyTorch can apply them.
//
// With --optimizer NAME (a name of Optimizers.All, or `all` for each in turn) it trains with that
// optimizer instead (l1l2: FashionCnnRegularized) and writes weights, losses and trained tensors to
// DIR/optimizers/NAME, for benchmarks/pytorch/trajectory_optimizers.py; no test predictions.
//
// usage: Trajectory [--steps N] [--seed S] [--out DIR] [--data DIR] [--dropout | --optimizer NAME|all]
int steps = 200, seed = 3;
bool dropout = false;
string? optimizerName = null;
string dir = Path.Combine("benchmarks", "results", "trajectory");
string? data = null;
for (int i = 0; i < args.Length; i++)
{
    switch (args[i])
    {
        case "--steps" when i + 1 < args.Length: steps = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
        case "--seed" when i + 1 < args.Length: seed = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
        case "--out" when i + 1 < args.Length: dir = args[++i]; break;
        case "--data" when i + 1 < args.Length: data = args[++i]; break;
        case "--dropout": dropout = true; break;
        case "--optimizer" when i + 1 < args.Length: optimizerName = args[++i]; break;
        default:
            Console.Error.WriteLine($"unknown argument '{args[i]}'. usage: Trajectory [--steps N] [--seed S] [--out DIR] [--data DIR] [--dropout | --optimizer NAME|all]");
            return 2;
    }
}
if (optimizerName is not null && (dropout || optimizerName != "all" && !Optimizers.All.ContainsKey(optimizerName)))
{
    Console.Error.WriteLine(dropout ? "--optimizer and --dropout do not combine."
        : $"unknown optimizer '{optimizerName}'; one of: all, {string.Join(", ", Optimizers.All.Keys)}.");
    return 2;
}

var (trainAll, testRaw) = FashionMnist.Load(data);
var train = new Rescale(1 / 255f).Transform(trainAll.Skip(5000));
if (optimizerName is not null)
{
    foreach (var name in optimizerName == "all" ? Optimizers.All.Keys : [optimizerName])
    {
        Model m = name == "l1l2" ? new FashionCnnRegularized(batchSize: 32, seed: seed) : new FashionCnnNoDropout(batchSize: 32, seed: seed);
        string sub = Path.Combine(dir, "optimizers", name);
        WriteTensors(m, Path.Combine(sub, "weights"));
        var optimizer = Optimizers.All[name]();
        using (var losses = new StreamWriter(Path.Combine(sub, "kiln_losses.txt")))
        {
            for (int s = 0; s < steps; s++)
            {
                int start = s * 32 % (train.Count - 32);
                float loss = m.TrainOnBatch(train.Features.AsSpan(start * train.SampleSize, 32 * train.SampleSize), train.Targets.AsSpan(start, 32), 32, optimizer);
                losses.WriteLine(loss.ToString("R", CultureInfo.InvariantCulture));
            }
        }
        WriteTensors(m, Path.Combine(sub, "trained"));
        Console.WriteLine($"{name}: {steps} steps with {optimizer.GetType().Name}; weights, losses and trained tensors in {sub}");
    }
    return 0;
}
Model model = dropout ? new Kiln.Samples.FashionMnistCnn.FashionCnn(batchSize: 32, seed: seed) : new FashionCnnNoDropout(batchSize: 32, seed: seed);
string weights = Path.Combine(dir, "weights");
WriteTensors(model, weights);

var adam = new Adam(1e-3f);
using var log = new StreamWriter(Path.Combine(dir, "kiln_losses.txt"));
string masksPath = Path.Combine(dir, "dropout_masks.bin");
File.Delete(masksPath); // the script applies masks when this file exists
using var masks = dropout ? File.Create(masksPath) : null;
var mask = new byte[32 * 128];
for (int s = 0; s < steps; s++)
{
    if (masks is not null)
    {
        // Kernels.Dropout.Forward keeps unit i when the i-th draw is ≥ the rate; draw the same numbers from a copy.
        var replay = model.Random;
        for (int i = 0; i < mask.Length; i++) mask[i] = replay.NextFloat() >= 0.3f ? (byte)1 : (byte)0;
        masks.Write(mask);
    }
    int start = s * 32 % (train.Count - 32);
    float loss = model.TrainOnBatch(train.Features.AsSpan(start * train.SampleSize, 32 * train.SampleSize), train.Targets.AsSpan(start, 32), 32, adam);
    log.WriteLine(loss.ToString("R", CultureInfo.InvariantCulture));
}
log.Flush();

string trained = Path.Combine(dir, "trained");
WriteTensors(model, trained);
var test = new Rescale(1 / 255f).Transform(testRaw);
string probabilities = Path.Combine(dir, "kiln_test_probabilities.bin");
WriteFloats(probabilities, model.Predict(test));
Console.WriteLine($"{steps} steps; weights in {weights}, losses in {Path.Combine(dir, "kiln_losses.txt")}, " +
    $"trained tensors in {trained}, test probabilities in {probabilities}");
return 0;

// One raw little-endian float32 file per tensor, named as Kiln names it ('/' → '.'), in Kiln's layout.
static void WriteTensors(Model model, string directory)
{
    Directory.CreateDirectory(directory);
    foreach (var t in model.Description.Tensors)
    {
        int length = 1;
        foreach (int d in t.Shape) length *= d;
        var values = (t.Trainable ? model.Parameters.Span : model.State.Span).Slice(t.Offset, length);
        WriteFloats(Path.Combine(directory, t.Name.Replace('/', '.') + ".bin"), values);
    }
}

static void WriteFloats(string path, ReadOnlySpan<float> values)
{
    using var file = File.Create(path);
    file.Write(System.Runtime.InteropServices.MemoryMarshal.AsBytes(values));
}
