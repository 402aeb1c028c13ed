using System;
using System.IO;
using Kiln;
using Kiln.Samples.FashionMnist;

// Seed 004 in Kiln: Fashion-MNIST, StandardScaler fit on the training images, the first
// 5,000 training images for validation, SGD 0.01, 10 epochs, then the test accuracy.
string? dataDirectory = null;
int epochs = 10;
int seed = 42;
for (int i = 0; i < args.Length; i++)
{
    switch (args[i])
    {
        case "--data" when i + 1 < args.Length: dataDirectory = args[++i]; break;
        case "--epochs" when i + 1 < args.Length: epochs = int.Parse(args[++i]); break;
        case "--seed" when i + 1 < args.Length: seed = int.Parse(args[++i]); break;
        default:
            Console.Error.WriteLine($"unknown argument '{args[i]}'. usage: FashionMnist [--data DIR] [--epochs N] [--seed S]");
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
model.Fit(train, epochs, new Sgd(learningRate: 0.01f), validation: valid);

var result = model.Evaluate(test);
Console.WriteLine($"test loss: {result.Loss:F4} - test accuracy: {result.Metric:F4}");
return 0;
