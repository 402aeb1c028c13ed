using System;
using System.IO;
using Kiln;
using Kiln.Samples;
using Kiln.Samples.FashionMnistCnn;

// Fashion-MNIST with a small convolutional network: pixels scaled to [0, 1], the first 5,000
// training images for validation, batch 32 (Keras' default), 10 epochs (the seed recipe), then the test accuracy.
//   --recipe seed   (default) FashionCnn, Adam 1e-3: the seed tutorial's recipe.
//   --recipe modern FashionCnnModern: two convolutions per block behind RandomTranslation(0.1) +
//                   RandomFlip(horizontal), label smoothing 0.1, AdamW (weight decay 0.05, not on biases
//                   or BatchNormalization) with a linear warmup from 0 to 2e-3 over the first epoch, then
//                   cosine decay to 0; 30 epochs unless --epochs says otherwise.
// benchmarks/pytorch/fashion_cnn_accuracy.py runs the same recipes in PyTorch (--recipe modern).
// Everything a run leaves goes under --out (default runs/fashion-cnn, runs/fashion-cnn-modern), as for
// the MLP sample: the best weights, a training checkpoint to --resume from, training.csv, TensorBoard logs and curves.png.
// --export-onnx PATH writes the trained model as ONNX, for ONNX Runtime and other ONNX consumers.
if (ModernRecipe.TakeSwitch(ref args) is not { } modern) return 2;
var options = SampleOptions.Parse(args, "FashionMnistCnn [--recipe seed|modern]", epochs: modern ? 30 : 10, batchSize: 32,
    outDirectory: Path.Combine("runs", modern ? "fashion-cnn-modern" : "fashion-cnn"), exportsOnnx: true);
if (options is null) return 2;

var data = FashionMnistImages.Load(options);
if (data is null) return 1;
var (train, valid, test) = data.Value;

Console.WriteLine(modern ? FashionCnnModern.Summary : FashionCnn.Summary);
Model model = modern ? new FashionCnnModern(batchSize: options.BatchSize, seed: options.Seed) : new FashionCnn(batchSize: options.BatchSize, seed: options.Seed);
var run = TrainingRun.Create(options);
History history;
try
{
    history = model.Fit(train, options.Epochs, modern ? ModernRecipe.Optimizer(train.Count, options) : new Adam(learningRate: 1e-3f),
        validation: valid, callbacks: run.Callbacks, resumeFrom: run.ResumeFrom);
}
catch (InvalidDataException e)
{
    Console.Error.WriteLine(e.Message);
    return 1;
}
run.Finish(history, modern ? "FashionCnnModern" : "FashionCnn", model.Evaluate(test));
if (options.OnnxPath is { } onnx)
{
    model.ExportOnnx(onnx);
    Console.WriteLine($"ONNX model: {onnx} (input 'input' of (batch, 28, 28, 1) pixels scaled to [0, 1]; output 'output', 10 probabilities)");
}
return 0;
