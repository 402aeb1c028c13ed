using System;

namespace Kiln;

/// <summary>Data-parallel training: what Fit does differently when it is given an <see cref="ICommunicator"/>.</summary>
public abstract partial class Model
{
    // Set while a distributed Fit runs: validation then reduces its sums over the ranks.
    private DataParallel? _replicas;

    /// <summary>
    /// What the generated training code of a <c>[BatchNormalization(Synchronized = true)]</c> layer
    /// passes to its kernels: during a distributed Fit, the synchronizer that sums its statistics
    /// over the ranks; otherwise null, and the layer is a plain BatchNormalization.
    /// </summary>
    protected BatchNormSynchronizer? BatchNormSynchronizer => _replicas?.BatchNorm;

    /// <summary>
    /// Keras' <c>model.evaluate</c> over the ranks of a data-parallel group: every rank passes all of
    /// <paramref name="data"/> (as to Fit) and evaluates its share of each global batch of
    /// <c>Size × BatchSize</c> samples, unshuffled (Fit's validation cut); the loss, per-output losses,
    /// metric sums, stateful metrics' counts and sample counts are summed over the ranks, so every
    /// rank returns what one process computes over all of <paramref name="data"/> (to rounding). It
    /// is a collective: every rank must call it. A null <paramref name="distributed"/> is the
    /// ordinary single-process <see cref="Evaluate(Dataset)"/>, as for Fit.
    /// </summary>
    public EvaluationResult Evaluate(Dataset data, ICommunicator? distributed)
    {
        if (distributed is null) return Evaluate(data);
        ArgumentNullException.ThrowIfNull(data);
        RequireLoss(nameof(Evaluate));
        CheckDataset(data, nameof(data));
        if (data.Count == 0) throw new ArgumentException("Cannot evaluate on an empty dataset.", nameof(data));
        ValidateValues(data, nameof(data));
        DataParallel.Check(distributed);
        return EvaluatedOnRanks(Batches(data, 0, data.Count, shuffle: false, training: false, distributed, nameof(data), "evaluation"), -1, distributed);
    }

    /// <summary>
    /// <see cref="Evaluate(IBatchSource, long)"/> over the ranks of a data-parallel group: each rank
    /// passes its own shard (as to Fit), evaluates one pass of it (or <paramref name="steps"/>
    /// batches), and the sums and counts are added over the ranks, so every rank returns the result
    /// over all the shards. A collective: every rank must call it. A null
    /// <paramref name="distributed"/> is the single-process <see cref="Evaluate(IBatchSource, long)"/>.
    /// </summary>
    public EvaluationResult Evaluate(IBatchSource data, ICommunicator? distributed, long steps = -1)
    {
        if (distributed is null) return Evaluate(data, steps);
        ArgumentNullException.ThrowIfNull(data);
        RequireLoss(nameof(Evaluate));
        EpochOf(data, steps, nameof(data), nameof(steps));
        DataParallel.Check(distributed);
        return EvaluatedOnRanks(data, steps, distributed);
    }

    /// <summary>An evaluation whose sums are reduced over <paramref name="distributed"/>'s ranks (as Fit's validation is).</summary>
    private EvaluationResult EvaluatedOnRanks(IBatchSource source, long steps, ICommunicator distributed)
    {
        var outer = _replicas;
        _replicas = new DataParallel(distributed, 1 + LossOutputs.Length + AllMetrics.Length);
        try
        {
            return Evaluated(source, steps);
        }
        finally
        {
            _replicas = outer;
        }
    }

    /// <summary>
    /// An in-memory dataset's samples <c>[start, start + count)</c> as batches: all of them, or under
    /// data-parallel training this rank's share of each global batch (<see cref="ShardedDatasetBatches"/>).
    /// </summary>
    private IBatchSource Batches(Dataset data, int start, int count, bool shuffle, bool training, ICommunicator? distributed, string parameter, string? purpose = null)
    {
        if (distributed is null) return new DatasetBatches(this, data, start, count, shuffle);
        if (count < distributed.Size)
            throw new ArgumentException(
                $"{count} {purpose ?? (training ? "training" : "validation")} samples cannot be shared among {distributed.Size} ranks: each needs at least one.", parameter);
        return new ShardedDatasetBatches(this, data, start, count, shuffle, training, distributed.Rank, distributed.Size);
    }

