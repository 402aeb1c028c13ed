using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using Kiln.Kernels;
using Kiln.Samples.FashionMnist;
using Kiln.Samples.FashionMnistCnn;
using Kiln.Samples.FashionMnistResNet;
using Kiln.Threading;

namespace Kiln.Benchmarks;

/// <summary>
/// A setting's effect on a whole train step, measured where separate runs drown it in a shared host's
/// drift: one process alternates ~0.25 s windows of steps under value A and under value B (which goes
/// first alternating too), and reports the median and quartiles of the per-pair B/A throughput ratios.
/// With A = B it reads 1.00 ± 0.01 at 60 pairs on a 2-vCPU VM whose separate runs vary by ±25 %.
/// It also reports A's median steps per second, so two builds can be compared run by run (with A = B).
/// usage: --only paired --paired MODEL,SETTING,A,B[,SECONDS]; MODEL mlp32, mlp256, cnn, cifar or resnet.
/// </summary>
internal static class Paired
{
    private static readonly Dictionary<string, Action<long>> Settings = new()
    {
        ["parallel-min-flops"] = v => Gemm.ParallelMinFlops = v,
        ["one-part-max-flops"] = v => Gemm.OnePartPerThreadMaxFlops = v,
        ["shared-pack-min-floats"] = v => Gemm.SharedPackMinFloats = v,
        ["direct-b-max-rows"] = v => GemmDriver.DirectBMaxRows = (int)v,
        ["row-vector-parallel-macs"] = v => Gemm.RowVectorParallelMacs = v,
        ["optimizer-parallel-min"] = v => Optimizer.ParallelMinParameters = (int)v,
        ["pool-yield-us"] = v => WorkerPool.Shared.YieldTicks = v * Stopwatch.Frequency / 1_000_000,
        ["winograd-tile"] = v => WinogradConv2D.ForcedTile = (int)v,
        ["winograd-registers"] = v => WinogradCore.TransformsInRegisters = v != 0,
        ["loss-parallel-min"] = v => Losses.ParallelMinLogits = (int)v,
        ["split-k-min-weights"] = v => Gemm.SplitKMinWeights = v,
        ["parts-per-thread"] = v => ConvCore.PartsPerThread = (int)v,
        ["tight-await"] = v => WorkerPool.TightAwaitLooks = (int)v,
        ["steal-after-looks"] = v => WorkerPool.StealAfterLooks = (int)v,
        ["winograd-filter-multiple"] = v => WinogradCore.FilterMultiple = (int)v,
        ["streams-parallel-min"] = v => Streams.ParallelMinElements = v,
        ["winograd-prefetch-min-bytes"] = v => WinogradCore.PrefetchMinBytes = v,
        ["kernel-gradient-groups"] = v => WinogradCore.GroupsBesideDataGradient = (int)v,
        ["bn-slice-max-channels"] = v => BatchNorm.SliceMaxChannels = (int)v,
        ["patch-prefetch-min-macs"] = v => ConvCore.PatchPrefetchMinMultiplyAdds = (int)v,
        ["patch-chunk-l1-share"] = v => ConvCore.PatchChunkL1Share = (int)v,
        ["sgd-in-backward"] = v => s_sgdInBackward = v != 0,
        ["worker-spin"] = v => WorkerPool.WorkerSpinIterations = (int)v,
        ["tap-blocks"] = v => ConvCore.TapBlocks = v != 0,
        ["narrow-gemm"] = v => GemmNarrow.Enabled = v != 0,
        ["few-columns"] = v => GemmDriver.FewColumns = v != 0,
        ["direct-a-max-depth"] = v => GemmDriver.DirectAMaxDepth = (int)v,
        ["direct-b-max-floats"] = v => GemmDriver.DirectBMaxFloats = v,
        ["dense-gradient-pair"] = v => DenseGradientPair.Enabled = v != 0,
        ["even-k-blocks"] = v => GemmScratch.EvenBlocks = v != 0,
        ["two-k-blocks-from-depth"] = v => GemmScratch.TwoBlocksFromDepth = (int)v,
    };

    // Sgd.FuseIntoBackward belongs to the optimizer, which the step below is given: set on it each step.
    private static bool s_sgdInBackward = true;

