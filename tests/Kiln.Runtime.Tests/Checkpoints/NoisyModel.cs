using System;
using Kiln;

namespace Kiln.Runtime.Tests.Checkpoints;

/// <summary>
/// A softmax regression that, like a model with dropout and batch normalization, draws from its
/// random stream in training (input noise) and keeps non-trainable state (a moving mean of the
/// inputs, "normalization/moving_mean"): what a training checkpoint must carry to resume bitwise.
/// </summary>
internal sealed class NoisyModel : Model
{
    private readonly int _d, _k;

    public NoisyModel(int inputs, int outputs, int batchSize, int seed)
        : base(Describe(inputs, outputs), batchSize, seed)
    {
        _d = inputs;
        _k = outputs;
        float limit = MathF.Sqrt(6f / (inputs + outputs));
        var kernel = Parameters.Span[..(inputs * outputs)];
        for (int i = 0; i < kernel.Length; i++) kernel[i] = Random.NextFloat(-limit, limit);
    }

    internal static ModelDescription Describe(int d, int k) => new(
        name: "NoisyModel",
        inputShape: [d],
        outputShape: [k],
        loss: Loss.SparseCategoricalCrossentropy,
        fromLogits: false,
        parameterCount: d * k + k,
        stateCount: d,
        arenaFloatsPerSample: d + 2 * k,
        arenaFixedFloats: 0,
        tensors:
        [
            new TensorInfo("dense/kernel", [d, k], 0, true),
            new TensorInfo("dense/bias", [k], d * k, true),
            new TensorInfo("normalization/moving_mean", [d], 0, false),
        ],
        summary: "NoisyModel (test)");

    private Span<float> X(int n) => ArenaSlice(0, n, _d);

    protected override Span<float> OutputBuffer(int n) => ArenaSlice(_d, n, _k);

    protected override Span<float> OutputGradientBuffer(int n) => ArenaSlice(_d + _k, n, _k);

    protected override void ForwardCore(ReadOnlySpan<float> input, int n, bool training)
    {
        var x = X(n);
        input.CopyTo(x);
        if (training)
        {
            var mean = State.Span;
            for (int i = 0; i < _d; i++)
            {
                float m = 0;
                for (int s = 0; s < n; s++) m += x[s * _d + i];
                mean[i] = 0.9f * mean[i] + 0.1f * (m / n);
            }
            for (int i = 0; i < x.Length; i++) x[i] += 0.05f * (Random.NextFloat() - 0.5f);
        }
        var w = Parameters.Span;
        var b = w[(_d * _k)..];
        var y = OutputBuffer(n);
        for (int s = 0; s < n; s++)
        {
            var row = y.Slice(s * _k, _k);
            float max = float.NegativeInfinity;
            for (int j = 0; j < _k; j++)
            {
                float z = b[j];
                for (int i = 0; i < _d; i++) z += x[s * _d + i] * w[i * _k + j];
                row[j] = z;
                max = MathF.Max(max, z);
            }
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
            for (int j = 0; j < _k; j++)
            {
                float t = (int)targets[s] == j ? 1f : 0f;
                float p = y[s * _k + j];
                if (t != 0) loss -= Math.Log(Math.Clamp(p, 1e-7f, 1 - 1e-7f));
                if (gradient) dz[s * _k + j] = (p - t) / n;
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
