using System;
using System.Diagnostics;

namespace Kiln;

/// <summary>Loss, metric and timing of one pass over a batch source.</summary>
/// <param name="Loss">Sample-weighted mean loss (in training mode, before each update, as Keras reports it).</param>
/// <param name="Metric">The model's <see cref="Model.MetricName"/> (accuracy, or mae for MSE), sample-weighted.</param>
/// <param name="DataWait">Time the training thread spent waiting for batches (inside <see cref="IBatchSource.Next"/>).</param>
public readonly record struct PassResult(float Loss, float Metric, long Samples, long Batches, TimeSpan Elapsed, TimeSpan DataWait)
{
    /// <summary>Share of the pass spent waiting for data: near 0 when loading overlaps training.</summary>
    public double WaitFraction => Elapsed > TimeSpan.Zero ? DataWait / Elapsed : 0;
}

/// <summary>
/// Trains and evaluates a model on an <see cref="IBatchSource"/> (a prefetching pipeline, an
/// image folder), one pass at a time, measuring how long the training thread waits for data.
/// This is the loop <c>Model.Fit</c> runs for in-memory datasets, minus callbacks and progress;
/// allocates nothing per batch.
/// </summary>
public static class PipelineTraining
{
    /// <summary>One pass (an epoch, or <paramref name="maxBatches"/> batches of an endless source) of training steps.</summary>
    public static PassResult TrainPass(Model model, IBatchSource source, Optimizer optimizer, long maxBatches = -1)
    {
        ArgumentNullException.ThrowIfNull(optimizer);
        return Run(model, source, optimizer, maxBatches);
    }

    /// <summary>Loss and metric over one pass in inference mode (no dropout, BN moving statistics).</summary>
    public static PassResult EvaluatePass(Model model, IBatchSource source, long maxBatches = -1) => Run(model, source, null, maxBatches);

    private static PassResult Run(Model model, IBatchSource source, Optimizer? optimizer, long maxBatches)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(source);
        if (source.SampleSize != model.InputSize)
            throw new ArgumentException($"{model.Description.Name} takes samples of shape ({Dataset.Shape(model.Description.InputShape)}), but the source's are ({Dataset.Shape(source.SampleShape)}).", nameof(source));
        if (source.TargetSize != model.TargetSize)
            throw new ArgumentException($"{model.Description.Name} expects {model.TargetSize} target value(s) per sample, but the source gives {source.TargetSize}; check the class mode (sparse labels vs one-hot).", nameof(source));
        if (source.BatchSize > model.BatchSize)
            throw new ArgumentException($"The source's batches of {source.BatchSize} are larger than {model.Description.Name}'s batch size {model.BatchSize}.", nameof(source));
        if (source.BatchesPerPass < 0 && maxBatches < 0)
            throw new ArgumentException("This source repeats forever; pass maxBatches (steps per epoch).", nameof(maxBatches));

        long started = Stopwatch.GetTimestamp(), waited = 0, samples = 0, batches = 0;
        double lossSum = 0, metricSum = 0;
        while (maxBatches < 0 || batches < maxBatches)
        {
            long before = Stopwatch.GetTimestamp();
            bool more = source.Next(out var batch);
            waited += Stopwatch.GetTimestamp() - before;
            if (!more) break;
            int n = batch.Count;
            var outputs = model.Forward(batch.Features, n, training: optimizer is not null);
            // Before the loss: a fused loss may write its gradient over the outputs.
            metricSum += MetricSum(model, outputs, batch.Targets, n);
            float loss = model.ComputeLoss(batch.Targets, n, gradient: optimizer is not null);
            if (optimizer is not null)
            {
                if (!float.IsFinite(loss))
                    throw new TrainingDivergedException(
                        $"{model.Description.Name}: the loss became {loss} at batch {batches + 1}; lower the learning rate and check that the inputs are scaled.",
                        0, (int)Math.Min(int.MaxValue, batches + 1), loss);
                model.Backward(n);
                optimizer.Step(model.Parameters.Span, model.Gradients.Span);
            }
            lossSum += (double)loss * n;
            samples += n;
            batches++;
        }
        return new PassResult(
            samples == 0 ? 0 : (float)(lossSum / samples), samples == 0 ? 0 : (float)(metricSum / samples), samples, batches,
            Stopwatch.GetElapsedTime(started), Stopwatch.GetElapsedTime(0, waited));
    }

    // Keras' accuracy as Fit resolves it from the loss (mae for MSE); a sum over the batch's samples.
    private static double MetricSum(Model model, ReadOnlySpan<float> outputs, ReadOnlySpan<float> targets, int n)
    {
        int k = model.OutputSize, t = model.TargetSize;
        double sum = 0;
        switch (model.Description.Loss)
        {
            case Loss.SparseCategoricalCrossentropy:
                for (int i = 0; i < n; i++)
                    if (ArgMax(outputs.Slice(i * k, k)) == targets[i]) sum++;
                return sum;
            case Loss.CategoricalCrossentropy:
                for (int i = 0; i < n; i++)
                    if (ArgMax(outputs.Slice(i * k, k)) == ArgMax(targets.Slice(i * t, t))) sum++;
                return sum;
            case Loss.BinaryCrossentropy:
                float threshold = model.Description.FromLogits ? 0f : 0.5f;
                for (int i = 0; i < n * k; i++)
                    if (outputs[i] > threshold == targets[i] > 0.5f) sum++;
                return sum / k;
            default:
                for (int i = 0; i < n * k; i++) sum += Math.Abs(outputs[i] - targets[i]);
                return sum / k;
        }
    }

    private static int ArgMax(ReadOnlySpan<float> values)
    {
        int best = 0;
        for (int i = 1; i < values.Length; i++)
            if (values[i] > values[best]) best = i;
        return best;
    }
}
