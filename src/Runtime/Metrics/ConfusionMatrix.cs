using System;
using System.Collections.Generic;
using System.Globalization;
using System.Text;

namespace Kiln;

/// <summary>
/// Counts of predictions by true class (rows) and predicted class (columns), as scikit-learn's
/// <c>confusion_matrix</c> and Keras' <c>tf.math.confusion_matrix</c> lay them out. From
/// <see cref="Model.ConfusionMatrix(Dataset, string?, IReadOnlyList{string}?)"/>; printable as an
/// aligned table (<see cref="ToString()"/>), and drawn as a heat map by Kiln.Plotting's
/// <c>ConfusionMatrixPlot.SavePng</c>.
/// </summary>
public sealed class ConfusionMatrix
{
    private readonly long[] _counts;

    /// <summary>A matrix of <paramref name="classes"/>² counts, row-major (row = true class), optionally with a name per class.</summary>
    public ConfusionMatrix(int classes, ReadOnlySpan<long> counts, IReadOnlyList<string>? classNames = null)
    {
        if (classes < 1) throw new ArgumentOutOfRangeException(nameof(classes), classes, "A confusion matrix needs at least one class.");
        if (counts.Length != classes * classes)
            throw new ArgumentException($"{classes} classes need {classes * classes} counts, but {counts.Length} were given.", nameof(counts));
        foreach (long c in counts)
            if (c < 0) throw new ArgumentException("Counts must not be negative.", nameof(counts));
        if (classNames is not null && classNames.Count != classes)
            throw new ArgumentException($"{classes} classes need {classes} names, but {classNames.Count} were given.", nameof(classNames));
        Classes = classes;
        _counts = counts.ToArray();
        ClassNames = classNames is null ? null : [.. classNames];
    }

    /// <summary>The number of classes: the matrix is <see cref="Classes"/> × <see cref="Classes"/>.</summary>
    public int Classes { get; }

    /// <summary>The classes' names (e.g. <c>FashionMnist.ClassNames</c>), or null for their indices.</summary>
    public IReadOnlyList<string>? ClassNames { get; }

    /// <summary>How many samples of class <paramref name="trueClass"/> were predicted as <paramref name="predictedClass"/>.</summary>
    public long this[int trueClass, int predictedClass]
    {
        get
        {
            if ((uint)trueClass >= (uint)Classes) throw new ArgumentOutOfRangeException(nameof(trueClass), trueClass, $"Classes are 0 to {Classes - 1}.");
            if ((uint)predictedClass >= (uint)Classes) throw new ArgumentOutOfRangeException(nameof(predictedClass), predictedClass, $"Classes are 0 to {Classes - 1}.");
            return _counts[trueClass * Classes + predictedClass];
        }
    }

    /// <summary>Every prediction counted.</summary>
    public long Total
    {
        get
        {
            long sum = 0;
            foreach (long c in _counts) sum += c;
            return sum;
        }
    }

    /// <summary>The counts as a <c>[true, predicted]</c> array.</summary>
    public long[,] ToArray()
    {
        var a = new long[Classes, Classes];
        for (int i = 0; i < Classes; i++)
            for (int j = 0; j < Classes; j++) a[i, j] = _counts[i * Classes + j];
        return a;
    }

    /// <summary>The samples of class <paramref name="trueClass"/> (its row's sum, scikit-learn's support).</summary>
    public long Support(int trueClass)
    {
        long sum = 0;
        for (int j = 0; j < Classes; j++) sum += this[trueClass, j];
        return sum;
    }

    /// <summary>The predictions of class <paramref name="predictedClass"/> (its column's sum).</summary>
    public long Predicted(int predictedClass)
    {
        long sum = 0;
        for (int i = 0; i < Classes; i++) sum += this[i, predictedClass];
        return sum;
    }

    /// <summary>The diagonal over the total; 0 when empty.</summary>
    public double Accuracy
    {
        get
        {
            long total = Total, correct = 0;
            for (int c = 0; c < Classes; c++) correct += _counts[c * Classes + c];
            return total == 0 ? 0 : (double)correct / total;
        }
    }

    /// <summary>Class <paramref name="c"/>'s recall: its diagonal over its row; 0 when it has no samples (scikit-learn's zero_division=0).</summary>
    public double Recall(int c) => Support(c) is var s and > 0 ? (double)this[c, c] / s : 0;

    /// <summary>Class <paramref name="c"/>'s precision: its diagonal over its column; 0 when it is never predicted.</summary>
    public double Precision(int c) => Predicted(c) is var p and > 0 ? (double)this[c, c] / p : 0;

    /// <summary>The same counts with names for the classes.</summary>
    public ConfusionMatrix WithClassNames(IReadOnlyList<string> classNames)
    {
        ArgumentNullException.ThrowIfNull(classNames);
        return new ConfusionMatrix(Classes, _counts, classNames);
    }

    /// <summary>The row label of class <paramref name="c"/>: its name, or its index.</summary>
    public string Label(int c) => ClassNames?[c] ?? c.ToString(CultureInfo.InvariantCulture);

    /// <summary>
    /// An aligned table, true classes down, predicted across, with each row's support:
    /// <code>
    /// true \ predicted     0    1  support
    ///                0    50    2       52
    ///                1     3   45       48
    /// </code>
    /// </summary>
    public override string ToString()
    {
        const string corner = "true \\ predicted", support = "support";
        int labelWidth = corner.Length;
        for (int c = 0; c < Classes; c++) labelWidth = Math.Max(labelWidth, Label(c).Length);
        // Every count column is as wide as the widest count or class label.
        int cell = support.Length;
        for (int c = 0; c < Classes; c++) cell = Math.Max(cell, Label(c).Length);
        foreach (long v in _counts) cell = Math.Max(cell, Digits(v));
        for (int c = 0; c < Classes; c++) cell = Math.Max(cell, Digits(Support(c)));

        var sb = new StringBuilder();
        sb.Append(corner.PadLeft(labelWidth));
        for (int j = 0; j < Classes; j++) sb.Append("  ").Append(Label(j).PadLeft(cell));
        sb.Append("  ").Append(support.PadLeft(cell)).Append('\n');
        for (int i = 0; i < Classes; i++)
        {
            sb.Append(Label(i).PadLeft(labelWidth));
            for (int j = 0; j < Classes; j++)
                sb.Append("  ").Append(_counts[i * Classes + j].ToString(CultureInfo.InvariantCulture).PadLeft(cell));
            sb.Append("  ").Append(Support(i).ToString(CultureInfo.InvariantCulture).PadLeft(cell)).Append('\n');
        }
        return sb.ToString();
    }

    private static int Digits(long v) => v.ToString(CultureInfo.InvariantCulture).Length;
}
