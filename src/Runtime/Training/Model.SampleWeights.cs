using System;

namespace Kiln;

/// <summary>
/// Keras' <c>sample_weight</c> inside the loss: the weights of the batch being scored, copied into a
/// buffer of the batch size allocated with the model, which the generated <c>LossCore</c> hands to
/// the loss kernels through <see cref="SampleWeights"/>. Allocates nothing per step.
/// </summary>
public abstract partial class Model
{
    private readonly float[] _sampleWeights;
    private bool _weighted; // true only while LossCore runs on weighted samples

    /// <summary>
    /// The weights of the <paramref name="n"/> samples the loss is scoring, or an empty span when
    /// they are all 1 (the kernels then take their unweighted path). Read by the generated loss.
    /// </summary>
    [System.ComponentModel.EditorBrowsable(System.ComponentModel.EditorBrowsableState.Never)]
    protected ReadOnlySpan<float> SampleWeights(int n) => _weighted ? _sampleWeights.AsSpan(0, n) : default;

    /// <summary>The generated loss over <paramref name="sampleWeights"/> (already checked), plus the regularization penalty.</summary>
    private float WeightedLoss(ReadOnlySpan<float> targets, int n, bool gradient, ReadOnlySpan<float> sampleWeights)
    {
        float loss;
        if (sampleWeights.IsEmpty)
        {
            loss = LossCore(targets, n, gradient);
        }
        else
        {
            sampleWeights.CopyTo(_sampleWeights);
            _weighted = true;
            try { loss = LossCore(targets, n, gradient); }
            finally { _weighted = false; }
        }
        return _regularized.Length == 0 || !Trainable ? loss : loss + (float)RegularizationLoss();
    }

    /// <summary>Length n, each weight finite and ≥ 0; an empty span means all ones.</summary>
    private void CheckSampleWeights(ReadOnlySpan<float> sampleWeights, int n)
    {
        if (sampleWeights.IsEmpty) return;
        if (sampleWeights.Length != n)
            throw new ArgumentException($"{Description.Name}: {sampleWeights.Length} sample weights for a batch of {n} samples; give one per sample.", nameof(sampleWeights));
        int bad = FirstBadWeight(sampleWeights);
        if (bad >= 0)
            throw new ArgumentException($"{Description.Name}: sample weight {bad} is {sampleWeights[bad]}; sample weights must be finite and ≥ 0.", nameof(sampleWeights));
    }

    /// <summary>Index of the first negative, NaN or infinite weight, or −1.</summary>
    internal static int FirstBadWeight(ReadOnlySpan<float> weights)
    {
        for (int i = 0; i < weights.Length; i++)
            if (!(weights[i] >= 0 && weights[i] <= float.MaxValue)) return i;
        return -1;
    }
}
