using System;
using System.Diagnostics;
using Kiln.Kernels;

namespace Kiln.Benchmarks;

/// <summary>
/// Batch normalization's calls alone at the Fashion ResNet's three shapes (batch 128: 28×28×16, 14×14×32, 7×7×64),
/// microseconds per call, best of the runs after several seconds of calls (the kernels' tiered code settles), and the
/// data each call moves per microsecond: training's forward (statistics, then normalizing; less the inference call,
/// what the statistics cost), and the three backward forms a ResNet's step runs.
/// </summary>
internal static class BatchNormTimes
{
    public static void Run(int runs)
    {
        foreach (var (rows, c) in new[] { (128 * 784, 16), (128 * 196, 32), (128 * 49, 64) })
        {
            float[] x = Data(rows * c, 1, 2f, -0.5f), dy = Data(rows * c, 2, 1f, -0.5f), y = new float[rows * c], dx = new float[rows * c];
            float[] gamma = new float[c], beta = new float[c], movingMean = new float[c], movingVariance = new float[c], saved = new float[2 * c];
            float[] dGamma = new float[c], dBeta = new float[c];
            Array.Fill(gamma, 1f);
            Array.Fill(movingVariance, 1f);
            double mb = rows * c * 4 / 1e6;
            void Row(string pass, double streams, Action call)
            {
                double best = Best(call, runs);
                Bench.Emit(new Bench.Json().Str("impl", "kiln").Str("work", "batchnorm_" + pass).Num("rows", rows).Num("channels", c)
                    .Num("best_us", best).Num("mb_per_ms", streams * mb * 1e3 / best));
            }
            Row("forward_training", 3, () => BatchNorm.ForwardTraining(x, y, gamma, beta, movingMean, movingVariance, saved, rows, c, 0.99f, 1e-3f, new Relu()));
            Row("forward_inference", 2, () => BatchNorm.ForwardInference(x, y, gamma, beta, movingMean, movingVariance, rows, c, 1e-3f, new Relu()));
            BatchNorm.ForwardTraining(x, y, gamma, beta, movingMean, movingVariance, saved, rows, c, 0.99f, 1e-3f, new Relu());
            Row("backward_identity", 5, () => BatchNorm.Backward(x, default, dy, gamma, saved, dGamma, dBeta, dx, rows, c, new Identity()));
            Row("backward_relu_from_output", 8, () => BatchNorm.Backward(x, y, dy, gamma, saved, dGamma, dBeta, dx, rows, c, new Relu()));
            Row("backward_relu_from_input", 5, () => BatchNorm.BackwardFromInput(x, dy, gamma, beta, saved, dGamma, dBeta, dx, rows, c, new Relu()));
        }
    }

    private static float[] Data(int length, int seed, float scale, float offset)
    {
        var rng = new Random(seed);
        var a = new float[length];
        for (int i = 0; i < a.Length; i++) a[i] = rng.NextSingle() * scale + offset;
        return a;
    }

    private static double Best(Action call, int runs)
    {
        var warm = Stopwatch.StartNew();
        while (warm.Elapsed.TotalSeconds < 1.5) call();
        double best = double.MaxValue;
        for (int r = 0; r < runs; r++)
        {
            var sw = Stopwatch.StartNew();
            for (int i = 0; i < 50; i++) call();
            best = Math.Min(best, sw.Elapsed.TotalMilliseconds * 1000 / 50);
        }
        return best;
    }
}
