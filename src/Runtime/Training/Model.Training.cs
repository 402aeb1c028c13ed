using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;

namespace Kiln;

/// <summary>Keras' fit / evaluate / predict around the generated cores.</summary>
public abstract partial class Model
{
    private static readonly ICallback[] NoCallbacks = [];

    /// <summary>
    /// Keras' <c>model.fit</c>. Batches of <see cref="BatchSize"/> (the last one smaller);
    /// <paramref name="validationSplit"/> holds out the <b>last</b> fraction of
    /// <paramref name="train"/>, before any shuffling, and is ignored when
    /// <paramref name="validation"/> is given (Keras: validation_data overrides it). Each epoch
    /// shuffles with <see cref="Random"/>, so a seed fixes the run. The loss and
    /// <see cref="Metrics"/> are the sample-weighted means over the epoch's batches, measured in
    /// training mode before each update, as Keras reports them; validation runs after the epoch
    /// in inference mode.
    /// <para>
    /// <paramref name="verbose"/> 0 prints nothing; 1 draws a live progress bar when
    /// <paramref name="output"/> is the console and the console is not redirected, and otherwise
    /// prints one line per epoch, as 2 always does.
    /// </para>
    /// <para>
    /// <paramref name="callbacks"/> run in order at each hook (<see cref="ICallback"/>).
    /// <paramref name="epochs"/> is, as in Keras, the index one past the last epoch: with
    /// <paramref name="initialEpoch"/> 3 and epochs 5, Fit runs epochs 4 and 5 as printed.
    /// <paramref name="resumeFrom"/> names a training checkpoint (<see cref="SaveCheckpoint"/>,
    /// or <see cref="ModelCheckpoint"/> without <c>SaveWeightsOnly</c>): Fit first restores the
    /// weights, the optimizer's state and learning rate, the random stream and the history from
    /// it, then goes on from the epoch it recorded, so stopping and resuming gives bitwise the
    /// weights of an uninterrupted run. The returned history then holds the checkpoint's epochs
    /// too. Give one of <paramref name="initialEpoch"/> and <paramref name="resumeFrom"/>.
    /// </para>
    /// <para>
    /// Sample weights (Keras' <c>sample_weight</c>) travel with the data:
    /// <c>train.WithSampleWeights(w)</c>. They are shuffled with their samples, split with them by
    /// <paramref name="validationSplit"/> (the held-out tail keeps its weights), and a weighted
    /// <paramref name="validation"/> set weighs the validation loss. <paramref name="classWeight"/>
    /// is Keras' <c>class_weight</c>: class index → weight, a class left out weighing 1, turned
    /// into each training sample's weight from its label (the argmax of a one-hot target); it does
    /// not apply to validation, as in Keras, and cannot be combined with sample weights. Either way
    /// a batch's loss is Σ wᵢ·lossᵢ / n (Keras' <c>"sum_over_batch_size"</c>), and <see cref="Metrics"/> stay
    /// unweighted, as Keras' <c>metrics=</c> are, while <see cref="WeightedMetrics"/> are weighted: Σ wᵢ·vᵢ / Σ wᵢ,
    /// or counts times the weights (Keras' <c>weighted_metrics=</c>; the validation set's own weights
    /// weigh its <c>val_</c> values).
    /// </para>
    /// <para>
    /// <paramref name="distributed"/> trains data-parallel on every rank of a group of processes
    /// (Kiln.Distributed's <c>Mpi.Initialize()</c> under <c>mpirun</c>), as Keras'
    /// MultiWorkerMirroredStrategy and PyTorch DDP do: every rank calls Fit with the same model seed
    /// and the same data, each epoch's shuffled order is cut into global batches of
    /// <c>ranks × BatchSize</c> samples, each rank trains on its share, and the averaged gradient
    /// makes every rank apply the update one process with the global batch would. Loss, metrics
    /// (weighted ones with Σ wᵢ over all ranks) and validation are over all ranks; only rank 0 prints
    /// and writes files (docs/distributed.md).
    /// </para>
    /// </summary>
    public History Fit(Dataset train, int epochs, Optimizer optimizer, Dataset? validation = null,
        double validationSplit = 0, bool shuffle = true, int verbose = 1, TextWriter? output = null,
        IReadOnlyList<ICallback>? callbacks = null, int initialEpoch = 0, string? resumeFrom = null,
        IReadOnlyDictionary<int, float>? classWeight = null, ICommunicator? distributed = null)
    {
        ArgumentNullException.ThrowIfNull(train);
        if (!(validationSplit >= 0 && validationSplit < 1))
            throw new ArgumentOutOfRangeException(nameof(validationSplit), validationSplit, "validationSplit must be in [0, 1).");
        var hooks = CheckFitArguments(epochs, optimizer, verbose, callbacks, initialEpoch, resumeFrom);
        if (distributed is not null) DataParallel.Check(distributed);
        CheckDataset(train, nameof(train));
        if (classWeight is not null && train.SampleWeights is not null)
            throw new ArgumentException("Give class weights or sample weights, not both (Keras: \"You cannot class_weight and sample_weight at the same time\"); fold the class weights into the sample weights.", nameof(classWeight));
        var classWeights = ClassWeights.Create(this, classWeight, nameof(classWeight));

        int trainCount = train.Count, validationCount = 0;
        IBatchSource? validationBatches = null;
        if (validation is not null)
        {
            CheckDataset(validation, nameof(validation));
            if (validation.Count == 0) throw new ArgumentException("The validation set is empty.", nameof(validation));
            validationBatches = Batches(validation, 0, validationCount = validation.Count, shuffle: false, training: false, distributed, nameof(validation));
        }
        else if (validationSplit > 0)
        {
            // Keras: split_at = floor(n · (1 − split)); the tail validates, in its stored order.
            int splitAt = (int)Math.Floor(train.Count * (1 - validationSplit));
            if (splitAt == 0 || splitAt == train.Count)
                throw new ArgumentException(
                    $"validationSplit {validationSplit} of {train.Count} samples leaves {splitAt} to train and {train.Count - splitAt} to validate; both need at least one.",
                    nameof(validationSplit));
            validationBatches = Batches(train, splitAt, validationCount = train.Count - splitAt, shuffle: false, training: false, distributed, nameof(validationSplit));
            trainCount = splitAt;
        }
        if (trainCount == 0)
            throw new ArgumentException("The training set is empty.", nameof(train));

        // Each epoch is one pass: the whole training range, reshuffled with Random when the pass starts.
        var trainBatches = Batches(train, 0, trainCount, shuffle, training: true, distributed, nameof(train));
        ValidateValues(train, nameof(train));
        if (validation is not null) ValidateValues(validation, nameof(validation));
        return Train(new EpochSource(trainBatches, -1, trainCount, (int)trainBatches.BatchesPerPass),
            validationBatches is null ? null : new EpochSource(validationBatches, -1, validationCount, (int)validationBatches.BatchesPerPass),
            recordDataWait: false, epochs, optimizer, verbose, output, hooks, initialEpoch, resumeFrom, classWeights, distributed);
    }

