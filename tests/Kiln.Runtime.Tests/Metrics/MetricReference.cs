using System;
using System.Collections.Generic;
using System.Linq;

namespace Kiln.Runtime.Tests.Metrics;

/// <summary>
/// Naive, independent references for the classification metrics: Keras' definitions written out
/// over whole arrays (no streaming, no buckets), and scikit-learn's formulas from label lists.
/// </summary>
internal static class MetricReference
{
    /// <summary>Random classification data: softmax scores, and labels that agree with the argmax 60% of the time.</summary>
    public static (float[] Scores, float[] Labels) Random(int n, int classes, int seed)
    {
        var rng = new Random(seed);
        var scores = new float[n * classes];
        var labels = new float[n];
        for (int i = 0; i < n; i++)
        {
            double sum = 0;
            var row = new double[classes];
            for (int c = 0; c < classes; c++) sum += row[c] = Math.Exp(2 * Gaussian(rng));
            int best = 0;
            for (int c = 0; c < classes; c++)
            {
                scores[i * classes + c] = (float)(row[c] / sum);
                if (scores[i * classes + c] > scores[i * classes + best]) best = c;
            }
            labels[i] = rng.NextDouble() < 0.6 ? best : rng.Next(classes);
        }
        return (scores, labels);
    }

    public static double Gaussian(Random rng) => Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble());

    public static float[] OneHot(float[] labels, int classes)
    {
        var y = new float[labels.Length * classes];
        for (int i = 0; i < labels.Length; i++) y[i * classes + (int)labels[i]] = 1;
        return y;
    }

    public static int[] ArgMax(float[] scores, int classes)
    {
        int n = scores.Length / classes;
        var best = new int[n];
        for (int i = 0; i < n; i++)
            for (int c = 1; c < classes; c++)
                if (scores[i * classes + c] > scores[i * classes + best[i]]) best[i] = c;
        return best;
    }

    /// <summary>Keras' Precision or Recall over every (sample, class) entry of dense scores and 0/1 truths, each entry counting its sample's weight (none: 1).</summary>
    public static double KerasPrecisionRecall(float[] scores, float[] truth, int classes, bool recall, float? threshold = null, int? topK = null, int? classId = null, double[]? weights = null)
    {
        int n = scores.Length / classes;
        double tp = 0, fp = 0, fn = 0;
        for (int i = 0; i < n; i++)
        {
            var row = scores.AsSpan(i * classes, classes).ToArray();
            // Stable sort: equal scores keep the lower index first, as tf.math.top_k.
            var top = topK is { } k ? Enumerable.Range(0, classes).OrderByDescending(c => row[c]).Take(k).ToHashSet() : null;
            for (int c = 0; c < classes; c++)
            {
                if (classId is { } id && c != id) continue;
                float t = threshold ?? (topK is null ? 0.5f : -1e10f);
                bool predicted = (top is null || top.Contains(c)) && row[c] > t;
                bool actual = truth[i * classes + c] != 0;
                double w = weights?[i] ?? 1;
                if (predicted && actual) tp += w;
                if (predicted && !actual) fp += w;
                if (!predicted && actual) fn += w;
            }
        }
        double d = recall ? tp + fn : tp + fp;
        return d == 0 ? 0 : tp / d;
    }

    /// <summary>scikit-learn's precision_recall_fscore_support(y_true, y_pred, zero_division=0) per class.</summary>
    public static (double[] Precision, double[] Recall, double[] F1, int[] Support) Sklearn(int[] yTrue, int[] yPred, int classes)
    {
        var p = new double[classes];
        var r = new double[classes];
        var f = new double[classes];
        var s = new int[classes];
        for (int c = 0; c < classes; c++)
        {
            int tp = 0, predicted = 0, actual = 0;
            for (int i = 0; i < yTrue.Length; i++)
            {
                if (yPred[i] == c) predicted++;
                if (yTrue[i] == c) actual++;
                if (yPred[i] == c && yTrue[i] == c) tp++;
            }
            p[c] = predicted == 0 ? 0 : (double)tp / predicted;
            r[c] = actual == 0 ? 0 : (double)tp / actual;
            f[c] = p[c] + r[c] == 0 ? 0 : 2 * p[c] * r[c] / (p[c] + r[c]);
            s[c] = actual;
        }
        return (p, r, f, s);
    }

    /// <summary>
    /// Keras 3's FBetaScore over whole arrays (update_state then result), each sample's TP, FP, FN and
    /// support multiplied by its weight: a value is positive above <paramref name="threshold"/>, or,
    /// with none, where it is its row's maximum and not 0; per class, micro, macro and support-weighted.
    /// </summary>
    public static (double[] PerClass, double Micro, double Macro, double Weighted) KerasFBeta(float[] scores, float[] truth, int classes, double beta,
        double[]? weights = null, float? threshold = null)
    {
        const double epsilon = 1e-7;
        int n = scores.Length / classes;
        double[] tp = new double[classes], fp = new double[classes], fn = new double[classes], support = new double[classes];
        for (int i = 0; i < n; i++)
        {
            double w = weights?[i] ?? 1;
            var row = scores.AsSpan(i * classes, classes);
            float max = float.NegativeInfinity;
            foreach (float v in row) max = Math.Max(max, v);
            for (int c = 0; c < classes; c++)
            {
                double predicted = (threshold is { } t ? row[c] > t : row[c] >= max && Math.Abs(row[c]) > 1e-9) ? 1 : 0;
                double y = truth[i * classes + c];
                tp[c] += w * predicted * y;
                fp[c] += w * predicted * (1 - y);
                fn[c] += w * (1 - predicted) * y;
                support[c] += w * y;
            }
        }
        double Score(double p, double q, double r)
        {
            double precision = p / (p + q + epsilon), recall = p / (p + r + epsilon);
            return (1 + beta * beta) * precision * recall / (beta * beta * precision + recall + epsilon);
        }
        var perClass = Enumerable.Range(0, classes).Select(c => Score(tp[c], fp[c], fn[c])).ToArray();
        double total = support.Sum();
        return (perClass, Score(tp.Sum(), fp.Sum(), fn.Sum()), perClass.Average(),
            Enumerable.Range(0, classes).Sum(c => perClass[c] * support[c] / (total + epsilon)));
    }

    /// <summary>scikit-learn's roc_auc_score: the probability that a positive outscores a negative (ties count half).</summary>
    public static double ExactRocAuc(IReadOnlyList<float> scores, IReadOnlyList<bool> positive)
    {
        double wins = 0, pairs = 0;
        for (int i = 0; i < scores.Count; i++)
        {
            if (!positive[i]) continue;
            for (int j = 0; j < scores.Count; j++)
            {
                if (positive[j]) continue;
                pairs++;
                wins += scores[i] > scores[j] ? 1 : scores[i] == scores[j] ? 0.5 : 0;
            }
        }
        return wins / pairs;
    }

    /// <summary>
    /// Keras' AUC by its definition (the unoptimized path): thresholds -1e-7, (i+1)/(T-1), 1+1e-7
    /// as float32, a value positive at a threshold it is strictly above, then trapezoids (ROC) or
    /// Davis and Goadrich's interpolation (PR). With <paramref name="weights"/> each value counts its
    /// weight in the true and false positives and negatives instead of 1.
    /// </summary>
    public static double KerasAuc(IReadOnlyList<float> scores, IReadOnlyList<bool> positive, int numThresholds = 200, bool pr = false, IReadOnlyList<double>? weights = null)
    {
        var inner = new double[numThresholds - 2];
        for (int i = 0; i < numThresholds - 2; i++) inner[i] = (i + 1) * 1.0 / (numThresholds - 1);
        return KerasAuc(scores, positive, inner, pr, weights);
    }

    /// <summary>Keras' <c>AUC(thresholds=inner)</c> by its definition: -1e-7, the inner thresholds sorted, 1+1e-7, as float32.</summary>
    public static double KerasAuc(IReadOnlyList<float> scores, IReadOnlyList<bool> positive, double[] inner, bool pr = false, IReadOnlyList<double>? weights = null)
    {
        int numThresholds = inner.Length + 2;
        var thresholds = new float[numThresholds];
        thresholds[0] = (float)(0.0 - 1e-7);
        var sorted = inner.OrderBy(t => t).ToArray();
        for (int i = 0; i < sorted.Length; i++) thresholds[i + 1] = (float)sorted[i];
        thresholds[^1] = (float)(1.0 + 1e-7);
        var tp = new double[numThresholds];
        var fp = new double[numThresholds];
        var fn = new double[numThresholds];
        var tn = new double[numThresholds];
        for (int t = 0; t < numThresholds; t++)
            for (int i = 0; i < scores.Count; i++)
            {
                bool above = Math.Clamp(scores[i], 0f, 1f) > thresholds[t];
                double w = weights?[i] ?? 1;
                if (above && positive[i]) tp[t] += w;
                else if (above) fp[t] += w;
                else if (positive[i]) fn[t] += w;
                else tn[t] += w;
            }
        static double Div(double a, double b) => b == 0 ? 0 : a / b;
        double area = 0;
        for (int t = 0; t + 1 < numThresholds; t++)
        {
            if (!pr)
            {
                double x0 = Div(fp[t], fp[t] + tn[t]), x1 = Div(fp[t + 1], fp[t + 1] + tn[t + 1]);
                double y0 = Div(tp[t], tp[t] + fn[t]), y1 = Div(tp[t + 1], tp[t + 1] + fn[t + 1]);
                area += (x0 - x1) * (y0 + y1) / 2;
            }
            else
            {
                // Between thresholds A (t) and B (t+1), TP and P = TP + FP move linearly, so
                // precision = TP/P and the area over recall is ∫ (slope + intercept/P) dP / positives.
                double pA = tp[t] + fp[t], pB = tp[t + 1] + fp[t + 1];
                double dTp = tp[t] - tp[t + 1], dP = pA - pB;
                double slope = Div(dTp, Math.Max(dP, 0));
                double intercept = tp[t + 1] - slope * pB;
                double logRatio = pA > 0 && pB > 0 ? Math.Log(pA / pB) : 0;
                area += Div(slope * (dTp + intercept * logRatio), tp[t + 1] + fn[t + 1]);
            }
        }
        return area;
    }

    /// <summary>
    /// Mean IoU from label lists: per class |pred ∩ true| / |pred ∪ true|, averaged over the classes
    /// whose union is not empty; with <paramref name="weights"/>, each prediction counts its weight.
    /// </summary>
    public static double MeanIoU(int[] yTrue, int[] yPred, int classes, double[]? weights = null)
    {
        double sum = 0;
        int present = 0;
        for (int c = 0; c < classes; c++)
        {
            double intersection = 0, union = 0;
            for (int i = 0; i < yTrue.Length; i++)
            {
                double w = weights?[i] ?? 1;
                if (yTrue[i] == c && yPred[i] == c) intersection += w;
                if (yTrue[i] == c || yPred[i] == c) union += w;
            }
            if (union == 0) continue;
            present++;
            sum += intersection / union;
        }
        return present == 0 ? 0 : sum / present;
    }
}
