using System;
using System.IO;
using Kiln;
using Kiln.Distributed;
using Kiln.Samples;
using Kiln.Samples.FashionMnist;

// Seed 004 in Kiln: Fashion-MNIST, StandardScaler fit on the training images, the first
// 5,000 training images for validation, SGD 0.01, 10 epochs, then the test accuracy.
// Everything a run leaves goes under --out (default runs/fashion-mlp): the best weights, a
// training checkpoint to --resume from, training.csv, TensorBoard logs and curves.png.
// With --distributed, under mpirun, it trains data-parallel: every rank loads the data and builds
// the model with the same seed, trains on its share of each global batch of ranks × --batch
// samples, and rank 0 alone prints and writes the run's files (docs/distributed.md). Without
// --batch, each rank takes 32 / ranks samples, so the global batch stays the seed's 32 and the
// run trains as one process does (same steps, same rate); --batch b sets the per-rank batch.
// --export-onnx PATH writes the trained model as ONNX, for ONNX Runtime and other ONNX consumers.
var options = SampleOptions.Parse(args, "FashionMnist", epochs: 10, batchSize: 32, outDirectory: Path.Combine("runs", "fashion-mlp"), exportsOnnx: true, distributed: true);
if (options is null) return 2;
using var mpi = options.Distributed ? Mpi.Initialize() : null;
bool root = mpi?.IsRoot ?? true;
// Ranks on one machine share its cores, unless --threads says otherwise.
if (mpi is not null && options.Threads == 0) KilnSettings.Threads = Math.Max(1, Environment.ProcessorCount / Mpi.LocalRanks);
int batchSize = options.BatchSize;
if (mpi is not null && Array.IndexOf(args, "--batch") < 0 && mpi.Size > 1 && batchSize % mpi.Size == 0) batchSize /= mpi.Size;

Dataset trainAll, test;
try
{
    (trainAll, test) = FashionMnist.Load(options.DataDirectory);
}
catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException or InvalidDataException)
{
    Console.Error.WriteLine(e.Message);
    return 1;
}

var valid = trainAll.Take(5000);
var train = trainAll.Skip(5000);
if (root) Console.WriteLine($"train {train.Count}, validation {valid.Count}, test {test.Count}" + (mpi is null ? "" : $", {mpi.Size} ranks of batch {batchSize} (global batch {mpi.Size * batchSize})"));

// As the seed: x_train_scaled = scaler.fit_transform(x_train.reshape(-1, 1)): one mean and std over all pixels.
var scaler = new StandardScaler().Fit(train);
train = scaler.Transform(train);
valid = scaler.Transform(valid);
test = scaler.Transform(test);

if (root) Console.WriteLine(FashionMlp.Summary);
var model = new FashionMlp(batchSize: batchSize, seed: options.Seed);
var run = TrainingRun.Create(options);
History history;
try
{
    history = model.Fit(train, options.Epochs, new Sgd(learningRate: 0.01f), validation: valid, callbacks: run.Callbacks, resumeFrom: run.ResumeFrom, distributed: mpi);
}
catch (InvalidDataException e)
{
    Console.Error.WriteLine(e.Message);
    return 1;
}
if (root)
{
    run.Finish(history, "FashionMlp", model.Evaluate(test));
    if (options.OnnxPath is { } onnx)
    {
        model.ExportOnnx(onnx);
        // The scaler is not part of the model: an ONNX consumer standardizes pixels (0..255) the same way first.
        Console.WriteLine($"ONNX model: {onnx} (input 'input' of (batch, 28, 28) pixels standardized with mean {scaler.Mean[0]:G6} and std {scaler.Scale[0]:G6}; output 'output', 10 probabilities)");
    }
}
return 0;
