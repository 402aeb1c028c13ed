using System;
using System.Collections.Generic;

namespace Kiln;

/// <summary>
/// Keras' <c>class_weight</c> turned into per-sample weights batch by batch, as Keras 3 does in
/// <c>keras/src/trainers/data_adapters/data_adapter_utils.py</c> (<c>class_weight_to_sample_weights</c>):
/// a sample's class is its sparse label, or the argmax of its one-hot (or multi-unit binary)
/// target, or its single binary target rounded; its weight is that class's entry, or 1 for a
/// class the dictionary leaves out. The buffer is allocated once; a batch allocates nothing.
/// </summary>
internal sealed class ClassWeights
{
    private readonly float[] _table;   // one weight per class, 1 where not given
    private readonly float[] _weights; // the current batch's weights
    private readonly Loss _loss;
    private readonly int _units;

    private ClassWeights(float[] table, Loss loss, int units, int batchSize)
    {
        _table = table;
        _loss = loss;
        _units = units;
        _weights = new float[batchSize];
    }

    /// <summary>
    /// Checks <paramref name="classWeight"/> against <paramref name="model"/>'s single classification
    /// output; null when none is given. Every mistake is an <see cref="ArgumentException"/> naming
    /// <c>classWeight</c>.
    /// </summary>
    public static ClassWeights? Create(Model model, IReadOnlyDictionary<int, float>? classWeight, string parameter)
    {
        if (classWeight is null) return null;
        var d = model.Description;
        if (d.Outputs.Count != 1)
            throw new ArgumentException(
                $"{d.Name} has {d.Outputs.Count} outputs, and class weights (Keras' class_weight) apply only to a model with a single output, as in Keras; give per-sample weights instead (Dataset.WithSampleWeights), which apply to every output's loss.",
                parameter);
        var output = d.Outputs[0];
        if (output.Loss is not { } loss) throw new ArgumentException($"{d.Name} has no loss to weigh.", parameter);
        int units = output.Size;
        int classes = loss switch
        {
            Loss.SparseCategoricalCrossentropy or Loss.CategoricalCrossentropy => units,
            Loss.BinaryCrossentropy => units == 1 ? 2 : units,
            _ => throw new ArgumentException(
                $"{d.Name} trains with {loss}, a regression loss, so its samples have no class for class weights to pick; weigh samples with Dataset.WithSampleWeights instead.",
                parameter),
        };
        var table = new float[classes];
        table.AsSpan().Fill(1f);
        foreach (var (key, weight) in classWeight)
        {
            if (key < 0 || key >= classes)
                throw new ArgumentException(
                    $"class weight for class {key}, but {d.Name}'s {loss} output '{output.Name}' has classes 0..{classes - 1}.", parameter);
            if (!(weight >= 0 && float.IsFinite(weight)))
                throw new ArgumentException($"class {key} has weight {weight}; class weights must be finite and ≥ 0.", parameter);
            table[key] = weight;
        }
        return new ClassWeights(table, loss, units, model.BatchSize);
    }

    /// <summary>The weights of <paramref name="n"/> samples from their targets (one row of the model's target size each).</summary>
    public ReadOnlySpan<float> For(ReadOnlySpan<float> targets, int n)
    {
        int row = targets.Length / n;
        for (int i = 0; i < n; i++)
        {
            ReadOnlySpan<float> t = targets.Slice(i * row, row);
            int c = _loss == Loss.SparseCategoricalCrossentropy || _units == 1
                ? (int)MathF.Round(t[0], MidpointRounding.ToEven) // numpy's round: half to even
                : ArgMax(t.Slice(0, _units));
            _weights[i] = (uint)c < (uint)_table.Length ? _table[c] : 1f;
        }
        return _weights.AsSpan(0, n);
    }

    // numpy's argmax: the first of equal maxima.
    private static int ArgMax(ReadOnlySpan<float> t)
    {
        int best = 0;
        for (int j = 1; j < t.Length; j++)
            if (t[j] > t[best]) best = j;
        return best;
    }
}
