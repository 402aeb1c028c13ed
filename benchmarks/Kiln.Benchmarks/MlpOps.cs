using System;
using System.Diagnostics;
using Kiln.Kernels;

namespace Kiln.Benchmarks;

/// <summary>
/// The Fashion MLP's dense kernels one call at a time (784 → 300 → 100 → 10 with ReLU, the train step's
/// forward and backward calls, each on its own warm buffers): which product a slow phase of <see cref="StepPhases"/>
/// comes from. Stop 40's Intel run read the batch-32 forward at 254 µs for 17 MFLOP on two threads, where
/// Zen 3 takes 159; `portable.sh probe` runs this at both vector widths to say which call and which width.
/// </summary>
internal static class MlpOps
{
    public static void Run(int batch, int threads, bool quick)
    {
        int calls = (quick ? 1 : 3) * (batch >= 256 ? 400 : 2000);
        var rng = new Random(3);
        float[] R(int length, float scale = 1f)
        {
            var a = new float[length];
            for (int i = 0; i < a.Length; i++) a[i] = (rng.NextSingle() - 0.5f) * scale;
            return a;
        }
        float[] x = R(batch * 784), w1 = R(784 * 300, 0.1f), b1 = R(300), w2 = R(300 * 100, 0.1f), b2 = R(100), w3 = R(100 * 10, 0.1f), b3 = R(10);
        float[] y1 = new float[batch * 300], y2 = new float[batch * 100], y3 = new float[batch * 10];
        float[] dw1 = new float[w1.Length], db1 = new float[300], dw2 = new float[w2.Length], db2 = new float[100], dw3 = new float[w3.Length], db3 = new float[10];
        float[] d3 = R(batch * 10), d2 = new float[batch * 100], d1 = new float[batch * 300], d2Source = R(batch * 100), d1Source = R(batch * 300);
        // ReLU masks from real outputs, so the backward calls take the derivative where the forward left zeros.
        Dense.Forward(x, w1, b1, y1, batch, 784, 300, new Relu());
        Dense.Forward(y1, w2, b2, y2, batch, 300, 100, new Relu());
        var json = new Bench.Json().Str("impl", "kiln").Str("work", $"mlp_ops_b{batch}").Num("threads", threads).Num("calls", calls)
            .Str("kernel_choice", KernelChoice.Current.ToString());
        void Time(string name, Action call)
        {
            for (int i = 0; i < 20; i++) call();
            var times = new double[calls];
            for (int i = 0; i < calls; i++)
            {
                long t0 = Stopwatch.GetTimestamp();
                call();
                times[i] = Stopwatch.GetElapsedTime(t0).TotalMicroseconds;
            }
            Array.Sort(times);
            json.Num($"{name}_best_us", times[0]).Num($"{name}_median_us", times[calls / 2]);
        }
        Time("f1_784x300", () => Dense.Forward(x, w1, b1, y1, batch, 784, 300, new Relu()));
        Time("f2_300x100", () => Dense.Forward(y1, w2, b2, y2, batch, 300, 100, new Relu()));
        Time("f3_100x10", () => Dense.Forward(y2, w3, b3, y3, batch, 100, 10, new Identity()));
        Time("b3_dw_db_dx", () => Dense.Backward(y2, w3, default, d3, dw3, db3, d2, batch, 100, 10, new Identity()));
        Time("b2_dw_db_dx", () => { d2Source.CopyTo(d2, 0); Dense.Backward(y1, w2, y2, d2, dw2, db2, d1, batch, 300, 100, new Relu()); });
        Time("b1_dw_db", () => { d1Source.CopyTo(d1, 0); Dense.Backward(x, w1, y1, d1, dw1, db1, Span<float>.Empty, batch, 784, 300, new Relu()); });
        Time("b1_dw_only", () => Gemm.Tn(784, 300, batch, x, 784, d1, 300, dw1, 300));
        Time("b2_dx_only", () => Gemm.Nt(batch, 300, 100, d2, 100, w2, 100, d1, 300));
        Bench.Emit(json);
    }
}
