using System;
using System.IO;
using Kiln;
using Kiln.Samples;
using Kiln.Samples.FashionMnistResNet;

// Fashion-MNIST with a small ResNet (FashionResNet.cs): pixels scaled to [0, 1], the first 5,000
// training images for validation (as the other Fashion-MNIST samples), Adam 1e-3 with a cosine
// decay to 0 over all the steps of the run, batch 128, 12 epochs, then the test accuracy.
//   --recipe seed   (default) FashionResNet with the recipe above.
//   --recipe modern FashionResNetModern: the same net at twice the filters, behind RandomTranslation(0.1) + RandomFlip(horizontal),
//                   label smoothing 0.1, AdamW (weight decay 0.05, not on biases or BatchNormalization)
//                   warming up from 0 to 2e-3 over the first epoch, then cosine decay to 0; batch 128,
//                   30 epochs unless --epochs says otherwise (FashionMnistCnn's modern recipe).
// benchmarks/pytorch/fashion_resnet.py is the same recipe in PyTorch (benchmarks/README.md).
// Everything a run leaves goes under --out (default runs/fashion-resnet, runs/fashion-resnet-modern): the best weights, a
// training checkpoint to --resume from, training.csv, TensorBoard logs and curves.png. The
// schedule is a function of the optimizer's step count, which the checkpoint keeps, so a
// resumed run gets the same rates as long as it is given the same --epochs and --batch.
if (ModernRecipe.TakeSwitch(ref args) is not { } modern) return 2;
var options = SampleOptions.Parse(args, "FashionMnistResNet [--recipe seed|modern]", epochs: modern ? 30 : 12, batchSize: 128,
    outDirectory: Path.Combine("runs", modern ? "fashion-resnet-modern" : "fashion-resnet"));
if (options is null) return 2;

var data = FashionMnistImages.Load(options);
if (data is null) return 1;
var (train, valid, test) = data.Value;

Console.WriteLine(modern ? FashionResNetModern.Summary : FashionResNet.Summary);
Model model = modern ? new FashionResNetModern(batchSize: options.BatchSize, seed: options.Seed) : new FashionResNet(batchSize: options.BatchSize, seed: options.Seed);
long stepsPerEpoch = (train.Count + options.BatchSize - 1) / options.BatchSize;
var optimizer = modern ? ModernRecipe.Optimizer(train.Count, options) : new Adam(new CosineDecay(1e-3f, decaySteps: stepsPerEpoch * options.Epochs));
var run = TrainingRun.Create(options);
History history;
try
{
    history = model.Fit(train, options.Epochs, optimizer, validation: valid, callbacks: run.Callbacks, resumeFrom: run.ResumeFrom);
}
catch (InvalidDataException e)
{
    Console.Error.WriteLine(e.Message);
    return 1;
}
run.Finish(history, modern ? "FashionResNetModern" : "FashionResNet", model.Evaluate(test));
return 0;
