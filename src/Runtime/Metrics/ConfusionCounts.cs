using System;

namespace Kiln;

/// <summary>
/// A running confusion matrix: rows the true class, columns the predicted one (argmax, or a sigmoid
/// above 0.5), one count per prediction (per pixel of a segmentation map), or the prediction's sample
/// weight when there are weights (Keras' <c>confusion_matrix(..., weights=sample_weight)</c>). Shared by
/// <see cref="MeanIoUMetric"/> and <see cref="Model.ConfusionMatrix(Dataset, string?, System.Collections.Generic.IReadOnlyList{string}?)"/>.
/// </summary>
internal sealed class ConfusionCounts(ClassLayout layout, int? ignoreClass = null)
{
    public ClassLayout Layout { get; } = layout;

    public int Classes => Layout.Classes;

    /// <summary>Row-major, <see cref="Classes"/>² counts (sums of weights; whole numbers, exact below 2⁵³, without weights).</summary>
    public double[] Counts { get; } = new double[layout.Classes * layout.Classes];

    public void Reset() => Array.Clear(Counts);

    /// <summary>Adds <paramref name="n"/> samples, each of its predictions with its sample's weight (<paramref name="weights"/> empty: 1).</summary>
    public void Update(ReadOnlySpan<float> outputs, ReadOnlySpan<float> targets, ReadOnlySpan<float> weights, int n)
    {
        int classes = Classes;
        for (int i = 0; i < n; i++)
        {
            double w = weights.IsEmpty ? 1 : weights[i];
            if (w == 0) continue; // weighted 0: left out, whatever its outputs and label
            var scores = Layout.Scores(outputs, i);
            for (int p = 0; p < Layout.Positions; p++)
            {
                int actual = Layout.TrueClass(targets, i, p);
                if (actual == ignoreClass) continue;
                Counts[actual * classes + Layout.PredictedClass(scores, p)] += w;
            }
        }
    }

    /// <summary>The unweighted counts as whole numbers, for <see cref="ConfusionMatrix"/>.</summary>
    public long[] ToWholeCounts()
    {
        var whole = new long[Counts.Length];
        for (int i = 0; i < whole.Length; i++) whole[i] = (long)Counts[i];
        return whole;
    }
}

/// <summary>
/// Keras' <c>MeanIoU</c>: per class, intersection over union <c>TP / (TP + FP + FN)</c> from the
/// confusion matrix accumulated over batches, averaged over the classes that appear (in the
/// targets or the predictions), with Keras 3's epsilons: <c>Σ TP/(denominator + 1e-7)</c> divided by
/// <c>(classes with a non-zero denominator) + 1e-7</c>. Predictions are the argmax of the outputs
/// (Keras' <c>sparse_y_pred=False</c>), a sigmoid's above 0.5. With sample weights
/// (<see cref="Model.WeightedMetrics"/>) each prediction adds its sample's weight to the matrix.
/// </summary>
internal sealed class MeanIoUMetric : StatefulMetric
{
    private const double Epsilon = 1e-7;

    private readonly int? _numClasses, _ignoreClass;
    private readonly ConfusionCounts? _counts;

    public MeanIoUMetric(int? numClasses, int? ignoreClass, string? name)
        : this(numClasses, ignoreClass, name, null)
    {
        if (numClasses is < 2) throw new ArgumentOutOfRangeException(nameof(numClasses), numClasses, "num_classes must be at least 2.");
    }

    private MeanIoUMetric(int? numClasses, int? ignoreClass, string? name, ConfusionCounts? counts)
        : base(name ?? "mean_io_u")
    {
        (_numClasses, _ignoreClass, _counts) = (numClasses, ignoreClass, counts);
    }

    protected override StatefulMetric ForModel(ModelDescription model)
    {
        var layout = ClassLayout.For(model, Name);
        Require(_numClasses is null || _numClasses == layout.Classes, model,
            $"{Name}: num_classes is {_numClasses}, but the output predicts {layout.Classes} classes.");
        return new MeanIoUMetric(_numClasses, _ignoreClass, Name, new ConfusionCounts(layout, _ignoreClass));
    }

    public override void Reset() => _counts?.Reset();

    public override bool CanSumOverRanks => true;

    public override void SumOverRanks(ICommunicator communicator)
    {
        if (_counts is not null) communicator.AllReduceSum(_counts.Counts);
    }

    public override bool SupportsSampleWeights => true;

    public override void Update(ReadOnlySpan<float> outputs, ReadOnlySpan<float> targets, int n, int outputSize, int targetSize) =>
        Update(outputs, targets, default, n, outputSize, targetSize);

    // Keras' IoU.update_state: the confusion matrix adds each prediction's sample weight (every pixel of a sample gets the sample's).
    public override void Update(ReadOnlySpan<float> outputs, ReadOnlySpan<float> targets, ReadOnlySpan<float> sampleWeights, int n, int outputSize, int targetSize) =>
        (_counts ?? throw new InvalidOperationException($"{Name} is used before it is resolved against a model.")).Update(outputs, targets, sampleWeights, n);

    public override double Result()
    {
        if (_counts is null) return 0;
        int classes = _counts.Classes;
        double[] m = _counts.Counts;
        double sum = 0, valid = 0;
        for (int c = 0; c < classes; c++)
        {
            double row = 0, column = 0;
            for (int j = 0; j < classes; j++)
            {
                row += m[c * classes + j];
                column += m[j * classes + c];
            }
            double truePositives = m[c * classes + c];
            double denominator = row + column - truePositives;
            if (denominator > 1e-9) valid++;
            sum += truePositives / (denominator + Epsilon);
        }
        return sum / (valid + Epsilon);
    }
}
