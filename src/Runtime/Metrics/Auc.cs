using System;
using System.Collections.Generic;

namespace Kiln;

/// <summary>
/// Keras' <c>AUC</c>: the area under the ROC or precision-recall curve, estimated from true and
/// false positives counted at <c>num_thresholds</c> thresholds, <c>-ε, 1/(T-1), …, (T-2)/(T-1),
/// 1+ε</c>. As Keras' bucketed update does, each value (clipped to [0, 1]) falls in bucket
/// <c>max(0, ⌈p·(T-1)⌉ - 1)</c> and counts as positive at every threshold up to that bucket's, so
/// a value is positive at a threshold it is strictly above. The counts are kept per bucket and
/// summed from the top when the result is read. Without <c>multi_label</c> every (sample, class)
/// value is one point of one curve; with it, each class has its own curve and the AUCs are averaged.
/// With explicit thresholds (Keras' <c>AUC(thresholds=[...])</c>) the thresholds are <c>-ε</c>, the
/// given ones sorted, <c>1+ε</c>; when they are evenly spaced Keras (and so Kiln) still counts by
/// bucket as above, otherwise a value counts as positive at each threshold it is strictly above.
/// With sample weights each value counts its sample's weight instead of 1. Keras' <c>label_weights</c>
/// (one per class) weigh the values of each class on the flattened curve, or, with <c>multi_label</c>,
/// the classes' AUCs in their average, Σ lw·AUC / Σ lw.
/// </summary>
internal sealed class AucMetric : StatefulMetric
{
    private readonly int _thresholds;
    private readonly AucCurve _curve;
    private readonly AucSummation _summation;
    private readonly bool _multiLabel;
    private readonly ClassLayout? _layout;
    // Explicit thresholds that are not evenly spaced, ascending, endpoints included (float32, as Keras compares them); null: buckets.
    private readonly float[]? _cuts;
    // Keras' label_weights, one per class (checked against the output when resolved); null: all 1.
    private readonly double[]? _labelWeights;
    // Per label, the positives and negatives whose value fell in each bucket; then the curve's counts, summed from the top.
    private readonly double[] _positives = [], _negatives = [], _tp = [], _fp = [];

    public AucMetric(int numThresholds, AucCurve curve, AucSummation summation, bool multiLabel, string? name, IReadOnlyList<double>? labelWeights = null)
        : this(numThresholds, curve, summation, multiLabel, name, null, null, CheckedLabelWeights(labelWeights))
    {
        if (numThresholds <= 1) throw new ArgumentOutOfRangeException(nameof(numThresholds), numThresholds, "num_thresholds must be more than 1.");
        if (!Enum.IsDefined(curve)) throw new ArgumentOutOfRangeException(nameof(curve), curve, "Not a curve.");
        if (!Enum.IsDefined(summation)) throw new ArgumentOutOfRangeException(nameof(summation), summation, "Not a summation method.");
    }

    /// <summary>Keras' <c>AUC(thresholds=[...])</c>: the given thresholds, each in [0, 1], between the endpoints -ε and 1+ε.</summary>
    public AucMetric(IReadOnlyList<double> thresholds, AucCurve curve, AucSummation summation, bool multiLabel, string? name, IReadOnlyList<double>? labelWeights = null)
        : this(CheckedThresholds(thresholds).Length + 2, curve, summation, multiLabel, name, null, Cuts(thresholds), CheckedLabelWeights(labelWeights))
    {
        if (!Enum.IsDefined(curve)) throw new ArgumentOutOfRangeException(nameof(curve), curve, "Not a curve.");
        if (!Enum.IsDefined(summation)) throw new ArgumentOutOfRangeException(nameof(summation), summation, "Not a summation method.");
    }

    private AucMetric(int numThresholds, AucCurve curve, AucSummation summation, bool multiLabel, string? name, ClassLayout? layout, float[]? cuts, double[]? labelWeights)
        : base(name ?? "auc")
    {
        (_thresholds, _curve, _summation, _multiLabel, _layout, _cuts, _labelWeights) = (numThresholds, curve, summation, multiLabel, layout, cuts, labelWeights);
        if (layout is not null)
        {
            int labels = multiLabel ? layout.Width : 1;
            (_positives, _negatives) = (new double[labels * numThresholds], new double[labels * numThresholds]);
            (_tp, _fp) = (new double[numThresholds], new double[numThresholds]);
        }
    }

    protected override StatefulMetric ForModel(ModelDescription model)
    {
        var layout = ClassLayout.For(model, Name);
        Require(_labelWeights is null || _labelWeights.Length == layout.Width, model,
            $"{Name}: label_weights has {_labelWeights?.Length} values, but the output has {layout.Width} labels (its last axis); give one weight per label.");
        return new AucMetric(_thresholds, _curve, _summation, _multiLabel, Name, layout, _cuts, _labelWeights);
    }

