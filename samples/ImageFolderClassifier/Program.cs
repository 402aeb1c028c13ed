using System;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using Kiln;
using Kiln.Samples.ImageFolderClassifier;

// Seed 001 in Kiln: ImageDataGenerator(rescale=1/255).flow_from_directory(train and validation
// folders, target_size, class_mode='categorical'), a BN + conv/pool network, Adam, then the
// validation accuracy. Images are decoded and resized on two background threads while
// model.Fit trains on the prefetched batches; after each epoch a line says how long training
// waited for data.
//
//   dotnet run -c Release --project samples/ImageFolderClassifier -- --make-synthetic pets
//   dotnet run -c Release --project samples/ImageFolderClassifier -- --data pets
//   dotnet run -c Release --project samples/ImageFolderClassifier -- --data ~/dogs-vs-cats/smallData
string? data = null, synthetic = null;
int epochs = 10, seed = 42, batch = 10, perClass = 400, threads = 2;
float learningRate = 1e-3f;
bool cache = false;
string usage = "usage: ImageFolderClassifier [--data DIR] [--make-synthetic DIR [--count N]] [--epochs N] [--batch B] [--seed S] [--lr X] [--threads T] [--cache]";
for (int i = 0; i < args.Length; i++)
{
    bool value = i + 1 < args.Length;
    switch (args[i])
    {
        case "--data" when value: data = args[++i]; break;
        case "--make-synthetic" when value: synthetic = args[++i]; break;
        case "--count" when value: perClass = Positive(args[++i]); break;
        case "--epochs" when value: epochs = Positive(args[++i]); break;
        case "--batch" when value: batch = Positive(args[++i]); break;
        case "--seed" when value: seed = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
        case "--lr" when value: learningRate = float.Parse(args[++i], CultureInfo.InvariantCulture); break;
        case "--threads" when value: threads = Positive(args[++i]); break;
        case "--cache": cache = true; break;
        case "--help" or "-h": Console.WriteLine(usage); return 0;
        default:
            Console.Error.WriteLine($"ImageFolderClassifier: bad argument '{args[i]}'.");
            Console.Error.WriteLine(usage);
            return 2;
    }
}

if (synthetic is not null)
{
    SyntheticPets.Write(synthetic, perClass, perClass / 4, seed);
    Console.WriteLine($"wrote {2 * perClass} training and {2 * (perClass / 4)} validation images (cats: circles, dogs: squares) to {synthetic}");
    if (data is null) return 0;
}
if (data is null)
{
    Console.Error.WriteLine("ImageFolderClassifier: say where the images are with --data DIR (make a synthetic set with --make-synthetic DIR).");
    Console.Error.WriteLine(usage);
    return 2;
}

var options = new ImageFolderOptions
{
    TargetSize = (PetsCnn.Size, PetsCnn.Size),
    Rescale = 1 / 255f,
    ClassMode = ClassMode.Categorical,
    BatchSize = batch,
    Seed = seed,
    Threads = threads,
    CacheImages = cache,
};
ImageFolder train, validation;
try
{
    // The seed's layout (DIR/train, DIR/validation); a plain folder of classes is split 80/20 like validation_split=0.2.
    string trainDir = Path.Combine(data, "train"), validDir = Path.Combine(data, "validation");
    if (Directory.Exists(trainDir) && Directory.Exists(validDir))
        (train, validation) = (new ImageFolder(trainDir, options), new ImageFolder(validDir, options with { Shuffle = false }));
    else
    {
        train = new ImageFolder(data, options with { ValidationSplit = 0.2 }, Subset.Training);
        validation = new ImageFolder(data, options with { ValidationSplit = 0.2, Shuffle = false }, Subset.Validation);
    }
}
catch (Exception e) when (e is DirectoryNotFoundException or InvalidDataException or FileNotFoundException)
{
    Console.Error.WriteLine(e.Message);
    return 1;
}
Console.WriteLine($"train: {train}");
Console.WriteLine($"validation: {validation}");
Console.WriteLine($"class indices: {string.Join(", ", train.ClassNames)} = 0..{train.ClassNames.Count - 1}");
if (train.ClassNames.Count != 2)
{
    Console.Error.WriteLine($"{data}: the model has two outputs (cats, dogs); this folder has {train.ClassNames.Count} classes.");
    return 1;
}

Console.WriteLine(PetsCnn.Summary);
var model = new PetsCnn(batchSize: batch, seed: seed);
var optimizer = new Adam(learningRate: learningRate);
using var trainBatches = train.Batches();
using var validBatches = validation.Batches();
// Fit records how long each epoch waited inside Next for a batch (history "data_wait"); this
// line puts it against the epoch's time, to show that decoding keeps ahead of training.
long epochStarted = 0;
var dataWait = new LambdaCallback
{
    OnEpochBegin = (_, _) => epochStarted = Stopwatch.GetTimestamp(),
    OnEpochEnd = (epoch, logs, context) =>
    {
        double seconds = Stopwatch.GetElapsedTime(epochStarted).TotalSeconds;
        double trainWait = logs[Model.DataWaitName], validWait = logs["val_" + Model.DataWaitName];
        context.Output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"epoch {epoch + 1}: waited for data {trainWait:F3}s training + {validWait:F3}s validation, of {seconds:F2}s ({(trainWait + validWait) / seconds:P1})"));
    },
};
try
{
    model.Fit(trainBatches, epochs, optimizer, validation: validBatches, callbacks: [dataWait]);
}
catch (InvalidDataException e)
{
    Console.Error.WriteLine(e.Message);
    return 1;
}
var final = model.Evaluate(validBatches);
Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"validation loss: {final.Loss:F4} - validation accuracy: {final.Metric:F4}"));
return 0;

static int Positive(string s) =>
    int.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out int v) && v > 0 ? v : throw new FormatException($"'{s}' is not a positive whole number");
