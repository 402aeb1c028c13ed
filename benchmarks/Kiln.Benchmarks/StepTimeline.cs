using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using Kiln.Samples.FashionMnist;
using Kiln.Threading;

namespace Kiln.Benchmarks;

/// <summary>
/// Where a train step's time goes between the threads: the pool's runs in step order (PoolTimeline), each with the
/// serial stretch before it on the caller, its wall time, each thread's time in its parts and how soon the worker
/// started; runs the caller did alone are listed as inline. Medians over the steps whose runs came in the usual
/// order, after 3 s of steps (tiered compilation done). The MLP at batch 32 and 256, the Fashion CNN and the CIFAR net, and
/// the MLP's batch-1 inference (a forward pass). A thread that finishes its part early and waits, and the
/// serial stretches, are what a faster step must take out. Run it beside `--only coherence`: on a host that moves
/// the vCPUs between cores that share a cache and cores that do not, every handoff swings with it.
/// </summary>
internal static class StepTimeline
{
    public static void Run(int threads, bool quick)
    {
        int steps = quick ? 300 : 1000;
        // Events a step: a few per run and one per part (the convolutions' jobs have many parts).
        // The models and recipes of Paired's windows.
        Trace("mlp32", threads, steps, eventsPerStep: 256);
        Trace("mlp256", threads, steps / 4, eventsPerStep: 256);
        Trace("cnn", threads, steps / 10, eventsPerStep: 8192);
        Trace("cifar", threads, Math.Max(10, steps / 50), eventsPerStep: 32768);
        // Batch-1 inference: a forward pass, not a train step.
        var mlp1 = new FashionMlp(batchSize: 1, seed: 1);
        var (x1, _) = Bench.MakeData(1, mlp1.InputSize, seed: 99);
        Trace("mlp1_predict", () => mlp1.Forward(x1.AsSpan(0, mlp1.InputSize), 1, training: false), threads, steps * 10, eventsPerStep: 64);
    }

    private sealed class Ran
    {
        public string Job = "";
        public bool Inline;
        public long Start, End;
        public readonly Dictionary<int, (long First, long Busy)> Threads = new();
    }

    private static void Trace(string name, int threads, int steps, int eventsPerStep)
    {
        var (model, optimizer, batch) = Paired.Setup(name);
        var (x, y) = Bench.MakeData(batch, model.InputSize, seed: 1234);
        Trace(name, () => model.TrainOnBatch(x.AsSpan(0, batch * model.InputSize), y.AsSpan(0, batch), batch, optimizer), threads, steps, eventsPerStep);
    }

