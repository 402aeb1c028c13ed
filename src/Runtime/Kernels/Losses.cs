using System;
using System.Buffers;
using System.Runtime.CompilerServices;

namespace Kiln.Kernels;

/// <summary>
/// Losses with Keras semantics. Each returns the mean loss over the batch (summed in double) and,
/// when the gradient span is not empty, writes the gradient of that mean w.r.t. its input.
/// <para>
/// Sample weights follow Keras 3's reduction <c>"sum_over_batch_size"</c>
/// (keras/src/losses/loss.py, <c>reduce_weighted_values</c> then <c>reduce_values</c>): each
/// sample's loss (already a mean over its features for binary cross-entropy and MSE) is multiplied
/// by its weight, and the sum is divided by the batch size n, <b>not</b> by the sum of the weights.
/// Each sample's gradient row is scaled by its weight the same way. An empty
/// <c>sampleWeights</c> span means every weight is 1, and gives bitwise the unweighted result.
/// </para>
/// </summary>
public static partial class Losses
{
    /// <summary>Keras' <c>epsilon()</c>: probabilities are clipped to [Epsilon, 1 − Epsilon].</summary>
    public const float Epsilon = 1e-7f;

    // 1 − ε rounded to float (0.99999988), as Keras computes it in float32: the largest loss a
    // confidently wrong probability gives is then −log(1.19e-7) = 15.94, matching Keras.
    private const float OneMinusEpsilon = 1f - Epsilon;

    /// <summary>Without label smoothing: <see cref="SparseCategoricalCrossentropyFromLogits(ReadOnlySpan{float}, ReadOnlySpan{float}, Span{float}, int, int, float)"/> with 0.</summary>
    public static float SparseCategoricalCrossentropyFromLogits(ReadOnlySpan<float> logits, ReadOnlySpan<float> labels, Span<float> dLogits, int n, int classes) =>
        SparseCategoricalCrossentropyFromLogits(logits, labels, dLogits, n, classes, 0f);

    /// <summary>
    /// Labels are class indices stored as floats; dLogits = (softmax − onehot)/n. With
    /// <paramref name="labelSmoothing"/> the one-hot target is smoothed as in the categorical loss,
    /// onehot·(1 − ls) + ls/classes (Keras 3 <c>sparse_categorical_crossentropy(label_smoothing=)</c>,
    /// keras-team/keras#23488); the smoothed row still sums to 1.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static float SparseCategoricalCrossentropyFromLogits(ReadOnlySpan<float> logits, ReadOnlySpan<float> labels, Span<float> dLogits, int n, int classes, float labelSmoothing) =>
        SparseCategoricalCrossentropyFromLogits(logits, labels, dLogits, n, classes, labelSmoothing, default);

    /// <summary>
    /// With <paramref name="sampleWeights"/> (n weights, or empty for all ones): the loss is
    /// Σ wᵢ·lossᵢ / n and sample i's gradient row is scaled by wᵢ (see <see cref="Losses"/>).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static float SparseCategoricalCrossentropyFromLogits(ReadOnlySpan<float> logits, ReadOnlySpan<float> labels, Span<float> dLogits, int n, int classes, float labelSmoothing, ReadOnlySpan<float> sampleWeights)
    {
        Check(logits.Length, labels.Length, dLogits.Length, n, classes, n, nameof(labels));
        CheckWeights(sampleWeights, n);
        var (keep, add) = Smoothing(labelSmoothing, classes);
        // Every label before any row, so that a bad one is reported as the first in the batch.
        for (int i = 0; i < n; i++) Label(labels[i], i, classes);
        return CrossentropyRows.Mean(sparse: true, logits, labels, dLogits, sampleWeights, n, classes, keep, add);
    }

    /// <summary>Without label smoothing: <see cref="CategoricalCrossentropyFromLogits(ReadOnlySpan{float}, ReadOnlySpan{float}, Span{float}, int, int, float)"/> with 0.</summary>
    public static float CategoricalCrossentropyFromLogits(ReadOnlySpan<float> logits, ReadOnlySpan<float> targets, Span<float> dLogits, int n, int classes) =>
        CategoricalCrossentropyFromLogits(logits, targets, dLogits, n, classes, 0f);

