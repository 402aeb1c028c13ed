using System;
using System.Collections.Generic;
using System.Diagnostics;
using Kiln.Kernels;

namespace Kiln.Benchmarks;

/// <summary>
/// The kernel gradient of layers on few input channels (a first layer's), by the tap blocks
/// (<c>ConvCore.TapBlocks</c> on) and by the path before them (off: the packed GEMM, or below 16 patch values the
/// outer products two pixels at a time), alternated in 0.2 s windows within one process; each row gives both medians and
/// the median of the windows' ratios. Batch 64, random data; the result of the two paths is compared (relative to
/// 1e-2 + |value|, since the sums of 50,000 products near zero keep few digits).
/// </summary>
internal static unsafe class FirstLayerGradient
{
    public static void Run(double seconds)
    {
        // (size, channels, filters, window, stride): the Fashion ResNet's stem, the Fashion CNN's first layer (which its
        // pooled backward replaces while BatchNorm and pooling follow it), the CIFAR net's, a discriminator's 5 × 5
        // stride-2 layer, two channels, a 7 × 7 stride-2 stem on RGB.
        var layers = new[] { (28, 1, 16, 3, 1), (28, 1, 32, 3, 1), (32, 3, 64, 3, 1), (28, 1, 64, 5, 2), (28, 2, 32, 3, 1), (64, 3, 64, 7, 2) };
        foreach (var (size, c, f, k, s) in layers)
        {
            const int n = 64;
            int pad = k / 2, o = (size + 2 * pad - k) / s + 1;
            var g = new Conv2DGeometry(size, size, c, o, o, f, k, k, s, s, pad, pad);
            var rng = new Random(5);
            var x = Bench.Uniform(rng, n * g.InputSize);
            var dz = Bench.Uniform(rng, n * g.OutputSize);
            var before = new float[g.PatchSize * f];
            var after = new float[g.PatchSize * f];
            double flops = 2.0 * n * o * o * g.PatchSize * f;
            fixed (float* px = x, pdz = dz, pb = before, pa = after)
            {
                float* xp = px, dzp = pdz, bp = pb, ap = pa;
                double Window(bool tapBlocks)
                {
                    ConvCore.TapBlocks = tapBlocks;
                    var times = new List<double>();
                    var clock = Stopwatch.StartNew();
                    while (clock.Elapsed.TotalSeconds < 0.2)
                    {
                        long t0 = Stopwatch.GetTimestamp();
                        ConvCore.BackwardKernel(xp, dzp, tapBlocks ? ap : bp, n, g);
                        times.Add(Stopwatch.GetElapsedTime(t0).TotalSeconds);
                    }
                    times.Sort();
                    return times[times.Count / 2];
                }
                for (int i = 0; i < 3; i++) { Window(false); Window(true); }
                var (off, on) = Paired.Alternate(() => Window(false), () => Window(true), seconds);
                var ratios = new List<double>();
                for (int i = 0; i < off.Count; i++) ratios.Add(off[i] / on[i]);
                ConvCore.TapBlocks = true;
                double difference = 0;
                for (int i = 0; i < before.Length; i++)
                    difference = Math.Max(difference, Math.Abs(before[i] - after[i]) / (1e-2 + Math.Abs(before[i])));
                off.Sort(); on.Sort(); ratios.Sort();
                Bench.Emit(new Bench.Json()
                    .Str("impl", "kiln")
                    .Str("work", $"kernel_gradient_{size}x{size}x{c}_to{f}_k{k}s{s}_b{n}")
                    .Num("patch", g.PatchSize)
                    .Num("before_us", off[off.Count / 2] * 1e6)
                    .Num("tap_blocks_us", on[on.Count / 2] * 1e6)
                    .Num("before_gflops", flops / off[off.Count / 2] / 1e9)
                    .Num("tap_blocks_gflops", flops / on[on.Count / 2] / 1e9)
                    .Num("speedup_median", ratios[ratios.Count / 2])
                    .Num("speedup_q1", ratios[ratios.Count / 4])
                    .Num("speedup_q3", ratios[ratios.Count * 3 / 4])
                    .Num("max_relative_difference", difference));
            }
        }
    }
}
