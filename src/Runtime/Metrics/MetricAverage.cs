namespace Kiln;

/// <summary>How <see cref="Metric.F1Score"/> combines its per-class scores (Keras' <c>average</c>; <c>null</c> keeps one score per class).</summary>
public enum MetricAverage
{
    /// <summary>One score from the true positives, false positives and false negatives of all classes together.</summary>
    Micro,

    /// <summary>The unweighted mean of the per-class scores.</summary>
    Macro,

    /// <summary>The mean of the per-class scores weighted by each class's support (its count of true targets).</summary>
    Weighted,
}

/// <summary>The curve <see cref="Metric.Auc(int, AucCurve, AucSummation, bool, string?, System.Collections.Generic.IReadOnlyList{double}?)"/> measures the area under.</summary>
public enum AucCurve
{
    /// <summary>Receiver operating characteristic: recall against the false-positive rate.</summary>
    Roc,

    /// <summary>Precision against recall.</summary>
    PR,
}

/// <summary>Keras' <c>summation_method</c> for <see cref="Metric.Auc(int, AucCurve, AucSummation, bool, string?, System.Collections.Generic.IReadOnlyList{double}?)"/>.</summary>
public enum AucSummation
{
    /// <summary>Trapezoids for ROC; for PR, Davis and Goadrich's interpolation of true and false positives (not of precision).</summary>
    Interpolation,

    /// <summary>The lower of the two ends of each interval: a lower bound.</summary>
    Minoring,

    /// <summary>The higher of the two ends of each interval: an upper bound.</summary>
    Majoring,
}
