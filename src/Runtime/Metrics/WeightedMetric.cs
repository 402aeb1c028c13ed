using System;

namespace Kiln;

/// <summary>
/// A metric of <see cref="Model.WeightedMetrics"/> (Keras' <c>compile(weighted_metrics=[...])</c>), with
/// the batch's sample weights, or the class weights turned into them; without weights every wᵢ is 1
/// and the value is the unweighted one. A mean of per-sample values (accuracy, mae) becomes the
/// sample-weighted mean Σ wᵢ·vᵢ / Σ wᵢ over the epoch or the evaluation (Keras'
/// <c>Mean.update_state(values, sample_weight)</c>); a metric that keeps counts (precision, AUC, mean
/// IoU, F-scores) adds each sample's counts times its weight (Keras' <c>update_state(..., sample_weight)</c>)
/// and reports its result over those weighted counts. Named as Keras 3's <c>CompileMetrics.result</c>
/// names it: the inner name, or <c>weighted_</c> before it (after the output's name) when an
/// unweighted metric already has that name.
/// </summary>
internal sealed class WeightedMetric : Metric
{
    public WeightedMetric(Metric inner, string name) : base(name) => Inner = inner;

    public Metric Inner { get; }

    internal override bool IsWeighted => true;

    /// <summary>Unweighted use (every weight 1): the inner metric's sum, or its unweighted update.</summary>
    public override double Sum(ReadOnlySpan<float> outputs, ReadOnlySpan<float> targets, int n, int outputSize, int targetSize) =>
        Inner.Sum(outputs, targets, n, outputSize, targetSize);

    /// <summary>
    /// Σ wᵢ·vᵢ: each sample's value from the inner metric on that sample alone, times its weight; or,
    /// for a metric that keeps counts, its update with the weights (returning 0: its value is its result).
    /// </summary>
    internal override double WeightedSum(ReadOnlySpan<float> outputs, ReadOnlySpan<float> targets, ReadOnlySpan<float> weights, int n, int outputSize, int targetSize)
    {
        if (Inner.IsStateful)
        {
            Inner.WeightedUpdate(outputs, targets, weights, n, outputSize, targetSize);
            return 0;
        }
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

    /// <summary>Another model's weighted metric set on this one: the inner metric resolved afresh (its own counts), still weighted.</summary>
    internal override Metric Resolve(ModelDescription model) => new WeightedMetric(Inner.Resolve(model), Name);

    // A metric that keeps counts keeps them in the inner metric: reset, result and the sum over ranks are its.
    internal override bool IsStateful => Inner.IsStateful;

    internal override bool WeighsSamples => Inner.WeighsSamples;

    internal override void ResetState() => Inner.ResetState();

    internal override double StateResult() => Inner.StateResult();

    internal override bool SumsOverRanks => Inner.SumsOverRanks;

    internal override void StateSumOverRanks(ICommunicator communicator) => Inner.StateSumOverRanks(communicator);

    internal override int ClassColumns => Inner.ClassColumns;

    internal override double ClassResult(int c) => Inner.ClassResult(c);

    /// <summary>Σ wᵢ of a batch: the weighted mean's denominator (n when every weight is 1).</summary>
    internal static double WeightTotal(ReadOnlySpan<float> weights, int n)
    {
        if (weights.IsEmpty) return n;
        double total = 0;
        for (int i = 0; i < n; i++) total += weights[i];
        return total;
    }
}