    public override void Reset()
    {
        Array.Clear(_positives);
        Array.Clear(_negatives);
    }

    public override bool CanSumOverRanks => true;

    // The per-threshold counts; the cumulative _tp and _fp are derived from them when the result is read.
    public override void SumOverRanks(ICommunicator communicator)
    {
        communicator.AllReduceSum(_positives);
        communicator.AllReduceSum(_negatives);
    }

    public override bool SupportsSampleWeights => true;

    public override void Update(ReadOnlySpan<float> outputs, ReadOnlySpan<float> targets, int n, int outputSize, int targetSize) =>
        Update(outputs, targets, default, n, outputSize, targetSize);

    // Keras' update_confusion_matrix_variables: each value counts its sample's weight, times its label's
    // weight on the flattened curve (with multi_label the label weights act in Result instead).
    public override void Update(ReadOnlySpan<float> outputs, ReadOnlySpan<float> targets, ReadOnlySpan<float> sampleWeights, int n, int outputSize, int targetSize)
    {
        var layout = _layout ?? throw new InvalidOperationException($"{Name} is used before it is resolved against a model.");
        int width = layout.Width, t = _thresholds;
        float steps = t - 1;
        double[]? flatWeights = _multiLabel ? null : _labelWeights;
        for (int i = 0; i < n; i++)
        {
            double w = sampleWeights.IsEmpty ? 1 : sampleWeights[i];
            if (w == 0) continue; // weighted 0: left out, whatever its outputs
            var scores = layout.Scores(outputs, i);
            for (int p = 0; p < layout.Positions; p++)
                for (int c = 0; c < width; c++)
                {
                    float v = scores[p * width + c];
                    if (float.IsNaN(v)) continue;
                    // In float32, as Keras computes it, so values on a threshold land in the same bucket.
                    int bucket = _cuts is null ? Math.Max(0, (int)MathF.Ceiling(Math.Clamp(v, 0f, 1f) * steps) - 1) : Above(_cuts, v) - 1;
                    int index = (_multiLabel ? c * t : 0) + bucket;
                    double weight = flatWeights is null ? w : w * flatWeights[c];
                    if (layout.Truth(targets, i, p, c) != 0) _positives[index] += weight;
                    else _negatives[index] += weight;
                }
        }
    }

    // With multi_label, the mean of the labels' AUCs, or Keras' Σ lw·AUC / Σ lw with label weights.
    public override double Result()
    {
        int labels = _positives.Length / _thresholds;
        double[]? weights = _multiLabel ? _labelWeights : null;
        double sum = 0, total = 0;
        for (int l = 0; l < labels; l++)
        {
            double lw = weights?[l] ?? 1;
            sum += lw * Area(l);
            total += lw;
        }
        return Ratio(sum, total);
    }

    /// <summary>The area of label <paramref name="label"/>'s curve (the only one without multi_label).</summary>
    private double Area(int label)
    {
        int t = _thresholds;
        var positives = _positives.AsSpan(label * t, t);
        var negatives = _negatives.AsSpan(label * t, t);
        double tpRun = 0, fpRun = 0;
        for (int i = t - 1; i >= 0; i--)
        {
            _tp[i] = tpRun += positives[i];
            _fp[i] = fpRun += negatives[i];
        }
        double allPositives = _tp[0], allNegatives = _fp[0];
        if (_curve == AucCurve.PR && _summation == AucSummation.Interpolation) return InterpolatedPrArea(allPositives);

        double area = 0;
        for (int i = 0; i < t - 1; i++)
        {
            double x0, x1, y0, y1;
            if (_curve == AucCurve.Roc)
            {
                (x0, x1) = (Ratio(_fp[i], allNegatives), Ratio(_fp[i + 1], allNegatives));   // false-positive rate
                (y0, y1) = (Ratio(_tp[i], allPositives), Ratio(_tp[i + 1], allPositives));   // recall
            }
            else
            {
                (x0, x1) = (Ratio(_tp[i], allPositives), Ratio(_tp[i + 1], allPositives));   // recall
                (y0, y1) = (Ratio(_tp[i], _tp[i] + _fp[i]), Ratio(_tp[i + 1], _tp[i + 1] + _fp[i + 1]));  // precision
            }
            double height = _summation switch
            {
                AucSummation.Minoring => Math.Min(y0, y1),
                AucSummation.Majoring => Math.Max(y0, y1),
                _ => (y0 + y1) / 2,
            };
            area += (x0 - x1) * height;
        }
        return area;
    }