    /// <summary>
    /// Targets are distributions (one-hot or soft); dLogits = (softmax·Σt − t)/n. With
    /// <paramref name="labelSmoothing"/> the targets are smoothed first, as Keras'
    /// <c>categorical_crossentropy</c>: t·(1 − ls) + ls/classes.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static float CategoricalCrossentropyFromLogits(ReadOnlySpan<float> logits, ReadOnlySpan<float> targets, Span<float> dLogits, int n, int classes, float labelSmoothing) =>
        CategoricalCrossentropyFromLogits(logits, targets, dLogits, n, classes, labelSmoothing, default);

    /// <summary>
    /// With <paramref name="sampleWeights"/> (n weights, or empty for all ones): the loss is
    /// Σ wᵢ·lossᵢ / n and sample i's gradient row is scaled by wᵢ (see <see cref="Losses"/>).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static float CategoricalCrossentropyFromLogits(ReadOnlySpan<float> logits, ReadOnlySpan<float> targets, Span<float> dLogits, int n, int classes, float labelSmoothing, ReadOnlySpan<float> sampleWeights)
    {
        Check(logits.Length, targets.Length, dLogits.Length, n, classes, n * classes, nameof(targets));
        CheckWeights(sampleWeights, n);
        var (keep, add) = Smoothing(labelSmoothing, classes);
        return CrossentropyRows.Mean(sparse: false, logits, targets, dLogits, sampleWeights, n, classes, keep, add);
    }

    /// <summary>Without label smoothing: <see cref="BinaryCrossentropyFromLogits(ReadOnlySpan{float}, ReadOnlySpan{float}, Span{float}, int, int, float)"/> with 0.</summary>
    public static float BinaryCrossentropyFromLogits(ReadOnlySpan<float> logits, ReadOnlySpan<float> targets, Span<float> dLogits, int n, int features) =>
        BinaryCrossentropyFromLogits(logits, targets, dLogits, n, features, 0f);

    /// <summary>
    /// Stable form max(z,0) − z·t + log(1+e^−|z|); mean over features, then batch. With
    /// <paramref name="labelSmoothing"/> the targets are squeezed towards ½ first, as Keras'
    /// <c>binary_crossentropy</c>: t·(1 − ls) + ls/2.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static float BinaryCrossentropyFromLogits(ReadOnlySpan<float> logits, ReadOnlySpan<float> targets, Span<float> dLogits, int n, int features, float labelSmoothing) =>
        BinaryCrossentropyFromLogits(logits, targets, dLogits, n, features, labelSmoothing, default);

    /// <summary>
    /// With <paramref name="sampleWeights"/> (n weights, or empty for all ones): each sample's mean
    /// over its features is weighted, Σ wᵢ·lossᵢ / n, and its gradient row scaled by wᵢ.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static float BinaryCrossentropyFromLogits(ReadOnlySpan<float> logits, ReadOnlySpan<float> targets, Span<float> dLogits, int n, int features, float labelSmoothing, ReadOnlySpan<float> sampleWeights)
    {
        Check(logits.Length, targets.Length, dLogits.Length, n, features, n * features, nameof(targets));
        CheckWeights(sampleWeights, n);
        var (keep, add) = Smoothing(labelSmoothing, 2);
        double total = 0;
        double invSize = 1.0 / ((double)n * features);
        for (int s = 0; s < n; s++)
        {
            double w = sampleWeights.IsEmpty ? 1.0 : sampleWeights[s];
            double scale = w * invSize;
            for (int i = s * features, end = i + features; i < end; i++)
            {
                double z = logits[i], t = targets[i] * keep + add;
                double e = Math.Exp(-Math.Abs(z));
                total += w * (Math.Max(z, 0) - z * t + Math.Log(1 + e));
                if (!dLogits.IsEmpty)
                {
                    // The sigmoid from the same e^−|z|: 1/(1 + e^−z) for z ≥ 0, e^z/(1 + e^z) below.
                    double sig = z >= 0 ? 1 / (1 + e) : e / (1 + e);
                    dLogits[i] = (float)((sig - t) * scale);
                }
            }
        }
        return (float)(total * invSize);
    }

