using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;

namespace Kiln.Benchmarks;

/// <summary>
/// Where an inference forward pass spends its time, kernel by kernel: the pass reports each
/// kernel's output the moment it is written (<see cref="ILayerOutputObserver"/>, as TensorBoard's
/// activation histograms read it), so the time between two reports is the kernel in between.
/// Finds which layer to work on before a whole-model ratio is chased (issue 15). An observed pass
/// writes every kernel's output, so a convolution that does the max pooling after it in its store in
/// plain inference (FusionPlan.PoolsInStore) is timed here as the two kernels; --only convpool
/// measures the fused call.
/// </summary>
internal sealed class LayerTimes : ILayerOutputObserver
{
    private readonly List<(string Layer, long Ticks)> _times = new();
    private int _next;
    private long _last;

    public void OnLayerOutput(string layer, ReadOnlySpan<float> output)
    {
        long now = Stopwatch.GetTimestamp();
        if (_next == _times.Count) _times.Add((layer, 0));
        _times[_next] = (layer, _times[_next].Ticks + now - _last);
        _next++;
        _last = now;
    }

    /// <summary>Prints one JSON line per kernel: its mean milliseconds over <paramref name="passes"/> forward passes of <paramref name="n"/> samples.</summary>
    public static void Measure(string work, Model model, int n, int passes)
    {
        var input = new float[n * model.InputSize];
        var random = new Random(1);
        for (int i = 0; i < input.Length; i++) input[i] = (float)random.NextDouble();
        var timer = new LayerTimes();
        for (int i = 0; i < 20; i++) timer.Pass(model, input, n);
        timer._times.Clear();
        long start = Stopwatch.GetTimestamp();
        for (int i = 0; i < passes; i++) timer.Pass(model, input, n);
        double total = Stopwatch.GetElapsedTime(start).TotalMilliseconds / passes;
        Console.WriteLine(FormattableString.Invariant($"{{\"impl\": \"kiln\", \"work\": \"{work}\", \"layer\": \"(whole pass)\", \"threads\": {KilnSettings.Threads}, \"ms\": {total:F4}}}"));
        foreach (var (layer, ticks) in timer._times)
            Console.WriteLine(FormattableString.Invariant(
                $"{{\"impl\": \"kiln\", \"work\": \"{work}\", \"layer\": \"{layer}\", \"threads\": {KilnSettings.Threads}, \"ms\": {ticks * 1000.0 / Stopwatch.Frequency / passes:F4}}}"));
    }

    private void Pass(Model model, float[] input, int n)
    {
        _next = 0;
        _last = Stopwatch.GetTimestamp();
        model.Forward(input, n, this);
    }
}
