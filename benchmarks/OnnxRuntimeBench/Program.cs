using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.Linq;
using Kiln;
using Kiln.Samples.FashionMnist;
using Kiln.Samples.FashionMnistCnn;
using Microsoft.ML.OnnxRuntime;

// Kiln against ONNX Runtime on inference, both from C#, on one model and one set of weights: each
// Kiln model is exported with Kiln's own ExportOnnx (src/Onnx), ONNX Runtime's outputs are checked
// against Kiln's Predict (|difference| ≤ 1e-5 on every output) before anything is timed, and then
// each side runs the same batches at 1 and 2 threads, the four taking turns run by run (Kiln 1, ORT 1,
// Kiln 2, ORT 2, Kiln 1, ...), and a "pair" line gives the median over rounds of each round's ratios.
// ONNX Runtime at its best from C#: every graph optimization, inputs and outputs bound once
// (OrtIoBinding) so a call allocates nothing, intra-op threads as given, one inter-op thread.
// Harness: the rule of Kiln.Benchmarks (warm-up ≥ 20 calls and 0.3 s, then RUNS runs of ~0.25 s, the
// median reported). One JSON object per line on stdout, read by benchmarks/report.py.
//
// usage: OnnxRuntimeBench [--runs N] [--quick]   (--quick: 3 runs)

int runs = 7;
for (int i = 0; i < args.Length; i++)
{
    switch (args[i])
    {
        case "--runs" when i + 1 < args.Length: runs = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
        case "--quick": runs = 3; break;
        default:
            Console.Error.WriteLine($"unknown argument '{args[i]}'. usage: OnnxRuntimeBench [--runs N] [--quick]");
            return 2;
    }
}

Console.WriteLine($"{{\"impl\": \"ort\", \"kind\": \"header\", \"onnxruntime\": \"{OrtEnv.Instance().GetVersionString()}\", " +
                  $"\"runtime\": \"{System.Runtime.InteropServices.RuntimeInformation.FrameworkDescription}\", \"runs\": {runs}}}");
int failures = 0;
failures += Compare("infer_mlp_b1", new FashionMlp(batchSize: 1, seed: 1), batch: 1, runs);
failures += Compare("infer_fashion_cnn_b64", new FashionCnn(batchSize: 64, seed: 1), batch: 64, runs);
return failures == 0 ? 0 : 1;

// Checks, then times, one model at one batch size at 1 and 2 threads on both sides. Returns 1 when
// the outputs disagree (nothing is timed then). The four configurations (Kiln 1, ORT 1, Kiln 2, ORT 2)
// take turns run by run, so a change in the shared host's speed lands on all four alike; each round's
// ratios (ORT's time over Kiln's) are its own side-by-side measurement, and their median is the one to quote.
static int Compare(string work, Model model, int batch, int runs)
{
    var rng = new Random(99);
    var input = new float[batch * model.InputSize];
    for (int i = 0; i < input.Length; i++) input[i] = (float)(rng.NextDouble() * 2 - 1) * 1.7f;
    var kilnOut = new float[batch * model.OutputSize];
    var ortOut = new float[batch * model.OutputSize];

    byte[] onnx = model.ToOnnx();
    var inputInfo = model.Description.Inputs.Single();
    var outputInfo = model.Description.Outputs.Single();
    long[] inputShape = new long[] { batch }.Concat(inputInfo.Shape.Select(d => (long)d)).ToArray();
    long[] outputShape = new long[] { batch }.Concat(outputInfo.Shape.Select(d => (long)d)).ToArray();

    using var inValue = OrtValue.CreateTensorValueFromMemory(input, inputShape);
    using var outValue = OrtValue.CreateTensorValueFromMemory(ortOut, outputShape);
    using var runOptions = new RunOptions();
    int[] threadCounts = { 1, 2 };
    var sessions = new InferenceSession[threadCounts.Length];
    var bindings = new OrtIoBinding[threadCounts.Length];
    var options = new SessionOptions[threadCounts.Length];
    try
    {
        var sides = new List<(string Impl, int Threads, Action Call)>();
        var worst = new double[threadCounts.Length];
        for (int t = 0; t < threadCounts.Length; t++)
        {
            int threads = threadCounts[t];
            options[t] = new SessionOptions
            {
                GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
                ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
                IntraOpNumThreads = threads,
                InterOpNumThreads = 1,
            };
            sessions[t] = new InferenceSession(onnx, options[t]);
            var binding = bindings[t] = sessions[t].CreateIoBinding();
            binding.BindInput(inputInfo.Name, inValue);
            binding.BindOutput(outputInfo.Name, outValue);
            var session = sessions[t];

            KilnSettings.Threads = threads;
            model.Predict(input, batch, kilnOut);
            session.RunWithBinding(runOptions, binding);
            int at = 0;
            for (int i = 0; i < kilnOut.Length; i++)
            {
                double d = Math.Abs(kilnOut[i] - ortOut[i]);
                if (!(d <= worst[t])) { worst[t] = d; at = i; }
            }
            if (!(worst[t] <= 1e-5))
            {
                Console.Error.WriteLine($"{work}: ONNX Runtime's output {at} is {ortOut[at]}, Kiln's Predict gives {kilnOut[at]} " +
                                        $"(|difference| {worst[t]:G3} > 1e-5, {threads} thread(s)); not timed");
                return 1;
            }
            sides.Add(("kiln", threads, () => { KilnSettings.Threads = threads; model.Predict(input, batch, kilnOut); }));
            sides.Add(("ort", threads, () => session.RunWithBinding(runOptions, binding)));
        }

        var times = Measure(sides.Select(s => s.Call).ToArray(), runs);
        for (int i = 0; i < sides.Count; i++)
            Emit(sides[i].Impl, work, batch, sides[i].Threads, times[i], worst[Array.IndexOf(threadCounts, sides[i].Threads)]);

        // Per round: ORT's time over Kiln's at each thread count, and ORT's faster over Kiln's faster.
        string F(double v) => v.ToString("R", CultureInfo.InvariantCulture);
        var fields = new List<string>();
        for (int t = 0; t < threadCounts.Length; t++)
        {
            int k = sides.FindIndex(s => s.Impl == "kiln" && s.Threads == threadCounts[t]);
            int o = sides.FindIndex(s => s.Impl == "ort" && s.Threads == threadCounts[t]);
            fields.Add($"\"t{threadCounts[t]}\": {F(Median(Enumerable.Range(0, runs).Select(r => times[o].Runs[r] / times[k].Runs[r])))}");
        }
        double Best(string impl, int r) => Enumerable.Range(0, sides.Count).Where(i => sides[i].Impl == impl).Min(i => times[i].Runs[r]);
        fields.Add($"\"best\": {F(Median(Enumerable.Range(0, runs).Select(r => Best("ort", r) / Best("kiln", r))))}");
        Console.WriteLine($"{{\"impl\": \"pair\", \"config\": \"alternated\", \"work\": \"{work}\", \"batch\": {batch}, \"rounds\": {runs}, " +
                          $"\"ort_over_kiln_median\": {{{string.Join(", ", fields)}}}}}");
        return 0;
    }
    finally
    {
        foreach (var b in bindings) b?.Dispose();
        foreach (var s in sessions) s?.Dispose();
        foreach (var o in options) o?.Dispose();
    }
}