    /// <summary>Without label smoothing: <see cref="SparseCategoricalCrossentropy(ReadOnlySpan{float}, ReadOnlySpan{float}, Span{float}, int, int, float)"/> with 0.</summary>
    public static float SparseCategoricalCrossentropy(ReadOnlySpan<float> probs, ReadOnlySpan<float> labels, Span<float> dProbs, int n, int classes) =>
        SparseCategoricalCrossentropy(probs, labels, dProbs, n, classes, 0f);

    /// <summary>
    /// On probabilities, as Keras: each row renormalized by its sum, then clipped to [ε, 1−ε];
    /// <paramref name="labelSmoothing"/> as in <see cref="SparseCategoricalCrossentropyFromLogits(ReadOnlySpan{float}, ReadOnlySpan{float}, Span{float}, int, int, float)"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static float SparseCategoricalCrossentropy(ReadOnlySpan<float> probs, ReadOnlySpan<float> labels, Span<float> dProbs, int n, int classes, float labelSmoothing) =>
        SparseCategoricalCrossentropy(probs, labels, dProbs, n, classes, labelSmoothing, default);

    /// <summary>
    /// With <paramref name="sampleWeights"/> (n weights, or empty for all ones): the loss is
    /// Σ wᵢ·lossᵢ / n and sample i's gradient row is scaled by wᵢ (see <see cref="Losses"/>).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static float SparseCategoricalCrossentropy(ReadOnlySpan<float> probs, ReadOnlySpan<float> labels, Span<float> dProbs, int n, int classes, float labelSmoothing, ReadOnlySpan<float> sampleWeights)
    {
        Check(probs.Length, labels.Length, dProbs.Length, n, classes, n, nameof(labels));
        CheckWeights(sampleWeights, n);
        var (keep, add) = Smoothing(labelSmoothing, classes);
        double total = 0;
        for (int i = 0; i < n; i++)
        {
            int label = Label(labels[i], i, classes);
            double w = sampleWeights.IsEmpty ? 1.0 : sampleWeights[i];
            total += w * RowCrossentropy(probs.Slice(i * classes, classes), default, label,
                dProbs.IsEmpty ? default : dProbs.Slice(i * classes, classes), n, keep, add, w);
        }
        return (float)(total / n);
    }

    /// <summary>Without label smoothing: <see cref="CategoricalCrossentropy(ReadOnlySpan{float}, ReadOnlySpan{float}, Span{float}, int, int, float)"/> with 0.</summary>
    public static float CategoricalCrossentropy(ReadOnlySpan<float> probs, ReadOnlySpan<float> targets, Span<float> dProbs, int n, int classes) =>
        CategoricalCrossentropy(probs, targets, dProbs, n, classes, 0f);

    /// <summary>
    /// On probabilities, as Keras: each row renormalized by its sum, then clipped to [ε, 1−ε];
    /// <paramref name="labelSmoothing"/> as in <see cref="CategoricalCrossentropyFromLogits(ReadOnlySpan{float}, ReadOnlySpan{float}, Span{float}, int, int, float)"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static float CategoricalCrossentropy(ReadOnlySpan<float> probs, ReadOnlySpan<float> targets, Span<float> dProbs, int n, int classes, float labelSmoothing) =>
        CategoricalCrossentropy(probs, targets, dProbs, n, classes, labelSmoothing, default);

    /// <summary>
    /// With <paramref name="sampleWeights"/> (n weights, or empty for all ones): the loss is
    /// Σ wᵢ·lossᵢ / n and sample i's gradient row is scaled by wᵢ (see <see cref="Losses"/>).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static float CategoricalCrossentropy(ReadOnlySpan<float> probs, ReadOnlySpan<float> targets, Span<float> dProbs, int n, int classes, float labelSmoothing, ReadOnlySpan<float> sampleWeights)
    {
        Check(probs.Length, targets.Length, dProbs.Length, n, classes, n * classes, nameof(targets));
        CheckWeights(sampleWeights, n);
        var (keep, add) = Smoothing(labelSmoothing, classes);
        double total = 0;
        for (int i = 0; i < n; i++)
        {
            double w = sampleWeights.IsEmpty ? 1.0 : sampleWeights[i];
            total += w * RowCrossentropy(probs.Slice(i * classes, classes), targets.Slice(i * classes, classes), -1,
                dProbs.IsEmpty ? default : dProbs.Slice(i * classes, classes), n, keep, add, w);
        }
        return (float)(total / n);
    }