    /// <summary>
    /// Keras' <c>model.fit</c> on a generator or a <c>tf.data</c> dataset: trains on batches from
    /// <paramref name="train"/>, typically a prefetching pipeline
    /// (<c>Pipeline.From(data).Shuffle(...).Batch(32).Prefetch()</c>, <see cref="ImageFolder.Batches"/>),
    /// so that loading the next batches overlaps training on this one. Callbacks, progress,
    /// metrics, checkpoints and resuming behave as in the <see cref="Dataset"/> overload, through the
    /// same loop.
    /// <para>
    /// Each epoch pulls batches until the source's pass ends or <paramref name="stepsPerEpoch"/>
    /// batches have trained, whichever comes first (a source that repeats forever needs
    /// <paramref name="stepsPerEpoch"/>). An epoch cut short by the step count leaves the pass
    /// where it stopped and the next epoch goes on from there, as Keras' iterator does; an epoch
    /// that begins on the end of a pass starts the next one. Validation runs one pass of
    /// <paramref name="validation"/> after each epoch, or <paramref name="validationSteps"/>
    /// batches of it, also going on from where the previous validation stopped: to validate on the
    /// same samples every epoch, give a source whose pass is exactly those samples. Shuffling, if
    /// any, is the source's own (its seed), not <see cref="Random"/>, so <paramref name="resumeFrom"/>
    /// restores the model, optimizer and history but not the source's order: a resumed run is
    /// not bitwise an uninterrupted one (docs/checkpoints.md).
    /// </para>
    /// <para>
    /// The history gets <c>data_wait</c>: the seconds per epoch the training thread spent waiting
    /// inside <see cref="IBatchSource.Next"/> for training batches (near 0 when prefetching keeps
    /// up), and <c>val_data_wait</c> for validation batches. Callbacks see them in the epoch logs,
    /// CsvLogger and TensorBoard record them, and the epoch line prints them.
    /// </para>
    /// <para>
    /// <paramref name="classWeight"/> is Keras' <c>class_weight</c>, as in the <see cref="Dataset"/>
    /// overload: each training batch's weights come from its targets.
    /// </para>
    /// <para>
    /// With <paramref name="distributed"/>, each rank gives its own shard of the data as
    /// <paramref name="train"/> (and <paramref name="validation"/>), as a PyTorch DistributedSampler
    /// would; each step trains on one batch from every rank, a rank whose shard ends first joins the
    /// remaining steps with no samples, and the epoch ends when every shard has. The progress bar's
    /// totals are this rank's times the number of ranks.
    /// </para>
    /// </summary>
    public History Fit(IBatchSource train, int epochs, Optimizer optimizer, IBatchSource? validation = null,
        long stepsPerEpoch = -1, long validationSteps = -1, int verbose = 1, TextWriter? output = null,
        IReadOnlyList<ICallback>? callbacks = null, int initialEpoch = 0, string? resumeFrom = null,
        IReadOnlyDictionary<int, float>? classWeight = null, ICommunicator? distributed = null)
    {
        ArgumentNullException.ThrowIfNull(train);
        var hooks = CheckFitArguments(epochs, optimizer, verbose, callbacks, initialEpoch, resumeFrom);
        var trainEpoch = EpochOf(train, stepsPerEpoch, nameof(train), nameof(stepsPerEpoch));
        var validationEpoch = validation is null ? (EpochSource?)null : EpochOf(validation, validationSteps, nameof(validation), nameof(validationSteps));
        if (distributed is not null)
        {
            DataParallel.Check(distributed);
            int ranks = distributed.Size;
            trainEpoch = trainEpoch with { Samples = (int)Math.Min((long)trainEpoch.Samples * ranks, int.MaxValue) };
            if (validationEpoch is { } v) validationEpoch = v with { Samples = (int)Math.Min((long)v.Samples * ranks, int.MaxValue) };
        }
        var classWeights = ClassWeights.Create(this, classWeight, nameof(classWeight));
        return Train(trainEpoch, validationEpoch, recordDataWait: true, epochs, optimizer, verbose, output, hooks, initialEpoch, resumeFrom, classWeights, distributed);
    }

