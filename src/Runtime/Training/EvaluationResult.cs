using System;
using System.Globalization;

namespace Kiln;

/// <summary>
/// What <see cref="Model.Evaluate"/> returns: the mean loss and the one metric Keras'
/// <c>metrics=['accuracy']</c> picks for the loss (<c>accuracy</c>), or <c>mae</c> for
/// mean squared error. <c>var (loss, accuracy) = model.Evaluate(test);</c> deconstructs it.
/// </summary>
public readonly record struct EvaluationResult(float Loss, float Metric, string MetricName)
{
    /// <summary>The accuracy; a model trained with mean squared error has none (its metric is <c>mae</c>).</summary>
    public float Accuracy => MetricName == Model.AccuracyName
        ? Metric
        : throw new InvalidOperationException($"This model reports '{MetricName}', not accuracy (a mean-squared-error model has no accuracy); read Metric.");

    public void Deconstruct(out float loss, out float metric)
    {
        loss = Loss;
        metric = Metric;
    }

    /// <summary>As Keras prints it: <c>loss: 0.2733 - accuracy: 0.8825</c>.</summary>
    public override string ToString() =>
        string.Create(CultureInfo.InvariantCulture, $"loss: {History.FormatValue(Loss)} - {MetricName}: {History.FormatValue(Metric)}");
}

/// <summary>Thrown by <see cref="Model.Fit"/> when a batch's loss is NaN or infinite, before the bad step is applied.</summary>
public sealed class TrainingDivergedException : Exception
{
    public TrainingDivergedException(string message, int epoch, int batch, float loss)
        : base(message)
    {
        Epoch = epoch;
        Batch = batch;
        Loss = loss;
    }

    /// <summary>1-based epoch, as printed.</summary>
    public int Epoch { get; }

    /// <summary>1-based batch within the epoch.</summary>
    public int Batch { get; }

    public float Loss { get; }
}