    /// <summary>Without label smoothing: <see cref="BinaryCrossentropy(ReadOnlySpan{float}, ReadOnlySpan{float}, Span{float}, int, int, float)"/> with 0.</summary>
    public static float BinaryCrossentropy(ReadOnlySpan<float> probs, ReadOnlySpan<float> targets, Span<float> dProbs, int n, int features) =>
        BinaryCrossentropy(probs, targets, dProbs, n, features, 0f);

    /// <summary>
    /// On probabilities clipped to [ε, 1−ε] (clipped entries get zero gradient); mean over features,
    /// then batch; <paramref name="labelSmoothing"/> as in <see cref="BinaryCrossentropyFromLogits(ReadOnlySpan{float}, ReadOnlySpan{float}, Span{float}, int, int, float)"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static float BinaryCrossentropy(ReadOnlySpan<float> probs, ReadOnlySpan<float> targets, Span<float> dProbs, int n, int features, float labelSmoothing) =>
        BinaryCrossentropy(probs, targets, dProbs, n, features, labelSmoothing, default);

    /// <summary>
    /// With <paramref name="sampleWeights"/> (n weights, or empty for all ones): each sample's mean
    /// over its features is weighted, Σ wᵢ·lossᵢ / n, and its gradient row scaled by wᵢ.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static float BinaryCrossentropy(ReadOnlySpan<float> probs, ReadOnlySpan<float> targets, Span<float> dProbs, int n, int features, float labelSmoothing, ReadOnlySpan<float> sampleWeights)
    {
        Check(probs.Length, targets.Length, dProbs.Length, n, features, n * features, nameof(targets));
        CheckWeights(sampleWeights, n);
        var (keep, add) = Smoothing(labelSmoothing, 2);
        double total = 0;
        double invSize = 1.0 / ((double)n * features);
        for (int s = 0; s < n; s++)
        {
            double w = sampleWeights.IsEmpty ? 1.0 : sampleWeights[s];
            double scale = w * invSize;
            for (int i = s * features, end = i + features; i < end; i++)
            {
                double raw = probs[i], t = targets[i] * keep + add;
                double p = Math.Clamp(raw, Epsilon, OneMinusEpsilon);
                total -= w * (t * Math.Log(p) + (1 - t) * Math.Log(1 - p));
                if (!dProbs.IsEmpty)
                {
                    bool inside = raw > Epsilon && raw < OneMinusEpsilon;
                    dProbs[i] = inside ? (float)((-(t / p) + (1 - t) / (1 - p)) * scale) : 0f;
                }
            }
        }
        return (float)(total * invSize);
    }

    /// <summary>Mean of (prediction − target)² over features, then batch.</summary>
    public static float MeanSquaredError(ReadOnlySpan<float> predictions, ReadOnlySpan<float> targets, Span<float> dPredictions, int n, int features) =>
        MeanSquaredError(predictions, targets, dPredictions, n, features, default);

    /// <summary>
    /// With <paramref name="sampleWeights"/> (n weights, or empty for all ones): each sample's mean
    /// over its features is weighted, Σ wᵢ·lossᵢ / n, and its gradient row scaled by wᵢ.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static float MeanSquaredError(ReadOnlySpan<float> predictions, ReadOnlySpan<float> targets, Span<float> dPredictions, int n, int features, ReadOnlySpan<float> sampleWeights)
    {
        Check(predictions.Length, targets.Length, dPredictions.Length, n, features, n * features, nameof(targets));
        CheckWeights(sampleWeights, n);
        double total = 0;
        double invSize = 1.0 / ((double)n * features);
        for (int s = 0; s < n; s++)
        {
            double w = sampleWeights.IsEmpty ? 1.0 : sampleWeights[s];
            double scale = w * invSize;
            for (int i = s * features, end = i + features; i < end; i++)
            {
                double d = (double)predictions[i] - targets[i];
                total += w * (d * d);
                if (!dPredictions.IsEmpty) dPredictions[i] = (float)(2 * d * scale);
            }
        }
        return (float)(total * invSize);
    }

