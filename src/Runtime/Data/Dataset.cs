using System;

namespace Kiln;

/// <summary>
/// Samples and their targets in two flat arrays, sample-major: sample <c>i</c>'s features are
/// <c>Features[i·SampleSize ..]</c>, its targets <c>Targets[i·TargetSize ..]</c>. Class labels are
/// stored as float class indices (TargetSize 1); one-hot or regression targets use more.
/// <see cref="Slice"/>, <see cref="Take"/> and <see cref="Skip"/> copy, so scaling one split in
/// place can never touch another (the arrays are plain, not views with offsets). As an
/// <see cref="ISampleSource"/> it feeds a <see cref="Pipeline"/>.
/// </summary>
public sealed class Dataset : ISampleSource
{
    public Dataset(float[] features, float[] targets, int[] sampleShape, int targetSize)
    {
        ArgumentNullException.ThrowIfNull(features);
        ArgumentNullException.ThrowIfNull(targets);
        ArgumentNullException.ThrowIfNull(sampleShape);
        if (sampleShape.Length == 0)
            throw new ArgumentException("A sample shape needs at least one dimension.", nameof(sampleShape));
        long size = 1;
        foreach (int d in sampleShape)
        {
            if (d <= 0) throw new ArgumentException($"Sample shape ({Shape(sampleShape)}) has a dimension ≤ 0.", nameof(sampleShape));
            size *= d;
            if (size > Array.MaxLength)
                throw new ArgumentException($"Sample shape ({Shape(sampleShape)}) is more values than one array holds.", nameof(sampleShape));
        }
        int sampleSize = (int)size;
        if (targetSize <= 0)
            throw new ArgumentOutOfRangeException(nameof(targetSize), targetSize, "must be positive");
        if (features.Length % sampleSize != 0)
            throw new ArgumentException($"{features.Length} feature values are not a whole number of samples of shape ({Shape(sampleShape)}).", nameof(features));
        int count = features.Length / sampleSize;
        if (targets.Length != (long)count * targetSize)
            throw new ArgumentException($"{count} samples need {(long)count * targetSize} target values ({targetSize} each), but there are {targets.Length}.", nameof(targets));
        Features = features;
        Targets = targets;
        SampleShape = (int[])sampleShape.Clone();
        SampleSize = sampleSize;
        TargetSize = targetSize;
        Count = count;
    }

    public float[] Features { get; }
    public float[] Targets { get; }

    /// <summary>
    /// Keras' <c>sample_weight</c>: one weight per sample scaling its loss, or null (all 1). Set by
    /// <see cref="WithSampleWeights"/>; <see cref="Slice"/>, <see cref="Take"/>, <see cref="Skip"/>
    /// and Fit's <c>validationSplit</c> keep each weight with its sample.
    /// </summary>
    public float[]? SampleWeights { get; internal init; }

    public int[] SampleShape { get; }

    /// <summary>Floats per sample (the product of <see cref="SampleShape"/>).</summary>
    public int SampleSize { get; }

    public int TargetSize { get; }
    public int Count { get; }

    public ReadOnlySpan<float> Sample(int index) => Features.AsSpan(CheckIndex(index) * SampleSize, SampleSize);

    public ReadOnlySpan<float> Target(int index) => Targets.AsSpan(CheckIndex(index) * TargetSize, TargetSize);

    /// <summary>Copies sample <paramref name="index"/> out; always true (nothing in memory is corrupt).</summary>
    public bool TryRead(int index, Span<float> features, Span<float> targets)
    {
        Sample(index).CopyTo(features);
        Target(index).CopyTo(targets);
        return true;
    }

    /// <summary>A copy of samples <c>[start, start + count)</c>, with their sample weights if any.</summary>
    public Dataset Slice(int start, int count)
    {
        if (start < 0 || count < 0 || start > Count - count)
            throw new ArgumentOutOfRangeException(nameof(start), $"Slice({start}, {count}) is outside a dataset of {Count} samples.");
        return new Dataset(
            Features.AsSpan(start * SampleSize, count * SampleSize).ToArray(),
            Targets.AsSpan(start * TargetSize, count * TargetSize).ToArray(),
            SampleShape,
            TargetSize)
        {
            SampleWeights = SampleWeights?.AsSpan(start, count).ToArray(),
        };
    }

    /// <summary>
    /// Keras' <c>fit(x, y, sample_weight=w)</c> / <c>evaluate(x, y, sample_weight=w)</c>: this
    /// dataset with one weight per sample, which Fit and Evaluate apply to the loss (Σ wᵢ·lossᵢ / n
    /// per batch, Keras' <c>"sum_over_batch_size"</c>), shuffled and split with the samples. The
    /// features and targets are shared, not copied; the weights are copied. Weights must be finite
    /// and ≥ 0; null removes them. <see cref="Model.Metrics"/> stay unweighted, as Keras' <c>metrics=</c> are;
    /// <see cref="Model.WeightedMetrics"/> use them. <see cref="Pipeline.From"/> carries them into a pipeline.
    /// </summary>
    public Dataset WithSampleWeights(float[]? sampleWeights)
    {
        if (sampleWeights is not null)
        {
            if (sampleWeights.Length != Count)
                throw new ArgumentException($"{sampleWeights.Length} sample weights for a dataset of {Count} samples; give one per sample.", nameof(sampleWeights));
            int bad = Model.FirstBadWeight(sampleWeights);
            if (bad >= 0)
                throw new ArgumentException($"sample weight {bad} is {sampleWeights[bad]}; sample weights must be finite and ≥ 0.", nameof(sampleWeights));
        }
        return new Dataset(Features, Targets, SampleShape, TargetSize) { SampleWeights = (float[]?)sampleWeights?.Clone() };
    }

