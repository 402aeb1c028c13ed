using System;

namespace Kiln;

/// <summary>
/// A metric that is not a mean of per-sample values (precision, AUC, mean IoU): Keras'
/// <c>reset_state</c> / <c>update_state</c> / <c>result</c>. Fit resets it at the start of every
/// epoch and Evaluate at the start of its pass; each batch, a full one or the last, smaller one,
/// goes through <c>Update</c> (with the sample weights for a metric of <see cref="Model.WeightedMetrics"/>),
/// and the reported value is <see cref="Result"/> over the batches since the reset. The state is
/// allocated when the metric is resolved against a model, so <c>Update</c> must not allocate.
/// </summary>
public abstract class StatefulMetric : Metric
{
    protected StatefulMetric(string name) : base(name) { }

    /// <summary>Clears the state (Keras' <c>reset_state</c>).</summary>
    public abstract void Reset();

    /// <summary>
    /// Adds <paramref name="n"/> samples (Keras' <c>update_state</c>): <paramref name="outputs"/>
    /// holds <paramref name="outputSize"/> values per sample, <paramref name="targets"/>
    /// <paramref name="targetSize"/>.
    /// </summary>
    public abstract void Update(ReadOnlySpan<float> outputs, ReadOnlySpan<float> targets, int n, int outputSize, int targetSize);

    /// <summary>
    /// Adds <paramref name="n"/> samples weighted by <paramref name="sampleWeights"/> (Keras'
    /// <c>update_state(y_true, y_pred, sample_weight)</c>), one weight per sample, finite and ≥ 0, or
    /// empty for all 1: each sample's contribution to the state (its true and false positives, its
    /// cells of a confusion matrix) is multiplied by its weight, so a weight of 2 counts the sample
    /// twice and 0 leaves it out. Fit and Evaluate call it for a metric of
    /// <see cref="Model.WeightedMetrics"/>; <see cref="Model.Metrics"/> ignore the weights, as Keras'
    /// <c>metrics=</c> do. The default takes only empty weights; a metric that weighs samples
    /// overrides this and <see cref="SupportsSampleWeights"/> (all of Kiln's do). Must not allocate.
    /// </summary>
    public virtual void Update(ReadOnlySpan<float> outputs, ReadOnlySpan<float> targets, ReadOnlySpan<float> sampleWeights, int n, int outputSize, int targetSize)
    {
        if (!sampleWeights.IsEmpty)
            throw new NotSupportedException($"{Name} does not weigh its counts by sample; override SupportsSampleWeights and Update with sample weights.");
        Update(outputs, targets, n, outputSize, targetSize);
    }

    /// <summary>
    /// Whether <see cref="Update(ReadOnlySpan{float}, ReadOnlySpan{float}, ReadOnlySpan{float}, int, int, int)"/>
    /// weighs samples: <see cref="Model.WeightedMetrics"/> refuses a stateful metric that returns
    /// false (the default). All of Kiln's metrics return true.
    /// </summary>
    public virtual bool SupportsSampleWeights => false;

    /// <summary>The value over every sample since the last <see cref="Reset"/> (Keras' <c>result</c>).</summary>
    public abstract double Result();

    /// <summary>Updates the state with the batch; a stateful metric has no per-sample sum, so this returns 0 and the loop reads <see cref="Result"/>.</summary>
    public sealed override double Sum(ReadOnlySpan<float> outputs, ReadOnlySpan<float> targets, int n, int outputSize, int targetSize)
    {
        Update(outputs, targets, n, outputSize, targetSize);
        return 0;
    }

    internal sealed override bool IsStateful => true;

    internal sealed override bool WeighsSamples => SupportsSampleWeights;

    internal sealed override void WeightedUpdate(ReadOnlySpan<float> outputs, ReadOnlySpan<float> targets, ReadOnlySpan<float> weights, int n, int outputSize, int targetSize) =>
        Update(outputs, targets, weights, n, outputSize, targetSize);

    internal sealed override void ResetState() => Reset();

    internal sealed override double StateResult() => Result();

    /// <summary>
    /// Whether <see cref="SumOverRanks"/> is implemented: a data-parallel Fit refuses a stateful
    /// metric that returns false (the default), since each rank would report its own shard. All of
    /// Kiln's metrics return true.
    /// </summary>
    public virtual bool CanSumOverRanks => false;

    /// <summary>
    /// Replaces the state, on every rank, by its elementwise sum over the ranks of a data-parallel
    /// Fit (<see cref="ICommunicator.AllReduceSum(Span{double})"/> on each count), so that
    /// <see cref="Result"/> is over all ranks' samples. Fit calls it after every training step (the
    /// state of ranks other than 0 then holds only that step's counts: see docs/distributed.md) and
    /// once after validation. The state must be sums over samples (counts, thresholded true and false
    /// positives), and this must not allocate after its first call.
    /// </summary>
    public virtual void SumOverRanks(ICommunicator communicator) =>
        throw new NotSupportedException($"{Name} does not sum its state over ranks; override CanSumOverRanks and SumOverRanks.");

    internal sealed override bool SumsOverRanks => CanSumOverRanks;

    internal sealed override void StateSumOverRanks(ICommunicator communicator) => SumOverRanks(communicator);

    /// <summary>
    /// A stateful metric holds its counts, so one instance cannot serve two models: resolving
    /// builds a fresh one, with its state sized for <paramref name="model"/>.
    /// </summary>
    internal override Metric Resolve(ModelDescription model)
    {
        var bound = ForModel(model);
        ArgumentNullException.ThrowIfNull(bound);
        bound.Check(model);
        bound.Reset();
        return bound;
    }

    /// <summary>
    /// The instance a model uses: Kiln's metrics return a new one with their state allocated for
    /// <paramref name="model"/>'s outputs, and throw when the outputs do not fit. A custom metric
    /// used by one model at a time may return itself (the default).
    /// </summary>
    protected virtual StatefulMetric ForModel(ModelDescription model) => this;
}