static double Median(IEnumerable<double> values)
{
    var v = values.OrderBy(x => x).ToArray();
    return v.Length % 2 == 1 ? v[v.Length / 2] : 0.5 * (v[v.Length / 2 - 1] + v[v.Length / 2]);
}

static void Emit(string impl, string work, int batch, int threads, (double Median, double Min, double Max, int Calls, double[] Runs) t, double maxDiff)
{
    string F(double v) => v.ToString("R", CultureInfo.InvariantCulture);
    Console.WriteLine($"{{\"impl\": \"{impl}\", \"config\": \"t{threads}\", \"work\": \"{work}\", \"batch\": {batch}, \"threads\": {threads}, " +
                      $"\"calls_per_run\": {t.Calls}, \"us_per_call\": {F(t.Median * 1e6)}, \"min_us_per_call\": {F(t.Min * 1e6)}, " +
                      $"\"max_us_per_call\": {F(t.Max * 1e6)}, \"samples_per_s\": {F(batch / t.Median)}, \"max_abs_diff_vs_other\": {F(maxDiff)}}}");
}

// Seconds per call of each op, the ops taking turns run by run: each op is warmed up (≥ 20 calls and
// 0.3 s) and sized to ~0.25 s per run, then round r runs op 0, op 1, ... once each. Returns each op's
// median, fastest and slowest run and every run in round order.
static (double Median, double Min, double Max, int Calls, double[] Runs)[] Measure(Action[] ops, int runs)
{
    var calls = new int[ops.Length];
    for (int o = 0; o < ops.Length; o++)
    {
        int index = 0;
        long warmStart = Stopwatch.GetTimestamp();
        double elapsed = 0;
        while ((index < 20 || elapsed < 0.3) && elapsed < 3.0)
        {
            ops[o]();
            index++;
            elapsed = Stopwatch.GetElapsedTime(warmStart).TotalSeconds;
        }
        // Sized by calls timed after the warm-up: the warm-up's first calls pay for compilation.
        long sizeStart = Stopwatch.GetTimestamp();
        for (int i = 0; i < 5; i++) ops[o]();
        double perCallSeconds = Stopwatch.GetElapsedTime(sizeStart).TotalSeconds / 5;
        calls[o] = (int)Math.Clamp(Math.Ceiling(0.25 / perCallSeconds), 5, 1_000_000);
    }
    var perCall = new double[ops.Length][];
    for (int o = 0; o < ops.Length; o++) perCall[o] = new double[runs];
    for (int r = 0; r < runs; r++)
    {
        for (int o = 0; o < ops.Length; o++)
        {
            // One untimed call first, so the run does not pay for the previous op's threads going idle.
            ops[o]();
            long start = Stopwatch.GetTimestamp();
            for (int c = 0; c < calls[o]; c++) ops[o]();
            perCall[o][r] = Stopwatch.GetElapsedTime(start).TotalSeconds / calls[o];
        }
    }
    return Enumerable.Range(0, ops.Length)
        .Select(o => (Median(perCall[o]), perCall[o].Min(), perCall[o].Max(), calls[o], perCall[o]))
        .ToArray();
}