    /// <summary>A source, how many of its batches make an epoch (-1: one pass), and the samples and batches that is, for progress and callbacks.</summary>
    private readonly record struct EpochSource(IBatchSource Source, long Steps, int Samples, int Batches);

    private ICallback[] CheckFitArguments(int epochs, Optimizer optimizer, int verbose, IReadOnlyList<ICallback>? callbacks, int initialEpoch, string? resumeFrom)
    {
        ArgumentNullException.ThrowIfNull(optimizer);
        RequireLoss(nameof(Fit));
        if (epochs < 0)
            throw new ArgumentOutOfRangeException(nameof(epochs), epochs, "must not be negative");
        if (initialEpoch < 0)
            throw new ArgumentOutOfRangeException(nameof(initialEpoch), initialEpoch, "must not be negative");
        if (resumeFrom is not null && initialEpoch != 0)
            throw new ArgumentException("Give initialEpoch or resumeFrom, not both: a checkpoint knows its epoch.", nameof(initialEpoch));
        if (verbose is < 0 or > 2)
            throw new ArgumentOutOfRangeException(nameof(verbose), verbose, "verbose is 0 (silent), 1 (progress bar on a terminal) or 2 (one line per epoch).");
        ICallback[] hooks = callbacks is null || callbacks.Count == 0 ? NoCallbacks : [.. callbacks];
        foreach (var c in hooks)
            if (c is null) throw new ArgumentException("A callback is null.", nameof(callbacks));
        return hooks;
    }

    private EpochSource EpochOf(IBatchSource source, long steps, string parameter, string stepsParameter)
    {
        CheckSource(source, parameter);
        if (steps == 0 || steps < -1)
            throw new ArgumentOutOfRangeException(stepsParameter, steps, "a positive number of batches, or -1 for one pass of the source");
        if (steps < 0 && source.BatchesPerPass < 0)
            throw new ArgumentException(
                $"The {parameter} source repeats forever (BatchesPerPass is -1), so an epoch would never end; give {stepsParameter}, the batches per epoch.", stepsParameter);
        if (source.BatchesPerPass == 0)
            throw new ArgumentException($"The {parameter} source has no batches.", parameter);
        // Upper bounds where the source skips corrupt files: only the progress bar's total uses them.
        long batches = steps < 0 ? source.BatchesPerPass : source.BatchesPerPass < 0 ? steps : Math.Min(steps, source.BatchesPerPass);
        long samples = steps < 0 ? source.SamplesPerPass : source.SamplesPerPass < 0 ? steps * source.BatchSize : Math.Min(steps * source.BatchSize, source.SamplesPerPass);
        return new EpochSource(source, steps, (int)Math.Min(samples, int.MaxValue), (int)Math.Min(batches, int.MaxValue));
    }