    /// <summary>
    /// Keras' <c>fit({"image": x1, "tabular": x2}, y)</c> for a model with several inputs: one array per
    /// input, by name, packed into rows in the order <paramref name="model"/> declares them. Every
    /// input needs a value for each sample, and every declared input must be given.
    /// </summary>
    public static Dataset FromInputs(ModelDescription model, float[] targets, params (string Name, float[] Values)[] inputs)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(targets);
        ArgumentNullException.ThrowIfNull(inputs);
        var declared = model.Inputs;
        foreach (var (name, _) in inputs)
        {
            bool known = false;
            foreach (var d in declared) known |= d.Name == name;
            if (!known)
                throw new ArgumentException($"{model.Name} has no input named '{name}'; its inputs are {Names(declared)}.", nameof(inputs));
        }
        var values = new float[declared.Count][];
        int count = -1;
        for (int i = 0; i < declared.Count; i++)
        {
            var d = declared[i];
            int given = Array.FindIndex(inputs, x => x.Name == d.Name);
            if (given < 0) throw new ArgumentException($"{model.Name} needs input '{d.Name}' ({Shape(d.Shape)}); its inputs are {Names(declared)}.", nameof(inputs));
            values[i] = inputs[given].Values ?? throw new ArgumentNullException(nameof(inputs), $"input '{d.Name}' is null.");
            if (values[i].Length % d.Size != 0)
                throw new ArgumentException($"input '{d.Name}': {values[i].Length} values are not a whole number of samples of shape ({Shape(d.Shape)}).", nameof(inputs));
            int samples = values[i].Length / d.Size;
            if (count >= 0 && samples != count)
                throw new ArgumentException($"input '{d.Name}' has {samples} samples, but '{declared[0].Name}' has {count}.", nameof(inputs));
            count = samples;
        }
        int row = model.InputSize;
        var features = new float[checked((long)count * row)];
        for (int s = 0; s < count; s++)
        {
            int offset = s * row;
            for (int i = 0; i < declared.Count; i++)
            {
                int size = declared[i].Size;
                values[i].AsSpan(s * size, size).CopyTo(features.AsSpan(offset));
                offset += size;
            }
        }
        return new Dataset(features, targets, model.InputShape, model.TargetSize);
    }

    /// <summary>
    /// The <c>FromInputs</c> above, with the shape
    /// of one sample of each array, checked against the input's declared shape (as Keras checks
    /// <c>(None, 32, 32, 3)</c> against the data), so channels-first images cannot pass for channels-last ones.
    /// </summary>
    public static Dataset FromInputs(ModelDescription model, float[] targets, params (string Name, float[] Values, int[] SampleShape)[] inputs)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(inputs);
        var flat = new (string Name, float[] Values)[inputs.Length];
        for (int i = 0; i < inputs.Length; i++)
        {
            var (name, values, shape) = inputs[i];
            ArgumentNullException.ThrowIfNull(shape, nameof(inputs));
            foreach (var d in model.Inputs)
                if (d.Name == name && !InputShapes.Agree(d.Shape, shape))
                    throw new ArgumentException(InputShapes.Mismatch(model, d, shape, $"the '{name}' array's"), nameof(inputs));
            flat[i] = (name, values);
        }
        return FromInputs(model, targets, flat);
    }

    private static string Names(System.Collections.Generic.IReadOnlyList<InputInfo> inputs)
    {
        var names = new string[inputs.Count];
        for (int i = 0; i < names.Length; i++) names[i] = "'" + inputs[i].Name + "'";
        return string.Join(", ", names);
    }

    /// <summary>A copy of the first <paramref name="count"/> samples (the seed's <c>x_train_all[:5000]</c>).</summary>
    public Dataset Take(int count) => Slice(0, count);

    /// <summary>A copy of all but the first <paramref name="count"/> samples (<c>x_train_all[5000:]</c>).</summary>
    public Dataset Skip(int count)
    {
        if (count < 0 || count > Count)
            throw new ArgumentOutOfRangeException(nameof(count), count, $"cannot skip {count} of {Count} samples.");
        return Slice(count, Count - count);
    }

    public override string ToString() => $"Dataset({Count} samples of ({Shape(SampleShape)}), {TargetSize} target value(s) each{(SampleWeights is null ? "" : ", sample-weighted")})";

    internal static string Shape(int[] shape) => string.Join(", ", shape);

    private int CheckIndex(int index)
    {
        if ((uint)index >= (uint)Count)
            throw new ArgumentOutOfRangeException(nameof(index), index, $"the dataset has {Count} samples.");
        return index;
    }
}
