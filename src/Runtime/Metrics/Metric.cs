using System;

namespace Kiln;

/// <summary>
/// A metric Fit and Evaluate report next to the loss (Keras' <c>compile(metrics=[...])</c>).
/// <see cref="Sum"/> returns the batch's per-sample values summed, so the epoch value is the
/// sample-weighted mean Keras reports. Implementations must not allocate: Fit calls them on
/// every batch.
/// </summary>
public abstract partial class Metric
{
    protected Metric(string name)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        Name = name;
    }

    /// <summary>The name in History, logs and progress lines (<c>accuracy</c>, <c>val_accuracy</c>).</summary>
    public string Name { get; }

    /// <summary>Sum over <paramref name="n"/> samples of each sample's value (itself a mean over its outputs where it has several).</summary>
    public abstract double Sum(ReadOnlySpan<float> outputs, ReadOnlySpan<float> targets, int n, int outputSize, int targetSize);

    /// <summary>Keras' <c>'accuracy'</c>: categorical, sparse or binary accuracy, picked from the model's loss.</summary>
    public static Metric Accuracy { get; } = new AccuracyByLoss();

    public static Metric SparseCategoricalAccuracy { get; } = new SparseCategoricalAccuracyMetric();
    public static Metric CategoricalAccuracy { get; } = new CategoricalAccuracyMetric();

    /// <summary>Fraction of outputs on the same side of <paramref name="threshold"/> as their 0/1 target.</summary>
    public static Metric BinaryAccuracy(double threshold = 0.5) => new BinaryAccuracyMetric((float)threshold);

    /// <summary>Keras' <c>top_k_categorical_accuracy</c>: the one-hot target's class is among the <paramref name="k"/> highest outputs.</summary>
    public static Metric TopKCategoricalAccuracy(int k = 5) => new TopKMetric(k, sparse: false);

    /// <summary>Keras' <c>sparse_top_k_categorical_accuracy</c>: the label is among the <paramref name="k"/> highest outputs.</summary>
    public static Metric SparseTopKCategoricalAccuracy(int k = 5) => new TopKMetric(k, sparse: true);

    /// <summary>Mean squared error, named <c>mse</c>.</summary>
    public static Metric MeanSquaredError { get; } = new ErrorMetric("mse", squared: true);

    /// <summary>Mean absolute error, named <c>mae</c>.</summary>
    public static Metric MeanAbsoluteError { get; } = new ErrorMetric("mae", squared: false);

    /// <summary>
    /// <paramref name="metric"/> on one output of a model with several, named <c>{output}_{metric}</c>
    /// as in Keras' History (<c>class_accuracy</c>).
    /// </summary>
    public static Metric ForOutput(string output, Metric metric)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(output);
        ArgumentNullException.ThrowIfNull(metric);
        return new OutputMetric(output, metric);
    }

    /// <summary>The concrete metric for a model (only <see cref="Accuracy"/> depends on it), checked against its targets.</summary>
    internal virtual Metric Resolve(ModelDescription model)
    {
        Check(model);
        return this;
    }

    /// <summary>Throws when the metric cannot read this model's outputs and targets.</summary>
    protected virtual void Check(ModelDescription model) { }

    /// <summary>
    /// The batch's sum with Keras' <c>sample_weight</c> (empty: all 1): Σ wᵢ·vᵢ for a metric of
    /// <see cref="Model.WeightedMetrics"/>; an unweighted metric ignores the weights, as Keras' <c>metrics=</c> do.
    /// </summary>
    internal virtual double WeightedSum(ReadOnlySpan<float> outputs, ReadOnlySpan<float> targets, ReadOnlySpan<float> weights, int n, int outputSize, int targetSize) =>
        Sum(outputs, targets, n, outputSize, targetSize);

    /// <summary>Whether the metric is a weighted mean (divided by Σ wᵢ, not by the sample count): one of <see cref="Model.WeightedMetrics"/>.</summary>
    internal virtual bool IsWeighted => false;

    /// <summary>Whether the metric keeps state over batches (<see cref="StatefulMetric"/>) rather than summing per-sample values.</summary>
    internal virtual bool IsStateful => false;

    /// <summary>
    /// Whether the metric can be one of <see cref="Model.WeightedMetrics"/>: a summed one always (each
    /// sample's value times its weight), a stateful one when it weighs its counts (<see cref="StatefulMetric.SupportsSampleWeights"/>).
    /// </summary>
    internal virtual bool WeighsSamples => !IsStateful;

    /// <summary>
    /// A stateful metric's update with sample weights (empty: all 1), for a metric of
    /// <see cref="Model.WeightedMetrics"/> only: <see cref="WeightedSum"/> of an unweighted metric ignores the weights.
    /// </summary>
    internal virtual void WeightedUpdate(ReadOnlySpan<float> outputs, ReadOnlySpan<float> targets, ReadOnlySpan<float> weights, int n, int outputSize, int targetSize) =>
        throw new InvalidOperationException($"{Name} is a summed metric; it is weighted through its per-sample values.");

    /// <summary>Clears a stateful metric before an epoch or an evaluation; nothing for a summed one.</summary>
    internal virtual void ResetState() { }

    /// <summary>A stateful metric's value over the batches since <see cref="ResetState"/>.</summary>
    internal virtual double StateResult() => throw new InvalidOperationException($"{Name} is a summed metric; its value is its sum over the samples seen.");

    /// <summary>Whether a data-parallel Fit can sum the metric's state over the ranks: always for a summed metric, which has none.</summary>
    internal virtual bool SumsOverRanks => !IsStateful;

    /// <summary>Sums a stateful metric's state over the ranks (<see cref="StatefulMetric.SumOverRanks"/>); nothing for a summed one.</summary>
    internal virtual void StateSumOverRanks(ICommunicator communicator) { }

    /// <summary>How many per-class values a resolved metric reports (F1 with no averaging), each as its own column; 0 for one value.</summary>
    internal virtual int ClassColumns => 0;

    /// <summary>The per-class value <paramref name="c"/> of a metric with <see cref="ClassColumns"/>.</summary>
    internal virtual double ClassResult(int c) => throw new InvalidOperationException($"{Name} reports one value, not one per class.");

    private protected static void Require(bool ok, ModelDescription model, string what)
    {
        if (!ok) throw new ArgumentException($"{model.Name}: {what}");
    }

    // First maximum wins, like numpy's argmax.
    internal static int ArgMax(ReadOnlySpan<float> values)
    {
        int best = 0;
        for (int i = 1; i < values.Length; i++)
            if (values[i] > values[best]) best = i;
        return best;
    }

    public override string ToString() => Name;
}

