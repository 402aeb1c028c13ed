using System;
using System.Collections.Generic;

namespace Kiln;

/// <summary>
/// Class weights computed from the labels, for Fit's <c>classWeight</c> (Keras' <c>class_weight</c>).
/// <code>model.Fit(train, epochs: 5, new Adam(1e-3), classWeight: ClassWeight.Balanced(train));</code>
/// </summary>
public static class ClassWeight
{
    /// <summary>
    /// scikit-learn's <c>compute_class_weight("balanced", classes=np.unique(y), y=y)</c>, which the
    /// Keras imbalanced-data tutorial feeds to <c>class_weight</c>: each class present in
    /// <paramref name="data"/> weighs <c>n_samples / (n_classes · count_c)</c>, so every class
    /// contributes the same total weight and a class with average frequency weighs 1. A sample's
    /// class is read as Fit's <c>classWeight</c> reads it: its sparse label (TargetSize 1, a
    /// whole number ≥ 0, a 0/1 binary target too), or the argmax of its one-hot target (the first
    /// of equal maxima). Sample weights on <paramref name="data"/> are not counted, as
    /// scikit-learn's <c>compute_class_weight</c> takes none. The keys are the classes in
    /// ascending order.
    /// </summary>
    public static Dictionary<int, float> Balanced(Dataset data)
    {
        ArgumentNullException.ThrowIfNull(data);
        var labels = new int[data.Count];
        for (int i = 0; i < labels.Length; i++)
        {
            ReadOnlySpan<float> t = data.Target(i);
            if (t.Length == 1)
            {
                float y = t[0];
                if (!(y >= 0 && y <= int.MaxValue && y == MathF.Floor(y)))
                    throw new ArgumentException($"sample {i} has label {y}; balanced class weights need class indices (whole numbers ≥ 0) or one-hot targets.", nameof(data));
                labels[i] = (int)y;
            }
            else
            {
                labels[i] = ArgMax(t, i);
            }
        }
        return Balanced(labels);
    }

    /// <summary>
    /// scikit-learn's <c>compute_class_weight("balanced", classes=np.unique(y), y=y)</c> over class
    /// indices: each class present weighs <c>labels.Length / (n_classes · count_c)</c>, n_classes
    /// being the number of distinct labels. The keys are the classes in ascending order.
    /// </summary>
    public static Dictionary<int, float> Balanced(ReadOnlySpan<int> labels)
    {
        if (labels.IsEmpty) throw new ArgumentException("Balanced class weights need at least one label.", nameof(labels));
        var counts = new SortedDictionary<int, long>();
        for (int i = 0; i < labels.Length; i++)
        {
            int c = labels[i];
            if (c < 0) throw new ArgumentException($"label {i} is {c}; class indices must be ≥ 0.", nameof(labels));
            counts[c] = counts.TryGetValue(c, out long n) ? n + 1 : 1;
        }
        var weights = new Dictionary<int, float>(counts.Count);
        foreach (var (c, n) in counts)
            weights[c] = (float)((double)labels.Length / ((double)counts.Count * n));
        return weights;
    }

    private static int ArgMax(ReadOnlySpan<float> t, int sample)
    {
        int best = 0;
        for (int j = 0; j < t.Length; j++)
        {
            if (float.IsNaN(t[j])) throw new ArgumentException($"sample {sample}'s target has NaN at {j}.", "data");
            if (t[j] > t[best]) best = j;
        }
        return best;
    }
}
