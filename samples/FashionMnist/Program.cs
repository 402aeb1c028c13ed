using System;
using System.IO;
using Kiln;
using Kiln.Samples.FashionMnist;

// Seed 004 in Kiln: Fashion-MNIST, StandardScaler fit on the training images, the first
// 5,000 training images for validation, SGD 0.01, 10 epochs, then the test accuracy.
// Everything a run leaves goes under --out (default runs/fashion-mlp): the best weights, a
// training checkpoint to --resume from, training.csv, TensorBoard logs and curves.png.
string? dataDirectory = null;
int epochs = 10;
int seed = 42;
string outDirectory = Path.Combine("runs", "fashion-mlp");
bool resume = false;
for (int i = 0; i < args.Length; i++)
{
    switch (args[i])
    {
        case "--data" when i + 1 < args.Length: dataDirectory = args[++i]; break;
        case "--epochs" when i + 1 < args.Length: epochs = int.Parse(args[++i]); break;
        case "--seed" when i + 1 < args.Length: seed = int.Parse(args[++i]); break;
        case "--out" when i + 1 < args.Length: outDirectory = args[++i]; break;
        case "--resume": resume = true; break;
        default:
            Console.Error.WriteLine($"unknown argument '{args[i]}'. usage: FashionMnist [--data DIR] [--epochs N] [--seed S] [--out DIR] [--resume]");
            return 2;
    }
}

Dataset trainAll, test;
try
{
    (trainAll, test) = FashionMnist.Load(dataDirectory);
}
catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException or InvalidDataException)
{
    Console.Error.WriteLine(e.Message);
    return 1;
}

var valid = trainAll.Take(5000);
var train = trainAll.Skip(5000);
Console.WriteLine($"train {train.Count}, validation {valid.Count}, test {test.Count}");

// As the seed: x_train_scaled = scaler.fit_transform(x_train.reshape(-1, 1)): one mean and std over all pixels.
var scaler = new StandardScaler().Fit(train);
train = scaler.Transform(train);
valid = scaler.Transform(valid);
test = scaler.Transform(test);

Console.WriteLine(FashionMlp.Summary);
var model = new FashionMlp(batchSize: 32, seed: seed);

string last = Path.Combine(outDirectory, "last.safetensors");
string? resumeFrom = resume && File.Exists(last) ? last : null;
if (resume && resumeFrom is null) Console.WriteLine($"no checkpoint at {last}; starting from epoch 1");
var best = new ModelCheckpoint(Path.Combine(outDirectory, "best", "model_{epoch:02d}-{val_accuracy:.4f}.safetensors"),
    monitor: "val_accuracy", saveBestOnly: true, saveWeightsOnly: true, verbose: 1);
ICallback[] callbacks =
[
    best,
    new ModelCheckpoint(last),                    // weights, optimizer, epoch and RNG: --resume goes on bitwise
    new CsvLogger(Path.Combine(outDirectory, "training.csv"), append: resumeFrom is not null),
    new TensorBoard(Path.Combine(outDirectory, "logs")), // tensorboard --logdir runs/fashion-mlp/logs
];
History history;
try
{
    history = model.Fit(train, epochs, new Sgd(learningRate: 0.01f), validation: valid, callbacks: callbacks, resumeFrom: resumeFrom);
}
catch (InvalidDataException e)
{
    Console.Error.WriteLine(e.Message);
    return 1;
}

// The seed's pd.DataFrame(history.history).plot(figsize=(8, 5)); plt.grid(True); plt.gca().set_ylim(0, 1)
string curves = Path.Combine(outDirectory, "curves.png");
history.Plot(curves, title: "FashionMlp", yLimits: (0, 1));

// As the seed, the test score is the last epoch's model; the best one by validation is on disk.
var result = model.Evaluate(test);
Console.WriteLine($"test loss: {result.Loss:F4} - test accuracy: {result.Metric:F4}" +
    (best.LastSaved is null ? "" : $" (best weights: {best.LastSaved})"));
Console.WriteLine($"curves: {curves}, log: {Path.Combine(outDirectory, "training.csv")}");
return 0;