internal sealed class AccuracyByLoss() : Metric("accuracy")
{
    public override double Sum(ReadOnlySpan<float> outputs, ReadOnlySpan<float> targets, int n, int outputSize, int targetSize) =>
        throw new InvalidOperationException("'accuracy' is resolved against a model before use.");

    // Keras' compile_utils: sparse labels → sparse categorical, one output per sample or binary
    // cross-entropy → binary, else categorical. Logits threshold at 0, the sigmoid's 0.5.
    internal override Metric Resolve(ModelDescription model)
    {
        Metric m = model.Loss switch
        {
            Kiln.Loss.SparseCategoricalCrossentropy => new SparseCategoricalAccuracyMetric("accuracy"),
            Kiln.Loss.BinaryCrossentropy => new BinaryAccuracyMetric(model.FromLogits ? 0f : 0.5f, "accuracy"),
            _ when model.OutputSize == 1 => new BinaryAccuracyMetric(0.5f, "accuracy"),
            _ => new CategoricalAccuracyMetric("accuracy"),
        };
        return m.Resolve(model);
    }
}

internal sealed class SparseCategoricalAccuracyMetric(string name = "sparse_categorical_accuracy") : Metric(name)
{
    public override double Sum(ReadOnlySpan<float> outputs, ReadOnlySpan<float> targets, int n, int outputSize, int targetSize)
    {
        int correct = 0;
        for (int i = 0; i < n; i++)
            if (ArgMax(outputs.Slice(i * outputSize, outputSize)) == targets[i * targetSize]) correct++;
        return correct;
    }

