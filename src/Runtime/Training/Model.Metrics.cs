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
            _allMetrics = null;
        }
    }

    private Metric[] _weightedMetrics = [];
    private Metric[]? _allMetrics;

    /// <summary>
    /// Keras' <c>compile(weighted_metrics=[...])</c>: metrics Fit and Evaluate report after
    /// <see cref="Metrics"/>, weighted by the data's sample weights (<see cref="Dataset.WithSampleWeights"/>,
    /// a pipeline's, a batch source's) or, in training, the class weights Fit was given; with no
    /// weights each equals the unweighted metric. A mean of per-sample values (accuracy, top-k, mae)
    /// becomes Σ wᵢ·vᵢ / Σ wᵢ; a metric that keeps counts (precision, recall, F-scores, AUC, mean
    /// IoU) adds each sample's counts times its weight, as Keras' <c>update_state(..., sample_weight)</c>.
    /// Each is named as Keras 3 names it: <c>accuracy</c>, or <c>weighted_accuracy</c>
    /// (<c>class_weighted_accuracy</c> for one output of several) when <see cref="Metrics"/> already
    /// reports an <c>accuracy</c>. Empty by default. A custom <see cref="StatefulMetric"/> takes part
    /// when it implements <see cref="StatefulMetric.SupportsSampleWeights"/>.
    /// <code>model.WeightedMetrics = [Metric.Accuracy, Metric.Auc()];   // history: loss, accuracy, weighted_accuracy, auc</code>
    /// </summary>
    public IReadOnlyList<Metric> WeightedMetrics
    {
        get
        {
            var all = AllMetrics;
            int unweighted = ((Metric[])Metrics).Length;
            return all.AsSpan(unweighted).ToArray();
        }
        set
        {
            ArgumentNullException.ThrowIfNull(value);
            var resolved = new List<Metric>(value.Count);
            for (int i = 0; i < value.Count; i++)
            {
                var m = value[i] ?? throw new ArgumentException($"Weighted metric {i} is null.", nameof(value));
                // Another model's per-class columns (WeightedMetrics = other.WeightedMetrics): their metric, once.
                if (m is ClassColumnMetric column)
                {
                    if (column.Column > 0) continue;
                    m = column.Owner;
                }
                if (m is WeightedMetric w) m = w.Inner; // another model's weighted metric: the metric it weighs
                if (!m.WeighsSamples)
                    throw new ArgumentException(
                        $"{Description.Name}: '{m.Name}' keeps state that it cannot weigh by sample; implement StatefulMetric.SupportsSampleWeights and Update with sample weights, or report it in Metrics, unweighted.", nameof(value));
                resolved.Add(m.Resolve(Description));
            }
            var previous = (_weightedMetrics, _allMetrics);
            (_weightedMetrics, _allMetrics) = ([.. resolved], null);
            try
            {
                _ = AllMetrics; // names checked now, where the mistake is
            }
            catch
            {
                (_weightedMetrics, _allMetrics) = previous;
                throw;
            }
        }
    }

    /// <summary><see cref="Metrics"/> then <see cref="WeightedMetrics"/>, named as History shows them: the columns Fit and Evaluate report.</summary>
    internal Metric[] AllMetrics => _allMetrics ??= Combine();

    private Metric[] Combine()
    {
        var metrics = (Metric[])Metrics;
        if (_weightedMetrics.Length == 0) return metrics;
        var names = new HashSet<string>(StringComparer.Ordinal) { "loss" };
        foreach (var m in metrics)
        {
            names.Add(m.Name);
            if (m is ClassColumnMetric column) names.Add(column.Owner.Name); // f1_score, whose columns are f1_score_0, …
        }
        var all = new List<Metric>(metrics);
        foreach (var r in _weightedMetrics)
        {
            // Keras 3 (CompileMetrics.result): the metric's own name, unless an unweighted one took it.
            string name = r.Name;
            if (names.Contains(name))
                name = r is OutputMetric o ? $"{o.Output}_weighted_{o.Inner.Name}" : "weighted_" + r.Name;
            var weighted = new WeightedMetric(r, name);
            // A metric with one value per class (F1 with no averaging) is one column per class, as in Metrics.
            int columns = weighted.ClassColumns;
            if (columns == 0) Add(weighted);
            else names.Add(name); // taken for the metrics after it, as an unweighted F1's name is
            for (int c = 0; c < columns; c++) Add(new ClassColumnMetric(weighted, c));
        }
        return [.. all];

        void Add(Metric m)
        {
            if (!names.Add(m.Name))
                throw new ArgumentException($"{Description.Name}: two metrics are named '{m.Name}'; History needs distinct names.", nameof(WeightedMetrics));
            all.Add(m);
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
        var resolved = new List<Metric>(metrics.Count);
        var names = new HashSet<string>(StringComparer.Ordinal) { "loss" };
        for (int i = 0; i < metrics.Count; i++)
        {
            var m = metrics[i] ?? throw new ArgumentException($"Metric {i} is null.", nameof(metrics));
            // Another model's per-class columns (Metrics = other.Metrics): its metric, resolved afresh once.
            if (m is ClassColumnMetric column)
            {
                if (column.Column > 0) continue;
                m = column.Owner;
            }
            var r = m.Resolve(Description);
            // A metric with one value per class (F1 with no averaging) is one column per class.
            int columns = r.ClassColumns;
            if (columns == 0) resolved.Add(r);
            for (int c = 0; c < columns; c++) resolved.Add(new ClassColumnMetric(r, c));
        }
        foreach (var r in resolved)
            if (!names.Add(r.Name))
                throw new ArgumentException($"{Description.Name}: two metrics are named '{r.Name}'; History needs distinct names.", nameof(metrics));
        return [.. resolved];
    }

    /// <summary>Clears the stateful metrics (precision, AUC, …) before an epoch or an evaluation.</summary>
    private static void ResetMetrics(Metric[] metrics)
    {
        // A for loop over the array: foreach over an interface would allocate an enumerator per epoch.
        for (int j = 0; j < metrics.Length; j++) metrics[j].ResetState();
    }

    /// <summary>Overwrites the value of each stateful metric in <paramref name="values"/> (one per metric) with its result so far; the summed ones keep theirs.</summary>
    private static void StatefulValues(Metric[] metrics, Span<double> values)
    {
        for (int j = 0; j < metrics.Length; j++)
            if (metrics[j].IsStateful) values[j] = metrics[j].StateResult();
    }

    /// <summary>
    /// The confusion matrix of <paramref name="data"/> in inference mode, rows the true class and
    /// columns the predicted one (the argmax of the outputs, or a single sigmoid above 0.5), as
    /// scikit-learn's <c>confusion_matrix(y_true, np.argmax(model.predict(x), -1))</c>. A
    /// segmentation output counts every pixel. <paramref name="output"/> picks one output of a
    /// model with several; <paramref name="classNames"/> label the rows and columns.
    /// <code>Console.WriteLine(model.ConfusionMatrix(test, classNames: FashionMnist.ClassNames));</code>
    /// </summary>
    public ConfusionMatrix ConfusionMatrix(Dataset data, string? output = null, IReadOnlyList<string>? classNames = null)
    {
        ArgumentNullException.ThrowIfNull(data);
        CheckDataset(data, nameof(data));
        if (data.Count == 0) throw new ArgumentException("Cannot count predictions of an empty dataset.", nameof(data));
        return CountConfusion(new DatasetBatches(this, data, 0, data.Count, shuffle: false), -1, output, classNames);
    }

    /// <summary>The confusion matrix over one pass of <paramref name="data"/>, or <paramref name="steps"/> batches (see <see cref="ConfusionMatrix(Dataset, string?, IReadOnlyList{string}?)"/>).</summary>
    public ConfusionMatrix ConfusionMatrix(IBatchSource data, long steps = -1, string? output = null, IReadOnlyList<string>? classNames = null)
    {
        ArgumentNullException.ThrowIfNull(data);
        EpochOf(data, steps, nameof(data), nameof(steps));
        return CountConfusion(data, steps, output, classNames);
    }

    private ConfusionMatrix CountConfusion(IBatchSource source, long steps, string? output, IReadOnlyList<string>? classNames)
    {
        // The output's columns of the packed output and target rows.
        ModelDescription described = Description;
        int outputOffset = 0, targetOffset = 0;
        if (output is not null || Description.Outputs.Count > 1)
        {
            if (output is null)
                throw new ArgumentException($"{Description.Name} has {Description.Outputs.Count} outputs; name the one to count.", nameof(output));
            bool found = false;
            foreach (var o in Description.Outputs)
            {
                if (o.Name == output)
                {
                    described = Description.ForOutput(o);
                    found = true;
                    break;
                }
                outputOffset += o.Size;
                targetOffset += o.TargetSize;
            }
            if (!found) throw new ArgumentException($"{Description.Name} has no output named '{output}'.", nameof(output));
        }
        var counts = new ConfusionCounts(ClassLayout.For(described, "the confusion matrix"));
        if (classNames is not null && classNames.Count != counts.Classes)
            throw new ArgumentException($"{Description.Name}: the output predicts {counts.Classes} classes, but {classNames.Count} class names were given.", nameof(classNames));
        int outputSize = described.OutputSize, targetSize = described.TargetSize;
        var outputs = new float[BatchSize * outputSize];
        var targets = new float[BatchSize * targetSize];
        long b = 0, seen = 0;
        while (steps < 0 || b < steps)
        {
            bool more = source.Next(out var batch);
            if (!more && b == 0) more = source.Next(out batch);
            if (!more) break;
            int n = CheckBatch(batch, "confusion matrix");
            var all = Forward(batch.Features, n, training: false);
            Kernels.Merge.CopyOut(all.Slice(0, n * OutputSize), outputs.AsSpan(0, n * outputSize), n, outputSize, outputOffset, OutputSize, accumulate: false);
            Kernels.Merge.CopyOut(batch.Targets.Slice(0, n * TargetSize), targets.AsSpan(0, n * targetSize), n, targetSize, targetOffset, TargetSize, accumulate: false);
            counts.Update(outputs, targets, default, n);
            seen += n;
            b++;
        }
        if (seen == 0) throw new InvalidOperationException("The source gave no batches: it is empty.");
        return new Kiln.ConfusionMatrix(counts.Classes, counts.ToWholeCounts(), classNames);
    }
}
