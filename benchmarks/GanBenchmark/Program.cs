using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.Linq;
using Kiln;
using Kiln.Samples.Gan;
using Kiln.Threading;

// GAN steps per second for seed 000 (samples/Gan): one step = GanTrainer.TrainDiscriminator (the
// generator's inference forward on 32 latent vectors, then a discriminator train step on 32 fakes +
// 32 reals with noisy labels, RMSprop clipvalue 1 decay 1e-8) + GanTrainer.TrainGenerator (the
// generator's forward, the frozen discriminator's forward and backward to its input, the generator's
// backward and RMSprop step). Batch 32. Same harness as benchmarks/pytorch/gan.py: untimed warm-up
// (at least 3 steps and 2 s), then RUNS timed runs of a fixed step count chosen so a run lasts
// about --run-seconds; the median run is reported, with min and max. One JSON line per model.
//
// usage: GanBenchmark [--models narrow,seed] [--threads N] [--runs N] [--run-seconds S]
var models = new List<string> { "narrow", "seed" };
int threads = Environment.ProcessorCount, runs = 5;
double runSeconds = 4;
for (int i = 0; i < args.Length; i++)
{
    bool hasValue = i + 1 < args.Length;
    switch (args[i])
    {
        case "--models" when hasValue: models = [.. args[++i].Split(',')]; break;
        case "--threads" when hasValue: threads = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
        case "--runs" when hasValue: runs = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
        case "--run-seconds" when hasValue: runSeconds = double.Parse(args[++i], CultureInfo.InvariantCulture); break;
        default:
            Console.Error.WriteLine($"bad argument '{args[i]}'; usage: GanBenchmark [--models narrow,seed] [--threads N] [--runs N] [--run-seconds S]");
            return 2;
    }
}
KilnSettings.Threads = threads;
const int Batch = 32;

foreach (string name in models)
{
    Model g, d;
    switch (name)
    {
        case "narrow": g = new NarrowGenerator(Batch, 1); d = new NarrowDiscriminator(2 * Batch, 2); break;
        case "seed": g = new SeedGenerator(Batch, 1); d = new SeedDiscriminator(2 * Batch, 2); break;
        default: Console.Error.WriteLine($"unknown model '{name}' (narrow or seed)"); return 2;
    }
    var gan = new GanTrainer(g, d, new RmsProp(8e-4f, clipValue: 1f, decay: 1e-8f), new RmsProp(1e-3f, epsilon: 1e-8f));
    // Eight distinct batches of "real" images, uniform [0, 1), cycled through.
    var rng = new Rng(1234);
    var real = new float[8][];
    for (int b = 0; b < real.Length; b++)
    {
        real[b] = new float[Batch * gan.ImageSize];
        for (int i = 0; i < real[b].Length; i++) real[b][i] = rng.NextFloat();
    }
    int next = 0;
    float dLoss = 0, aLoss = 0;
    void Step()
    {
        (dLoss, aLoss) = gan.Step(real[next], Batch);
        next = (next + 1) % real.Length;
    }

    // Warm-up: at least 3 steps and 2 s; the last steps estimate one step's cost.
    var warm = Stopwatch.StartNew();
    int warmSteps = 0;
    double lastStep = 0;
    while (warmSteps < 3 || warm.Elapsed.TotalSeconds < 2)
    {
        var one = Stopwatch.StartNew();
        Step();
        lastStep = one.Elapsed.TotalSeconds;
        warmSteps++;
    }
    int perRun = Math.Max(1, (int)Math.Round(runSeconds / lastStep));

    // Time the two halves once, separately (after warm-up), for the split column.
    var split = Stopwatch.StartNew();
    gan.TrainDiscriminator(real[next], Batch);
    double dSeconds = split.Elapsed.TotalSeconds;
    split.Restart();
    gan.TrainGenerator(Batch);
    double gSeconds = split.Elapsed.TotalSeconds;

    var rates = new List<double>();
    long allocated = 0, workersAllocated = 0, totalSteps = 0;
    var pool = WorkerPool.Shared;
    for (int r = 0; r < runs; r++)
    {
        long before = GC.GetAllocatedBytesForCurrentThread(), workers = pool.AllocatedBytesOnWorkers;
        long start = Stopwatch.GetTimestamp(); // no Stopwatch object: the window allocates nothing of its own
        for (int s = 0; s < perRun; s++) Step();
        double seconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
        allocated += GC.GetAllocatedBytesForCurrentThread() - before;
        workersAllocated += pool.AllocatedBytesOnWorkers - workers;
        totalSteps += perRun;
        rates.Add(perRun / seconds);
    }
    rates.Sort();
    double median = rates[rates.Count / 2];
    // FLOPs per GAN step from the generated FlopsPerSample (forward; backward counted as 2x forward):
    // generator inference forward (32) + discriminator train (64, 3x) + generator train (32, 3x) + discriminator forward+input backward (32, ~2x).
    long gFlops = name == "seed" ? SeedGenerator.FlopsPerSample : NarrowGenerator.FlopsPerSample;
    long dFlops = name == "seed" ? SeedDiscriminator.FlopsPerSample : NarrowDiscriminator.FlopsPerSample;
    double gflop = (Batch * gFlops * 4.0 + 2 * Batch * dFlops * 3.0 + Batch * dFlops * 2.0) / 1e9;
    // InvariantGlobalization is on: numbers print with a '.' whatever the machine's culture.
    Console.WriteLine(
        $"{{\"impl\": \"kiln\", \"row\": \"gan_{name}_b32\", \"threads\": {threads}, \"steps_per_s\": {median:F4}, \"min\": {rates[0]:F4}, \"max\": {rates[^1]:F4}, " +
        $"\"runs\": {runs}, \"steps_per_run\": {perRun}, \"ms_d_step\": {dSeconds * 1e3:F1}, \"ms_g_step\": {gSeconds * 1e3:F1}, \"gflop_per_step\": {gflop:F1}, " +
        $"\"gflops\": {gflop * median:F1}, \"bytes_per_step\": {(allocated + workersAllocated) / (double)totalSteps:F1}, " +
        $"\"d_loss\": {dLoss:F4}, \"a_loss\": {aLoss:F4}}}");
}
return 0;