    // One row of cross-entropy on probabilities: q = p/Σp, r = clip(q), loss = −Σ t·log r. Through the
    // renormalization, ∂L/∂p_k = (g_k − Σ_j g_j q_j)/Σp with g = −t/r where unclipped and 0 where clipped.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    // Smoothed targets are t·keep + add (keep = 1, add = 0 without smoothing); the gradient row is
    // scaled by the sample's weight w, the returned loss is not (the caller weights it).
    private static double RowCrossentropy(ReadOnlySpan<float> p, ReadOnlySpan<float> t, int label, Span<float> grad, int n, double keep, double add, double w)
    {
        int classes = p.Length;
        double s = 0;
        for (int j = 0; j < classes; j++) s += p[j];
        double loss = 0, gq = 0;
        for (int j = 0; j < classes; j++)
        {
            double tj = (label >= 0 ? (j == label ? 1 : 0) : t[j]) * keep + add;
            if (tj == 0) continue;
            double q = p[j] / s;
            double r = Math.Clamp(q, Epsilon, OneMinusEpsilon);
            loss -= tj * Math.Log(r);
            if (q > Epsilon && q < OneMinusEpsilon) gq += -tj / r * q;
        }
        if (!grad.IsEmpty)
        {
            for (int j = 0; j < classes; j++)
            {
                double tj = (label >= 0 ? (j == label ? 1 : 0) : t[j]) * keep + add;
                double q = p[j] / s;
                double g = tj != 0 && q > Epsilon && q < OneMinusEpsilon ? -tj / q : 0;
                grad[j] = (float)((g - gq) / s / n * w);
            }
        }
        return loss;
    }

    // Keras 3 (keras/src/losses/losses.py, categorical_crossentropy, sparse_categorical_crossentropy
    // and binary_crossentropy): y = y·(1 − ls) + ls/num_classes, where binary counts 2 (0.5·ls).
    private static (double Keep, double Add) Smoothing(float labelSmoothing, int classes)
    {
        if (!(labelSmoothing >= 0 && labelSmoothing <= 1))
            throw new ArgumentOutOfRangeException(nameof(labelSmoothing), labelSmoothing, "label smoothing must be in [0, 1]");
        return (1.0 - labelSmoothing, (double)labelSmoothing / classes);
    }

    // Rows up to this many classes keep their exponentials on the stack; wider ones rent a buffer.
    private const int MaxStackClasses = 512;

    // Keras takes any weights; Kiln refuses the ones that make no sense as a weighting (Fit and
    // Evaluate check whole datasets up front; this guards direct callers of the kernels).
    private static void CheckWeights(ReadOnlySpan<float> sampleWeights, int n)
    {
        if (sampleWeights.IsEmpty) return;
        if (sampleWeights.Length != n)
            throw new ArgumentException($"sampleWeights has {sampleWeights.Length} values but the batch has {n} samples", nameof(sampleWeights));
        for (int i = 0; i < n; i++)
            if (!(sampleWeights[i] >= 0 && float.IsFinite(sampleWeights[i])))
                throw new ArgumentException($"sample weight {i} is {sampleWeights[i]}; weights must be finite and ≥ 0", nameof(sampleWeights));
    }

    private static int Label(float value, int sample, int classes)
    {
        if (!(value >= 0 && value < classes) || value != MathF.Floor(value))
            throw new ArgumentException($"label of sample {sample} is {value}, but it must be an integer class index in [0, {classes})", "labels");
        return (int)value;
    }

    private static void Check(int inputLength, int targetLength, int gradLength, int n, int width, int targetsNeeded, string targetName)
    {
        if (n <= 0 || width <= 0) throw new ArgumentException($"loss needs a positive batch and width (n={n}, width={width})");
        long need = (long)n * width;
        if (inputLength < need) throw new ArgumentException($"the loss input has {inputLength} floats but {n}×{width} = {need} are needed");
        if (targetLength < targetsNeeded) throw new ArgumentException($"{targetName} has {targetLength} floats but {targetsNeeded} are needed", targetName);
        if (gradLength != 0 && gradLength < need) throw new ArgumentException($"the gradient span has {gradLength} floats but {need} are needed");
    }
}
