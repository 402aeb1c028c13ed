using System;
using System.Collections.Generic;

namespace Kiln;

/// <summary>Changes one sample in place (a scaler, a clip, an augmentation that keeps the shape). Runs on loader threads, several at once.</summary>
public delegate void SampleMap(Span<float> features, Span<float> targets);

/// <summary>Writes a transformed copy of one sample (a crop, a one-hot encoding). Runs on loader threads, several at once.</summary>
public delegate void SampleTransform(ReadOnlySpan<float> features, ReadOnlySpan<float> targets, Span<float> featuresOut, Span<float> targetsOut);

/// <summary>
/// A tf.data-style input pipeline over an <see cref="ISampleSource"/>, built once and then run
/// without allocating: <c>Pipeline.From(train).Shuffle(60000, seed: 1).Batch(32).Prefetch()</c>.
/// <para>
/// Shuffle, Take, Skip and Repeat reorder sample <i>indices</i> with tf.data's semantics
/// (a shuffle buffer, reshuffled each pass), so they cost nothing per sample. Map runs when a
/// sample is read, on the loader thread that reads it; maps must therefore be pure functions of
/// the sample (their place among the ordering operations does not matter) and thread-safe.
/// Batch fixes the batch size and gives an <see cref="IBatchSource"/>; Prefetch moves the
/// loading onto background threads that fill preallocated batches ahead of the consumer.
/// </para>
/// Each builder call returns a new pipeline; the original is unchanged.
/// </summary>
public sealed class Pipeline
{
    private readonly ISampleSource _source;
    private readonly Func<IndexStage, IndexStage>[] _stages;
    private readonly MapStep[] _maps;
    private readonly float[]? _sampleWeights; // one per sample of the source, by source index

    private Pipeline(ISampleSource source, Func<IndexStage, IndexStage>[] stages, MapStep[] maps, int[] shape, int targetSize, float[]? sampleWeights)
    {
        _source = source;
        _sampleWeights = sampleWeights;
        _stages = stages;
        _maps = maps;
        SampleShape = shape;
        TargetSize = targetSize;
    }

    /// <summary>
    /// A pipeline over <paramref name="source"/>. A <see cref="Dataset"/> with sample weights
    /// (<see cref="Dataset.WithSampleWeights"/>) brings them along, as <see cref="WithSampleWeights"/> would.
    /// </summary>
    public static Pipeline From(ISampleSource source)
    {
        ArgumentNullException.ThrowIfNull(source);
        if (source.SampleSize <= 0 || source.TargetSize < 0)
            throw new ArgumentException($"{source}: a sample needs at least one feature value.", nameof(source));
        return new Pipeline(source, [], [], (int[])source.SampleShape.Clone(), source.TargetSize, (source as Dataset)?.SampleWeights);
    }

    /// <summary>
    /// Keras' <c>sample_weight</c> for a pipeline (tf.data's <c>(x, y, sample_weight)</c> elements):
    /// one weight per sample of the source, by its index there, so the weights follow their samples
    /// through Shuffle, Take, Skip, Repeat and Map, and every batch carries its samples' weights in
    /// <see cref="Batch.SampleWeights"/>. Fit and Evaluate weigh the loss and the
    /// <see cref="Model.WeightedMetrics"/> with them, as for a weighted <see cref="Dataset"/>. Weights
    /// must be finite and ≥ 0; they are copied; null removes them.
    /// </summary>
    public Pipeline WithSampleWeights(float[]? sampleWeights)
    {
        if (sampleWeights is not null)
        {
            if (sampleWeights.Length != _source.Count)
                throw new ArgumentException($"{sampleWeights.Length} sample weights for a source of {_source.Count} samples ({_source}); give one per sample.", nameof(sampleWeights));
            int bad = Model.FirstBadWeight(sampleWeights);
            if (bad >= 0)
                throw new ArgumentException($"sample weight {bad} is {sampleWeights[bad]}; sample weights must be finite and ≥ 0.", nameof(sampleWeights));
        }
        return new Pipeline(_source, _stages, _maps, SampleShape, TargetSize, (float[]?)sampleWeights?.Clone());
    }