    /// <summary>The training loop both Fit overloads run: epochs of batches from <paramref name="train"/>, callbacks, progress and history.</summary>
    private History Train(EpochSource train, EpochSource? validation, bool recordDataWait, int epochs, Optimizer optimizer,
        int verbose, TextWriter? output, ICallback[] hooks, int initialEpoch, string? resumeFrom, ClassWeights? classWeights, ICommunicator? distributed = null)
    {
        var metrics = AllMetrics;
        // A stateful metric (precision, AUC, mean IoU) keeps counts that Fit sums over the ranks; one
        // that cannot (a custom metric without SumOverRanks) would report its own shard on each rank:
        // refuse rather than mislead.
        if (distributed is not null)
            foreach (var metric in metrics)
                if (!metric.SumsOverRanks)
                    throw new NotSupportedException($"{Description.Name}: the metric '{metric.Name}' keeps state (Keras' update_state/result) that it cannot sum over ranks, so each rank would report its own shard; implement StatefulMetric.CanSumOverRanks and SumOverRanks, or compute '{metric.Name}' with Evaluate on one rank.");
        // Columns: the loss, each output's own loss (several outputs, as Keras' class_loss), the metrics.
        var lossOutputs = LossOutputs;
        int k = lossOutputs.Length, m = metrics.Length;
        var batchNames = new string[1 + k + m];
        batchNames[0] = "loss";
        for (int i = 0; i < k; i++) batchNames[1 + i] = Description.Outputs[lossOutputs[i]].Name + "_loss";
        for (int i = 0; i < m; i++) batchNames[1 + k + i] = metrics[i].Name;
        var epochNames = new List<string>(batchNames);
        if (validation is not null)
            foreach (string name in batchNames) epochNames.Add("val_" + name);
        // Timings after the metrics, so the loss and metrics keep Keras' positions.
        int waitColumn = epochNames.Count;
        if (recordDataWait)
        {
            epochNames.Add(DataWaitName);
            if (validation is not null) epochNames.Add("val_" + DataWaitName);
        }

        History history;
        if (resumeFrom is not null)
        {
            var checkpoint = LoadCheckpoint(resumeFrom, optimizer);
            initialEpoch = checkpoint.Epoch;
            // Sized by what was recorded and what is left to run, never by the checkpoint's epoch alone.
            history = new History(epochNames, (checkpoint.History?.Epochs ?? 0) + Math.Max(epochs - initialEpoch, 0));
            // The earlier epochs come along when they were recorded with the same metrics.
            if (checkpoint.History is { } earlier && Same(earlier.Names, epochNames))
                history.AppendAll(earlier);
        }
        else history = new History(epochNames, Math.Max(epochs - initialEpoch, 0));

        // Each step reduces the loss, the per-output losses, the metrics and Σ wᵢ (the weighted metrics' denominator).
        var replicas = distributed is null ? null : new DataParallel(distributed, batchNames.Length + 1, this);
        hooks = CallbacksOnRank(hooks, replicas);
        TextWriter writer = output ?? Console.Out;
        TrainingProgress? progress = replicas is { IsRoot: false } ? null : verbose switch
        {
            0 => null,
            1 when ReferenceEquals(writer, Console.Out) && !Console.IsOutputRedirected => new ProgressBar(writer),
            _ => new EpochLineProgress(writer),
        };

        // The running sums and the logs, allocated once per Fit: the loop allocates nothing.
        var metricSums = new double[k + m];
        var batchLogs = new Logs(batchNames);
        var epochLogs = new Logs(epochNames);
        int validationSamples = validation?.Samples ?? 0;
        var context = new TrainingContext(this, optimizer, history, epochs, initialEpoch, train.Batches, train.Samples, validationSamples, verbose, writer);
        IBatchSource source = train.Source;

        try
        {
            if (replicas is not null)
            {
                context.Rank = replicas.Rank;
                context.Ranks = replicas.Size;
                // Where Kiln shards a dataset, every rank must hold all of it; batch sources are each rank's own shard.
                long samples = source is ShardedDatasetBatches ? ((long)train.Samples << 24) ^ validationSamples : 0;
                replicas.CheckStart(this, optimizer, ((long)BatchSize << 48) ^ ((long)epochs << 40) ^ samples);
                _replicas = replicas;
            }
            progress?.TrainBegin(train.Samples, validationSamples);
            foreach (var c in hooks) c.OnTrainBegin(context);
            for (int epoch = initialEpoch; epoch < epochs && !context.StopTraining; epoch++)
            {
                context.Epoch = epoch;
                progress?.EpochBegin(epoch + 1, epochs);
                foreach (var c in hooks) c.OnEpochBegin(epoch, context);

                long started = Stopwatch.GetTimestamp(), waited = 0;
                double lossSum = 0;
                Array.Clear(metricSums);
                ResetMetrics(metrics);
                int seen = 0, b = 0;
                double weightTotal = 0; // Σ wᵢ so far: the weighted metrics' denominator
                bool ended = false; // distributed: this rank's shard ended, and it must not start the next pass
                Span<double> running = batchLogs.Values;
                while (train.Steps < 0 || b < train.Steps)
                {
                    long asked = Stopwatch.GetTimestamp();
                    Batch batch = default;
                    bool more = !ended && source.Next(out batch);
                    // The previous epoch stopped at its step count right at the end of a pass: start the next.
                    if (!more && b == 0) more = source.Next(out batch);
                    waited += Stopwatch.GetTimestamp() - asked;
                    if (!more && replicas is null) break;
                    ended = !more;
                    int n = more ? CheckBatch(batch, nameof(train)) : 0, local = n;
                    // Distributed: n becomes the step's samples over all ranks; a rank whose shard has
                    // ended joins with none, until every rank's has. A stop asked for on any rank after
                    // the previous batch stops them all here, before this one (a stop asked for as the
                    // epoch began takes effect after its first batch, as without ranks).
                    if (replicas is not null)
                    {
                        (n, bool stop) = replicas.Join(local, context.StopTraining);
                        context.StopTraining = stop;
                        if (n == 0 || (stop && b > 0)) break;
                    }
                    foreach (var c in hooks) c.OnBatchBegin(b, context);

                    ReadOnlySpan<float> weights = more ? batch.SampleWeights : default;
                    if (classWeights is not null && more)
                    {
                        if (!weights.IsEmpty)
                            throw new InvalidOperationException("The training batches carry sample weights, and class weights were given too; give one or the other, as Keras requires.");
                        weights = classWeights.For(batch.Targets, local);
                    }
                    float loss = replicas is null
                        ? TrainStep(batch.Features, batch.Targets, weights, n, optimizer, metrics, metricSums.AsSpan(k))
                        : TrainStepReplicated(replicas, batch, weights, local, n, optimizer, metrics, metricSums.AsSpan(k), ref weightTotal);
                    for (int i = 0; i < k; i++) metricSums[i] += (double)OutputLoss(lossOutputs[i]) * n;
                    if (!float.IsFinite(loss))
                        throw Diverged(loss, epoch + 1, epochs, b + 1, train.Batches, optimizer);

                    lossSum += (double)loss * n;
                    seen += n;
                    // With ranks the step added every rank's Σ wᵢ already (weights holds this rank's alone).
                    if (replicas is null) weightTotal += WeightedMetric.WeightTotal(weights, n);
                    running[0] = lossSum / seen;
                    for (int i = 0; i < k; i++) running[1 + i] = metricSums[i] / seen;
                    for (int i = 0; i < m; i++) running[1 + k + i] = MetricMean(metrics[i], metricSums[k + i], seen, weightTotal);
                    StatefulValues(metrics, running.Slice(1 + k, m));
                    progress?.BatchEnd(seen, Math.Max(seen, train.Samples), batchLogs);
                    foreach (var c in hooks) c.OnBatchEnd(b, batchLogs, context);
                    b++;
                    if (context.StopTraining && replicas is null) break;
                }
                if (b == 0)
                    throw new InvalidOperationException($"The training source gave no batches in epoch {epoch + 1}: it is empty.");
                if (replicas is not null)
                {
                    context.StopTraining = replicas.Any(context.StopTraining);
                    replicas.EndEpoch(this, optimizer);
                }

                // A callback may stop mid-epoch: the epoch's means cover the samples it saw.
                Span<double> values = epochLogs.Values;
                running.CopyTo(values);
                double validationWait = 0;
                if (validation is { } v)
                    validationWait = EvaluateBatches(v.Source, v.Steps, values.Slice(1 + k + m, 1 + k + m), "validation", context.Probe);
                if (recordDataWait)
                {
                    values[waitColumn] = Stopwatch.GetElapsedTime(0, waited).TotalSeconds;
                    if (validation is not null) values[waitColumn + 1] = validationWait;
                }
                history.Append(values);
                progress?.EpochEnd(epoch + 1, seen, Stopwatch.GetElapsedTime(started).TotalSeconds, epochLogs);
                foreach (var c in hooks) c.OnEpochEnd(epoch, epochLogs, context);
                if (replicas is not null) context.StopTraining = replicas.Any(context.StopTraining);
            }
            foreach (var c in hooks) c.OnTrainEnd(context);
        }
        catch
        {
            foreach (var c in hooks)
                if (c is IReleasesOnFailure r) r.Release();
            throw;
        }
        finally
        {
            _replicas = null;
        }
        return history;
    }

