using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Diagnostics.Tracing;
using Kiln.Samples.FashionMnist;
using Kiln.Samples.FashionMnistCnn;

namespace Kiln.Benchmarks;

/// <summary>
/// Which vector helpers in Kiln's kernels the JIT declined to inline because of a limit of the method being compiled ("too many
/// locals": 512 at most; "inline exceeds budget"), from the runtime's inlining-failure events while the MLP, the Fashion CNN,
/// the CIFAR net and the ResNet train and predict for a few seconds each, and the GAN's 5×5 convolutions run. A vector
/// helper left a call passes its operands through memory, and nothing in the output shows it: the 8-lane pooled Winograd
/// output transform ran 1.19× faster once its helpers were inlined (benchmarks/README.md, stop 57).
/// Run the group alone (`--only inlining`): methods another group already compiled are not compiled again. Run it with
/// DOTNET_EnableAVX512=0 as well for the 256-bit path. A listed call may sit in a branch the width never takes (Merge's
/// Vector512 loop when the runtime has no AVX-512): the JIT compiles such branches all the same.
/// </summary>
internal static class InliningReport
{
    public static void Run()
    {
        using var listener = new Listener();
        var mlp = new FashionMlp(batchSize: 32, seed: 1);
        var cnn = new FashionCnn(batchSize: 64, seed: 1);
        var cifar = new BenchCifarNet(batchSize: 64, seed: 1);
        var resnet = new Kiln.Samples.FashionMnistResNet.FashionResNet(batchSize: 32, seed: 1);
        // Long enough for the tiered methods to reach tier 1 (30 calls, then a 100 ms delay): tier 0 inlines nothing.
        foreach (var (model, batch) in new (Model, int)[] { (mlp, 32), (cnn, 64), (cifar, 64), (resnet, 32) })
        {
            var (inputs, targets) = Bench.MakeData(batch, model.InputSize, seed: 3);
            var optimizer = new Adam(1e-3f);
            var output = new float[batch * model.OutputSize];
            for (var clock = Stopwatch.StartNew(); clock.Elapsed.TotalSeconds < 2;)
            {
                model.TrainOnBatch(inputs.AsSpan(0, batch * model.InputSize), targets.AsSpan(0, batch), batch, optimizer);
                model.Predict(inputs.AsSpan(0, batch * model.InputSize), batch, output);
            }
        }
        var single = new FashionMlp(batchSize: 1, seed: 1);
        var x = new float[single.InputSize];
        var y = new float[single.OutputSize];
        for (var clock = Stopwatch.StartNew(); clock.Elapsed.TotalSeconds < 1;) single.Predict(x, 1, y);
        // The GAN's 5×5 layers, by both Winograd tiles (their timing lines print too).
        foreach (int tile in new[] { 2, 4 }) Bench.FiveByFive(batch: 8, size: 16, inChannels: 32, filters: 64, runs: 1, tile);
        listener.Report();
    }

    private sealed class Listener : EventListener
    {
        private readonly HashSet<string> _seen = new();
        private readonly object _gate = new();

        protected override void OnEventSourceCreated(EventSource source)
        {
            // Keyword 0x1000: the JIT's tracing events (MethodJitInliningFailed among them).
            if (source.Name == "Microsoft-Windows-DotNETRuntime") EnableEvents(source, EventLevel.Verbose, (EventKeywords)0x1000);
        }

        protected override void OnEventWritten(EventWrittenEventArgs e)
        {
            if (e.EventName is null || !e.EventName.StartsWith("MethodJitInliningFailed", StringComparison.Ordinal) || e.Payload is null) return;
            string Get(string name) => e.PayloadNames!.IndexOf(name) is int i and >= 0 ? e.Payload[i]?.ToString() ?? "" : "";
            string reason = Get("FailReason");
            if (!reason.Contains("locals", StringComparison.Ordinal) && !reason.Contains("budget", StringComparison.Ordinal)) return;
            string root = Get("MethodBeingCompiledNamespace") + "." + Get("MethodBeingCompiledName");
            string inlinee = Get("InlineeNamespace") + "." + Get("InlineeName");
            // Vector helpers only (their signatures pass vectors or lanes): a cold check or a pool call left uninlined costs nothing.
            string signature = Get("InlineeNameSignature");
            bool vectors = inlinee.StartsWith("System.Runtime.Intrinsics", StringComparison.Ordinal)
                || signature.Contains("Vector", StringComparison.Ordinal) || signature.Contains("Lanes", StringComparison.Ordinal);
            if (!root.StartsWith("Kiln.Kernels", StringComparison.Ordinal) || !vectors) return;
            lock (_gate) _seen.Add($"{root}\t{inlinee}\t{reason}");
        }

        public void Report()
        {
            // Events arrive on the runtime's dispatch thread a little after the compile.
            System.Threading.Thread.Sleep(1500);
            List<string> lines;
            lock (_gate) lines = new List<string>(_seen);
            lines.Sort(StringComparer.Ordinal);
            foreach (string line in lines)
            {
                string[] f = line.Split('\t');
                Bench.Emit(new Bench.Json().Str("impl", "kiln").Str("work", "inlining_failure").Str("method", f[0])
                    .Str("callee", f[1]).Str("reason", f[2]));
            }
            Bench.Emit(new Bench.Json().Str("impl", "kiln").Str("work", "inlining_failures").Num("count", lines.Count));
        }
    }
}
