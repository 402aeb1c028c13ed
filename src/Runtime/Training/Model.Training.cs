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
    /// </summary>
    public History Fit(Dataset train, int epochs, Optimizer optimizer, Dataset? validation = null,
        double validationSplit = 0, bool shuffle = true, int verbose = 1, TextWriter? output = null,
        IReadOnlyList<ICallback>? callbacks = null, int initialEpoch = 0, string? resumeFrom = null)
    {
        ArgumentNullException.ThrowIfNull(train);
        ArgumentNullException.ThrowIfNull(optimizer);
        RequireLoss(nameof(Fit));
        if (epochs < 0)
            throw new ArgumentOutOfRangeException(nameof(epochs), epochs, "must not be negative");
        if (initialEpoch < 0)
            throw new ArgumentOutOfRangeException(nameof(initialEpoch), initialEpoch, "must not be negative");
        if (resumeFrom is not null && initialEpoch != 0)
            throw new ArgumentException("Give initialEpoch or resumeFrom, not both: a checkpoint knows its epoch.", nameof(initialEpoch));
        if (!(validationSplit >= 0 && validationSplit < 1))
            throw new ArgumentOutOfRangeException(nameof(validationSplit), validationSplit, "validationSplit must be in [0, 1).");
        if (verbose is < 0 or > 2)
            throw new ArgumentOutOfRangeException(nameof(verbose), verbose, "verbose is 0 (silent), 1 (progress bar on a terminal) or 2 (one line per epoch).");
        CheckDataset(train, nameof(train));
        ICallback[] hooks = callbacks is null || callbacks.Count == 0 ? NoCallbacks : [.. callbacks];
        foreach (var c in hooks)
            if (c is null) throw new ArgumentException("A callback is null.", nameof(callbacks));

        int trainCount = train.Count;
        Dataset? validationData = null;
        int validationStart = 0, validationCount = 0;
        if (validation is not null)
        {
            CheckDataset(validation, nameof(validation));
            (validationData, validationCount) = (validation, validation.Count);
        }
        else if (validationSplit > 0)
        {
            // Keras: split_at = floor(n · (1 − split)); the tail validates, in its stored order.
            int splitAt = (int)Math.Floor(train.Count * (1 - validationSplit));
            if (splitAt == 0 || splitAt == train.Count)
                throw new ArgumentException(
                    $"validationSplit {validationSplit} of {train.Count} samples leaves {splitAt} to train and {train.Count - splitAt} to validate; both need at least one.",
                    nameof(validationSplit));
            (validationData, validationStart, validationCount) = (train, splitAt, train.Count - splitAt);
            trainCount = splitAt;
        }
        if (trainCount == 0)
            throw new ArgumentException("The training set is empty.", nameof(train));

        var metrics = (Metric[])Metrics;
        int m = metrics.Length;
        var batchNames = new string[1 + m];
        batchNames[0] = "loss";
        for (int i = 0; i < m; i++) batchNames[1 + i] = metrics[i].Name;
        var epochNames = new List<string>(batchNames);
        if (validationData is not null)
            foreach (string name in batchNames) epochNames.Add("val_" + name);

        History history;
        if (resumeFrom is not null)
        {
            var checkpoint = LoadCheckpoint(resumeFrom, optimizer);
            initialEpoch = checkpoint.Epoch;
            history = new History(epochNames, Math.Max(epochs, initialEpoch));
            // The earlier epochs come along when they were recorded with the same metrics.
            if (checkpoint.History is { } earlier && Same(earlier.Names, epochNames))
                history.AppendAll(earlier);
        }
        else history = new History(epochNames, Math.Max(epochs - initialEpoch, 0));

        TextWriter writer = output ?? Console.Out;
        TrainingProgress? progress = verbose switch
        {
            0 => null,
            1 when ReferenceEquals(writer, Console.Out) && !Console.IsOutputRedirected => new ProgressBar(writer),
            _ => new EpochLineProgress(writer),
        };

        // Staging for one batch, the sample order and the logs, allocated once per Fit: the loop allocates nothing.
        int inputSize = InputSize, targetSize = TargetSize, outputSize = OutputSize;
        var inputs = new float[BatchSize * inputSize];
        var targets = new float[BatchSize * targetSize];
        var order = new int[trainCount];
        var metricSums = new double[m];
        int batches = (trainCount + BatchSize - 1) / BatchSize;
        var batchLogs = new Logs(batchNames);
        var epochLogs = new Logs(epochNames);
        var context = new TrainingContext(this, optimizer, history, epochs, initialEpoch, batches, trainCount, validationCount, verbose, writer);

        try
        {
            progress?.TrainBegin(trainCount, validationCount);
            foreach (var c in hooks) c.OnTrainBegin(context);
            for (int epoch = initialEpoch; epoch < epochs && !context.StopTraining; epoch++)
            {
                context.Epoch = epoch;
                // The order restarts from identity each epoch, so one epoch's permutation depends only
                // on the RNG state (which a checkpoint saves), not on every shuffle before it.
                for (int i = 0; i < order.Length; i++) order[i] = i;
                if (shuffle) Random.Shuffle(order);
                progress?.EpochBegin(epoch + 1, epochs);
                foreach (var c in hooks) c.OnEpochBegin(epoch, context);

                long started = Stopwatch.GetTimestamp();
                double lossSum = 0;
                Array.Clear(metricSums);
                int seen = 0;
                Span<double> running = batchLogs.Values;
                for (int b = 0; b < batches; b++)
                {
                    foreach (var c in hooks) c.OnBatchBegin(b, context);
                    int n = Math.Min(BatchSize, trainCount - seen);
                    for (int j = 0; j < n; j++)
                    {
                        int s = order[seen + j];
                        train.Features.AsSpan(s * inputSize, inputSize).CopyTo(inputs.AsSpan(j * inputSize));
                        train.Targets.AsSpan(s * targetSize, targetSize).CopyTo(targets.AsSpan(j * targetSize));
                    }
                    ReadOnlySpan<float> x = inputs.AsSpan(0, n * inputSize), y = targets.AsSpan(0, n * targetSize);

                    ReadOnlySpan<float> outputs = Forward(x, n, training: true);
                    // Before the loss: a fused loss may write its gradient over the outputs.
                    for (int i = 0; i < m; i++) metricSums[i] += metrics[i].Sum(outputs, y, n, outputSize, targetSize);
                    float loss = ComputeLoss(y, n, gradient: true);
                    if (!float.IsFinite(loss))
                        throw Diverged(loss, epoch + 1, epochs, b + 1, batches, optimizer);
                    Backward(n);
                    optimizer.Step(Parameters.Span, Gradients.Span);

                    lossSum += (double)loss * n;
                    seen += n;
                    running[0] = lossSum / seen;
                    for (int i = 0; i < m; i++) running[1 + i] = metricSums[i] / seen;
                    progress?.BatchEnd(seen, trainCount, batchLogs);
                    foreach (var c in hooks) c.OnBatchEnd(b, batchLogs, context);
                    if (context.StopTraining) break;
                }

                // A callback may stop mid-epoch: the epoch's means cover the samples it saw.
                Span<double> values = epochLogs.Values;
                running.CopyTo(values);
                if (validationData is not null)
                    EvaluateRange(validationData, validationStart, validationCount, values.Slice(1 + m, 1 + m));
                history.Append(values);
                progress?.EpochEnd(epoch + 1, seen, Stopwatch.GetElapsedTime(started).TotalSeconds, epochLogs);
                foreach (var c in hooks) c.OnEpochEnd(epoch, epochLogs, context);
            }
            foreach (var c in hooks) c.OnTrainEnd(context);
        }
        catch
        {
            foreach (var c in hooks)
                if (c is IReleasesOnFailure r) r.Release();
            throw;
        }
        return history;
    }

    private static bool Same(IReadOnlyList<string> a, IReadOnlyList<string> b)
    {
        if (a.Count != b.Count) return false;
        for (int i = 0; i < a.Count; i++)
            if (a[i] != b[i]) return false;
        return true;
    }

    /// <summary>Keras' <c>model.evaluate</c>: mean loss and metric over <paramref name="data"/>, in inference mode (no dropout, BN moving statistics).</summary>
    public EvaluationResult Evaluate(Dataset data)
    {
        ArgumentNullException.ThrowIfNull(data);
        RequireLoss(nameof(Evaluate));
        CheckDataset(data, nameof(data));
        if (data.Count == 0) throw new ArgumentException("Cannot evaluate on an empty dataset.", nameof(data));
        return EvaluateRange(data, 0, data.Count);
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
        var result = new float[checked(count * OutputSize)];
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

    /// <summary>Loss then each metric, sample-weighted means over <c>[start, start + count)</c>, written into <paramref name="values"/>.</summary>
    private void EvaluateRange(Dataset data, int start, int count, Span<double> values)
    {
        var metrics = (Metric[])Metrics;
        double lossSum = 0;
        values.Clear();
        int inputSize = InputSize, targetSize = TargetSize, outputSize = OutputSize;
        // No shuffling here, so batches are read straight from the dataset's arrays.
        for (int i = start; i < start + count; i += BatchSize)
        {
            int n = Math.Min(BatchSize, start + count - i);
            ReadOnlySpan<float> y = data.Targets.AsSpan(i * targetSize, n * targetSize);
            ReadOnlySpan<float> outputs = Forward(data.Features.AsSpan(i * inputSize, n * inputSize), n, training: false);
            for (int j = 0; j < metrics.Length; j++) values[1 + j] += metrics[j].Sum(outputs, y, n, outputSize, targetSize);
            lossSum += (double)ComputeLoss(y, n, gradient: false) * n;
        }
        values[0] = lossSum;
        for (int j = 0; j < values.Length; j++) values[j] /= count;
    }

    private EvaluationResult EvaluateRange(Dataset data, int start, int count)
    {
        var metrics = Metrics;
        Span<double> values = stackalloc double[1 + metrics.Count];
        EvaluateRange(data, start, count, values);
        var named = new KeyValuePair<string, float>[metrics.Count];
        for (int j = 0; j < named.Length; j++) named[j] = new(metrics[j].Name, (float)values[1 + j]);
        return new EvaluationResult((float)values[0], named.Length > 0 ? named[0].Value : float.NaN, MetricName) { Values = named };
    }

    private TrainingDivergedException Diverged(float loss, int epoch, int epochs, int batch, int batches, Optimizer optimizer) =>
        new($"{Description.Name}: the loss became {loss} at epoch {epoch}/{epochs}, batch {batch}/{batches}, so training stopped before applying that step. " +
            $"The weights are diverging: try a lower learning rate (this step used {optimizer.CurrentLearningRate:G4}), " +
            "and check that the inputs are scaled and hold no NaN.",
            epoch, batch, loss);

    private void RequireLoss(string what)
    {
        if (Description.Loss is null)
            throw new InvalidOperationException(
                $"{Description.Name} has no [Loss], so it cannot {what} on its own; it trains through the model composed after it.");
    }

    private void CheckDataset(Dataset data, string parameter)
    {
        CheckInputs(data.SampleSize, data.SampleShape, parameter);
        if (data.TargetSize != TargetSize)
        {
            string hint = Description.Loss switch
            {
                Kiln.Loss.SparseCategoricalCrossentropy => " (one class index per sample for sparse categorical cross-entropy)",
                Kiln.Loss.CategoricalCrossentropy when data.TargetSize == 1 => "; categorical cross-entropy wants one-hot targets: one-hot encode the labels or use SparseCategoricalCrossentropy",
                _ => "",
            };
            throw new ArgumentException($"{Description.Name} expects {TargetSize} target value(s) per sample{hint}, but the dataset has {data.TargetSize}.", parameter);
        }
    }

    private void CheckInputs(int sampleSize, int[] sampleShape, string parameter)
    {
        if (sampleSize != InputSize)
            throw new ArgumentException(
                $"{Description.Name} takes samples of shape ({Dataset.Shape(Description.InputShape)}), {InputSize} values, but the dataset's samples are ({Dataset.Shape(sampleShape)}), {sampleSize} values.",
                parameter);
    }
}