    /// <summary>The <see cref="History"/> and log name of the seconds an epoch waited for its batches (Fit on a batch source).</summary>
    public const string DataWaitName = "data_wait";

    /// <summary>
    /// One training step on a batch: forward in training mode, the metrics' sums (added to
    /// <paramref name="metricSums"/>; the weighted metrics' weighted by <paramref name="weights"/>), the loss over <paramref name="weights"/> (empty:
    /// all 1) with the regularization penalty, and its gradient, then, when the loss is finite,
    /// backward and the optimizer's step. Returns the loss; a NaN or infinite one leaves the
    /// weights and the state (moving statistics the forward pass updated) as they were, for the
    /// caller to report.
    /// </summary>
    private unsafe float TrainStep(ReadOnlySpan<float> x, ReadOnlySpan<float> y, ReadOnlySpan<float> weights, int n, Optimizer optimizer, Metric[] metrics, Span<double> metricSums)
    {
        KeepState();
        fixed (float* pinned = x)
        {
            Lend(pinned, x.Length);
            try
            {
                ReadOnlySpan<float> outputs = Forward(x, n, training: true);
                // Before the loss: a fused loss may write its gradient over the outputs.
                for (int i = 0; i < metrics.Length; i++) metricSums[i] += metrics[i].WeightedSum(outputs, y, weights, n, OutputSize, TargetSize);
                float loss = ComputeLoss(y, n, gradient: true, weights);
                if (!float.IsFinite(loss)) return RestoreState(loss);
                BackwardAndStep(n, optimizer);
                return loss;
            }
            finally { EndLending(); }
        }
    }

