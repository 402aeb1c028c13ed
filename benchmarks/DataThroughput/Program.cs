using System;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using Kiln;
using Kiln.Benchmarks.DataThroughput;
using StbImageWriteSharp;

// dotnet run -c Release --project benchmarks/DataThroughput [-- --images N --threads 1,2 --fashion DIR]
int images = 512;
int[] threadCounts = [1, 2];
string? fashion = FashionMnist.DefaultDirectory;
for (int i = 0; i < args.Length; i++)
{
    switch (args[i])
    {
        case "--images" when i + 1 < args.Length: images = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
        case "--threads" when i + 1 < args.Length: threadCounts = Array.ConvertAll(args[++i].Split(','), s => int.Parse(s, CultureInfo.InvariantCulture)); break;
        case "--fashion" when i + 1 < args.Length: fashion = args[++i]; break;
        case "--no-fashion": fashion = null; break;
        case "--train-threads" when i + 1 < args.Length: KilnSettings.Threads = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
        case "--skip-images": images = 0; break;
        default: Console.Error.WriteLine("usage: DataThroughput [--images N | --skip-images] [--threads 1,2,4] [--fashion DIR | --no-fashion] [--train-threads N]"); return 2;
    }
}
Console.WriteLine($"training threads (KilnSettings.Threads): {KilnSettings.Threads}");
Console.WriteLine($"machine: {Environment.ProcessorCount} cores, {System.Runtime.InteropServices.RuntimeInformation.OSDescription}, .NET {Environment.Version}");

string root = Path.Combine(Path.GetTempPath(), "kiln-data-throughput");
foreach (string format in images > 0 ? new[] { "jpg", "png" } : [])
{
    string dir = Path.Combine(root, format);
    WriteImages(dir, images, format);
    Console.WriteLine($"\n{images} {format.ToUpperInvariant()} images of 500x375 (Kaggle dogs-vs-cats size), decode + resize to 224x224 + batch 32:");
    foreach (var interpolation in new[] { Interpolation.Nearest, Interpolation.Bilinear })
        foreach (int threads in threadCounts)
        {
            var folder = new ImageFolder(dir, new ImageFolderOptions { TargetSize = (224, 224), Rescale = 1 / 255f, Threads = threads, Interpolation = interpolation });
            using var batches = folder.Batches();
            Drain(batches, 1); // warm-up pass: JIT, thread start, file cache
            long start = Stopwatch.GetTimestamp();
            int seen = Drain(batches, 2);
            double seconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  {interpolation,-8} threads {threads}: {seen / seconds,7:F0} images/s"));
        }
}

Console.WriteLine("\nIn-memory pipeline, 60,000 samples of 28x28, full shuffle + StandardScaler map + batch 32 + prefetch (2 loaders):");
{
    var rng = new Rng(1);
    var x = new float[60000 * 784];
    for (int i = 0; i < x.Length; i++) x[i] = rng.NextInt(256);
    var y = new float[60000];
    var data = new Dataset(x, y, [28, 28], 1);
    var scaler = new StandardScaler().Fit(data);
    using var batches = Pipeline.From(data).Shuffle(60000, seed: 1).Map(scaler).Batch(32).Prefetch(bufferSize: 2, threads: 2);
    Drain(batches, 1);
    long consumer = GC.GetAllocatedBytesForCurrentThread(), loaders = batches.Stats.LoaderAllocatedBytes;
    long start = Stopwatch.GetTimestamp();
    int seen = Drain(batches, 3);
    double seconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
    // Read before formatting: the string builder itself allocates on this thread.
    long consumerBytes = GC.GetAllocatedBytesForCurrentThread() - consumer, loaderBytes = batches.Stats.LoaderAllocatedBytes - loaders;
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"  {seen / seconds:F0} samples/s ({seen / 32 / seconds:F0} batches/s); allocated over {seen / 32} batches: consumer {consumerBytes} B, loaders {loaderBytes} B"));
}

if (fashion is not null && Directory.Exists(fashion))
{
    Console.WriteLine("\nFashion-MNIST seed 004 (MLP 300-100-10, SGD 0.01, batch 32), 55,000 training images, 2 epochs per setting:");
    var (trainAll, _) = FashionMnist.Load(fashion);
    var train = trainAll.Skip(5000);
    var scaler = new StandardScaler().Fit(train);
    foreach (var (buffer, threads) in new[] { (0, 0), (1, 1), (8, 1), (8, 2) })
    {
        var model = new SeedMlp(batchSize: 32, seed: 42);
        var optimizer = new Sgd(learningRate: 0.01f);
        var pipeline = Pipeline.From(train).Shuffle(train.Count, seed: 42).Map(scaler).Batch(32);
        using IBatchSource batches = buffer == 0 ? pipeline : pipeline.Prefetch(buffer, threads);
        string setting = buffer == 0 ? "no prefetch (loads on the training thread)" : $"prefetch {buffer}, {threads} loader(s)";
        for (int epoch = 1; epoch <= 2; epoch++)
        {
            long start = Stopwatch.GetTimestamp();
            var h = model.Fit(batches, 1, optimizer, verbose: 0);
            double seconds = Stopwatch.GetElapsedTime(start).TotalSeconds, wait = h["data_wait"][0];
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  {setting}, epoch {epoch}: {seconds:F2}s, accuracy {h["accuracy"][0]:F4}, waited for data {wait * 1e3:F1} ms ({wait / seconds:P2})"));
        }
    }
}
return 0;

static int Drain(IBatchSource source, int passes)
{
    int seen = 0;
    for (int p = 0; p < passes; p++)
        while (source.Next(out var b)) seen += b.Count;
    return seen;
}

// Two classes of noisy 500x375 photos-like images (smooth gradients + noise, so JPEG sizes are realistic).
static void WriteImages(string dir, int count, string format)
{
    if (Directory.Exists(dir) && Directory.GetFiles(dir, "*." + format, SearchOption.AllDirectories).Length == count) return;
    if (Directory.Exists(dir)) Directory.Delete(dir, true);
    var rng = new Rng(7);
    const int w = 500, h = 375;
    var pixels = new byte[w * h * 3];
    for (int i = 0; i < count; i++)
    {
        string cls = i % 2 == 0 ? "cats" : "dogs";
        Directory.CreateDirectory(Path.Combine(dir, cls));
        float a = rng.NextFloat(0, 255), b = rng.NextFloat(0, 255);
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
                for (int c = 0; c < 3; c++)
                    pixels[(y * w + x) * 3 + c] = (byte)Math.Clamp(a * x / w + b * y / h * (c + 1) / 3 + 12 * rng.NextNormal(), 0, 255);
        using var file = File.Create(Path.Combine(dir, cls, $"{i}.{format}"));
        if (format == "jpg") new ImageWriter().WriteJpg(pixels, w, h, ColorComponents.RedGreenBlue, file, 90);
        else new ImageWriter().WritePng(pixels, w, h, ColorComponents.RedGreenBlue, file);
    }
}
