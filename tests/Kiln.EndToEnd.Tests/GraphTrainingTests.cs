using System;
using Kiln;

namespace Kiln.EndToEnd.Tests;

/// <summary>Training a graph model (TinyResNet: identity and projection shortcuts, BN, fan-out) through the generated code.</summary>
[Collection(nameof(Serial))]
public sealed class GraphTrainingTests
{
    private const int Classes = 3;

    /// <summary>Learnable 4x4 images: class c brightens its own row band (rows c and c + 1 for c = 0, 1, 2), plus noise.</summary>
    private static (float[] X, float[] Y) Images(int count, int seed)
    {
        var rng = new Random(seed);
        var x = new float[count * 16];
        var y = new float[count];
        for (int s = 0; s < count; s++)
        {
            int c = rng.Next(Classes);
            y[s] = c;
            for (int i = 0; i < 16; i++)
            {
                int row = i / 4;
                x[s * 16 + i] = (float)(rng.NextDouble() - 0.5) + (row == c || row == c + 1 ? 1.5f : 0f);
            }
        }
        return (x, y);
    }

    [Fact]
    public void TinyResNetTrainOnBatchAllocatesNothingAfterWarmUp()
    {
        const int batch = 16, shortBatch = 11;
        var model = new TinyResNet(batch, seed: 1);
        var optimizer = new Adam(1e-3f);
        var (x, y) = Images(batch, 7);
        var dx = new float[x.Length];
        var destination = new float[batch * Classes];

        // Warm-up: JIT past tiering, the optimizer state, the pool and the per-thread convolution scratch.
        WarmUp.Run(() =>
        {
            model.TrainOnBatch(x, y, batch, optimizer);
            model.TrainOnBatch(x.AsSpan(0, shortBatch * 16), y.AsSpan(0, shortBatch), shortBatch, optimizer);
            model.Predict(x, batch, destination); // inference: BN on moving statistics, folded weights
            model.Forward(x, batch, training: true);
            model.ComputeLoss(y, batch, gradient: true);
            model.Backward(batch, dx); // with the input gradient too
        }, calls: 20);

        float loss = 0;
        var (allocated, workers) = WarmUp.Allocations(() =>
        {
            loss = 0;
            for (int i = 0; i < 10; i++)
            {
                loss += model.TrainOnBatch(x, y, batch, optimizer);
                if (i % 3 == 0)
                {
                    model.TrainOnBatch(x.AsSpan(0, shortBatch * 16), y.AsSpan(0, shortBatch), shortBatch, optimizer);
                    model.Predict(x, batch, destination);
                    model.Forward(x, batch, training: true);
                    model.ComputeLoss(y, batch, gradient: true);
                    model.Backward(batch, dx);
                }
            }
        });

        Assert.True(float.IsFinite(loss) && loss > 0, $"loss {loss}");
        Assert.Equal(0, allocated);
        Assert.Equal(0, workers);
    }

    /// <summary>Several inputs and several outputs: the packing steps, the weighted losses and the per-head seeds allocate nothing either.</summary>
    [Fact]
    public void SeveralInputsAndOutputsTrainOnBatchAllocatesNothingAfterWarmUp()
    {
        const int batch = 8;
        var rng = new Random(3);
        var twoInputs = new TwoInputs(batch, seed: 1);
        var twoHeads = new TwoHeads(batch, seed: 1);
        var optimizer1 = new Adam(1e-3f);
        var optimizer2 = new Adam(1e-3f);
        var x1 = new float[batch * twoInputs.InputSize];
        var y1 = new float[batch];
        var x2 = new float[batch * twoHeads.InputSize];
        var y2 = new float[batch * 2];
        for (int i = 0; i < x1.Length; i++) x1[i] = (float)rng.NextDouble();
        for (int i = 0; i < x2.Length; i++) x2[i] = (float)rng.NextDouble();
        for (int s = 0; s < batch; s++)
        {
            y1[s] = s % 3;
            y2[2 * s] = s % 3;
            y2[2 * s + 1] = (float)rng.NextDouble();
        }
        var dx = new float[x1.Length];
        void Step()
        {
            twoInputs.TrainOnBatch(x1, y1, batch, optimizer1);
            twoInputs.Forward(x1, batch, training: true);
            twoInputs.ComputeLoss(y1, batch, gradient: true);
            twoInputs.Backward(batch, dx);
            twoHeads.TrainOnBatch(x2, y2, batch, optimizer2);
            twoHeads.Forward(x2, batch, training: true);
            twoHeads.OutputGradient(batch).Fill(0.1f);
            twoHeads.BackwardFromOutputGradient(batch);
        }
        WarmUp.Run(Step, calls: 20);
        var (allocated, workers) = WarmUp.Allocations(() =>
        {
            for (int i = 0; i < 10; i++) Step();
        });
        Assert.Equal(0, allocated);
        Assert.Equal(0, workers);
    }

    [Fact]
    public void TinyResNetFitLowersTheLossAndLearnsTheTask()
    {
        var (x, y) = Images(384, 11);
        var train = new Dataset(x, y, [4, 4, 1], 1);
        var (tx, ty) = Images(192, 12);
        var test = new Dataset(tx, ty, [4, 4, 1], 1);

        var model = new TinyResNet(batchSize: 32, seed: 3);
        float before = model.Evaluate(test).Accuracy;
        var history = model.Fit(train, epochs: 8, new Adam(1e-2f), verbose: 0);

        var loss = history["loss"];
        Assert.Equal(8, loss.Count);
        Assert.All(loss, l => Assert.True(double.IsFinite(l), $"loss {l}"));
        Assert.True(loss[^1] < 0.6 * loss[0], $"loss went from {loss[0]:G4} to {loss[^1]:G4} in 8 epochs ({string.Join(", ", loss)})");
        var result = model.Evaluate(test);
        Assert.True(result.Accuracy > 0.8f, $"test accuracy {result.Accuracy} (before training {before}); losses {string.Join(", ", loss)}");
    }
}