    /// <summary>Guards the loop against a batch the model cannot take (a source whose batch size changed after the checks).</summary>
    private int CheckBatch(in Batch batch, string parameter)
    {
        int n = batch.Count;
        if (n < 1 || n > BatchSize)
            throw new InvalidOperationException($"The {parameter} source gave a batch of {n} samples; {Description.Name} takes 1 to {BatchSize}.");
        return n;
    }

    private static bool Same(IReadOnlyList<string> a, IReadOnlyList<string> b)
    {
        if (a.Count != b.Count) return false;
        for (int i = 0; i < a.Count; i++)
            if (a[i] != b[i]) return false;
        return true;
    }

    /// <summary>
    /// Keras' <c>model.evaluate</c>: mean loss and metric over <paramref name="data"/>, in inference
    /// mode (no dropout, BN moving statistics). A dataset with sample weights
    /// (<see cref="Dataset.WithSampleWeights"/>, Keras' <c>evaluate(sample_weight=)</c>) weighs
    /// each batch's loss, Σ wᵢ·lossᵢ / n; <see cref="Metrics"/> stay unweighted, as Keras' <c>metrics=</c> are, and
    /// <see cref="WeightedMetrics"/> are weighted (Σ wᵢ·vᵢ / Σ wᵢ, or counts times the weights), as Keras' <c>weighted_metrics=</c>.
    /// </summary>
    public EvaluationResult Evaluate(Dataset data)
    {
        ArgumentNullException.ThrowIfNull(data);
        RequireLoss(nameof(Evaluate));
        CheckDataset(data, nameof(data));
        if (data.Count == 0) throw new ArgumentException("Cannot evaluate on an empty dataset.", nameof(data));
        ValidateValues(data, nameof(data));
        return Evaluated(new DatasetBatches(this, data, 0, data.Count, shuffle: false), -1);
    }

    /// <summary>
    /// Keras' <c>model.evaluate</c> on a batch source: mean loss and metrics over one pass of
    /// <paramref name="data"/>, or over <paramref name="steps"/> batches (required for a source
    /// that repeats forever), in inference mode. A pass cut short by <paramref name="steps"/> is
    /// left where it stopped, and the next call goes on from there.
    /// </summary>
    public EvaluationResult Evaluate(IBatchSource data, long steps = -1)
    {
        ArgumentNullException.ThrowIfNull(data);
        RequireLoss(nameof(Evaluate));
        EpochOf(data, steps, nameof(data), nameof(steps));
        return Evaluated(data, steps);
    }

    /// <summary>Keras' <c>model.predict</c>: the outputs of every sample, <c>Count × OutputSize</c> floats, in inference mode.</summary>
    public float[] Predict(Dataset data)
    {
        ArgumentNullException.ThrowIfNull(data);
        CheckInputs(data.SampleSize, data.SampleShape, nameof(data));
        return Predict(data.Features, data.Count);
    }