    /// <summary>The weight of each sample of the source, by its index there; null when the pipeline has none (every weight 1).</summary>
    public IReadOnlyList<float>? SampleWeights => _sampleWeights;

    internal float[]? SourceWeights => _sampleWeights;

    public ISampleSource Source => _source;

    /// <summary>Shape of one sample after the maps.</summary>
    public int[] SampleShape { get; }

    public int SampleSize => ModelDescription.Product(SampleShape);

    public int TargetSize { get; }

    /// <summary>Samples in one pass, or -1 when the pipeline repeats forever.</summary>
    public long Count => BuildIndexStream().Count;

    /// <summary>
    /// tf.data's <c>shuffle(buffer_size, seed, reshuffle_each_iteration)</c>. A buffer of at least
    /// <see cref="Count"/> gives a uniform permutation each pass; a smaller one mixes only nearby
    /// samples. The same seed gives the same orders on every machine.
    /// </summary>
    public Pipeline Shuffle(int bufferSize, int seed, bool reshuffleEachIteration = true)
    {
        if (bufferSize <= 0) throw new ArgumentOutOfRangeException(nameof(bufferSize), bufferSize, "the shuffle buffer holds at least one sample");
        return WithStage(up => new ShuffleStage(up, bufferSize, seed, reshuffleEachIteration));
    }

    /// <summary>The first <paramref name="count"/> samples of each pass.</summary>
    public Pipeline Take(long count)
    {
        if (count < 0) throw new ArgumentOutOfRangeException(nameof(count), count, "must not be negative");
        return WithStage(up => new TakeStage(up, count));
    }

    /// <summary>All but the first <paramref name="count"/> samples of each pass.</summary>
    public Pipeline Skip(long count)
    {
        if (count < 0) throw new ArgumentOutOfRangeException(nameof(count), count, "must not be negative");
        return WithStage(up => new SkipStage(up, count));
    }

    /// <summary>Runs <paramref name="times"/> passes as one (-1, the default: forever; train then with a step count per epoch).</summary>
    public Pipeline Repeat(long times = -1)
    {
        if (times < -1) throw new ArgumentOutOfRangeException(nameof(times), times, "-1 (forever) or a count ≥ 0");
        return WithStage(up => new RepeatStage(up, times));
    }

    /// <summary>Applies <paramref name="map"/> to each sample in place.</summary>
    public Pipeline Map(SampleMap map)
    {
        ArgumentNullException.ThrowIfNull(map);
        return WithMap(new MapStep(map, null, SampleShape, TargetSize));
    }

    /// <summary>Applies a fitted scaler (or any <see cref="IFeatureTransform"/>) to each sample's features.</summary>
    public Pipeline Map(IFeatureTransform transform)
    {
        ArgumentNullException.ThrowIfNull(transform);
        return Map((features, _) => transform.TransformInPlace(features));
    }

    /// <summary>Replaces each sample by <paramref name="transform"/>'s output of shape <paramref name="sampleShape"/> with <paramref name="targetSize"/> targets.</summary>
    public Pipeline Map(int[] sampleShape, int targetSize, SampleTransform transform)
    {
        ArgumentNullException.ThrowIfNull(sampleShape);
        ArgumentNullException.ThrowIfNull(transform);
        if (sampleShape.Length == 0) throw new ArgumentException("A sample shape needs at least one dimension.", nameof(sampleShape));
        foreach (int d in sampleShape)
            if (d <= 0) throw new ArgumentException($"Sample shape ({Dataset.Shape(sampleShape)}) has a dimension ≤ 0.", nameof(sampleShape));
        if (targetSize < 0) throw new ArgumentOutOfRangeException(nameof(targetSize), targetSize, "must not be negative");
        return WithMap(new MapStep(null, transform, (int[])sampleShape.Clone(), targetSize));
    }