    /// <summary>A named model with its benchmark recipe (optimizer and batch), fresh; a null model for an unknown name.</summary>
    internal static (Model Model, Optimizer Optimizer, int Batch) Setup(string name) => name switch
    {
        "mlp32" => (new FashionMlp(batchSize: 32, seed: 1), new Sgd(0.01f), 32),
        "mlp256" => (new FashionMlp(batchSize: 256, seed: 1), new Sgd(0.01f), 256),
        "cnn" => (new FashionCnn(batchSize: 64, seed: 1), new Adam(1e-3f), 64),
        "cifar" => (new BenchCifarNet(batchSize: 64, seed: 1), new Adam(1e-3f), 64),
        "resnet" => (new FashionResNet(batchSize: 128, seed: 1), new Adam(1e-3f), 128),
        _ => (null!, null!, 0),
    };

    /// <summary>
    /// Window a, then b, then b, then a, and so on for <paramref name="seconds"/> (alternating which goes first, so neither always
    /// follows the other): each pair's two figures, in pair order.
    /// </summary>
    internal static (List<double> A, List<double> B) Alternate(Func<double> a, Func<double> b, double seconds)
    {
        var first = new List<double>();
        var second = new List<double>();
        var clock = Stopwatch.StartNew();
        for (bool bFirst = false; clock.Elapsed.TotalSeconds < seconds; bFirst = !bFirst)
        {
            double ra, rb;
            if (bFirst) { rb = b(); ra = a(); }
            else { ra = a(); rb = b(); }
            first.Add(ra);
            second.Add(rb);
        }
        return (first, second);
    }

    public static int Run(string spec)
    {
        string[] p = spec.Split(',');
        if (p.Length is < 4 or > 5 || !Settings.TryGetValue(p[1], out var set)
            || !long.TryParse(p[2], CultureInfo.InvariantCulture, out long a) || !long.TryParse(p[3], CultureInfo.InvariantCulture, out long b))
        {
            Console.Error.WriteLine($"--paired '{spec}': expected MODEL,SETTING,A,B[,SECONDS] with SETTING one of {string.Join(", ", Settings.Keys)}");
            return 2;
        }
        double seconds = p.Length == 5 ? double.Parse(p[4], CultureInfo.InvariantCulture) : 30;
        (Model model, Optimizer optimizer, int batch) = Setup(p[0]);
        if (model is null)
        {
            Console.Error.WriteLine($"--paired: unknown model '{p[0]}' (mlp32, mlp256, cnn, cifar, resnet)");
            return 2;
        }
        // The first of the benchmark's random batches, every step.
        var (x, y) = Bench.MakeData(batch, model.InputSize, seed: 1234);
        void Step()
        {
            if (optimizer is Sgd sgd) sgd.FuseIntoBackward = s_sgdInBackward;
            model.TrainOnBatch(x.AsSpan(0, batch * model.InputSize), y.AsSpan(0, batch), batch, optimizer);
        }
        foreach (long v in new[] { a, b }) { set(v); for (int i = 0; i < 20; i++) Step(); }

        double Window(long v)
        {
            set(v);
            Step();
            var w = Stopwatch.StartNew();
            int steps = 0;
            while (w.Elapsed.TotalSeconds < 0.25) { Step(); steps++; }
            return steps / w.Elapsed.TotalSeconds;
        }
        var (rates, ratesB) = Alternate(() => Window(a), () => Window(b), seconds);
        var ratios = new List<double>();
        for (int i = 0; i < rates.Count; i++) ratios.Add(ratesB[i] / rates[i]);
        ratios.Sort();
        rates.Sort();
        Bench.Emit(new Bench.Json()
            .Str("impl", "kiln")
            .Str("work", "paired")
            .Str("model", p[0])
            .Str("setting", p[1])
            .Num("a", a)
            .Num("b", b)
            .Num("pairs", ratios.Count)
            .Num("median_b_over_a", ratios[ratios.Count / 2])
            .Num("q1", ratios[ratios.Count / 4])
            .Num("q3", ratios[ratios.Count * 3 / 4])
            .Num("a_steps_per_second", rates[rates.Count / 2]));
        return 0;
    }
}
