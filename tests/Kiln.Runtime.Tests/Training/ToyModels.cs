using System;
using Kiln;

namespace Kiln.Runtime.Tests.Training;

/// <summary>
/// A hand-written stand-in for a generated model: one Dense layer with softmax (sparse or
/// categorical cross-entropy) or linear output (mean squared error), with the loops written out
/// over arena slices as the generator would lay them out. Allocates nothing after construction.
/// </summary>
internal sealed class LinearModel : Model
{
    private readonly int _d, _k;

    public LinearModel(int inputs, int outputs, int batchSize, int seed, Loss loss = Loss.SparseCategoricalCrossentropy)
        : base(Describe(inputs, outputs, loss), batchSize, seed)
    {
        _d = inputs;
        _k = outputs;
        // Glorot-uniform kernel from the model's own random stream, zero bias.
        float limit = MathF.Sqrt(6f / (inputs + outputs));
        var kernel = Parameters.Span[..(inputs * outputs)];
        for (int i = 0; i < kernel.Length; i++) kernel[i] = Random.NextFloat(-limit, limit);
    }

    public int TrainingForwards { get; private set; }
    public int InferenceForwards { get; private set; }

    /// <summary>How many batches of each size ran in training (index = n).</summary>
    public int[] TrainingBatchSizes { get; private set; } = [];

    public void ResetCounters()
    {
        TrainingForwards = InferenceForwards = 0;
        TrainingBatchSizes = new int[BatchSize + 1];
    }

    private bool Softmax => Description.Loss != Loss.MeanSquaredError;

    private static ModelDescription Describe(int d, int k, Loss loss) => new(
        name: "LinearModel",
        inputShape: [d],
        outputShape: [k],
        loss: loss,
        fromLogits: false,
        parameterCount: d * k + k,
        stateCount: 0,
        arenaFloatsPerSample: d + 2 * k, // input copy, outputs, output gradient
        arenaFixedFloats: 0,
        tensors: [new TensorInfo("dense/kernel", [d, k], 0, true), new TensorInfo("dense/bias", [k], d * k, true)],
        summary: "LinearModel (test)");

    private Span<float> X(int n) => ArenaSlice(0, n, _d);

    protected override Span<float> OutputBuffer(int n) => ArenaSlice(_d, n, _k);

    protected override Span<float> OutputGradientBuffer(int n) => ArenaSlice(_d + _k, n, _k);

    protected override void ForwardCore(ReadOnlySpan<float> input, int n, bool training)
    {
        if (training)
        {
            TrainingForwards++;
            if (TrainingBatchSizes.Length > n) TrainingBatchSizes[n]++;
        }
        else InferenceForwards++;
        input.CopyTo(X(n));
        var w = Parameters.Span;
        var b = w[(_d * _k)..];
        var x = X(n);
        var y = OutputBuffer(n);
        for (int s = 0; s < n; s++)
        {
            var row = y.Slice(s * _k, _k);
            for (int j = 0; j < _k; j++)
            {
                float z = b[j];
                for (int i = 0; i < _d; i++) z += x[s * _d + i] * w[i * _k + j];
                row[j] = z;
            }
            if (!Softmax) continue;
            float max = float.NegativeInfinity;
            foreach (float z in row) max = MathF.Max(max, z);
            float sum = 0;
            for (int j = 0; j < _k; j++) sum += row[j] = MathF.Exp(row[j] - max);
            for (int j = 0; j < _k; j++) row[j] /= sum;
        }
    }

    protected override float LossCore(ReadOnlySpan<float> targets, int n, bool gradient)
    {
        var y = OutputBuffer(n);
        var dz = OutputGradientBuffer(n);
        double loss = 0;
        for (int s = 0; s < n; s++)
        {
            for (int j = 0; j < _k; j++)
            {
                float p = y[s * _k + j];
                float t = Description.Loss switch
                {
                    Loss.SparseCategoricalCrossentropy => (int)targets[s] == j ? 1f : 0f,
                    _ => targets[s * _k + j],
                };
                if (Softmax)
                {
                    if (t != 0) loss -= t * Math.Log(Math.Clamp(p, 1e-7f, 1 - 1e-7f));
                    if (gradient) dz[s * _k + j] = (p - t) / n; // softmax fused with cross-entropy
                }
                else
                {
                    loss += (double)(p - t) * (p - t) / _k;
                    if (gradient) dz[s * _k + j] = 2 * (p - t) / (n * _k);
                }
            }
        }
        return (float)(loss / n);
    }

    protected override void BackwardCore(int n, Span<float> inputGradient, bool fromOutputGradient)
    {
        var g = Gradients.Span;
        g.Clear();
        var gb = g[(_d * _k)..];
        var x = X(n);
        var dz = OutputGradientBuffer(n);
        for (int s = 0; s < n; s++)
            for (int j = 0; j < _k; j++)
            {
                float d = dz[s * _k + j];
                gb[j] += d;
                for (int i = 0; i < _d; i++) g[i * _k + j] += x[s * _d + i] * d;
            }
    }
}

/// <summary>Outputs its inputs unchanged, with zero loss: lets a test choose the outputs the metrics see.</summary>
internal sealed class IdentityModel(int size, Loss loss, bool fromLogits = false, int batchSize = 4)
    : Model(new ModelDescription("IdentityModel", [size], [size], loss, fromLogits, 0, 0, size, 0, [], ""), batchSize, 0)
{
    protected override void ForwardCore(ReadOnlySpan<float> input, int n, bool training) => input.CopyTo(OutputBuffer(n));

    protected override float LossCore(ReadOnlySpan<float> targets, int n, bool gradient) => 0f;

    protected override void BackwardCore(int n, Span<float> inputGradient, bool fromOutputGradient) { }

    protected override Span<float> OutputBuffer(int n) => ArenaSlice(0, n, Description.OutputSize);

    protected override Span<float> OutputGradientBuffer(int n) => ArenaSlice(0, n, Description.OutputSize);
}
