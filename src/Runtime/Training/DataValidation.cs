using System;
using System.Numerics;

namespace Kiln;

/// <summary>
/// Checks an in-memory dataset's values before the first step, so that a NaN pixel or a label
/// out of range is reported with its sample index up front, not when its batch comes up after
/// earlier batches already trained. One pass over the arrays; allocates nothing.
/// </summary>
public abstract partial class Model
{
    /// <summary>Every feature finite; every target finite; sample weights finite and ≥ 0; sparse labels whole numbers in 0..classes−1.</summary>
    private void ValidateValues(Dataset data, string parameter)
    {
        int sampleSize = data.SampleSize;
        int bad = FirstNonFinite(data.Features);
        if (bad >= 0)
            throw new ArgumentException(
                $"{Description.Name}: {parameter} sample {bad / sampleSize} has feature {bad % sampleSize} = {data.Features[bad]}; " +
                "features must be finite (fill or drop missing values first); nothing was trained.", parameter);

        var targets = data.Targets;
        int targetSize = data.TargetSize;
        bad = FirstNonFinite(targets);
        if (bad >= 0)
            throw new ArgumentException(
                $"{Description.Name}: {parameter} sample {bad / targetSize} has target {bad % targetSize} = {targets[bad]}; targets must be finite; nothing was trained.", parameter);
        if (data.SampleWeights is { } weights)
        {
            if (weights.Length != data.Count)
                throw new ArgumentException($"{Description.Name}: {parameter} has {weights.Length} sample weights for {data.Count} samples; nothing was trained.", parameter);
            bad = FirstBadWeight(weights);
            if (bad >= 0)
                throw new ArgumentException(
                    $"{Description.Name}: {parameter} sample {bad} has sample weight {weights[bad]}; sample weights must be finite and ≥ 0; nothing was trained.", parameter);
        }
        if (targetSize != TargetSize) return; // the shape check reports it
        int column = 0;
        foreach (var output in Description.Outputs)
        {
            if (output.Loss == Kiln.Loss.SparseCategoricalCrossentropy)
            {
                int classes = output.Size;
                for (int s = 0; s < data.Count; s++)
                {
                    float label = targets[s * targetSize + column];
                    if (!(label >= 0 && label < classes && label == MathF.Floor(label)))
                        throw new ArgumentException(
                            $"{Description.Name}: {parameter} sample {s} has label {label}{(Description.Outputs.Count > 1 ? $" for output '{output.Name}'" : "")}, " +
                            $"but sparse categorical cross-entropy takes class indices 0..{classes - 1}; nothing was trained.", parameter);
                }
            }
            column += output.TargetSize;
        }
    }

    /// <summary>Index of the first NaN or infinity, or −1. x − x is 0 exactly for finite x.</summary>
    private static int FirstNonFinite(ReadOnlySpan<float> values)
    {
        int i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            int width = Vector<float>.Count;
            for (; i <= values.Length - width; i += width)
            {
                var v = new Vector<float>(values[i..]);
                if (!Vector.EqualsAll(v - v, Vector<float>.Zero)) break;
            }
        }
        for (; i < values.Length; i++)
            if (!float.IsFinite(values[i])) return i;
        return -1;
    }
}
