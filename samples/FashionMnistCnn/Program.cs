using System;
using System.IO;
using Kiln;
using Kiln.Samples;
using Kiln.Samples.FashionMnistCnn;

// Fashion-MNIST with a small convolutional network: pixels scaled to [0, 1], the first 5,000
// training images for validation, Adam 1e-3, batch 32 (Keras' default), 10 epochs, then the test accuracy.
// Everything a run leaves goes under --out (default runs/fashion-cnn), as for the MLP sample:
// the best weights, a training checkpoint to --resume from, training.csv, TensorBoard logs and curves.png.
// --export-onnx PATH writes the trained model as ONNX, for ONNX Runtime and other ONNX consumers.
var options = SampleOptions.Parse(args, "FashionMnistCnn", epochs: 10, batchSize: 32, outDirectory: Path.Combine("runs", "fashion-cnn"), exportsOnnx: true);
if (options is null) return 2;

var data = FashionMnistImages.Load(options);
if (data is null) return 1;
var (train, valid, test) = data.Value;

Console.WriteLine(FashionCnn.Summary);
var model = new FashionCnn(batchSize: options.BatchSize, seed: options.Seed);
var run = TrainingRun.Create(options);
History history;
try
{
    history = model.Fit(train, options.Epochs, new Adam(learningRate: 1e-3f), validation: valid, callbacks: run.Callbacks, resumeFrom: run.ResumeFrom);
}
catch (InvalidDataException e)
{
    Console.Error.WriteLine(e.Message);
    return 1;
}
run.Finish(history, "FashionCnn", model.Evaluate(test));
if (options.OnnxPath is { } onnx)
{
    model.ExportOnnx(onnx);
    Console.WriteLine($"ONNX model: {onnx} (input 'input' of (batch, 28, 28, 1) pixels scaled to [0, 1]; output 'output', 10 probabilities)");
}
return 0;
