using System;
using System.Diagnostics;
using System.IO;

namespace Kiln;

/// <summary>Keras' fit / evaluate / predict around the generated cores.</summary>
public abstract partial class Model
{
    internal const string AccuracyName = "accuracy";
    internal const string MaeName = "mae";

    /// <summary>The metric Fit and Evaluate report next to the loss: <c>accuracy</c>, or <c>mae</c> for mean squared error.</summary>
    public string MetricName => Description.Loss == Kiln.Loss.MeanSquaredError ? MaeName : AccuracyName;

    /// <summary>
    /// Keras' <c>model.fit</c>. Batches of <see cref="BatchSize"/> (the last one smaller);
    /// <paramref name="validationSplit"/> holds out the <b>last</b> fraction of
    /// <paramref name="train"/>, before any shuffling, and is ignored when
    /// <paramref name="validation"/> is given (Keras: validation_data overrides it). Each epoch
    /// shuffles with <see cref="Random"/>, so a seed fixes the run. The loss and metric are the
    /// sample-weighted means over the epoch's batches, measured in training mode before each
    /// update, as Keras reports them; validation runs after the epoch in inference mode.
    /// <paramref name="verbose"/> 0 prints nothing; 1 and 2 print one line per epoch to
    /// <paramref name="output"/> (default the console).
    /// </summary>
    public History Fit(Dataset train, int epochs, Optimizer optimizer, Dataset? validation = null,
        double validationSplit = 0, bool shuffle = true, int verbose = 1, TextWriter? output = null)
    {
        ArgumentNullException.ThrowIfNull(train);
        ArgumentNullException.ThrowIfNull(optimizer);
        RequireLoss(nameof(Fit));
        if (epochs < 0)
            throw new ArgumentOutOfRangeException(nameof(epochs), epochs, "must not be negative");
        if (!(validationSplit >= 0 && validationSplit < 1))
            throw new ArgumentOutOfRangeException(nameof(validationSplit), validationSplit, "validationSplit must be in [0, 1).");
        if (verbose is < 0 or > 2)
            throw new ArgumentOutOfRangeException(nameof(verbose), verbose, "verbose is 0 (silent), 1 or 2 (one line per epoch).");
        CheckDataset(train, nameof(train));

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

        string metric = MetricName;
        var history = new History(validationData is null ? ["loss", metric] : ["loss", metric, "val_loss", "val_" + metric], epochs);
        TrainingProgress? progress = verbose == 0 ? null : new EpochLineProgress(output ?? Console.Out);

        // Staging for one batch and the sample order, allocated once per Fit: the loop allocates nothing.
        int inputSize = InputSize, targetSize = TargetSize;
        var inputs = new float[BatchSize * inputSize];
        var targets = new float[BatchSize * targetSize];
        var order = new int[trainCount];
        int batches = (trainCount + BatchSize - 1) / BatchSize;
        Span<double> epochValues = stackalloc double[4];

        progress?.TrainBegin(trainCount, validationCount);
        for (int epoch = 1; epoch <= epochs; epoch++)
        {
            // The order restarts from identity each epoch, so one epoch's permutation depends only
            // on the RNG state (which a checkpoint saves), not on every shuffle before it.
            for (int i = 0; i < order.Length; i++) order[i] = i;
            if (shuffle) Random.Shuffle(order);
            progress?.EpochBegin(epoch, epochs);

            long started = Stopwatch.GetTimestamp();
            double lossSum = 0, metricSum = 0;
            int seen = 0;
            for (int b = 0; b < batches; b++)
            {
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
                double batchMetric = MetricSum(outputs, y, n);
                float loss = ComputeLoss(y, n, gradient: true);
                if (!float.IsFinite(loss))
                    throw Diverged(loss, epoch, epochs, b + 1, batches, optimizer);
                Backward(n);
                optimizer.Step(Parameters.Span, Gradients.Span);

                lossSum += (double)loss * n;
                metricSum += batchMetric;
                seen += n;
                progress?.BatchEnd(seen, trainCount, lossSum / seen, metricSum / seen);
            }

            epochValues[0] = lossSum / trainCount;
            epochValues[1] = metricSum / trainCount;
            if (validationData is not null)
            {
                var v = EvaluateRange(validationData, validationStart, validationCount);
                epochValues[2] = v.Loss;
                epochValues[3] = v.Metric;
            }
            history.Append(epochValues[..history.Names.Count]);
            progress?.EpochEnd(epoch, trainCount, Stopwatch.GetElapsedTime(started).TotalSeconds, history);
        }
        return history;
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

    private EvaluationResult EvaluateRange(Dataset data, int start, int count)
    {
        double lossSum = 0, metricSum = 0;
        int inputSize = InputSize, targetSize = TargetSize;
        // No shuffling here, so batches are read straight from the dataset's arrays.
        for (int i = start; i < start + count; i += BatchSize)
        {
            int n = Math.Min(BatchSize, start + count - i);
            ReadOnlySpan<float> y = data.Targets.AsSpan(i * targetSize, n * targetSize);
            ReadOnlySpan<float> outputs = Forward(data.Features.AsSpan(i * inputSize, n * inputSize), n, training: false);
            metricSum += MetricSum(outputs, y, n);
            lossSum += (double)ComputeLoss(y, n, gradient: false) * n;
        }
        return new EvaluationResult((float)(lossSum / count), (float)(metricSum / count), MetricName);
    }

    /// <summary>
    /// The batch's metric summed over samples (each sample's value is a mean over its outputs),
    /// Keras' 'accuracy' resolved by the loss: sparse labels match the argmax, one-hot targets
    /// match argmax to argmax, binary outputs threshold at 0.5 (0 for logits); MSE gives mae.
    /// </summary>
    private double MetricSum(ReadOnlySpan<float> outputs, ReadOnlySpan<float> targets, int n)
    {
        int k = OutputSize, t = TargetSize;
        double sum = 0;
        switch (Description.Loss)
        {
            case Kiln.Loss.SparseCategoricalCrossentropy:
                for (int i = 0; i < n; i++)
                    if (ArgMax(outputs.Slice(i * k, k)) == targets[i]) sum++;
                break;
            case Kiln.Loss.CategoricalCrossentropy:
                for (int i = 0; i < n; i++)
                    if (ArgMax(outputs.Slice(i * k, k)) == ArgMax(targets.Slice(i * t, t))) sum++;
                break;
            case Kiln.Loss.BinaryCrossentropy:
            {
                float threshold = Description.FromLogits ? 0f : 0.5f;
                int correct = 0;
                for (int i = 0; i < n * k; i++)
                    if (outputs[i] > threshold == targets[i] > 0.5f) correct++;
                sum = (double)correct / k;
                break;
            }
            case Kiln.Loss.MeanSquaredError:
            {
                double abs = 0;
                for (int i = 0; i < n * k; i++) abs += Math.Abs(outputs[i] - targets[i]);
                sum = abs / k;
                break;
            }
        }
        return sum;
    }

    // First maximum wins, like numpy's argmax.
    private static int ArgMax(ReadOnlySpan<float> values)
    {
        int best = 0;
        for (int i = 1; i < values.Length; i++)
            if (values[i] > values[best]) best = i;
        return best;
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
