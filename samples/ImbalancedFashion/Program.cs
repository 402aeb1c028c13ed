using System;
using System.Collections.Generic;
using System.IO;
using Kiln;
using Kiln.Samples;
using Kiln.Samples.FashionMnist;

// Class weights on an imbalanced training set, as in the Keras tutorial "Classification on
// imbalanced data": Fashion-MNIST with only 5% of its shirts kept (class 6, the class the MLP
// confuses most, with T-shirts, pullovers and coats), trained twice from the same seed, first
// plainly, then with balanced class weights, n_samples / (n_classes · count_c) as scikit-learn's
// compute_class_weight("balanced") gives them (ClassWeight.Balanced). The test set keeps all its
// shirts, so the shirt recall shows what the imbalance costs and what the weights win back.
// --out (default runs/imbalanced-fashion) receives both confusion matrices as heat maps.
const int Minority = 6;        // shirt
const double Kept = 0.05;      // of its training images

var options = SampleOptions.Parse(args, "ImbalancedFashion", epochs: 5, batchSize: 32, outDirectory: Path.Combine("runs", "imbalanced-fashion"));
if (options is null) return 2;
if (options.Resume)
{
    Console.Error.WriteLine("ImbalancedFashion: --resume is not supported; each run trains two models from scratch.");
    return 2;
}

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

string name = FashionMnist.ClassNames[Minority];
var train = KeepFraction(trainAll, Minority, Kept, (ulong)options.Seed);
Console.WriteLine($"train {train.Count} images, {Count(train, Minority)} of them {name} (of {Count(trainAll, Minority)}); test {test.Count}, {Count(test, Minority)} {name}");

// As seed 004: one mean and standard deviation over all pixels, fit on the training images.
var scaler = new StandardScaler().Fit(train);
train = scaler.Transform(train);
test = scaler.Transform(test);

var balanced = ClassWeight.Balanced(train);
Console.WriteLine($"balanced class weights: {string.Join(", ", Entries(balanced))}");

Directory.CreateDirectory(options.OutDirectory!);
var plain = Train("without class weights", classWeight: null, "confusion-unweighted.png");
var weighted = Train("with balanced class weights", balanced, "confusion-balanced.png");

Console.WriteLine();
Console.WriteLine($"{"",-28} {"accuracy",9} {name + " recall",13} {name + " precision",16}");
foreach (var (label, r) in new[] { ("without class weights", plain), ("with balanced class weights", weighted) })
    Console.WriteLine($"{label,-28} {r.Accuracy,9:F4} {r.Recall,13:F4} {r.Precision,16:F4}");
return 0;

// One model from options.Seed: the same initial weights and batch order for both runs.
Outcome Train(string title, IReadOnlyDictionary<int, float>? classWeight, string png)
{
    Console.WriteLine();
    Console.WriteLine($"== {title} ==");
    var model = new FashionMlp(batchSize: options.BatchSize, seed: options.Seed)
    {
        // topK 1: a shirt counts as predicted where it is the argmax, as in the confusion matrix
        // (without it Keras' Recall(class_id=6) thresholds the shirt probability at 0.5).
        Metrics = [Metric.Accuracy, Metric.Recall(topK: 1, classId: Minority, name: "shirt_recall"), Metric.Precision(topK: 1, classId: Minority, name: "shirt_precision")],
    };
    model.Fit(train, options.Epochs, new Sgd(learningRate: 0.01f), verbose: 2, classWeight: classWeight);
    var result = model.Evaluate(test);
    Console.WriteLine($"test: {result}");
    var cm = model.ConfusionMatrix(test, classNames: FashionMnist.ClassNames);
    Console.WriteLine(cm);
    string path = Path.Combine(options.OutDirectory!, png);
    cm.SavePng(path, normalize: true, title: $"Fashion-MNIST, 5% of the {name}s, {title}");
    Console.WriteLine($"heat map (rows normalized, recall on the diagonal): {path}");
    return new Outcome(result.Accuracy, result["shirt_recall"], result["shirt_precision"]);
}

// The dataset with only `fraction` of class `c`'s samples, chosen by a shuffle from `seed`; the order is kept.
static Dataset KeepFraction(Dataset data, int c, double fraction, ulong seed)
{
    var members = new List<int>();
    for (int i = 0; i < data.Count; i++)
        if (data.Target(i)[0] == c) members.Add(i);
    var rng = new Rng(seed);
    for (int i = members.Count - 1; i > 0; i--)   // Fisher–Yates
    {
        int j = rng.NextInt(i + 1);
        (members[i], members[j]) = (members[j], members[i]);
    }
    int keep = (int)Math.Ceiling(fraction * members.Count);
    var dropped = new HashSet<int>(members.GetRange(keep, members.Count - keep));
    int kept = data.Count - dropped.Count, size = data.SampleSize;
    var features = new float[kept * size];
    var targets = new float[kept];
    for (int i = 0, k = 0; i < data.Count; i++)
    {
        if (dropped.Contains(i)) continue;
        data.Sample(i).CopyTo(features.AsSpan(k * size, size));
        targets[k++] = data.Target(i)[0];
    }
    return new Dataset(features, targets, data.SampleShape, 1);
}

static int Count(Dataset data, int c)
{
    int n = 0;
    for (int i = 0; i < data.Count; i++)
        if (data.Target(i)[0] == c) n++;
    return n;
}

static IEnumerable<string> Entries(IReadOnlyDictionary<int, float> weights)
{
    foreach (var (c, w) in weights) yield return $"{c}: {w:F3}";
}

internal readonly record struct Outcome(float Accuracy, float Recall, float Precision);
