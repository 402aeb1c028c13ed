using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.Runtime;
using System.Runtime.CompilerServices;
using System.Text;
using Kiln;
using Kiln.Samples.FashionMnist;
using Kiln.Samples.FashionMnistCnn;
using Kiln.Samples.FashionMnistResNet;
using Kiln.Benchmarks;
using Kiln.Kernels;
using Kiln.Threading;

// Kiln benchmark harness. Every row: untimed warm-up (lets tiered JIT + PGO reach its final
// code), then RUNS timed runs of a fixed number of operations, each timed with Stopwatch; the
// reported figure is the MEDIAN run (see Bench.Measure for the warm-up and run-length rule). Prints one JSON object per line (read by benchmarks/report.py).
//
// usage: Kiln.Benchmarks [--threads N] [--runs N] [--quick] [--only peak,mlp,sgemm,sgemmcpu,kernelloop,conv,conv2d,resnet,convlayers,firstconv,firstgrad,convpool,winotile,winofive,gemmpasses,strided,layers,calls,wake,phases,mlpops,steptimeline,bnpasses,exp,coherence,inlining] [--paired MODEL,SETTING,A,B[,SECONDS]]
//   (--quick: 3 runs; peak, conv2d, sgemmcpu, kernelloop, phases, mlpops, convlayers, firstconv, firstgrad, convpool, winotile, winofive, gemmpasses, layers, calls, wake, steptimeline, bnpasses, exp, coherence and inlining are not in the default set; peak measures 1 and 2 threads whatever --threads says;
//   sgemmcpu times sgemm by CPU time against the FMA loop timed the same way, interleaved, for A/B comparisons on a busy machine;
//   kernelloop times the GEMM micro-kernels (256-bit, and 512-bit where the CPU runs it) on L1-resident panels against the same FMAs without A's broadcasts;
//     and, at 512 bits, the implicit GEMM forward tile with its kernel panels in L2 (indirecttile512_l2_panels);
//   phases times the MLP train step's forward, loss, backward and SGD update inside whole steps (StepPhases.cs), batch 32 and 256;
//   mlpops times its dense calls one at a time (MlpOps.cs), batch 32 and 256;
//   steptimeline lists the worker pool's runs in the MLP's (batch 32, 256), the Fashion CNN's and the CIFAR net's train steps and the MLP's batch-1 Predict: the serial stretch before each, each thread's time in it (StepTimeline.cs);
//   bnpasses times batch normalization's calls alone at the Fashion ResNet's three shapes (BatchNormTimes.cs);
//   wake times a two-part job of the worker pool after serial gaps, i.e. how soon its threads start, then back-to-back jobs' handoffs;
//   exp times the exponential under softmax, sigmoid and tanh (Kiln's, the BCL's vector ones, MathF's) per element (ExpTimes.cs);
//   coherence times one core's rewrite of 1 MiB after its own read and after the other core's (Coherence.cs), which this host's placement of the vCPUs swings;
//   inlining lists the calls in Kiln's kernels the JIT left uninlined for a limit of the caller (InliningReport.cs; run it alone);
//   calls times single Predict calls of the ONNX Runtime rows' models (fastest, percentiles, mean: CallTimes.cs);
//   --paired MODEL,SETTING,A,B[,SECONDS] alternates a setting's two values in 0.25 s windows of train steps (Paired.cs))

int threads = 2;
int runs = 7;
bool quick = false;
string only = "mlp,sgemm,conv,resnet";
string? paired = null;
for (int i = 0; i < args.Length; i++)
{
    switch (args[i])
    {
        case "--threads" when i + 1 < args.Length: threads = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
        case "--runs" when i + 1 < args.Length: runs = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
        case "--quick": quick = true; break;
        case "--only" when i + 1 < args.Length: only = args[++i]; break;
        case "--paired" when i + 1 < args.Length: paired = args[++i]; only = "paired"; break;
        default:
            Console.Error.WriteLine($"unknown argument '{args[i]}'. usage: Kiln.Benchmarks [--threads N] [--runs N] [--quick] [--only peak,mlp,sgemm,sgemmcpu,kernelloop,conv,conv2d,resnet,convlayers,firstconv,firstgrad,convpool,winotile,winofive,gemmpasses,strided,layers,calls,wake,phases,mlpops,steptimeline,bnpasses,exp,coherence,inlining] [--paired MODEL,SETTING,A,B[,SECONDS]]");
            return 2;
    }
}

KilnSettings.Threads = threads;
if (quick) runs = 3;