    /// <summary>
    /// <see cref="TrainStep"/> on one rank of <paramref name="replicas"/> (<paramref name="weights"/>: the
    /// batch's sample weights, empty for all 1): this rank's
    /// <paramref name="samples"/> of the step's <paramref name="total"/> (0 when its shard has ended
    /// and it only joins the collectives). The loss, per-output losses and metric sums are summed over
    /// the ranks before anything changes, so a non-finite loss anywhere leaves every rank's weights as
    /// they were; then every rank applies the same update with the mean gradient of the global batch.
    /// Returns the global batch's mean loss, and adds its metric sums to <paramref name="metricSums"/>
    /// (the weighted metrics' weighted by <paramref name="weights"/>) and its Σ wᵢ over all ranks to
    /// <paramref name="weightTotal"/>, the weighted metrics' denominator.
    /// </summary>
    private float TrainStepReplicated(DataParallel replicas, in Batch batch, ReadOnlySpan<float> weights, int samples, int total, Optimizer optimizer, Metric[] metrics, Span<double> metricSums, ref double weightTotal)
    {
        var lossOutputs = LossOutputs;
        int k = lossOutputs.Length;
        Span<double> stats = replicas.Stats;
        stats.Clear();
        KeepState();
        var synchronizer = replicas.BatchNorm;
        synchronizer?.BeginStep(samples, total);
        replicas.StartMetricStep(metrics);
        if (samples > 0)
        {
            ReadOnlySpan<float> y = batch.Targets;
            ReadOnlySpan<float> outputs = Forward(batch.Features, samples, training: true);
            for (int i = 0; i < metrics.Length; i++) stats[1 + k + i] = metrics[i].WeightedSum(outputs, y, weights, samples, OutputSize, TargetSize);
            stats[1 + k + metrics.Length] = WeightedMetric.WeightTotal(weights, samples);
            stats[0] = (double)ComputeLoss(y, samples, gradient: true, weights) * samples;
            for (int i = 0; i < k; i++) stats[1 + i] = (double)OutputLoss(lossOutputs[i]) * samples;
        }
        else if (synchronizer is not null)
        {
            // Synchronized BatchNormalization sums over the ranks inside forward and backward: a rank
            // with no samples runs them on a stand-in sample of zeros, contributing nothing to the
            // sums, and its gradient is dropped below.
            Forward(replicas.StandInFeatures, 1, training: true);
            ComputeLoss(replicas.StandInTargets, 1, gradient: true);
        }
        replicas.ReduceStats();
        replicas.SumMetricStates(metrics);
        // NaN or infinity on any rank makes the sum non-finite on all of them.
        float loss = (float)(stats[0] / total);
        if (!float.IsFinite(loss)) return RestoreState(loss);
        for (int i = 0; i < k; i++) _outputLosses[lossOutputs[i]] = (float)(stats[1 + i] / total);
        for (int i = 0; i < metrics.Length; i++) metricSums[i] += stats[1 + k + i];
        weightTotal += stats[1 + k + metrics.Length];
        if (samples > 0) Backward(samples);
        else if (synchronizer is not null) Backward(1);
        replicas.AverageGradients(Gradients.Span, samples, total);
        optimizer.Step(this);
        return loss;
    }

    /// <summary>
    /// The callbacks a rank runs: all of them on rank 0; on the others, all but those that write files
    /// (<see cref="ModelCheckpoint"/>, <see cref="CsvLogger"/>, <see cref="TensorBoard"/>), whose files
    /// rank 0 alone writes. The others see the same reduced logs, so EarlyStopping, ReduceLROnPlateau
    /// and schedules decide alike on every rank.
    /// </summary>
    private static ICallback[] CallbacksOnRank(ICallback[] hooks, DataParallel? replicas)
    {
        if (replicas is null || replicas.IsRoot) return hooks;
        return Array.FindAll(hooks, c => c is not (ModelCheckpoint or CsvLogger or TensorBoard));
    }
}
