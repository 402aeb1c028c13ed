using System;
using System.Linq;
using Kiln;

namespace Kiln.EndToEnd.Tests;

// Keras 3's exclude_from_weight_decay on a generated model's own names: Dense + BatchNormalization
// + Dense, AdamW-style decay on the kernels only. Keras' _apply_weight_decay: w -= w * wd * lr.
public class WeightDecayTests
{
    [Fact]
    public void ExclusionsMatchTheGeneratedNamesAndOnlyKernelsDecay()
    {
        const double lr = 0.05, wd = 0.3;
        var trained = new DenseBnRelu(batchSize: 4);
        var byHand = new DenseBnRelu(batchSize: 4);
        var rng = new Rng(11);
        float[] x = new float[4 * trained.InputSize], y = new float[4 * trained.TargetSize];
        for (int i = 0; i < x.Length; i++) x[i] = rng.NextNormal();
        for (int i = 0; i < y.Length; i++) y[i] = rng.NextNormal();

        var sgd = new Sgd(lr, weightDecay: wd);
        sgd.ExcludeFromWeightDecay("batch_normalization", "bias");
        trained.TrainOnBatch(x, y, 4, sgd);
        Assert.Equal(trained.Description.Tensors.Where(t => t.Trainable).Select(t => t.Name).ToArray(), sgd.VariableNames);
        Assert.Equal(["dense/kernel", "dense_1/kernel"], sgd.VariableNames.Where(sgd.UsesWeightDecay).ToArray());

        byHand.Forward(x, 4, training: true);
        byHand.ComputeLoss(y, 4, gradient: true);
        byHand.Backward(4);
        foreach (var t in byHand.Description.Tensors.Where(t => t.Trainable))
        {
            var w = byHand.Parameters.Span.Slice(t.Offset, t.Length);
            var g = byHand.Gradients.Span.Slice(t.Offset, t.Length);
            var actual = trained.Tensor(t.Name);
            bool decayed = t.Name.EndsWith("/kernel", StringComparison.Ordinal);
            for (int i = 0; i < w.Length; i++)
            {
                double expected = (decayed ? w[i] - w[i] * wd * lr : w[i]) - lr * g[i];
                Assert.True(Math.Abs(expected - actual[i]) <= 1e-6, $"{t.Name}[{i}]: expected {expected}, got {actual[i]}");
            }
        }
    }
}