    /// <summary>
    /// Keras' <c>interpolate_pr_auc</c> (Davis and Goadrich 2006): between two thresholds the true
    /// positives and the predicted positives P vary linearly, so precision is <c>(intercept + slope·P)/P</c>
    /// and its integral over recall has a closed form with <c>log(P_A/P_B)</c>.
    /// </summary>
    private double InterpolatedPrArea(double allPositives)
    {
        double area = 0;
        for (int i = 0; i < _thresholds - 1; i++)
        {
            double dtp = _tp[i] - _tp[i + 1];
            double p0 = _tp[i] + _fp[i], p1 = _tp[i + 1] + _fp[i + 1];
            double slope = Ratio(dtp, Math.Max(p0 - p1, 0));
            double intercept = _tp[i + 1] - slope * p1;
            double ratio = p0 > 0 && p1 > 0 ? Ratio(p0, Math.Max(p1, 0)) : 1;
            // tp + fn at the upper threshold is every positive.
            area += Ratio(slope * (dtp + intercept * Math.Log(ratio)), Math.Max(allPositives, 0));
        }
        return area;
    }

    /// <summary>How many of the ascending <paramref name="cuts"/> <paramref name="v"/> is strictly above (a probability is always above the first, -ε).</summary>
    private static int Above(float[] cuts, float v)
    {
        int lo = 0, hi = cuts.Length; // the first cut ≥ v
        while (lo < hi)
        {
            int mid = (lo + hi) >>> 1;
            if (cuts[mid] < v) lo = mid + 1;
            else hi = mid;
        }
        return Math.Max(lo, 1);
    }

    /// <summary>Keras' <c>label_weights</c>: each finite and ≥ 0, not all 0 (no label would count); null stays null.</summary>
    private static double[]? CheckedLabelWeights(IReadOnlyList<double>? labelWeights)
    {
        if (labelWeights is null) return null;
        var weights = new double[labelWeights.Count];
        if (weights.Length == 0) throw new ArgumentException("label_weights is empty; give one non-negative weight per label, or none.", nameof(labelWeights));
        double total = 0;
        for (int i = 0; i < weights.Length; i++)
        {
            double w = labelWeights[i];
            if (!(w >= 0 && w <= double.MaxValue))
                throw new ArgumentOutOfRangeException(nameof(labelWeights), w, $"AUC label weight {i} is {w}; label weights must be finite and non-negative.");
            total += weights[i] = w;
        }
        if (total == 0) throw new ArgumentException("AUC label weights are all 0, so no label would count; give at least one a positive weight.", nameof(labelWeights));
        return weights;
    }

    private static double[] CheckedThresholds(IReadOnlyList<double> thresholds)
    {
        ArgumentNullException.ThrowIfNull(thresholds);
        var sorted = new double[thresholds.Count];
        for (int i = 0; i < sorted.Length; i++)
        {
            double t = thresholds[i];
            if (!(t >= 0 && t <= 1))
                throw new ArgumentOutOfRangeException(nameof(thresholds), t, $"AUC threshold {i} is {t}; thresholds are probabilities in [0, 1].");
            sorted[i] = t;
        }
        Array.Sort(sorted);
        return sorted;
    }

    /// <summary>
    /// The thresholds Keras compares with, -ε, the given ones sorted, 1+ε, in float32; null when
    /// [0, thresholds..., 1] is evenly spaced (numpy's allclose, atol ε), where Keras counts by bucket.
    /// </summary>
    private static float[]? Cuts(IReadOnlyList<double> thresholds)
    {
        double[] sorted = CheckedThresholds(thresholds);
        int n = sorted.Length + 2;
        bool even = n >= 3;
        for (int i = 0; i < n && even; i++)
        {
            double t = i == 0 ? 0 : i == n - 1 ? 1 : sorted[i - 1];
            double expected = (float)i / (float)(n - 1); // numpy: arange(n, float32) / (n - 1)
            even = Math.Abs(t - expected) <= Epsilon + 1e-5 * Math.Abs(expected);
        }
        if (even) return null;
        var cuts = new float[n];
        cuts[0] = (float)(0.0 - Epsilon);
        for (int i = 0; i < sorted.Length; i++) cuts[i + 1] = (float)sorted[i];
        cuts[^1] = (float)(1.0 + Epsilon);
        return cuts;
    }

    // Keras' backend.epsilon(), the endpoints' margin.
    private const double Epsilon = 1e-7;

    // divide_no_nan.
    private static double Ratio(double a, double b) => b == 0 ? 0 : a / b;
}
