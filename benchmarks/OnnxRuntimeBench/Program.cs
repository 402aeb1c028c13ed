using System;
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
// each side runs the same batches at 1 and 2 threads, interleaved (Kiln 1, ORT 1, Kiln 2, ORT 2).
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
// the outputs disagree (nothing is timed then).
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

    foreach (int threads in new[] { 1, 2 })
    {
        KilnSettings.Threads = threads;
        using var options = new SessionOptions
        {
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
            ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
            IntraOpNumThreads = threads,
            InterOpNumThreads = 1,
        };
        using var session = new InferenceSession(onnx, options);
        using var inValue = OrtValue.CreateTensorValueFromMemory(input, inputShape);
        using var outValue = OrtValue.CreateTensorValueFromMemory(ortOut, outputShape);
        using var binding = session.CreateIoBinding();
        binding.BindInput(inputInfo.Name, inValue);
        binding.BindOutput(outputInfo.Name, outValue);
        using var runOptions = new RunOptions();

        model.Predict(input, batch, kilnOut);
        session.RunWithBinding(runOptions, binding);
        double worst = 0;
        int at = 0;
        for (int i = 0; i < kilnOut.Length; i++)
        {
            double d = Math.Abs(kilnOut[i] - ortOut[i]);
            if (!(d <= worst)) { worst = d; at = i; }
        }
        if (!(worst <= 1e-5))
        {
            Console.Error.WriteLine($"{work}: ONNX Runtime's output {at} is {ortOut[at]}, Kiln's Predict gives {kilnOut[at]} " +
                                    $"(|difference| {worst:G3} > 1e-5, {threads} thread(s)); not timed");
            return 1;
        }

        var kiln = Measure(() => model.Predict(input, batch, kilnOut), runs);
        Emit("kiln", work, batch, threads, kiln, worst);
        var ort = Measure(() => session.RunWithBinding(runOptions, binding), runs);
        Emit("ort", work, batch, threads, ort, worst);
    }
    return 0;
}

static void Emit(string impl, string work, int batch, int threads, (double Median, double Min, double Max, int Calls) t, double maxDiff)
{
    string F(double v) => v.ToString("R", CultureInfo.InvariantCulture);
    Console.WriteLine($"{{\"impl\": \"{impl}\", \"config\": \"t{threads}\", \"work\": \"{work}\", \"batch\": {batch}, \"threads\": {threads}, " +
                      $"\"calls_per_run\": {t.Calls}, \"us_per_call\": {F(t.Median * 1e6)}, \"min_us_per_call\": {F(t.Min * 1e6)}, " +
                      $"\"max_us_per_call\": {F(t.Max * 1e6)}, \"samples_per_s\": {F(batch / t.Median)}, \"max_abs_diff_vs_other\": {F(maxDiff)}}}");
}

// Seconds per call: median, fastest and slowest run.
static (double Median, double Min, double Max, int Calls) Measure(Action op, int runs)
{
    int index = 0;
    long warmStart = Stopwatch.GetTimestamp();
    double elapsed = 0;
    while ((index < 20 || elapsed < 0.3) && elapsed < 3.0)
    {
        op();
        index++;
        elapsed = Stopwatch.GetElapsedTime(warmStart).TotalSeconds;
    }
    int calls = (int)Math.Clamp(Math.Ceiling(0.25 / (elapsed / index)), 5, 1_000_000);
    var perCall = new double[runs];
    for (int r = 0; r < runs; r++)
    {
        long start = Stopwatch.GetTimestamp();
        for (int c = 0; c < calls; c++) op();
        perCall[r] = Stopwatch.GetElapsedTime(start).TotalSeconds / calls;
    }
    Array.Sort(perCall);
    double median = runs % 2 == 1 ? perCall[runs / 2] : 0.5 * (perCall[runs / 2 - 1] + perCall[runs / 2]);
    return (median, perCall[0], perCall[^1], calls);
}
