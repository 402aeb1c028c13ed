using System;
using System.Collections.Generic;
using System.Text;

namespace Kiln;

/// <summary>
/// What <c>Model.Evaluate</c> returns: the mean loss and the model's first metric
/// (<c>accuracy</c> by default, <c>mae</c> for mean squared error), with every metric of
/// <see cref="Model.Metrics"/> in <see cref="Values"/>. <c>var (loss, accuracy) = model.Evaluate(test);</c>
/// deconstructs it.
/// </summary>
public readonly record struct EvaluationResult(float Loss, float Metric, string MetricName)
{
    /// <summary>Every metric by name, in <see cref="Model.Metrics"/> order (the loss not included).</summary>
    public IReadOnlyList<KeyValuePair<string, float>> Values { get; init; } = [];

    /// <summary>The value of metric <paramref name="name"/>, or the loss for <c>"loss"</c>.</summary>
    public float this[string name]
    {
        get
        {
            if (name == "loss") return Loss;
            foreach (var (n, v) in Values)
                if (n == name) return v;
            throw new KeyNotFoundException($"The evaluation has no metric '{name}'.");
        }
    }

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
    public override string ToString()
    {
        var sb = new StringBuilder("loss: ").Append(History.FormatValue(Loss));
        if (Values.Count == 0 && MetricName.Length > 0)
            sb.Append(" - ").Append(MetricName).Append(": ").Append(History.FormatValue(Metric));
        foreach (var (name, value) in Values)
            sb.Append(" - ").Append(name).Append(": ").Append(History.FormatValue(value));
        return sb.ToString();
    }
}

/// <summary>Thrown by <c>Model.Fit</c> when a batch's loss is NaN or infinite, before the bad step is applied.</summary>
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
