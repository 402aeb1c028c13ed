using System;

namespace Kiln;

/// <summary>
/// A running confusion matrix: rows the true class, columns the predicted one (argmax, or a sigmoid
/// above 0.5), one count per prediction (per pixel of a segmentation map). Shared by
/// <see cref="MeanIoUMetric"/> and <see cref="Model.ConfusionMatrix(Dataset, string?, System.Collections.Generic.IReadOnlyList{string}?)"/>.
/// </summary>
internal sealed class ConfusionCounts(ClassLayout layout, int? ignoreClass = null)
{
    public ClassLayout Layout { get; } = layout;

    public int Classes => Layout.Classes;

    /// <summary>Row-major, <see cref="Classes"/>² counts.</summary>
    public long[] Counts { get; } = new long[layout.Classes * layout.Classes];

    public void Reset() => Array.Clear(Counts);

    public void Update(ReadOnlySpan<float> outputs, ReadOnlySpan<float> targets, int n)
    {
        int classes = Classes;
        for (int i = 0; i < n; i++)
        {
            var scores = Layout.Scores(outputs, i);
            for (int p = 0; p < Layout.Positions; p++)
            {
                int actual = Layout.TrueClass(targets, i, p);
                if (actual == ignoreClass) continue;
                Counts[actual * classes + Layout.PredictedClass(scores, p)]++;
            }
        }
    }
}

/// <summary>
/// Keras' <c>MeanIoU</c>: per class, intersection over union <c>TP / (TP + FP + FN)</c> from the
/// confusion matrix accumulated over batches, averaged over the classes that appear (in the
/// targets or the predictions), with Keras 3's epsilons: <c>Σ TP/(denominator + 1e-7)</c> divided by
/// <c>(classes with a non-zero denominator) + 1e-7</c>. Predictions are the argmax of the outputs
/// (Keras' <c>sparse_y_pred=False</c>), a sigmoid's above 0.5.
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

    // The counts as doubles for the allreduce (exact below 2^53), allocated on the first call.
    private double[]? _sums;

    public override void SumOverRanks(ICommunicator communicator)
    {
        if (_counts is null) return;
        long[] counts = _counts.Counts;
        var sums = _sums ??= new double[counts.Length];
        for (int i = 0; i < counts.Length; i++) sums[i] = counts[i];
        communicator.AllReduceSum(sums);
        for (int i = 0; i < counts.Length; i++) counts[i] = (long)sums[i];
    }

    public override void Update(ReadOnlySpan<float> outputs, ReadOnlySpan<float> targets, int n, int outputSize, int targetSize) =>
        (_counts ?? throw new InvalidOperationException($"{Name} is used before it is resolved against a model.")).Update(outputs, targets, n);

    public override double Result()
    {
        if (_counts is null) return 0;
        int classes = _counts.Classes;
        long[] m = _counts.Counts;
        double sum = 0, valid = 0;
        for (int c = 0; c < classes; c++)
        {
            long row = 0, column = 0;
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