    /// <summary>Outputs of <paramref name="count"/> samples laid out one after another in <paramref name="inputs"/>.</summary>
    public float[] Predict(ReadOnlySpan<float> inputs, int count)
    {
        if (count < 0) throw new ArgumentOutOfRangeException(nameof(count), count, "must not be negative");
        // The inputs first: a count they do not back is a mistake, not a reason to allocate its outputs.
        if (inputs.Length != (long)count * InputSize)
            throw new ArgumentException($"{Description.Name}: {count} samples of shape ({Dataset.Shape(Description.InputShape)}) need {(long)count * InputSize} floats, but the span holds {inputs.Length}.", nameof(inputs));
        if ((long)count * OutputSize > Array.MaxLength)
            throw new ArgumentOutOfRangeException(nameof(count), count, $"{count} outputs of {OutputSize} values are more than one array holds; predict in parts, or into your own destination.");
        var result = new float[count * OutputSize];
        Predict(inputs, count, result);
        return result;
    }

    /// <summary>Writes the outputs of <paramref name="count"/> samples into <paramref name="destination"/>; allocates nothing.</summary>
    public void Predict(ReadOnlySpan<float> inputs, int count, Span<float> destination)
    {
        if (count < 0) throw new ArgumentOutOfRangeException(nameof(count), count, "must not be negative");
        if (inputs.Length != (long)count * InputSize)
            throw new ArgumentException($"{Description.Name}: {count} samples of shape ({Dataset.Shape(Description.InputShape)}) need {(long)count * InputSize} floats, but the span holds {inputs.Length}.", nameof(inputs));
        if (destination.Length != (long)count * OutputSize)
            throw new ArgumentException($"{Description.Name}: {count} outputs of shape ({Dataset.Shape(Description.OutputShape)}) need {(long)count * OutputSize} floats, but the destination holds {destination.Length}.", nameof(destination));
        for (int start = 0; start < count; start += BatchSize)
        {
            int n = Math.Min(BatchSize, count - start);
            Forward(inputs.Slice(start * InputSize, n * InputSize), n, training: false)
                .CopyTo(destination.Slice(start * OutputSize, n * OutputSize));
        }
    }

    /// <summary>
    /// Loss then each metric, sample-weighted means over one pass of <paramref name="source"/> (or
    /// <paramref name="steps"/> batches), written into <paramref name="values"/>, in inference mode.
    /// Returns the seconds spent waiting for its batches. Allocates nothing.
    /// </summary>
    private double EvaluateBatches(IBatchSource source, long steps, Span<double> values, string what, ProbeBatch? probe = null)
    {
        var metrics = AllMetrics;
        var lossOutputs = LossOutputs;
        int k = lossOutputs.Length;
        double lossSum = 0, weightTotal = 0;
        values.Clear();
        ResetMetrics(metrics);
        int outputSize = OutputSize, targetSize = TargetSize;
        long waited = 0, count = 0, b = 0;
        while (steps < 0 || b < steps)
        {
            long asked = Stopwatch.GetTimestamp();
            bool more = source.Next(out var batch);
            // The previous evaluation stopped at its step count right at the end of a pass: start the next.
            if (!more && b == 0) more = source.Next(out batch);
            waited += Stopwatch.GetTimestamp() - asked;
            if (!more) break;
            int n = CheckBatch(batch, what);
            if (probe is { Count: 0 })
            {
                batch.Features.CopyTo(probe.Features);
                probe.Count = n;
            }
            ReadOnlySpan<float> y = batch.Targets;
            ReadOnlySpan<float> outputs = Forward(batch.Features, n, training: false);
            for (int j = 0; j < metrics.Length; j++) values[1 + k + j] += metrics[j].WeightedSum(outputs, y, batch.SampleWeights, n, outputSize, targetSize);
            weightTotal += WeightedMetric.WeightTotal(batch.SampleWeights, n);
            lossSum += (double)ComputeLoss(y, n, gradient: false, batch.SampleWeights) * n;
            for (int j = 0; j < k; j++) values[1 + j] += (double)OutputLoss(lossOutputs[j]) * n;
            count += n;
            b++;
        }
        _replicas?.ReduceEvaluation(values, ref lossSum, ref weightTotal, ref count);
        _replicas?.SumMetricStates(metrics);
        if (count == 0)
            throw new InvalidOperationException($"The {what} source gave no batches: it is empty.");
        values[0] = lossSum;
        for (int j = 0; j < 1 + k; j++) values[j] /= count;
        for (int j = 0; j < metrics.Length; j++) values[1 + k + j] = MetricMean(metrics[j], values[1 + k + j], count, weightTotal);
        StatefulValues(metrics, values.Slice(1 + k, metrics.Length));
        return Stopwatch.GetElapsedTime(0, waited).TotalSeconds;
    }