    private static void Trace(string name, Action step, int threads, int steps, int eventsPerStep)
    {
        void Step() => step();
        var warm = Stopwatch.StartNew();
        while (warm.Elapsed.TotalSeconds < 3) Step();

        var timeline = new PoolTimeline(capacity: steps * eventsPerStep);
        PoolTimeline.Current = timeline;
        try
        {
            for (int i = 0; i < steps; i++) { timeline.Mark(i); Step(); }
            timeline.Mark(steps);
        }
        finally { PoolTimeline.Current = null; }

        // Each step's runs, from its mark to the next.
        var stepRuns = new List<List<Ran>>();
        var stepBounds = new List<(long Start, long End)>();
        List<Ran>? current = null;
        var open = new Dictionary<int, Ran>();
        long stepStart = 0;
        foreach (ref readonly PoolTimeline.Event e in timeline.Events)
        {
            switch (e.Kind)
            {
                case PoolTimeline.Kind.Mark:
                    if (current is not null) { stepRuns.Add(current); stepBounds.Add((stepStart, e.Start)); }
                    current = new List<Ran>();
                    stepStart = e.Start;
                    open.Clear();
                    break;
                case PoolTimeline.Kind.RunStart:
                    var run = new Ran { Job = JobName(e.Job), Start = e.Start };
                    open[e.Generation] = run;
                    current?.Add(run);
                    break;
                case PoolTimeline.Kind.Part when open.TryGetValue(e.Generation, out Ran? r):
                    var t = r.Threads.TryGetValue(e.Thread, out var seen) ? seen : (long.MaxValue, 0L);
                    r.Threads[e.Thread] = (Math.Min(t.Item1, e.Start), t.Item2 + e.End - e.Start);
                    break;
                case PoolTimeline.Kind.RunEnd when open.TryGetValue(e.Generation, out Ran? r):
                    r.End = e.End;
                    break;
                case PoolTimeline.Kind.Inline:
                    current?.Add(new Ran { Job = JobName(e.Job), Inline = true, Start = e.Start, End = e.End });
                    break;
            }
        }

        // The usual order of runs; steps that took another are left out.
        string Signature(List<Ran> runs) => string.Join("|", runs.Select(r => r.Job + (r.Inline ? "*" : "")));
        var usual = stepRuns.GroupBy(Signature).OrderByDescending(g => g.Count()).First().Key;
        var kept = Enumerable.Range(0, stepRuns.Count).Where(i => Signature(stepRuns[i]) == usual).ToList();
        static double Us(long ticks) => ticks * 1e6 / Stopwatch.Frequency;
        static double Median(IEnumerable<double> values)
        {
            var sorted = values.OrderBy(v => v).ToArray();
            return sorted.Length == 0 ? double.NaN : sorted[sorted.Length / 2];
        }

        int count = stepRuns[kept[0]].Count;
        double serial = 0, idle = 0;
        for (int j = 0; j < count; j++)
        {
            Ran first = stepRuns[kept[0]][j];
            double gap = Median(kept.Select(i => Us(stepRuns[i][j].Start - (j == 0 ? stepBounds[i].Start : stepRuns[i][j - 1].End))));
            double wall = Median(kept.Select(i => Us(stepRuns[i][j].End - stepRuns[i][j].Start)));
            var json = new Bench.Json().Str("impl", "kiln").Str("work", "step_timeline").Str("model", name).Num("index", j)
                .Str("job", first.Job).Bool("inline", first.Inline).Num("gap_before_us", gap).Num("wall_us", wall);
            serial += gap + (first.Inline ? wall : 0);
            if (!first.Inline)
            {
                var busy = new double[threads];
                for (int t = 0; t < threads; t++)
                {
                    int thread = t;
                    busy[t] = Median(kept.Select(i => stepRuns[i][j].Threads.TryGetValue(thread, out var b) ? Us(b.Busy) : 0));
                    idle += Math.Max(0, wall - busy[t]);
                }
                json.Nums("thread_busy_us", busy);
                if (threads > 1)
                    json.Num("worker_start_us", Median(kept.Select(i => stepRuns[i][j].Threads.TryGetValue(1, out var b) ? Us(b.First - stepRuns[i][j].Start) : double.NaN)
                        .Where(double.IsFinite)));
            }
            Bench.Emit(json);
        }
        double tail = Median(kept.Select(i => Us(stepBounds[i].End - stepRuns[i][count - 1].End)));
        Bench.Emit(new Bench.Json().Str("impl", "kiln").Str("work", "step_timeline_summary").Str("model", name).Num("threads", threads)
            .Num("steps", stepRuns.Count).Num("steps_in_usual_order", kept.Count).Num("events_dropped", timeline.Dropped)
            .Num("step_median_us", Median(kept.Select(i => Us(stepBounds[i].End - stepBounds[i].Start))))
            .Num("caller_alone_us", serial + tail)
            .Num("threads_waiting_in_runs_us", idle));
    }

    private static string JobName(Type? type)
    {
        if (type is null) return "?";
        if (!type.IsGenericType) return type.Name;
        string name = type.Name[..type.Name.IndexOf('`')];
        return name + "<" + string.Join(",", type.GetGenericArguments().Select(JobName)) + ">";
    }
}
