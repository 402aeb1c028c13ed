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
//
// usage: Trajectory [--steps N] [--seed S] [--out DIR] [--data DIR]
int steps = 200, seed = 3;
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
        default:
            Console.Error.WriteLine($"unknown argument '{args[i]}'. usage: Trajectory [--steps N] [--seed S] [--out DIR] [--data DIR]");
            return 2;
    }
}

var (trainAll, testRaw) = FashionMnist.Load(data);
var train = new Rescale(1 / 255f).Transform(trainAll.Skip(5000));
var model = new FashionCnnNoDropout(batchSize: 32, seed: seed);
string weights = Path.Combine(dir, "weights");
WriteTensors(model, weights);

var adam = new Adam(1e-3f);
using var log = new StreamWriter(Path.Combine(dir, "kiln_losses.txt"));
for (int s = 0; s < steps; s++)
{
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
