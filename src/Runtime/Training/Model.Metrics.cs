using System;
using System.Collections.Generic;

namespace Kiln;

/// <summary>The metrics Fit and Evaluate report (Keras' <c>compile(metrics=...)</c>).</summary>
public abstract partial class Model
{
    internal const string AccuracyName = "accuracy";
    internal const string MaeName = "mae";

    private Metric[]? _metrics;

    /// <summary>
    /// What Fit and Evaluate report after the loss, in order. Defaults to Keras' <c>['accuracy']</c>
    /// (resolved from the loss: sparse, categorical or binary), or <c>mae</c> for mean squared error.
    /// Setting it checks each metric against the model's outputs and targets.
    /// <code>model.Metrics = [Metric.Accuracy, Metric.SparseTopKCategoricalAccuracy(3)];</code>
    /// </summary>
    public IReadOnlyList<Metric> Metrics
    {
        get => _metrics ??= Resolve(DefaultMetrics());
        set
        {
            ArgumentNullException.ThrowIfNull(value);
            _metrics = Resolve(value);
        }
    }

    /// <summary>The first metric's name: <c>accuracy</c>, or <c>mae</c> for mean squared error; empty with no metrics.</summary>
    public string MetricName => Metrics.Count > 0 ? Metrics[0].Name : "";

    private IReadOnlyList<Metric> DefaultMetrics()
    {
        if (Description.Outputs.Count == 1) return Default(Description.Loss);
        // Several outputs: each one's metric, named after it (Keras: class_accuracy, size_mae).
        var metrics = new List<Metric>();
        foreach (var output in Description.Outputs)
            foreach (var m in Default(output.Loss))
                metrics.Add(Metric.ForOutput(output.Name, m));
        return metrics;

        static IReadOnlyList<Metric> Default(Loss? loss) => loss switch
        {
            null => [],
            Kiln.Loss.MeanSquaredError => [Metric.MeanAbsoluteError],
            _ => [Metric.Accuracy],
        };
    }

    private Metric[] Resolve(IReadOnlyList<Metric> metrics)
    {
        var resolved = new Metric[metrics.Count];
        var names = new HashSet<string>(StringComparer.Ordinal) { "loss" };
        for (int i = 0; i < resolved.Length; i++)
        {
            var m = metrics[i] ?? throw new ArgumentException($"Metric {i} is null.", nameof(metrics));
            resolved[i] = m.Resolve(Description);
            if (!names.Add(resolved[i].Name))
                throw new ArgumentException($"{Description.Name}: two metrics are named '{resolved[i].Name}'; History needs distinct names.", nameof(metrics));
        }
        return resolved;
    }
}