    /// <summary>
    /// Groups samples into batches of <paramref name="batchSize"/>, read on the calling thread.
    /// With <paramref name="dropRemainder"/> a short last batch is dropped (tf.data's
    /// <c>drop_remainder</c>). Call <see cref="BatchPipeline.Prefetch"/> to load in the background.
    /// </summary>
    public BatchPipeline Batch(int batchSize, bool dropRemainder = false)
    {
        if (batchSize <= 0) throw new ArgumentOutOfRangeException(nameof(batchSize), batchSize, "must be positive");
        return new BatchPipeline(this, batchSize, dropRemainder);
    }

    internal IndexStage BuildIndexStream()
    {
        IndexStage stage = new RangeStage(_source.Count);
        foreach (var make in _stages) stage = make(stage);
        return stage;
    }

    internal SampleReader CreateReader() => new(_source, _maps);

    private Pipeline WithStage(Func<IndexStage, IndexStage> make) =>
        new(_source, [.. _stages, make], _maps, SampleShape, TargetSize, _sampleWeights);

    private Pipeline WithMap(MapStep step) =>
        new(_source, _stages, [.. _maps, step], step.OutShape, step.OutTargetSize, _sampleWeights);

    internal sealed record MapStep(SampleMap? InPlace, SampleTransform? Transform, int[] OutShape, int OutTargetSize)
    {
        public int OutSize => ModelDescription.Product(OutShape);
    }
}

/// <summary>
/// Reads one sample through the pipeline's maps into a batch row. One per loader thread: it
/// owns the scratch that shape-changing maps write between, allocated here and reused.
/// </summary>
internal sealed class SampleReader
{
    private readonly ISampleSource _source;
    private readonly Pipeline.MapStep[] _maps;
    private readonly float[] _x0, _x1, _y0, _y1;

    public SampleReader(ISampleSource source, Pipeline.MapStep[] maps)
    {
        _source = source;
        _maps = maps;
        int x = source.SampleSize, y = source.TargetSize;
        bool reshapes = false;
        foreach (var m in maps)
        {
            x = Math.Max(x, m.OutSize);
            y = Math.Max(y, m.OutTargetSize);
            reshapes |= m.Transform is not null;
        }
        (_x0, _x1, _y0, _y1) = reshapes ? (new float[x], new float[x], new float[y], new float[y]) : ([], [], [], []);
    }

    /// <summary>Reads sample <paramref name="index"/> into the row; false when the source drops it.</summary>
    public bool Read(int index, Span<float> features, Span<float> targets)
    {
        if (_x0.Length == 0)
        {
            // Only in-place maps: read straight into the batch row.
            if (!_source.TryRead(index, features, targets)) return false;
            foreach (var m in _maps) m.InPlace!(features, targets);
            return true;
        }
        int xs = _source.SampleSize, ys = _source.TargetSize;
        float[] x = _x0, y = _y0, xo = _x1, yo = _y1;
        if (!_source.TryRead(index, x.AsSpan(0, xs), y.AsSpan(0, ys))) return false;
        foreach (var m in _maps)
        {
            if (m.InPlace is not null)
            {
                m.InPlace(x.AsSpan(0, xs), y.AsSpan(0, ys));
                continue;
            }
            m.Transform!(x.AsSpan(0, xs), y.AsSpan(0, ys), xo.AsSpan(0, m.OutSize), yo.AsSpan(0, m.OutTargetSize));
            (x, xo, y, yo, xs, ys) = (xo, x, yo, y, m.OutSize, m.OutTargetSize);
        }
        x.AsSpan(0, xs).CopyTo(features);
        y.AsSpan(0, ys).CopyTo(targets);
        return true;
    }
}