    private EvaluationResult Evaluated(IBatchSource source, long steps)
    {
        var metrics = AllMetrics;
        var lossOutputs = LossOutputs;
        int k = lossOutputs.Length;
        Span<double> values = stackalloc double[1 + k + metrics.Length];
        EvaluateBatches(source, steps, values, "evaluation");
        // Each output's own loss, then the metrics, as Keras' evaluate(return_dict=True) lists them.
        var named = new KeyValuePair<string, float>[k + metrics.Length];
        for (int j = 0; j < k; j++) named[j] = new(Description.Outputs[lossOutputs[j]].Name + "_loss", (float)values[1 + j]);
        for (int j = 0; j < metrics.Length; j++) named[k + j] = new(metrics[j].Name, (float)values[1 + k + j]);
        return new EvaluationResult((float)values[0], metrics.Length > 0 ? (float)values[1 + k] : float.NaN, metrics.Length > 0 ? metrics[0].Name : "") { Values = named };
    }

    /// <summary>A summed metric's epoch value: over the samples, or over Σ wᵢ for a weighted one (0 when every weight is 0, as Keras' divide_no_nan).</summary>
    private static double MetricMean(Metric metric, double sum, double samples, double weightTotal) =>
        !metric.IsWeighted ? sum / samples : weightTotal == 0 ? 0 : sum / weightTotal;

    private TrainingDivergedException Diverged(float loss, int epoch, int epochs, int batch, int batches, Optimizer optimizer) =>
        new($"{Description.Name}: the loss became {loss} at epoch {epoch}/{epochs}, batch {batch}/{batches}, so training stopped before applying that step. " +
            $"The weights are diverging: try a lower learning rate (this step used {optimizer.CurrentLearningRate:G4}), " +
            "and check that the inputs are scaled and hold no NaN.",
            epoch, batch, loss);

    private void RequireLoss(string what)
    {
        if (!Description.HasLoss)
            throw new InvalidOperationException(
                $"{Description.Name} has no [Loss], so it cannot {what} on its own; it trains through the model composed after it.");
    }

    private void CheckDataset(Dataset data, string parameter)
    {
        CheckInputs(data.SampleSize, data.SampleShape, parameter);
        if (data.TargetSize != TargetSize)
            throw new ArgumentException($"{Description.Name} expects {TargetSize} target value(s) per sample{TargetHint(data.TargetSize)}, but the dataset has {data.TargetSize}.", parameter);
    }

    /// <summary>Sample shape, target size and batch size of a batch source against the model's.</summary>
    private void CheckSource(IBatchSource source, string parameter)
    {
        CheckInputs(source.SampleSize, source.SampleShape, parameter, "the batch source's");
        if (source.TargetSize != TargetSize)
            throw new ArgumentException(
                $"{Description.Name} expects {TargetSize} target value(s) per sample{TargetHint(source.TargetSize)}, but the batch source gives {source.TargetSize} (for an image folder, check ClassMode: sparse labels vs one-hot).",
                parameter);
        if (source.BatchSize > BatchSize)
            throw new ArgumentException(
                $"The batch source gives batches of up to {source.BatchSize} samples of shape ({Dataset.Shape(source.SampleShape)}), but {Description.Name} was built for batches of at most {BatchSize} of shape ({Dataset.Shape(Description.InputShape)}); " +
                $"build the model with batchSize: {source.BatchSize} or batch the source by {BatchSize}.",
                parameter);
    }

    private string TargetHint(int given) => Description.Loss switch
    {
        Kiln.Loss.SparseCategoricalCrossentropy => " (one class index per sample for sparse categorical cross-entropy)",
        Kiln.Loss.CategoricalCrossentropy when given == 1 => "; categorical cross-entropy wants one-hot targets: one-hot encode the labels or use SparseCategoricalCrossentropy",
        _ => "",
    };

    /// <summary>
    /// The data's sample shape against the model's input, not only its size: channels-first images
    /// of the right size would otherwise train as scrambled channels-last ones (see <see cref="InputShapes.Agree"/>).
    /// </summary>
    private void CheckInputs(int sampleSize, int[] sampleShape, string parameter, string whose = "the dataset's")
    {
        var d = Description;
        if (d.Inputs.Count > 1)
        {
            if (sampleShape.Length != 1 || sampleSize != InputSize)
                throw new ArgumentException(InputShapes.Packed(d, sampleShape, whose), parameter);
            return;
        }
        if (!InputShapes.Agree(d.InputShape, sampleShape))
            throw new ArgumentException(InputShapes.Mismatch(d, d.Inputs[0], sampleShape, whose), parameter);
    }
}
