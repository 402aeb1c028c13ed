using System;

namespace Kiln;

/// <summary>
/// Keras' <c>Precision</c> and <c>Recall</c> with one threshold: every (sample, class) value is a
/// yes/no prediction, positive above the threshold (0.5), or, with <c>top_k</c>, when it is among
/// the row's k largest (and above the threshold when one is given); its target is positive when
/// non-zero. <c>class_id</c> keeps one class's column. Sparse targets count as their one-hot rows.
/// With sample weights (<see cref="Model.WeightedMetrics"/>) each entry counts its sample's weight instead of 1.
/// </summary>
internal sealed class PrecisionRecallMetric : StatefulMetric
{
    // Keras' NEG_INF: with top_k and no threshold, every value in the top k is a positive.
    private const float NegativeInfinity = -1e10f;

    private readonly bool _recall;
    private readonly float? _threshold;
    private readonly int? _topK, _classId;
    private readonly ClassLayout? _layout;
    private double _truePositives, _falsePositives, _falseNegatives;

    public PrecisionRecallMetric(bool recall, double? threshold, int? topK, int? classId, string? name)
        : this(recall, threshold, topK, classId, name, null)
    {
        if (threshold is { } t && !(t >= 0 && t <= 1))
            throw new ArgumentOutOfRangeException(nameof(threshold), threshold, "A threshold must be in [0, 1].");
        if (topK is < 1) throw new ArgumentOutOfRangeException(nameof(topK), topK, "top_k must be positive.");
        if (classId is < 0) throw new ArgumentOutOfRangeException(nameof(classId), classId, "class_id must not be negative.");
    }

    private PrecisionRecallMetric(bool recall, double? threshold, int? topK, int? classId, string? name, ClassLayout? layout)
        : base(name ?? (recall ? "recall" : "precision"))
    {
        _recall = recall;
        _threshold = threshold is { } t ? (float)t : null;
        _topK = topK;
        _classId = classId;
        _layout = layout;
    }

    protected override StatefulMetric ForModel(ModelDescription model)
    {
        var layout = ClassLayout.For(model, Name);
        Require(_classId is null || _classId < layout.Width, model,
            $"{Name}: class_id {_classId} is not one of the output's {layout.Width} columns.");
        Require(_topK is null || _topK <= layout.Width, model,
            $"{Name}: top_k {_topK} is more than the output's {layout.Width} columns.");
        return new PrecisionRecallMetric(_recall, _threshold, _topK, _classId, Name, layout);
    }

    public override void Reset() => _truePositives = _falsePositives = _falseNegatives = 0;

    public override bool CanSumOverRanks => true;

    public override void SumOverRanks(ICommunicator communicator)
    {
        Span<double> counts = [_truePositives, _falsePositives, _falseNegatives];
        communicator.AllReduceSum(counts);
        (_truePositives, _falsePositives, _falseNegatives) = (counts[0], counts[1], counts[2]);
    }

    public override bool SupportsSampleWeights => true;

    public override void Update(ReadOnlySpan<float> outputs, ReadOnlySpan<float> targets, int n, int outputSize, int targetSize) =>
        Update(outputs, targets, default, n, outputSize, targetSize);

    // Keras' update_confusion_matrix_variables: every (sample, class) entry counts with its sample's weight.
    public override void Update(ReadOnlySpan<float> outputs, ReadOnlySpan<float> targets, ReadOnlySpan<float> sampleWeights, int n, int outputSize, int targetSize)
    {
        var layout = _layout ?? throw new InvalidOperationException($"{Name} is used before it is resolved against a model.");
        int width = layout.Width;
        float threshold = _threshold ?? (_topK is null ? 0.5f : NegativeInfinity);
        int first = _classId ?? 0, last = _classId ?? width - 1;
        double tp = 0, fp = 0, fn = 0;
        for (int i = 0; i < n; i++)
        {
            double w = sampleWeights.IsEmpty ? 1 : sampleWeights[i];
            if (w == 0) continue; // weighted 0: left out, whatever its outputs
            long sampleTp = 0, sampleFp = 0, sampleFn = 0;
            var scores = layout.Scores(outputs, i);
            for (int p = 0; p < layout.Positions; p++)
            {
                var row = scores.Slice(p * width, width);
                for (int c = first; c <= last; c++)
                {
                    bool predicted = row[c] > threshold && (_topK is not { } k || InTopK(row, c, k));
                    bool actual = layout.Truth(targets, i, p, c) != 0;
                    if (predicted && actual) sampleTp++;
                    else if (predicted) sampleFp++;
                    else if (actual) sampleFn++;
                }
            }
            tp += w * sampleTp;
            fp += w * sampleFp;
            fn += w * sampleFn;
        }
        _truePositives += tp;
        _falsePositives += fp;
        _falseNegatives += fn;
    }

    // tf.math.top_k's order: larger first, the lower index first among equals.
    private static bool InTopK(ReadOnlySpan<float> row, int c, int k)
    {
        float v = row[c];
        int ahead = 0;
        for (int j = 0; j < row.Length; j++)
            if (row[j] > v || (row[j] == v && j < c)) ahead++;
        return ahead < k;
    }

    // divide_no_nan: no predicted (or no actual) positives gives 0.
    public override double Result()
    {
        double denominator = _truePositives + (_recall ? _falseNegatives : _falsePositives);
        return denominator == 0 ? 0 : _truePositives / denominator;
    }
}
