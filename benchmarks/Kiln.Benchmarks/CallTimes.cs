using System;
using System.Diagnostics;
using System.Globalization;
using System.Runtime.CompilerServices;

namespace Kiln.Benchmarks;

/// <summary>
/// The spread of single calls, not the median run: each of many calls is timed on its own and the
/// fastest, the 10th percentile, the median, the 90th percentile and the mean are reported. On a shared
/// host whose speed moves within seconds, the fastest calls of two builds alternated in one sitting are
/// the comparison that repeats (benchmarks/README.md, stop 36), and the median against the fastest shows
/// how much of a run the host took.
/// </summary>
internal static class CallTimes
{
    /// <summary>Prints one JSON line for <paramref name="calls"/> timed calls of <paramref name="op"/>, after 100 untimed ones.</summary>
    // Fully optimized from the start: at Tier 0 the timed loop was compiled again by on-stack replacement
    // partway through the calls, and that compile, on this thread, allocated 6,192 bytes that were reported
    // as Predict's (seen on a busy host; never with DOTNET_TC_OnStackReplacement=0).
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Measure(string work, int threads, Action op, int calls)
    {
        for (int i = 0; i < 100; i++) op();
        var ms = new double[calls];
        long allocated = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < calls; i++)
        {
            long start = Stopwatch.GetTimestamp();
            op();
            ms[i] = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
        }
        allocated = GC.GetAllocatedBytesForCurrentThread() - allocated;
        double mean = 0;
        foreach (double m in ms) mean += m;
        mean /= calls;
        Array.Sort(ms);
        string F(double v) => v.ToString("F4", CultureInfo.InvariantCulture);
        Console.WriteLine($"{{\"impl\": \"kiln\", \"work\": \"{work}\", \"threads\": {threads}, \"calls\": {calls}, " +
                          $"\"best_ms\": {F(ms[0])}, \"p10_ms\": {F(ms[calls / 10])}, \"median_ms\": {F(ms[calls / 2])}, " +
                          $"\"p90_ms\": {F(ms[calls * 9 / 10])}, \"mean_ms\": {F(mean)}, \"alloc_bytes\": {allocated}}}");
    }

    /// <summary>Predict on the Fashion CNN at batch 64 and the Fashion MLP at batch 1 (the ONNX Runtime rows' models and inputs).</summary>
    public static void Predict(int threads, bool quick)
    {
        foreach (var (work, model, batch, calls) in new (string, Model, int, int)[]
                 {
                     ("calls_infer_fashion_cnn_b64", new Kiln.Samples.FashionMnistCnn.FashionCnn(batchSize: 64, seed: 1), 64, quick ? 300 : 1000),
                     ("calls_infer_mlp_b1", new Kiln.Samples.FashionMnist.FashionMlp(batchSize: 1, seed: 1), 1, quick ? 20000 : 100000),
                 })
        {
            var random = new Random(99);
            var input = new float[batch * model.InputSize];
            for (int i = 0; i < input.Length; i++) input[i] = (float)(random.NextDouble() * 2 - 1) * 1.7f;
            var output = new float[batch * model.OutputSize];
            Measure(work, threads, () => model.Predict(input, batch, output), calls);
        }
    }
}
