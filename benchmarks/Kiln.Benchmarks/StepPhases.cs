using System;
using System.Diagnostics;
using Kiln.Samples.FashionMnist;

namespace Kiln.Benchmarks;

/// <summary>
/// The Fashion MLP's train step phase by phase, as <see cref="Model.TrainOnBatch(System.ReadOnlySpan{float}, System.ReadOnlySpan{float}, int, Optimizer)"/>
/// runs them (forward, loss and its gradient, backward, SGD update), each timed inside whole steps; through
/// the public calls, so the forward also copies the input, which TrainOnBatch lends instead (Model.LentInput.cs):
/// the fastest and the median per phase over the timed steps, beside the whole step's. A phase that takes
/// longer here than its kernels alone (`--only mlp` in scratch harnesses, benchmarks/README.md) pays for
/// where its data was left by the phase before (another core's cache) or for waking a worker.
/// </summary>
internal static class StepPhases
{
    private static readonly string[] Names = { "forward", "loss", "backward", "optimizer", "step" };

    public static void Mlp(int batch, int threads, bool quick)
    {
        var model = new FashionMlp(batchSize: batch, seed: 1);
        var optimizer = new Sgd(0.01f);
        var (x, y) = Bench.MakeData(batch, model.InputSize, seed: 1234);
        int batches = y.Length / batch;
        int warmup = batch >= 256 ? 200 : 1000, steps = (quick ? 1 : 3) * warmup;
        var times = new double[Names.Length][];
        for (int i = 0; i < times.Length; i++) times[i] = new double[steps];
        for (int s = -warmup; s < steps; s++)
        {
            int b = ((s % batches) + batches) % batches;
            long t0 = Stopwatch.GetTimestamp();
            model.Forward(x.AsSpan(b * batch * model.InputSize, batch * model.InputSize), batch, training: true);
            long t1 = Stopwatch.GetTimestamp();
            model.ComputeLoss(y.AsSpan(b * batch, batch), batch, gradient: true);
            long t2 = Stopwatch.GetTimestamp();
            model.Backward(batch);
            long t3 = Stopwatch.GetTimestamp();
            optimizer.Step(model.Parameters.Span, model.Gradients.Span);
            long t4 = Stopwatch.GetTimestamp();
            if (s < 0) continue;
            long[] ends = { t1, t2, t3, t4 };
            long start = t0;
            for (int p = 0; p < 4; p++) { times[p][s] = Micros(ends[p] - start); start = ends[p]; }
            times[4][s] = Micros(t4 - t0);
        }
        var json = new Bench.Json().Str("impl", "kiln").Str("work", $"mlp_phases_b{batch}").Num("threads", threads).Num("steps", steps);
        for (int p = 0; p < Names.Length; p++)
        {
            Array.Sort(times[p]);
            json.Num($"{Names[p]}_best_us", times[p][0]).Num($"{Names[p]}_median_us", times[p][steps / 2]);
        }
        Bench.Emit(json);
    }

    private static double Micros(long ticks) => ticks * 1e6 / Stopwatch.Frequency;
}
