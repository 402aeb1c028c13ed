using System;
using System.Linq;
using Kiln;

namespace Kiln.EndToEnd.Tests;

/// <summary>
/// Plain SGD fused into backward (<see cref="Sgd.FuseIntoBackward"/>): the Dense layers add −lr·g into their
/// weights as backward computes g. A step must train as the separate update does, bit for bit (these batches
/// are one k block deep), leave unfused what must see its gradient (regularized weights, momentum, clipping),
/// and touch no gradient it fused.
/// </summary>
public class SgdInBackwardTests
{
    private const int N = 4;
    private static readonly float[] X = Enumerable.Range(0, N * 6).Select(i => MathF.Sin(i * 0.7f)).ToArray();
    private static readonly float[] Y = [0, 2, 1, 2];

    private static (float[] Parameters, float[] Gradients) Train(Model model, Sgd optimizer, int steps = 5)
    {
        for (int s = 0; s < steps; s++) model.TrainOnBatch(X, Y, N, optimizer);
        return (model.Parameters.Span.ToArray(), model.Gradients.Span.ToArray());
    }

    private static bool Zero(float[] gradients, TensorInfo t) => gradients.AsSpan(t.Offset, t.Length).IndexOfAnyExcept(0f) < 0;

    [Fact]
    public void FusedStepsTrainAsTheSeparateUpdateAndWriteNoGradient()
    {
        // A first step unfused writes every gradient; the fused steps after it must neither overwrite those nor apply them again.
        var model = new PlainMlp(N, seed: 3);
        var sgd = new Sgd(0.1) { FuseIntoBackward = false };
        var (_, written) = Train(model, sgd, steps: 1);
        Assert.All(PlainMlp.Definition.Tensors, t => Assert.False(Zero(written, t), $"{t.Name}: the unfused step's gradient"));
        sgd.FuseIntoBackward = true;
        var (fused, stale) = Train(model, sgd, steps: 4);
        var (separate, _) = Train(new PlainMlp(N, seed: 3), new Sgd(0.1) { FuseIntoBackward = false });
        Assert.Equal(separate, fused);
        Assert.Equal(written, stale);
        Assert.Equal(5, sgd.Iterations);   // a step that backward applied in full still counts (schedules and decay read it)
    }

    [Fact]
    public void RegularizedWeightsKeepTheirGradientAndTheRestFuse()
    {
        var (fused, fusedGradients) = Train(new RegularizedMlp(N, seed: 3), new Sgd(0.1));
        var (separate, _) = Train(new RegularizedMlp(N, seed: 3), new Sgd(0.1) { FuseIntoBackward = false });
        Assert.Equal(separate, fused);
        foreach (var t in RegularizedMlp.Definition.Tensors)
            Assert.Equal(!t.Regularized, Zero(fusedGradients, t));
        Assert.Contains(RegularizedMlp.Definition.Tensors, t => !t.Regularized);
    }

    [Fact]
    public void MomentumClippingAndWeightDecayAreNeverFused()
    {
        foreach (var make in new Func<Sgd>[] { () => new Sgd(0.1, momentum: 0.9), () => new Sgd(0.1, clipValue: 0.5), () => new Sgd(0.1, weightDecay: 0.01), () => new Sgd(0.1, globalClipNorm: 1) })
        {
            var (fusable, gradients) = Train(new PlainMlp(N, seed: 3), make());
            var unfused = make();
            unfused.FuseIntoBackward = false;
            var (separate, _) = Train(new PlainMlp(N, seed: 3), unfused);
            Assert.Equal(separate, fusable);
            Assert.All(PlainMlp.Definition.Tensors, t => Assert.False(Zero(gradients, t), $"{t.Name}: not fused, so written"));
        }
    }

    [Fact]
    public void FitFusesAndLearnsAsTheSeparateUpdate()
    {
        var rng = new Random(5);
        float[] x = Enumerable.Range(0, 64 * 6).Select(_ => (float)rng.NextDouble() - 0.5f).ToArray();
        float[] y = Enumerable.Range(0, 64).Select(i => (float)((x[i * 6] > 0 ? 1 : 0) + (x[i * 6 + 1] > 0 ? 1 : 0))).ToArray();
        float[] Fit(bool fuse)
        {
            var model = new PlainMlp(8, seed: 4);
            model.Fit(new Dataset(x, y, [6], 1), epochs: 3, new Sgd(0.2) { FuseIntoBackward = fuse }, verbose: 0, shuffle: false);
            return model.Parameters.Span.ToArray();
        }
        Assert.Equal(Fit(fuse: false), Fit(fuse: true));
    }
}
