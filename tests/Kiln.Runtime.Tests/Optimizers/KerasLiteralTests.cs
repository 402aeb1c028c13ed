using System;
using System.Collections.Generic;
using Kiln;
using Kiln.Runtime.Tests.Training;

namespace Kiln.Runtime.Tests.Optimizers;

// A Keras user types 0.01, not 0.01f: every hyperparameter a Keras call takes as a literal
// accepts a double, and means exactly what the float spelling meant (stored as the same float).
public class KerasLiteralTests
{
    private static float[] Train(Optimizer optimizer)
    {
        float[] w = [1f, -2f, 0.5f, 3f];
        float[] g = [0.1f, -0.2f, 0.3f, -0.05f];
        for (int i = 0; i < 5; i++) optimizer.Step(w, g);
        return w;
    }

    [Fact]
    public void OptimizersTakeDoubleLiteralsAndUpdateAsWithFloats()
    {
        Assert.Equal(Train(new Sgd(0.01f, momentum: 0.9f, nesterov: true, decay: 1e-3f)), Train(new Sgd(0.01, momentum: 0.9, nesterov: true, decay: 1e-3)));
        Assert.Equal(Train(new Adam(1e-3f, beta1: 0.5f, beta2: 0.99f, epsilon: 1e-8f)), Train(new Adam(1e-3, beta1: 0.5, beta2: 0.99, epsilon: 1e-8)));
        Assert.Equal(Train(new RmsProp(8e-4f, rho: 0.95f, clipValue: 0.15f, decay: 1e-8f)), Train(new RmsProp(8e-4, rho: 0.95, clipValue: 0.15, decay: 1e-8)));
        var adam = new Adam(0.001);
        Assert.Equal((0.001f, 0.9f, 0.999f, 1e-7f), (adam.LearningRate, adam.Beta1, adam.Beta2, adam.Epsilon));
        // docs/optimizers.md's example, as written there.
        var documented = new AdamW(new CosineDecay(1e-3, decaySteps: 10_000, warmupTarget: 3e-3, warmupSteps: 500),
                                   weightDecay: 0.01, globalClipNorm: 1.0);
        documented.ExcludeFromWeightDecay("bias", "batch_normalization");
        Assert.Equal((0.01f, 1f), (documented.WeightDecay, documented.GlobalClipNorm));
    }

    [Fact]
    public void SchedulesTakeDoubleLiterals()
    {
        var pairs = new (LearningRateSchedule Double, LearningRateSchedule Float)[]
        {
            (new CosineDecay(0.1, 100, alpha: 0.01, warmupTarget: 0.2, warmupSteps: 10), new CosineDecay(0.1f, 100, alpha: 0.01f, warmupTarget: 0.2f, warmupSteps: 10)),
            (new ExponentialDecay(0.1, 10, 0.96), new ExponentialDecay(0.1f, 10, 0.96f)),
            (new InverseTimeDecay(0.1, 10, 0.5, staircase: true), new InverseTimeDecay(0.1f, 10, 0.5f, staircase: true)),
            (new PolynomialDecay(0.1, 10, endLearningRate: 0.001, power: 0.5, cycle: true), new PolynomialDecay(0.1f, 10, 0.001f, 0.5f, true)),
            (new CosineDecayRestarts(0.1, 10, tMul: 1.5, mMul: 0.9, alpha: 0.01), new CosineDecayRestarts(0.1f, 10, 1.5f, 0.9f, 0.01f)),
        };
        foreach (var (d, f) in pairs)
            foreach (long step in new long[] { 0, 5, 10, 37, 200 })
                Assert.Equal(f.Rate(step), d.Rate(step));
        Assert.Equal(Train(new Sgd(new CosineDecay(0.1f, 3), momentum: 0.5f)), Train(new Sgd(new CosineDecay(0.1, 3), momentum: 0.5)));
    }

    [Fact]
    public void CallbacksTakeDoubleLiterals()
    {
        var plateau = new ReduceLROnPlateau(factor: 0.5, minLearningRate: 1e-5);
        Assert.Equal((0.5f, 1e-5f), (plateau.Factor, plateau.MinLearningRate));

        // Keras: LearningRateScheduler(lambda epoch, lr: lr if epoch < 2 else lr * 0.5)
        var optimizer = new Sgd(0.1);
        var seen = new List<float>();
        var scheduler = new LearningRateScheduler((epoch, lr) => epoch < 2 ? lr : lr * 0.5);
        var probe = new LambdaCallback { OnEpochBegin = (_, c) => seen.Add(c.Optimizer.LearningRate) };
        new LinearModel(4, 3, 10, 1).Fit(FitTests.Blobs(20, 1), 4, optimizer, verbose: 0, callbacks: [scheduler, probe]);
        Assert.Equal([0.1f, 0.1f, 0.05f, 0.025f], seen);
    }

    [Fact]
    public void DataAndMetricArgumentsTakeDoubleLiterals()
    {
        Assert.Equal(1 / 255f, new Rescale(1 / 255.0).Factor);
        var scaler = new MinMaxScaler(-1, 0.5);
        Assert.Equal((-1f, 0.5f), (scaler.RangeMin, scaler.RangeMax));
        Assert.Equal(1 / 255.0, new ImageFolderOptions { Rescale = 1 / 255.0 }.Rescale);
        float[] outputs = [0.65f, 0.72f], targets = [0f, 1f];
        Assert.Equal(2, Metric.BinaryAccuracy(0.7).Sum(outputs, targets, 2, 1, 1));
    }
}
