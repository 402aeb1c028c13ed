using System;

namespace Kiln;

/// <summary>
/// A metric of <see cref="Model.WeightedMetrics"/> (Keras' <c>compile(weighted_metrics=[...])</c>): the
/// sample-weighted mean of the inner metric's per-sample values, Σ wᵢ·vᵢ / Σ wᵢ over the epoch or the
/// evaluation (Keras' <c>Mean.update_state(values, sample_weight)</c>), with the batch's sample
/// weights, or the class weights turned into them. Without weights every wᵢ is 1 and the value is
/// the unweighted one. Named as Keras 3's <c>CompileMetrics.result</c> names it: the inner name, or
/// <c>weighted_</c> before it (after the output's name) when an unweighted metric already has that name.
/// </summary>
internal sealed class WeightedMetric : Metric
{
    public WeightedMetric(Metric inner, string name) : base(name) => Inner = inner;

    public Metric Inner { get; }

    internal override bool IsWeighted => true;

    /// <summary>Unweighted use (every weight 1): the inner metric's sum.</summary>
    public override double Sum(ReadOnlySpan<float> outputs, ReadOnlySpan<float> targets, int n, int outputSize, int targetSize) =>
        Inner.Sum(outputs, targets, n, outputSize, targetSize);

    /// <summary>Σ wᵢ·vᵢ: each sample's value from the inner metric on that sample alone, times its weight.</summary>
    internal override double WeightedSum(ReadOnlySpan<float> outputs, ReadOnlySpan<float> targets, ReadOnlySpan<float> weights, int n, int outputSize, int targetSize)
    {
        if (weights.IsEmpty) return Inner.Sum(outputs, targets, n, outputSize, targetSize);
        double sum = 0;
        for (int i = 0; i < n; i++)
        {
            float w = weights[i];
            if (w == 0) continue; // a sample weighted 0 counts for nothing, even with a NaN output
            sum += w * Inner.Sum(outputs.Slice(i * outputSize, outputSize), targets.Slice(i * targetSize, targetSize), 1, outputSize, targetSize);
        }
        return sum;
    }

    /// <summary>Σ wᵢ of a batch: the weighted mean's denominator (n when every weight is 1).</summary>
    internal static double WeightTotal(ReadOnlySpan<float> weights, int n)
    {
        if (weights.IsEmpty) return n;
        double total = 0;
        for (int i = 0; i < n; i++) total += weights[i];
        return total;
    }
}