    protected override void Check(ModelDescription model) =>
        Require(model.TargetSize == 1, model, $"{Name} needs one class index per sample, but the targets have {model.TargetSize} values; use categorical accuracy for one-hot targets.");
}

internal sealed class CategoricalAccuracyMetric(string name = "categorical_accuracy") : Metric(name)
{
    public override double Sum(ReadOnlySpan<float> outputs, ReadOnlySpan<float> targets, int n, int outputSize, int targetSize)
    {
        int correct = 0;
        for (int i = 0; i < n; i++)
            if (ArgMax(outputs.Slice(i * outputSize, outputSize)) == ArgMax(targets.Slice(i * targetSize, targetSize))) correct++;
        return correct;
    }

    protected override void Check(ModelDescription model) =>
        Require(model.TargetSize == model.OutputSize, model, $"{Name} compares one-hot targets with the outputs, but the targets have {model.TargetSize} values and the outputs {model.OutputSize}; use sparse categorical accuracy for class indices.");
}

internal sealed class BinaryAccuracyMetric(float threshold, string name = "binary_accuracy") : Metric(name)
{
    public override double Sum(ReadOnlySpan<float> outputs, ReadOnlySpan<float> targets, int n, int outputSize, int targetSize)
    {
        int correct = 0;
        for (int i = 0; i < n * outputSize; i++)
            if (outputs[i] > threshold == targets[i] > 0.5f) correct++;
        return (double)correct / outputSize;
    }

    protected override void Check(ModelDescription model) =>
        Require(model.TargetSize == model.OutputSize, model, $"{Name} needs one 0/1 target per output, but the targets have {model.TargetSize} values and the outputs {model.OutputSize}.");
}

internal sealed class TopKMetric : Metric
{
    private readonly int _k;
    private readonly bool _sparse;

    public TopKMetric(int k, bool sparse)
        : base(sparse ? "sparse_top_k_categorical_accuracy" : "top_k_categorical_accuracy")
    {
        if (k <= 0) throw new ArgumentOutOfRangeException(nameof(k), k, "k must be positive.");
        _k = k;
        _sparse = sparse;
    }

    // tf.math.in_top_k: the target's score counts when fewer than k outputs beat it strictly,
    // so classes tied at the boundary are all in the top k.
    public override double Sum(ReadOnlySpan<float> outputs, ReadOnlySpan<float> targets, int n, int outputSize, int targetSize)
    {
        int hits = 0;
        for (int i = 0; i < n; i++)
        {
            var row = outputs.Slice(i * outputSize, outputSize);
            int label = _sparse ? (int)targets[i] : ArgMax(targets.Slice(i * targetSize, targetSize));
            if ((uint)label >= (uint)outputSize) continue;
            float score = row[label];
            int above = 0;
            foreach (float v in row)
                if (v > score) above++;
            if (above < _k && !float.IsNaN(score)) hits++;
        }
        return hits;
    }

    protected override void Check(ModelDescription model) =>
        Require(_sparse ? model.TargetSize == 1 : model.TargetSize == model.OutputSize, model, _sparse
            ? $"{Name} needs one class index per sample, but the targets have {model.TargetSize} values."
            : $"{Name} needs one-hot targets of {model.OutputSize} values, but they have {model.TargetSize}.");
}

internal sealed class ErrorMetric(string name, bool squared) : Metric(name)
{
    public override double Sum(ReadOnlySpan<float> outputs, ReadOnlySpan<float> targets, int n, int outputSize, int targetSize)
    {
        double sum = 0;
        for (int i = 0; i < n * outputSize; i++)
        {
            double d = outputs[i] - targets[i];
            sum += squared ? d * d : Math.Abs(d);
        }
        return sum / outputSize;
    }

    protected override void Check(ModelDescription model) =>
        Require(model.TargetSize == model.OutputSize, model, $"{Name} compares each output with its target, but the targets have {model.TargetSize} values and the outputs {model.OutputSize}.");
}