Bench.Header(threads, runs);
var groups = new HashSet<string>(only.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
if (groups.Contains("peak"))
{
    // The fp32 FMA peak, register-only, at each vector width this CPU runs, on 1 and 2 threads.
    foreach (int bits in new[] { 512, 256 })
    {
        if (bits == 512 ? !System.Runtime.Intrinsics.X86.Avx512F.IsSupported
                        : !(System.Runtime.Intrinsics.X86.Avx2.IsSupported && System.Runtime.Intrinsics.X86.Fma.IsSupported)) continue;
        foreach (int t in new[] { 1, 2 }) Bench.Peak(bits, t, runs);
    }
}
if (groups.Contains("mlp"))
{
    Bench.Train(batch: 32, runs);
    Bench.Train(batch: 256, runs);
    Bench.Inference(runs);
}
if (groups.Contains("sgemm"))
{
    Bench.Sgemm(size: 1024, runs);
    Bench.Sgemm(size: 2048, runs);
}
if (groups.Contains("sgemmcpu"))
{
    Bench.SgemmCpuTime(size: 1024, threads, runs);
    Bench.SgemmCpuTime(size: 2048, threads, runs);
}
if (groups.Contains("kernelloop")) KernelLoop.Run(runs);
if (groups.Contains("bnpasses")) BatchNormTimes.Run(runs);
if (groups.Contains("phases"))
{
    StepPhases.Mlp(batch: 32, threads, quick);
    StepPhases.Mlp(batch: 256, threads, quick);
}
if (groups.Contains("mlpops"))
{
    MlpOps.Run(batch: 32, threads, quick);
    MlpOps.Run(batch: 256, threads, quick);
}
if (groups.Contains("steptimeline")) StepTimeline.Run(threads, quick);
if (groups.Contains("wake")) PoolWake.Run(secondsPerGap: quick ? 1 : 2);
if (groups.Contains("exp")) ExpTimes.Run(runs);
if (groups.Contains("coherence")) Coherence.Run(seconds: quick ? 2 : 6);
if (groups.Contains("inlining")) InliningReport.Run();
if (groups.Contains("paired") && Paired.Run(paired ?? "") != 0) return 2;
if (groups.Contains("conv"))
{
    // Adam(1e-3) with Keras' defaults (β 0.9/0.999, ε 1e-7), as the issues' models train.
    Bench.TrainModel("fashion_cnn_b64", new FashionCnn(batchSize: 64, seed: 1), new Adam(1e-3f), 64, runs, minOps: 2, maxOps: 1000,
        fixedBatchModel: () => new FashionCnn(batchSize: 64, seed: 2));
    Bench.TrainModel("cifar_b64", new BenchCifarNet(batchSize: 64, seed: 1), new Adam(1e-3f), 64, runs, minOps: 1, maxOps: 1000,
        fixedBatchModel: () => new BenchCifarNet(batchSize: 64, seed: 2));
    // The CIFAR net's 64 → 64 layer at 32×32 (3×3 same, no bias), batch 64: the implicit GEMM, and the
    // Winograd F(2×2, 3×3) variant the generator picks for this layer.
    Bench.Conv(batch: 64, size: 32, inChannels: 64, filters: 64, runs, winograd: false);
    Bench.Conv(batch: 64, size: 32, inChannels: 64, filters: 64, runs, winograd: true);
}
if (groups.Contains("conv2d"))
{
    // The conv group's implicit-GEMM layer rows alone (benchmarks/conv2d-rounds.sh interleaves them with PyTorch's).
    Bench.Conv(batch: 64, size: 32, inChannels: 64, filters: 64, runs, winograd: false);
}
if (groups.Contains("resnet"))
{
    // samples/FashionMnistResNet's graph model (identity and projection shortcuts), batch 128 as the sample trains.
    Bench.TrainModel("fashion_resnet_b128", new FashionResNet(batchSize: 128, seed: 1), new Adam(1e-3f), 128, runs, minOps: 2, maxOps: 1000,
        fixedBatchModel: () => new FashionResNet(batchSize: 128, seed: 2));
    // Its --recipe modern model: twice the filters behind RandomTranslation + RandomFlip, label smoothing 0.1.
    // Adam on both sides, as the row above (the recipe's AdamW adds one multiply-add per weight).
    Bench.TrainModel("fashion_resnet_modern_b128", new FashionResNetModern(batchSize: 128, seed: 1), new Adam(1e-3f), 128, runs, minOps: 1, maxOps: 1000,
        fixedBatchModel: () => new FashionResNetModern(batchSize: 128, seed: 2));
}
if (groups.Contains("convlayers"))
{
    // Every 3×3 layer shape of the CIFAR net after the first, both variants (not in run.sh's table).
    foreach (bool winograd in new[] { false, true })
    {
        Bench.Conv(batch: 64, size: 32, inChannels: 64, filters: 64, runs, winograd);
        Bench.Conv(batch: 64, size: 16, inChannels: 64, filters: 128, runs, winograd);
        Bench.Conv(batch: 64, size: 16, inChannels: 128, filters: 128, runs, winograd);
        Bench.Conv(batch: 64, size: 14, inChannels: 32, filters: 64, runs, winograd);
    }
}
if (groups.Contains("firstconv"))
{
    // Forward (bias + relu, as inference runs it) of layers with few input channels: the implicit GEMM
    // and the direct convolution, alternated shape by shape (KernelSelection's threshold comes from these).
    foreach (var (size, c, f, k, s) in new[] { (28, 1, 32, 3, 1), (32, 3, 32, 3, 1), (28, 2, 32, 3, 1), (28, 4, 32, 3, 1),
                                              (28, 8, 32, 3, 1), (28, 16, 32, 3, 1), (28, 1, 32, 5, 1), (64, 3, 64, 7, 2),
                                              (28, 3, 32, 1, 1), (28, 16, 64, 1, 1), (28, 16, 32, 3, 2) })
        foreach (bool direct in new[] { false, true })
            Bench.FirstConv(batch: 64, size, c, f, k, s, runs, direct);
}
if (groups.Contains("firstgrad")) FirstLayerGradient.Run(seconds: quick ? 4 : 10);
if (groups.Contains("convpool"))
{
    // Inference's convolution + bias + relu followed by a 2×2 max pooling: two kernels (the unpooled
    // output written, then read back by the pooling pass) against the pooling fused into the
    // convolution's store, alternated. The Fashion CNN's two layers (direct, then Winograd), then the
    // CIFAR net's two pooled layers (Winograd).
    foreach (var (size, c, f) in new[] { (28, 1, 32), (14, 32, 64), (32, 64, 64), (16, 128, 128) })
        foreach (bool fused in new[] { false, true, false, true })
            Bench.ConvPool(batch: 64, size, c, f, runs, fused);
}
if (groups.Contains("winotile"))
{
    // Winograd F(2×2, 3×3) against F(4×4, 3×3), forward (bias + relu), data and kernel gradients, alternated twice
    // per shape: the CIFAR net's 3×3 layers, the Fashion CNN's second, the wide ResNet's three stages.
    // The first shape's first pair also pays for tiered JIT compilation (twice the steady time), so
    // its second pair is the one to read; the CIFAR net's first layer is measured last for that reason.
    foreach (var (size, c, f) in new[] { (16, 64, 128), (16, 128, 128), (14, 32, 64), (28, 32, 32), (14, 64, 64), (7, 128, 128), (32, 64, 64) })
        foreach (int tile in new[] { 2, 4, 2, 4 })
            Bench.WinogradTile(batch: 64, size, c, f, runs, tile);
}
if (groups.Contains("winofive"))
{
    // 5×5 stride-1 layers, forward (bias + relu), data and kernel gradients: the implicit GEMM once, then
    // Winograd F(2×2, 5×5) against F(4×4, 5×5) alternated twice per shape: the seed GAN generator's two
    // 5×5 layers (batch 8: a 32×32 256 → 256 forward is 27 GFLOP), then the narrow generator's at its batch 32.
    foreach (var (batch, size, c, f) in new[] { (8, 16, 128, 256), (8, 32, 256, 256), (32, 16, 32, 64), (32, 32, 64, 64) })
        foreach (int tile in new[] { 0, 2, 4, 2, 4 })
            Bench.FiveByFive(batch, size, c, f, runs, tile);
}
if (groups.Contains("gemmpasses"))
{
    // run.sh's Conv2D implicit GEMM layer (32×32, 64 → 64, 3×3 same, batch 64) with its forward, data and
    // kernel gradients timed apart, twice: where the backward row's time goes.
    for (int i = 0; i < 2; i++) Bench.GemmPasses(batch: 64, size: 32, inChannels: 64, filters: 64, runs);
}
if (groups.Contains("strided"))
{
    // The Fashion ResNet's strided layers (stage 2 and 3: 3×3 stride 2 'same' and the 1×1 stride-2 shortcut) at its
    // batch 128, forward (bias + relu), data and kernel gradients timed apart by the implicit GEMM, as its step runs
    // their gradients; twice each, so the first pair's JIT tiers settle.
    for (int i = 0; i < 2; i++)
        foreach (var (size, c, f, k) in new[] { (28, 16, 32, 3), (28, 16, 32, 1), (14, 32, 64, 3), (14, 32, 64, 1) })
            Bench.Strided(batch: 128, size, c, f, k, runs);
}
if (groups.Contains("calls"))
{
    // Single Predict calls, timed one by one: the fastest repeats on a host whose speed moves (CallTimes.cs).
    CallTimes.Predict(threads, quick);
}
if (groups.Contains("layers"))
{
    // The Fashion CNN's inference pass at batch 64, kernel by kernel (the ONNX Runtime row's model).
    LayerTimes.Measure("layers_fashion_cnn_b64", new FashionCnn(batchSize: 64, seed: 1), 64, quick ? 50 : 200);
}
return 0;

internal static class Bench
{
    private const int DataBatches = 8; // distinct batches cycled through, so it is not always the same input

    public static void Header(int threads, int runs)
    {
        Emit(new Json()
            .Str("impl", "kiln")
            .Str("kind", "header")
            .Str("runtime", System.Runtime.InteropServices.RuntimeInformation.FrameworkDescription)
            .Str("os", System.Runtime.InteropServices.RuntimeInformation.OSDescription)
            .Num("threads", threads)
            .Num("processor_count", Environment.ProcessorCount)
            .Num("worker_pool_parts", WorkerPool.Shared.MaxParts)
            .Bool("server_gc", GCSettings.IsServerGC)
            .Str("avx512", System.Runtime.Intrinsics.X86.Avx512F.IsSupported ? "yes" : "no")
            .Str("avx2", System.Runtime.Intrinsics.X86.Avx2.IsSupported ? "yes" : "no")
            .Str("caches", CacheHierarchy.Current.ToString())
            .Str("gemm_blocking", KernelChoice.Current.Blocking.ToString())
            .Str("cpu_profile", CpuProfile.Current.ToString())
            .Str("kernel_choice", KernelChoice.Current.ToString())
            .Num("runs", runs));
    }

    /// <summary>MLP SGD(0.01) train step (forward, loss, backward, update) at one batch size.</summary>
    public static void Train(int batch, int runs)
    {
        var model = new FashionMlp(batchSize: batch, seed: 1);
        TrainModel($"train_b{batch}", model, new Sgd(0.01f), batch, runs, minOps: 5, maxOps: 5000, productFlops: DenseProductFlops(model));
    }

    /// <summary>
    /// The multiply-add flops (2 per multiply-add) of one sample's train step in a model of Dense layers alone: each
    /// kernel (inputs × units) in the forward product and in its gradient's, and in the input gradient's for every layer
    /// but the first (nothing reads the input's gradient). The bias, activation, softmax and loss work is left out: it is
    /// not what the FMA peak measures. So samples/s × this ÷ the peak is the share of the peak a step runs at (report.py).
    /// </summary>
    private static long DenseProductFlops(Model model)
    {
        long flops = 0;
        bool first = true;
        foreach (var t in model.Description.Tensors)
        {
            if (!t.Name.EndsWith("/kernel", StringComparison.Ordinal)) continue;
            if (t.Shape.Length != 2) throw new ArgumentException($"{t.Name} is not a Dense kernel: DenseProductFlops counts Dense layers only");
            long macs = (long)t.Shape[0] * t.Shape[1];
            flops += 2 * macs * (first ? 2 : 3);
            first = false;
        }
        return flops;
    }

    /// <summary>
    /// One train step (<see cref="Model.TrainOnBatch"/>: forward, loss, backward, optimizer update) of
    /// <paramref name="model"/>, cycling through <see cref="DataBatches"/> random batches. With
    /// <paramref name="fixedBatchModel"/>, also a check that a fresh model's loss falls over
    /// <see cref="FixedBatchSteps"/> steps on one fixed batch (untimed, after the timing).
    /// </summary>
    public static void TrainModel(string work, Model model, Optimizer optimizer, int batch, int runs, int minOps, int maxOps,
        Func<Model>? fixedBatchModel = null, long productFlops = 0)
    {
        var (inputs, targets) = MakeData(batch, model.InputSize, seed: 1234);
        int inSize = batch * model.InputSize;

        float firstLoss = Step(model, optimizer, inputs, targets, 0, batch, inSize);
        float lastLoss = 0;
        var t = Measure(i => lastLoss = Step(model, optimizer, inputs, targets, i + 1, batch, inSize), runs, minOps, maxOps);
        // Loss on the first data batch before training vs now: the steps really did learn something.
        float lossNow = Step(model, optimizer, inputs, targets, 0, batch, inSize);

        double perStep = t.Median / t.OpsPerRun;
        var json = new Json()
            .Str("impl", "kiln")
            .Str("work", work)
            .Num("batch", batch)
            .Num("steps_per_run", t.OpsPerRun)
            .Num("warmup_steps", t.WarmupOps)
            .Num("median_s", t.Median)
            .Num("ms_per_step", perStep * 1e3)
            .Num("samples_per_s", batch / perStep)
            .Num("min_ms_per_step", t.Min / t.OpsPerRun * 1e3)
            .Num("max_ms_per_step", t.Max / t.OpsPerRun * 1e3)
            .Num("alloc_bytes_per_step", t.ThreadBytes / (double)t.TotalOps)
            .Num("alloc_bytes_per_step_process", t.ProcessBytes / (double)t.TotalOps)
            .Num("gen0_collections", t.Gen0Collections)
            .Num("loss_first", firstLoss)
            .Num("loss_last", lastLoss)
            .Num("loss_batch0_after", lossNow);
        if (productFlops > 0) json.Num("product_flops_per_sample", productFlops);
        if (fixedBatchModel is not null)
        {
            // A fresh model and optimizer trained on batch 0 only: the loss must fall step after step.
            var fresh = fixedBatchModel();
            var adam = new Adam(1e-3f);
            var losses = new double[FixedBatchSteps];
            for (int s = 0; s < losses.Length; s++) losses[s] = Step(fresh, adam, inputs, targets, 0, batch, inSize);
            json.Nums("fixed_batch_losses", losses);
        }
        Emit(json);
    }

    private const int FixedBatchSteps = 8;

    private static float Step(Model model, Optimizer optimizer, float[] inputs, float[] targets, int cursor, int batch, int inSize)
    {
        int b = cursor % DataBatches;
        return model.TrainOnBatch(inputs.AsSpan(b * inSize, inSize), targets.AsSpan(b * batch, batch), batch, optimizer);
    }

    /// <summary>MLP inference latency at batch 1: one Forward(training: false).</summary>
    public static void Inference(int runs)
    {
        var model = new FashionMlp(batchSize: 1, seed: 1);
        var (inputs, _) = MakeData(1, model.InputSize, seed: 99);
        int inSize = model.InputSize;
        float sink = 0;
        var t = Measure(i => sink += model.Forward(inputs.AsSpan((i % DataBatches) * inSize, inSize), 1, training: false)[0],
            runs, minOps: 100, maxOps: 200_000);

        // Sanity: the softmax output of a sample sums to 1.
        var probs = model.Forward(inputs.AsSpan(0, inSize), 1, training: false);
        float sum = 0;
        foreach (float p in probs) sum += p;

        Emit(new Json()
            .Str("impl", "kiln")
            .Str("work", "infer_b1")
            .Num("calls_per_run", t.OpsPerRun)
            .Num("warmup_calls", t.WarmupOps)
            .Num("median_s", t.Median)
            .Num("us_per_call", t.Median / t.OpsPerRun * 1e6)
            .Num("min_us_per_call", t.Min / t.OpsPerRun * 1e6)
            .Num("max_us_per_call", t.Max / t.OpsPerRun * 1e6)
            .Num("alloc_bytes_per_call", t.ThreadBytes / (double)t.TotalOps)
            .Num("alloc_bytes_per_call_process", t.ProcessBytes / (double)t.TotalOps)
            .Num("softmax_sum", sum)
            .Num("sink", sink));
    }

    /// <summary>
    /// The register-only FMA loop of <see cref="FmaPeak"/> at one vector width on <paramref name="threads"/>
    /// threads: after a warm-up, <paramref name="runs"/> runs of about 0.25 s; median and best GFLOP/s.
    /// </summary>
    public static void Peak(int bits, int threads, int runs)
    {
        FmaPeak.Run(bits, threads, 4); // JIT to the final tier, wake the cores
        long t0 = Stopwatch.GetTimestamp();
        FmaPeak.Run(bits, threads, 8);
        double perCall = Stopwatch.GetElapsedTime(t0).TotalSeconds / 8;
        int calls = (int)Math.Clamp(Math.Ceiling(0.25 / perCall), 4, 100_000);
        var g = new double[runs];
        for (int r = 0; r < runs; r++) g[r] = FmaPeak.Run(bits, threads, calls);
        double best = 0;
        foreach (double v in g) best = Math.Max(best, v);
        Emit(new Json()
            .Str("impl", "kiln")
            .Str("work", $"fma_peak_{bits}_t{threads}")
            .Num("bits", bits)
            .Num("threads", threads)
            .Num("calls_per_run", calls)
            .Num("gflops", MedianOf(g))
            .Num("max_gflops", best));
    }

    /// <summary>C = A·B, all size×size, through Gemm.Nn; GFLOP/s counted as 2·n³.</summary>
    public static void Sgemm(int size, int runs)
    {
        var rng = new Random(7);
        var a = new float[size * size];
        var b = new float[size * size];
        var c = new float[size * size];
        for (int i = 0; i < a.Length; i++) { a[i] = (float)(rng.NextDouble() * 2 - 1); b[i] = (float)(rng.NextDouble() * 2 - 1); }
        var t = Measure(_ => Gemm.Nn(size, size, size, a, size, b, size, c, size), runs, minOps: 2, maxOps: 1000);

        // Spot check one element against a double-precision dot product.
        double reference = 0;
        for (int k = 0; k < size; k++) reference += (double)a[5 * size + k] * b[k * size + 11];

        double flops = 2.0 * size * size * (double)size * t.OpsPerRun;
        Emit(new Json()
            .Str("impl", "kiln")
            .Str("work", $"sgemm_{size}")
            .Num("calls_per_run", t.OpsPerRun)
            .Num("median_s", t.Median)
            .Num("gflops", flops / t.Median / 1e9)
            .Num("max_gflops", flops / t.Min / 1e9)
            .Num("min_gflops", flops / t.Max / 1e9)
            .Num("spot_abs_error", Math.Abs(c[5 * size + 11] - reference)));
    }

    /// <summary>
    /// sgemm (Gemm.Nn, size³) as a fraction of the FMA peak, both timed by CPU time so that other
    /// processes on the machine drop out: each of 3·runs samples is one timed batch of calls between two
    /// single-thread peak measurements (the larger one counts). On one thread the caller's CPU time; on
    /// more, the process's, against threads × the per-core peak, so time lost to an unbalanced split
    /// (a part's thread spinning or descheduled) is not seen: the wall-clock sgemm row is for that.
    /// Median and quartiles of the per-sample fractions.
    /// </summary>
    public static void SgemmCpuTime(int size, int threads, int runs)
    {
        if (!CpuClock.Available) return;
        var rng = new Random(7);
        var a = new float[size * size];
        var b = new float[size * size];
        var c = new float[size * size];
        for (int i = 0; i < a.Length; i++) { a[i] = (float)(rng.NextDouble() * 2 - 1); b[i] = (float)(rng.NextDouble() * 2 - 1); }
        int bits = KernelChoice.Current.VectorBits == 512 ? 512 : 256;
        int calls = size <= 1024 ? 4 : 1;
        double flops = 2.0 * size * size * (double)size * calls;
        FmaPeak.CpuTimeGflops(bits);
        Gemm.Nn(size, size, size, a, size, b, size, c, size);
        Gemm.Nn(size, size, size, a, size, b, size, c, size);
        int samples = 3 * runs;
        var fraction = new double[samples];
        var gflops = new double[samples];
        for (int s = 0; s < samples; s++)
        {
            double peakBefore = FmaPeak.CpuTimeGflops(bits);
            double t0 = threads == 1 ? CpuClock.Thread() : CpuClock.Process();
            for (int i = 0; i < calls; i++) Gemm.Nn(size, size, size, a, size, b, size, c, size);
            double seconds = (threads == 1 ? CpuClock.Thread() : CpuClock.Process()) - t0;
            double peak = Math.Max(peakBefore, FmaPeak.CpuTimeGflops(bits));
            gflops[s] = flops / seconds * threads / 1e9;
            fraction[s] = gflops[s] / (peak * threads);
        }
        Array.Sort(fraction);
        Array.Sort(gflops);
        Emit(new Json()
            .Str("impl", "kiln")
            .Str("work", $"sgemm_{size}_cputime")
            .Num("threads", threads)
            .Num("bits", bits)
            .Num("samples", samples)
            .Num("calls_per_sample", calls)
            .Num("gflops", gflops[samples / 2])
            .Num("peak_fraction", fraction[samples / 2])
            .Num("peak_fraction_q1", fraction[samples / 4])
            .Num("peak_fraction_q3", fraction[3 * samples / 4]));
    }

    /// <summary>
    /// Kiln.Kernels.Conv2D on one layer (size×size×inChannels → filters, 3×3 same, stride 1, no bias,
    /// no activation) at one batch: forward, and backward with the kernel and input gradients (what
    /// a hidden layer of a model needs). GFLOP/s counted as 2·N·OH·OW·(3·3·C)·F for forward and twice
    /// that for backward.
    /// </summary>
    /// <summary>length floats uniform in [−1, 1).</summary>
    internal static float[] Uniform(Random rng, int length)
    {
        var a = new float[length];
        for (int i = 0; i < a.Length; i++) a[i] = (float)(rng.NextDouble() * 2 - 1);
        return a;
    }

    public static void ConvPool(int batch, int size, int inChannels, int filters, int runs, bool fused)
    {
        var g = new Conv2DGeometry(size, size, inChannels, size, size, filters, 3, 3, 1, 1, 1, 1);
        var window = Pooling.TwoByTwoOver(g);
        bool winograd = WinogradConv2D.Applies(g); // else the direct kernel (few input channels)
        var rng = new Random(11);
        float[] Rand(int length) => Uniform(rng, length);
        var x = Rand(batch * g.InputSize);
        var kernel = Rand(g.PatchSize * filters);
        var bias = Rand(filters);
        var y = new float[batch * g.OutputSize];
        var pooled = new float[batch * window.OutputSize];
        var t = Measure(_ =>
        {
            if (fused && winograd) WinogradConv2D.ForwardMaxPool2x2(x, kernel, bias, pooled, batch, g, default(Relu));
            else if (fused) DirectConv2D.ForwardMaxPool2x2(x, kernel, bias, pooled, batch, g, default(Relu));
            else
            {
                if (winograd) WinogradConv2D.Forward(x, kernel, bias, y, batch, g, default(Relu));
                else DirectConv2D.Forward(x, kernel, bias, y, batch, g, default(Relu));
                Pooling.MaxForward(y, pooled, batch, window);
            }
        }, runs, minOps: 2, maxOps: 1000);
        double flops = 2.0 * batch * g.OutputHeight * g.OutputWidth * g.PatchSize * filters;
        EmitConv($"convpool{size}_{inChannels}to{filters}_b{batch}_{(fused ? "fused" : "two_kernels")}", t, flops, null);
    }

    public static void WinogradTile(int batch, int size, int inChannels, int filters, int runs, int tile)
    {
        var g = new Conv2DGeometry(size, size, inChannels, size, size, filters, 3, 3, 1, 1, 1, 1);
        int forced = WinogradConv2D.ForcedTile;
        WinogradConv2D.ForcedTile = tile;
        try { LayerPasses($"winotile{size}_{inChannels}to{filters}_b{batch}_f{tile}", g, batch, runs, winograd: true); }
        finally { WinogradConv2D.ForcedTile = forced; }
    }

    /// <summary>A 3×3 same layer by the implicit GEMM (<see cref="Conv2D"/>), its three products timed apart.</summary>
    public static void GemmPasses(int batch, int size, int inChannels, int filters, int runs) =>
        LayerPasses($"gemmpasses{size}_{inChannels}to{filters}_b{batch}", new Conv2DGeometry(size, size, inChannels, size, size, filters, 3, 3, 1, 1, 1, 1),
            batch, runs, winograd: false);

    /// <summary>A k×k stride-2 'same' layer (Keras pads the extra row and column at the bottom and right) by the implicit GEMM, its three products timed apart.</summary>
    public static void Strided(int batch, int size, int inChannels, int filters, int kernelSize, int runs)
    {
        int outSize = (size + 1) / 2, pad = Math.Max((outSize - 1) * 2 + kernelSize - size, 0) / 2;
        var g = new Conv2DGeometry(size, size, inChannels, outSize, outSize, filters, kernelSize, kernelSize, 2, 2, pad, pad);
        LayerPasses($"strided{size}_{inChannels}to{filters}_k{kernelSize}_b{batch}", g, batch, runs, winograd: false);
    }

    /// <summary>A 5×5 layer by the implicit GEMM (<paramref name="tile"/> 0) or by Winograd F(2×2, 5×5) or F(4×4, 5×5) (2 or 4).</summary>
    public static void FiveByFive(int batch, int size, int inChannels, int filters, int runs, int tile)
    {
        var g = new Conv2DGeometry(size, size, inChannels, size, size, filters, 5, 5, 1, 1, 2, 2);
        int forced = WinogradConv2D.ForcedTile;
        if (tile != 0) WinogradConv2D.ForcedTile = tile;
        try { LayerPasses($"five{size}_{inChannels}to{filters}_b{batch}_{(tile == 0 ? "gemm" : $"f{tile}")}", g, batch, runs, winograd: tile != 0); }
        finally { WinogradConv2D.ForcedTile = forced; }
    }

    /// <summary>
    /// One layer's three products timed apart, by <see cref="WinogradConv2D"/> or <see cref="Conv2D"/>: the
    /// forward pass (bias + relu), then with Identity (dy is left as it is) one gradient per call: the
    /// data gradient alone (a frozen layer), then the kernel gradient alone (a first layer's).
    /// </summary>
    private static void LayerPasses(string name, Conv2DGeometry g, int batch, int runs, bool winograd)
    {
        int filters = g.OutputChannels;
        var rng = new Random(11);
        float[] Rand(int length) => Uniform(rng, length);
        var x = Rand(batch * g.InputSize);
        var kernel = Rand(g.PatchSize * filters);
        var bias = Rand(filters);
        var dy = Rand(batch * g.OutputSize);
        var y = new float[batch * g.OutputSize];
        var dx = new float[x.Length];
        var dKernel = new float[kernel.Length];
        double flops = 2.0 * batch * g.OutputHeight * g.OutputWidth * g.PatchSize * filters;
        var tf = Measure(_ =>
        {
            if (winograd) WinogradConv2D.Forward(x, kernel, bias, y, batch, g, default(Relu));
            else Conv2D.Forward(x, kernel, bias, y, batch, g, default(Relu));
        }, runs, minOps: 2, maxOps: 1000);
        EmitConv($"{name}_fwd", tf, flops, null);
        var td = Measure(_ =>
        {
            if (winograd) WinogradConv2D.Backward(x, kernel, ReadOnlySpan<float>.Empty, dy, Span<float>.Empty, Span<float>.Empty, dx, batch, g, default(Identity));
            else Conv2D.Backward(x, kernel, ReadOnlySpan<float>.Empty, dy, Span<float>.Empty, Span<float>.Empty, dx, batch, g, default(Identity));
        }, runs, minOps: 2, maxOps: 1000);
        EmitConv($"{name}_dx", td, flops, null);
        var tw = Measure(_ =>
        {
            if (winograd) WinogradConv2D.Backward(x, kernel, ReadOnlySpan<float>.Empty, dy, dKernel, Span<float>.Empty, Span<float>.Empty, batch, g, default(Identity));
            else Conv2D.Backward(x, kernel, ReadOnlySpan<float>.Empty, dy, dKernel, Span<float>.Empty, Span<float>.Empty, batch, g, default(Identity));
        }, runs, minOps: 2, maxOps: 1000);
        EmitConv($"{name}_dw", tw, flops, null);
    }

    public static void Conv(int batch, int size, int inChannels, int filters, int runs, bool winograd)
    {
        var g = new Conv2DGeometry(size, size, inChannels, size, size, filters, 3, 3, 1, 1, 1, 1);
        var rng = new Random(11);
        float[] Rand(int length) => Uniform(rng, length);
        var x = Rand(batch * g.InputSize);
        var kernel = Rand(g.PatchSize * filters);
        var dy = Rand(batch * g.OutputSize);
        var y = new float[batch * g.OutputSize];
        var dKernel = new float[kernel.Length];
        var dx = new float[x.Length];
        double flops = 2.0 * batch * g.OutputHeight * g.OutputWidth * g.PatchSize * filters;
        string name = $"conv{size}_{inChannels}to{filters}_b{batch}" + (winograd ? "_winograd" : "");

        var tf = Measure(_ =>
        {
            if (winograd) WinogradConv2D.Forward(x, kernel, ReadOnlySpan<float>.Empty, y, batch, g, default(Identity));
            else Conv2D.Forward(x, kernel, ReadOnlySpan<float>.Empty, y, batch, g, default(Identity));
        }, runs, minOps: 2, maxOps: 1000);
        // Spot check: one output element (sample 3, row 0, column 17, filter 5) against a double-precision sum.
        int sn = 3, oy = 0, ox = Math.Min(17, size - 1), sf = 5;
        double reference = 0;
        for (int ky = 0; ky < 3; ky++)
            for (int kx = 0; kx < 3; kx++)
            {
                int iy = oy + ky - 1, ix = ox + kx - 1;
                if (iy < 0 || iy >= size || ix < 0 || ix >= size) continue;
                for (int c = 0; c < inChannels; c++)
                    reference += (double)x[((sn * size + iy) * size + ix) * inChannels + c] * kernel[((ky * 3 + kx) * inChannels + c) * filters + sf];
            }
        double error = Math.Abs(y[((sn * size + oy) * size + ox) * filters + sf] - reference);
        // The Winograd rows name the tiles the kernels chose for this shape (report.py puts them in the row's label).
        string? forwardAlgorithm = winograd ? Name(WinogradCore.ForwardAlgorithm(g)) : null;
        EmitConv($"{name}_fwd", tf, flops, error, forwardAlgorithm);

        // Identity activation: dy is left as it is, so every call sees the same gradient.
        var tb = Measure(_ =>
        {
            if (winograd) WinogradConv2D.Backward(x, kernel, ReadOnlySpan<float>.Empty, dy, dKernel, Span<float>.Empty, dx, batch, g, default(Identity));
            else Conv2D.Backward(x, kernel, ReadOnlySpan<float>.Empty, dy, dKernel, Span<float>.Empty, dx, batch, g, default(Identity));
        }, runs, minOps: 2, maxOps: 1000);
        // Spot checks: one kernel-gradient element (tap 1,2, channel 7, filter 5) and one input-gradient
        // element (sample 3, row 31, column 0, channel 7), each against a double-precision sum.
        int tky = 1, tkx = 2, tc = 7;
        double refKernel = 0;
        for (int s = 0; s < batch; s++)
            for (int py = 0; py < size; py++)
                for (int px = 0; px < size; px++)
                {
                    int iy = py + tky - 1, ix = px + tkx - 1;
                    if (iy < 0 || iy >= size || ix < 0 || ix >= size) continue;
                    refKernel += (double)x[((s * size + iy) * size + ix) * inChannels + tc] * dy[((s * size + py) * size + px) * filters + sf];
                }
        int dyRow = size - 1, dxCol = 0;
        double refInput = 0;
        for (int ky = 0; ky < 3; ky++)
            for (int kx = 0; kx < 3; kx++)
            {
                int py = dyRow - ky + 1, px = dxCol - kx + 1;
                if (py < 0 || py >= size || px < 0 || px >= size) continue;
                for (int f = 0; f < filters; f++)
                    refInput += (double)dy[((sn * size + py) * size + px) * filters + f] * kernel[((ky * 3 + kx) * inChannels + tc) * filters + f];
            }
        double errKernel = Math.Abs(dKernel[((tky * 3 + tkx) * inChannels + tc) * filters + sf] - refKernel);
        double errInput = Math.Abs(dx[((sn * size + dyRow) * size + dxCol) * inChannels + tc] - refInput);
        EmitConv($"{name}_bwd", tb, 2 * flops, Math.Max(errKernel, errInput),
            winograd ? $"{forwardAlgorithm} data gradient, {Name(WinogradCore.KernelGradientAlgorithm(g))} kernel gradient" : null);
    }

    /// <summary>"F(4×4, 3×3)": how the benchmark's labels write a Winograd algorithm.</summary>
    private static string Name(WinogradAlgorithm a) => $"F({a.Tile()}×{a.Tile()}, {a.Window()}×{a.Window()})";

    /// <summary>One forward convolution with bias and relu (k×k, stride s, 'same'), by the implicit GEMM or the direct kernel.</summary>
    public static void FirstConv(int batch, int size, int inChannels, int filters, int kernelSize, int stride, int runs, bool direct)
    {
        int outSize = (size + stride - 1) / stride;
        int pad = Math.Max((outSize - 1) * stride + kernelSize - size, 0) / 2;
        var g = new Conv2DGeometry(size, size, inChannels, outSize, outSize, filters, kernelSize, kernelSize, stride, stride, pad, pad);
        var rng = new Random(12);
        float[] Rand(int length) => Uniform(rng, length);
        var x = Rand(batch * g.InputSize);
        var kernel = Rand(g.PatchSize * filters);
        var bias = Rand(filters);
        var y = new float[batch * g.OutputSize];
        double flops = 2.0 * batch * g.OutputHeight * g.OutputWidth * g.PatchSize * filters;
        var t = Measure(_ =>
        {
            if (direct) DirectConv2D.Forward(x, kernel, bias, y, batch, g, default(Relu));
            else Conv2D.Forward(x, kernel, bias, y, batch, g, default(Relu));
        }, runs, minOps: 2, maxOps: 5000);
        EmitConv($"conv{size}_{inChannels}to{filters}_k{kernelSize}s{stride}_b{batch}_{(direct ? "direct" : "gemm")}_fwd", t, flops, null);
    }

    private static void EmitConv(string work, Timing t, double flopsPerCall, double? spotError, string? algorithm = null)
    {
        double flops = flopsPerCall * t.OpsPerRun;
        var json = new Json()
            .Str("impl", "kiln")
            .Str("work", work)
            .Num("calls_per_run", t.OpsPerRun)
            .Num("warmup_calls", t.WarmupOps)
            .Num("median_s", t.Median)
            .Num("ms_per_call", t.Median / t.OpsPerRun * 1e3)
            .Num("gflops", flops / t.Median / 1e9)
            .Num("max_gflops", flops / t.Min / 1e9)
            .Num("min_gflops", flops / t.Max / 1e9)
            .Num("alloc_bytes_per_call", t.ThreadBytes / (double)t.TotalOps)
            .Num("alloc_bytes_per_call_process", t.ProcessBytes / (double)t.TotalOps);
        if (spotError is double e) json.Num("spot_abs_error", e);
        if (algorithm is not null) json.Str("algorithm", algorithm);
        Emit(json);
    }

    private sealed class Timing
    {
        public double[] Times = [];
        public int OpsPerRun, WarmupOps, Gen0Collections;
        public long TotalOps, ThreadBytes, ProcessBytes;
        public double Median => MedianOf(Times);
        public double Min { get { double m = double.MaxValue; foreach (double v in Times) m = Math.Min(m, v); return m; } }
        public double Max { get { double m = double.MinValue; foreach (double v in Times) m = Math.Max(m, v); return m; } }
    }

    /// <summary>
    /// Warm-up: at least 20 operations and 0.3 s (at most 3 s) untimed, which also estimates the cost of one.
    /// Then a fixed count per run, chosen so a run takes about 0.25 s (same rule as pytorch/mlp.py), for
    /// <paramref name="runs"/> runs. Allocations: this thread plus the Kiln worker pool's threads
    /// (<see cref="WorkerPool.AllocatedBytesOnWorkers"/>), and the whole process as a cross-check.
    /// Fully optimized from the start, as CallTimes.Measure is: no on-stack replacement compile inside a timed run.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static Timing Measure(Action<int> op, int runs, int minOps, int maxOps)
    {
        const double TargetRunSeconds = 0.25;
        int index = 0;
        long warmStart = Stopwatch.GetTimestamp();
        double elapsed = 0;
        while ((index < 20 || elapsed < 0.3) && elapsed < 3.0)
        {
            op(index++);
            elapsed = Stopwatch.GetElapsedTime(warmStart).TotalSeconds;
        }
        var t = new Timing { WarmupOps = index };
        double perOp = elapsed / index;
        t.OpsPerRun = (int)Math.Clamp(Math.Ceiling(TargetRunSeconds / perOp), minOps, maxOps);
        t.Times = new double[runs];
        int gen0 = GC.CollectionCount(0);
        for (int r = 0; r < runs; r++)
        {
            long t0 = GC.GetAllocatedBytesForCurrentThread();
            long w0 = WorkerPool.Shared.AllocatedBytesOnWorkers;
            long g0 = GC.GetTotalAllocatedBytes(precise: true);
            long start = Stopwatch.GetTimestamp();
            for (int s = 0; s < t.OpsPerRun; s++) op(index++);
            long stop = Stopwatch.GetTimestamp();
            t.ProcessBytes += GC.GetTotalAllocatedBytes(precise: true) - g0;
            t.ThreadBytes += GC.GetAllocatedBytesForCurrentThread() - t0 + (WorkerPool.Shared.AllocatedBytesOnWorkers - w0);
            t.Times[r] = (stop - start) / (double)Stopwatch.Frequency;
            t.TotalOps += t.OpsPerRun;
        }
        t.Gen0Collections = GC.CollectionCount(0) - gen0;
        return t;
    }

    /// <summary>Random inputs N(0,1)-ish (uniform −1..1 scaled like standardized pixels) and integer labels 0..9 stored as float.</summary>
    internal static (float[] Inputs, float[] Targets) MakeData(int batch, int inputSize, int seed)
    {
        var rng = new Random(seed);
        var inputs = new float[DataBatches * batch * inputSize];
        var targets = new float[DataBatches * batch];
        for (int i = 0; i < inputs.Length; i++) inputs[i] = (float)(rng.NextDouble() * 2 - 1) * 1.7f;
        for (int i = 0; i < targets.Length; i++) targets[i] = rng.Next(10);
        return (inputs, targets);
    }

    private static double MedianOf(double[] values)
    {
        var sorted = (double[])values.Clone();
        Array.Sort(sorted);
        int n = sorted.Length;
        return n % 2 == 1 ? sorted[n / 2] : 0.5 * (sorted[n / 2 - 1] + sorted[n / 2]);
    }

    internal static void Emit(Json json) => Console.WriteLine(json.ToString());

    /// <summary>A minimal one-line JSON object writer (no dependency, invariant culture).</summary>
    internal sealed class Json
    {
        private readonly StringBuilder _sb = new("{");
        private readonly List<string> _keys = new();

        public Json Str(string key, string value) => Raw(key, "\"" + value.Replace("\\", "\\\\").Replace("\"", "\\\"") + "\"");

        public Json Num(string key, double value) =>
            Raw(key, double.IsFinite(value) ? value.ToString("R", CultureInfo.InvariantCulture) : "null");

        public Json Nums(string key, double[] values)
        {
            var parts = new string[values.Length];
            for (int i = 0; i < values.Length; i++)
                parts[i] = double.IsFinite(values[i]) ? values[i].ToString("R", CultureInfo.InvariantCulture) : "null";
            return Raw(key, "[" + string.Join(", ", parts) + "]");
        }

        public Json Bool(string key, bool value) => Raw(key, value ? "true" : "false");

        private Json Raw(string key, string value)
        {
            if (_keys.Count > 0) _sb.Append(", ");
            _keys.Add(key);
            _sb.Append('"').Append(key).Append("\": ").Append(value);
            return this;
        }

        public override string ToString() => _sb.ToString() + "}";
    }
}
