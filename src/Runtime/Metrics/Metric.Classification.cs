using System;
using System.Collections.Generic;

namespace Kiln;

/// <summary>The classification metrics that keep counts over batches (Keras' confusion, F-score, AUC and IoU metrics).</summary>
public abstract partial class Metric
{
    /// <summary>
    /// Keras' <c>Precision</c>, named <c>precision</c>: true positives over predicted positives.
    /// Every (sample, class) output value is a prediction, positive above
    /// <paramref name="threshold"/> (default 0.5); with <paramref name="topK"/> only the k largest
    /// values of each row can be positive (and need no threshold). <paramref name="classId"/>
    /// keeps one class's column. On a softmax output, Keras' precision without class_id or top_k
    /// counts every class value above 0.5; pass <paramref name="classId"/> for a class's precision.
    /// Outputs that are logits are read as probabilities; sparse targets as their one-hot rows.
    /// </summary>
    public static Metric Precision(double? threshold = null, int? topK = null, int? classId = null, string? name = null) =>
        new PrecisionRecallMetric(recall: false, threshold, topK, classId, name);

    /// <summary>Keras' <c>Recall</c>, named <c>recall</c>: true positives over actual positives; the arguments mean what they mean for <see cref="Precision"/>.</summary>
    public static Metric Recall(double? threshold = null, int? topK = null, int? classId = null, string? name = null) =>
        new PrecisionRecallMetric(recall: true, threshold, topK, classId, name);

    /// <summary>
    /// Keras' <c>F1Score</c>, named <c>f1_score</c>: the harmonic mean of precision and recall, per
    /// class. <paramref name="average"/> null (Keras' default) reports one column per class,
    /// <c>f1_score_0</c>, <c>f1_score_1</c>, …; micro, macro and weighted report one value.
    /// A value is a positive prediction above <paramref name="threshold"/>, or, with none, where it
    /// is the row's maximum (on a single sigmoid output, above 0.5).
    /// </summary>
    public static Metric F1Score(MetricAverage? average = null, double? threshold = null, string? name = null) =>
        new FBetaScoreMetric(1, average, threshold, name);

    /// <summary>Keras' <c>FBetaScore</c>, named <c>fbeta_score</c>: recall weighs <paramref name="beta"/> times as much as precision; otherwise as <see cref="F1Score"/>.</summary>
    public static Metric FBetaScore(double beta = 1, MetricAverage? average = null, double? threshold = null, string? name = null) =>
        new FBetaScoreMetric(beta, average, threshold, name ?? "fbeta_score");

    /// <summary>
    /// Keras' <c>AUC</c>, named <c>auc</c>: the area under the ROC (default) or precision-recall
    /// curve, estimated from counts at <paramref name="numThresholds"/> evenly spaced thresholds
    /// with Keras' summation (trapezoids for ROC, Davis and Goadrich's interpolation for PR).
    /// Without <paramref name="multiLabel"/> every (sample, class) value is a point of one curve;
    /// with it each class has its curve and the AUCs are averaged. Logit outputs are read as
    /// probabilities (Keras' <c>from_logits=True</c>).
    /// <paramref name="labelWeights"/> is Keras' <c>label_weights</c>, one finite, non-negative weight
    /// per class (the output's last axis), not all 0: with <paramref name="multiLabel"/> the average
    /// of the classes' AUCs becomes Σ lw·AUC / Σ lw; without, each class's values count with its
    /// weight on the flattened curve (meant for multi-label data, not for one-of-n classes).
    /// <code>Metric.Auc(multiLabel: true, labelWeights: [1, 1, 4])</code>
    /// </summary>
    public static Metric Auc(int numThresholds = 200, AucCurve curve = AucCurve.Roc, AucSummation summationMethod = AucSummation.Interpolation,
        bool multiLabel = false, string? name = null, IReadOnlyList<double>? labelWeights = null) =>
        new AucMetric(numThresholds, curve, summationMethod, multiLabel, name, labelWeights);

    /// <summary>
    /// Keras' <c>AUC(thresholds=[...])</c>: the AUC estimated at the given thresholds (each in [0, 1],
    /// in any order) between Keras' endpoints -1e-7 and 1+1e-7, instead of evenly spaced ones; a
    /// prediction counts as positive at a threshold it is strictly above. <paramref name="labelWeights"/>
    /// as for <see cref="Auc(int, AucCurve, AucSummation, bool, string?, IReadOnlyList{double}?)"/>.
    /// <code>Metric.Auc(thresholds: [0.1, 0.5, 0.9])</code>
    /// </summary>
    public static Metric Auc(IReadOnlyList<double> thresholds, AucCurve curve = AucCurve.Roc, AucSummation summationMethod = AucSummation.Interpolation,
        bool multiLabel = false, string? name = null, IReadOnlyList<double>? labelWeights = null) =>
        new AucMetric(thresholds, curve, summationMethod, multiLabel, name, labelWeights);

    /// <summary>
    /// Keras' <c>MeanIoU</c>, named <c>mean_io_u</c>: intersection over union per class, averaged
    /// over the classes present. The predicted class is the argmax of the outputs (the last axis,
    /// so a segmentation map counts each pixel), or a single sigmoid above 0.5;
    /// <paramref name="numClasses"/>, when given, must match the output. Targets equal to
    /// <paramref name="ignoreClass"/> are left out.
    /// </summary>
    public static Metric MeanIoU(int? numClasses = null, int? ignoreClass = null, string? name = null) =>
        new MeanIoUMetric(numClasses, ignoreClass, name);
}

/// <summary>
/// Column <c>c</c> of a metric that reports one value per class (F1 with no averaging): the first
/// column updates and resets the shared metric, every column reads its class's value.
/// </summary>
internal sealed class ClassColumnMetric(Metric owner, int c) : Metric(owner.Name + "_" + c.ToString(System.Globalization.CultureInfo.InvariantCulture))
{
    /// <summary>The metric whose per-class values the columns show.</summary>
    public Metric Owner => owner;

    /// <summary>Which class this column shows.</summary>
    public int Column => c;

    public override double Sum(ReadOnlySpan<float> outputs, ReadOnlySpan<float> targets, int n, int outputSize, int targetSize) =>
        c == 0 ? owner.Sum(outputs, targets, n, outputSize, targetSize) : 0;

    // A weighted owner (F1 per class in WeightedMetrics) weighs its counts; an unweighted one ignores the weights.
    internal override double WeightedSum(ReadOnlySpan<float> outputs, ReadOnlySpan<float> targets, ReadOnlySpan<float> weights, int n, int outputSize, int targetSize) =>
        c == 0 ? owner.WeightedSum(outputs, targets, weights, n, outputSize, targetSize) : 0;

    internal override bool IsStateful => true;

    internal override bool WeighsSamples => owner.WeighsSamples;

    internal override void ResetState()
    {
        if (c == 0) owner.ResetState();
    }

    internal override double StateResult() => owner.ClassResult(c);

    internal override bool SumsOverRanks => owner.SumsOverRanks;

    internal override void StateSumOverRanks(ICommunicator communicator)
    {
        if (c == 0) owner.StateSumOverRanks(communicator);
    }

    // Model.Resolve re-resolves the owner (from column 0) instead: the columns of one model share its counts.
    internal override Metric Resolve(ModelDescription model) =>
        throw new InvalidOperationException("A per-class column is resolved through the metric it belongs to.");
}
