using System;

namespace Kiln;

/// <summary>
/// Keras' <c>FBetaScore</c> / <c>F1Score</c>: per class, the true positives, false positives,
/// false negatives and support (the sum of the targets), accumulated over batches; the score is
/// <c>(1+β²)·P·R / (β²·P + R)</c> with Keras' 1e-7 epsilons. A prediction is positive above the
/// threshold or, with no threshold, where it equals the row's maximum (and is not 0). With no
/// averaging Fit and Evaluate report one column per class, <c>f1_score_0</c>, <c>f1_score_1</c>, ….
/// With sample weights (<see cref="Model.WeightedMetrics"/>) each sample's four sums are multiplied by its weight.
/// </summary>
internal sealed class FBetaScoreMetric : StatefulMetric
{
    private const double Epsilon = 1e-7; // keras.backend.epsilon()

    private readonly double _beta;
    private readonly MetricAverage? _average;
    private readonly float? _threshold;
    private readonly ClassLayout? _layout;
    private readonly double[] _truePositives = [], _falsePositives = [], _falseNegatives = [], _support = [];

    public FBetaScoreMetric(double beta, MetricAverage? average, double? threshold, string? name)
        : this(beta, average, threshold, name, null)
    {
        if (!(beta > 0) || double.IsInfinity(beta)) throw new ArgumentOutOfRangeException(nameof(beta), beta, "beta must be positive.");
        if (threshold is { } t && !(t > 0 && t <= 1))
            throw new ArgumentOutOfRangeException(nameof(threshold), threshold, "The threshold must be in (0, 1].");
        if (average is { } a && !Enum.IsDefined(a)) throw new ArgumentOutOfRangeException(nameof(average), average, "Not an averaging mode.");
    }

    private FBetaScoreMetric(double beta, MetricAverage? average, double? threshold, string? name, ClassLayout? layout)
        : base(name ?? (beta == 1 ? "f1_score" : "fbeta_score"))
    {
        _beta = beta;
        _average = average;
        _threshold = threshold is { } t ? (float)t : null;
        _layout = layout;
        if (layout is not null)
        {
            int w = layout.Width;
            (_truePositives, _falsePositives, _falseNegatives, _support) = (new double[w], new double[w], new double[w], new double[w]);
        }
    }

    protected override StatefulMetric ForModel(ModelDescription model) =>
        new FBetaScoreMetric(_beta, _average, _threshold, Name, ClassLayout.For(model, Name));

    internal override int ClassColumns => _average is null && _layout is { Width: > 1 } l ? l.Width : 0;

    public override void Reset()
    {
        Array.Clear(_truePositives);
        Array.Clear(_falsePositives);
        Array.Clear(_falseNegatives);
        Array.Clear(_support);
    }

    public override bool CanSumOverRanks => true;

    public override void SumOverRanks(ICommunicator communicator)
    {
        communicator.AllReduceSum(_truePositives);
        communicator.AllReduceSum(_falsePositives);
        communicator.AllReduceSum(_falseNegatives);
        communicator.AllReduceSum(_support);
    }

    public override bool SupportsSampleWeights => true;

    public override void Update(ReadOnlySpan<float> outputs, ReadOnlySpan<float> targets, int n, int outputSize, int targetSize) =>
        Update(outputs, targets, default, n, outputSize, targetSize);

    // Keras' FBetaScore.update_state: each sample's TP, FP, FN and support are multiplied by its weight.
    public override void Update(ReadOnlySpan<float> outputs, ReadOnlySpan<float> targets, ReadOnlySpan<float> sampleWeights, int n, int outputSize, int targetSize)
    {
        var layout = _layout ?? throw new InvalidOperationException($"{Name} is used before it is resolved against a model.");
        int width = layout.Width;
        // Keras' threshold=None takes the argmax, which on a single sigmoid would call every sample positive: 0.5 there.
        bool argmax = _threshold is null && width > 1;
        float threshold = _threshold ?? 0.5f;
        for (int i = 0; i < n; i++)
        {
            double w = sampleWeights.IsEmpty ? 1 : sampleWeights[i];
            if (w == 0) continue; // weighted 0: left out, whatever its outputs
            var scores = layout.Scores(outputs, i);
            for (int p = 0; p < layout.Positions; p++)
            {
                var row = scores.Slice(p * width, width);
                float max = float.NegativeInfinity;
                if (argmax) foreach (float v in row) max = MathF.Max(max, v);
                for (int c = 0; c < width; c++)
                {
                    bool positive = argmax ? row[c] >= max && MathF.Abs(row[c]) > 1e-9f : row[c] > threshold;
                    double y = layout.Truth(targets, i, p, c);
                    if (positive)
                    {
                        _truePositives[c] += w * y;
                        _falsePositives[c] += w * (1 - y);
                    }
                    else _falseNegatives[c] += w * y;
                    _support[c] += w * y;
                }
            }
        }
    }

    public override double Result()
    {
        int w = _truePositives.Length;
        switch (_average)
        {
            case MetricAverage.Micro:
            {
                double tp = 0, fp = 0, fn = 0;
                for (int c = 0; c < w; c++) (tp, fp, fn) = (tp + _truePositives[c], fp + _falsePositives[c], fn + _falseNegatives[c]);
                return Score(tp, fp, fn);
            }
            case MetricAverage.Weighted:
            {
                double total = 0, sum = 0;
                for (int c = 0; c < w; c++) total += _support[c];
                for (int c = 0; c < w; c++) sum += ClassResult(c) * (_support[c] / (total + Epsilon));
                return sum;
            }
            default:
            {
                // Macro; with no averaging, the mean of the per-class columns.
                double sum = 0;
                for (int c = 0; c < w; c++) sum += ClassResult(c);
                return sum / w;
            }
        }
    }

    internal override double ClassResult(int c) => Score(_truePositives[c], _falsePositives[c], _falseNegatives[c]);

    private double Score(double tp, double fp, double fn)
    {
        double precision = tp / (tp + fp + Epsilon);
        double recall = tp / (tp + fn + Epsilon);
        double b2 = _beta * _beta;
        return precision * recall / (b2 * precision + recall + Epsilon) * (1 + b2);
    }
}
