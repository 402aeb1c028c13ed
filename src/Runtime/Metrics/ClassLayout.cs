using System;

namespace Kiln;

/// <summary>
/// How a classification metric reads one model output: the last axis holds the classes (one value
/// for a single sigmoid), every other position (a pixel of a segmentation map) is a prediction of
/// its own. Targets are either one value per output (one-hot or 0/1) or one class index per
/// position (sparse). Logits are turned into the probabilities the loss implies (sigmoid for binary
/// cross-entropy, softmax over the class axis otherwise), so thresholds read probabilities.
/// </summary>
internal sealed class ClassLayout
{
    private enum Squash { None, Sigmoid, Softmax }

    private readonly Squash _squash;
    // One sample's probabilities, when the outputs are logits: allocated once, here.
    private readonly float[] _probabilities;
    private readonly string _metric;

    private ClassLayout(string metric, int outputSize, int targetSize, int width, bool sparse, Squash squash)
    {
        _metric = metric;
        OutputSize = outputSize;
        TargetSize = targetSize;
        Width = width;
        Positions = outputSize / width;
        SparseTargets = sparse;
        _squash = squash;
        _probabilities = squash == Squash.None ? [] : new float[outputSize];
    }

    /// <summary>Output values per sample.</summary>
    public int OutputSize { get; }

    /// <summary>Target values per sample.</summary>
    public int TargetSize { get; }

    /// <summary>Values per position: the size of the class axis, 1 for a single sigmoid.</summary>
    public int Width { get; }

    /// <summary>Predictions per sample: 1, or the pixels of a segmentation map.</summary>
    public int Positions { get; }

    /// <summary>Whether the targets are class indices, one per position.</summary>
    public bool SparseTargets { get; }

    /// <summary>One sigmoid value per position: two classes, 0 and 1.</summary>
    public bool Binary => Width == 1;

    /// <summary>Classes a prediction picks from: 2 for a sigmoid, else the class axis.</summary>
    public int Classes => Binary ? 2 : Width;

    /// <summary>The layout of <paramref name="model"/>'s output, or an error naming <paramref name="metric"/> when the targets do not fit it.</summary>
    public static ClassLayout For(ModelDescription model, string metric)
    {
        int[] shape = model.OutputShape;
        int width = shape.Length == 0 ? 1 : shape[^1];
        int outputSize = model.OutputSize, targetSize = model.TargetSize;
        if (width < 1 || outputSize < 1 || outputSize % width != 0)
            throw new ArgumentException($"{model.Name}: {metric} needs outputs whose last axis holds the classes, but the output shape is ({Dataset.Shape(shape)}).");
        int positions = outputSize / width;
        bool sparse;
        if (targetSize == outputSize) sparse = false;
        else if (width > 1 && targetSize == positions) sparse = true;
        else
            throw new ArgumentException(
                $"{model.Name}: {metric} needs one target per output value ({outputSize}, one-hot or 0/1) or one class index per prediction ({positions}), but the targets have {targetSize} values.");
        var squash = !model.FromLogits ? Squash.None
            : width == 1 || model.Loss == Kiln.Loss.BinaryCrossentropy ? Squash.Sigmoid
            : model.Loss is Kiln.Loss.CategoricalCrossentropy or Kiln.Loss.SparseCategoricalCrossentropy ? Squash.Softmax
            : Squash.None;
        return new ClassLayout(metric, outputSize, targetSize, width, sparse, squash);
    }

    /// <summary>Sample <paramref name="i"/>'s <see cref="OutputSize"/> values as probabilities (the outputs themselves unless they are logits).</summary>
    public ReadOnlySpan<float> Scores(ReadOnlySpan<float> outputs, int i)
    {
        var row = outputs.Slice(i * OutputSize, OutputSize);
        switch (_squash)
        {
            case Squash.Sigmoid:
                for (int j = 0; j < row.Length; j++) _probabilities[j] = 1f / (1f + MathF.Exp(-row[j]));
                return _probabilities;
            case Squash.Softmax:
                for (int p = 0; p < Positions; p++)
                    Softmax(row.Slice(p * Width, Width), _probabilities.AsSpan(p * Width, Width));
                return _probabilities;
            default:
                return row;
        }
    }

    private static void Softmax(ReadOnlySpan<float> logits, Span<float> probabilities)
    {
        float max = float.NegativeInfinity;
        foreach (float v in logits) max = MathF.Max(max, v);
        float sum = 0;
        for (int c = 0; c < logits.Length; c++) sum += probabilities[c] = MathF.Exp(logits[c] - max);
        for (int c = 0; c < logits.Length; c++) probabilities[c] /= sum;
    }

    /// <summary>The target of class <paramref name="c"/> at <paramref name="position"/> of sample <paramref name="i"/>: the one-hot value, or 1 where the index names <paramref name="c"/>.</summary>
    public float Truth(ReadOnlySpan<float> targets, int i, int position, int c) =>
        SparseTargets
            ? (Label(targets, i, position) == c ? 1f : 0f)
            : targets[i * TargetSize + position * Width + c];

    /// <summary>The true class at <paramref name="position"/> of sample <paramref name="i"/>: the index, the one-hot argmax, or a 0/1 target above 0.5.</summary>
    public int TrueClass(ReadOnlySpan<float> targets, int i, int position)
    {
        if (SparseTargets) return Label(targets, i, position);
        var row = targets.Slice(i * TargetSize + position * Width, Width);
        return Binary ? (row[0] > 0.5f ? 1 : 0) : Metric.ArgMax(row);
    }

    /// <summary>The predicted class at <paramref name="position"/> of <paramref name="scores"/> (from <see cref="Scores"/>): the argmax, the first on a tie, or a sigmoid above 0.5.</summary>
    public int PredictedClass(ReadOnlySpan<float> scores, int position) =>
        Binary ? (scores[position] > 0.5f ? 1 : 0) : Metric.ArgMax(scores.Slice(position * Width, Width));

    private int Label(ReadOnlySpan<float> targets, int i, int position)
    {
        float label = targets[i * TargetSize + position];
        int c = (int)label;
        if (c != label || (uint)c >= (uint)Width)
            throw new ArgumentException($"{_metric}: the target of sample {i} is {label}, which is not a class index in [0, {Width}).");
        return c;
    }
}
