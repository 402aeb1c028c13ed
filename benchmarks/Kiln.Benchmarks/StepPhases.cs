using System;
using System.Diagnostics;
using Kiln.Samples.FashionMnist;

namespace Kiln.Benchmarks;

/// <summary>
/// The Fashion MLP's train step phase by phase, as <see cref="Model.TrainOnBatch(System.ReadOnlySpan{float}, System.ReadOnlySpan{float}, int, Optimizer)"/>
/// ran them before it fused plain SGD into backward (forward, loss and its gradient, backward, SGD update: what
/// <see cref="Sgd.FuseIntoBackward"/> = false still runs), each timed inside whole steps; through
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
        // The SGD update on the calling thread alone, after a forward on all threads and after one on the calling
        // thread alone (the backward on all threads both times): what the update pays to rewrite weights whose lines
        // the other core read in the forward. Stop 48, batch 256, in the host's slow minutes: 188–230 against 43–46 µs.
        if (threads > 1)
        {
            foreach (int forwardThreads in new[] { threads, 1 })
            {
                var update = new double[steps];
                for (int s = -warmup; s < steps; s++)
                {
                    int b = ((s % batches) + batches) % batches;
                    KilnSettings.Threads = forwardThreads;
                    model.Forward(x.AsSpan(b * batch * model.InputSize, batch * model.InputSize), batch, training: true);
                    KilnSettings.Threads = threads;
                    model.ComputeLoss(y.AsSpan(b * batch, batch), batch, gradient: true);
                    model.Backward(batch);
                    KilnSettings.Threads = 1;
                    long t0 = Stopwatch.GetTimestamp();
                    optimizer.Step(model.Parameters.Span, model.Gradients.Span);
                    if (s >= 0) update[s] = Micros(Stopwatch.GetTimestamp() - t0);
                    KilnSettings.Threads = threads;
                }
                Array.Sort(update);
                string name = $"optimizer_1thread_after_{forwardThreads}thread_forward";
                json.Num($"{name}_best_us", update[0]).Num($"{name}_median_us", update[steps / 2]);
            }
        }
        Bench.Emit(json);
    }

    private static double Micros(long ticks) => ticks * 1e6 / Stopwatch.Frequency;
}
