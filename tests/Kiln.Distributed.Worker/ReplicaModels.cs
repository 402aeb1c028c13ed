using Kiln;

namespace Kiln.Distributed.Worker;

// No BatchNormalization: 2 ranks × batch 16 must train as 1 process × batch 32 does.
[Sequential(6)]
[Dense(16, Activation.Tanh)]
[Dense(8, Activation.Relu)]
[Dense(3, Activation.Softmax)]
[Loss(Loss.SparseCategoricalCrossentropy)]
public partial class ReplicaMlp { }

// Per-rank BatchNormalization statistics and dropout: what the resume test replays bitwise.
[Sequential(6)]
[Dense(16, UseBias = false)]
[BatchNormalization]
[Relu]
[Dropout(0.2)]
[Dense(3, Activation.Softmax)]
[Loss(Loss.SparseCategoricalCrossentropy)]
public partial class ReplicaBatchNormNet { }

// Synchronized BatchNormalization on every path the generator has: fused into Conv2D with ReLU,
// standalone (after pooling), fused into Dense with ReLU. 2 ranks × batch 16 must train as
// 1 process × batch 32 of ReplicaPlainBnNet, the same layers with plain BN.
[Sequential(6, 6, 2)]
[Conv2D(4, 3, UseBias = false, Padding = Padding.Same)]
[BatchNormalization(Synchronized = true, Momentum = 0.9)]
[Relu]
[MaxPooling2D]
[BatchNormalization(Synchronized = true, Momentum = 0.8)]
[Flatten]
[Dense(8, UseBias = false)]
[BatchNormalization(Synchronized = true, Momentum = 0.9)]
[Relu]
[Dense(3, Activation.Softmax)]
[Loss(Loss.SparseCategoricalCrossentropy)]
public partial class ReplicaSyncBnNet { }

// ReplicaSyncBnNet with per-rank statistics: the reference in one process, and the run whose weights must differ on two ranks.
[Sequential(6, 6, 2)]
[Conv2D(4, 3, UseBias = false, Padding = Padding.Same)]
[BatchNormalization(Momentum = 0.9)]
[Relu]
[MaxPooling2D]
[BatchNormalization(Momentum = 0.8)]
[Flatten]
[Dense(8, UseBias = false)]
[BatchNormalization(Momentum = 0.9)]
[Relu]
[Dense(3, Activation.Softmax)]
[Loss(Loss.SparseCategoricalCrossentropy)]
public partial class ReplicaPlainBnNet { }

/// <summary>The data every rank and the in-process reference build alike: three classes of 6 features, from a seed.</summary>
public static class ReplicaData
{
    public static Dataset Make(int count, ulong seed)
    {
        var rng = new Rng(seed);
        var x = new float[count * 6];
        var y = new float[count];
        for (int i = 0; i < count; i++)
        {
            int c = rng.NextInt(3);
            y[i] = c;
            for (int j = 0; j < 6; j++) x[i * 6 + j] = rng.NextNormal() + (j % 3 == c ? 1.5f : 0f);
        }
        return new Dataset(x, y, [6], 1);
    }

    /// <summary>Accuracy and the metrics that keep counts over batches, which a distributed Fit sums over the ranks.</summary>
    public static Metric[] StatefulMetrics() =>
    [
        Metric.Accuracy, Metric.Precision(), Metric.Recall(classId: 1), Metric.F1Score(MetricAverage.Macro), Metric.F1Score(name: "f1"),
        Metric.Auc(numThresholds: 50), Metric.MeanIoU(3),
    ];

    /// <summary>6 × 6 images of 2 channels in three classes, from a seed: class c brightens one quadrant of channel c % 2, away from zero mean.</summary>
    public static Dataset Images(int count, ulong seed)
    {
        var rng = new Rng(seed);
        var x = new float[count * 72];
        var y = new float[count];
        for (int i = 0; i < count; i++)
        {
            int c = rng.NextInt(3);
            y[i] = c;
            for (int p = 0; p < 36; p++)
                for (int ch = 0; ch < 2; ch++)
                {
                    bool lit = ch == c % 2 && (p / 6 < 3) == (c < 2) && (p % 6 < 3) == (c != 1);
                    x[i * 72 + p * 2 + ch] = 2f + 0.7f * rng.NextNormal() + (lit ? 1.5f : 0f);
                }
        }
        return new Dataset(x, y, [6, 6, 2], 1);
    }

    /// <summary>The same samples with sample weights 0, 0.5, 1 and 1.5 in turn: a weight of 0 leaves its sample out of the weighted metrics.</summary>
    public static Dataset WeightedWithZeros(Dataset data)
    {
        var w = new float[data.Count];
        for (int i = 0; i < w.Length; i++) w[i] = 0.5f * (i % 4);
        return data.WithSampleWeights(w);
    }

    /// <summary>The same samples with Keras sample weights 0.5, 1 and 1.5 in turn, which shuffle with them.</summary>
    public static Dataset Weighted(Dataset data)
    {
        var w = new float[data.Count];
        for (int i = 0; i < w.Length; i++) w[i] = 0.5f * (1 + i % 3);
        return data.WithSampleWeights(w);
    }
}
