using System;
using System.IO;
using System.Linq;
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
string recipe = "seed";
int at = Array.IndexOf(args, "--recipe");
if (at >= 0)
{
    if (at + 1 >= args.Length || args[at + 1] is not ("seed" or "modern"))
    {
        Console.Error.WriteLine("--recipe takes seed (the default) or modern");
        return 2;
    }
    recipe = args[at + 1];
    args = args.Where((_, i) => i != at && i != at + 1).ToArray();
}
bool modern = recipe == "modern";
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
    history = model.Fit(train, options.Epochs, modern ? ModernOptimizer(train.Count, options) : new Adam(learningRate: 1e-3f),
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

// AdamW as Keras' (decoupled decay w −= lr·0.05·w), its rate warming up linearly from 0 to 2e-3 over
// the first epoch's steps, then Keras' CosineDecay to 0 over the remaining ones.
static Optimizer ModernOptimizer(int trainCount, SampleOptions options)
{
    long stepsPerEpoch = (trainCount + options.BatchSize - 1) / options.BatchSize;
    long total = stepsPerEpoch * options.Epochs;
    var schedule = new CosineDecay(0, decaySteps: Math.Max(total - stepsPerEpoch, 1), warmupTarget: 2e-3, warmupSteps: stepsPerEpoch);
    var optimizer = new AdamW(schedule, weightDecay: 0.05);
    optimizer.ExcludeFromWeightDecay("bias", "batch_normalization");
    return optimizer;
}
