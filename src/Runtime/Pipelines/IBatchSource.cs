using System;

namespace Kiln;

/// <summary>
/// Batches of samples in buffers the source owns and reuses, so that reading a batch allocates
/// nothing. A <b>pass</b> is one run over the data (an epoch): <see cref="Next"/> returns batches,
/// then false once at the end of the pass; the call after that starts the next pass (a shuffled
/// source draws its next order). A source that repeats forever never returns false.
/// </summary>
public interface IBatchSource : IDisposable
{
    /// <summary>The most samples a batch holds; the last batch of a pass may hold fewer.</summary>
    int BatchSize { get; }

    int[] SampleShape { get; }
    int SampleSize { get; }
    int TargetSize { get; }

    /// <summary>Samples in one pass, or -1 when the source repeats forever. An upper bound when corrupt images are skipped.</summary>
    long SamplesPerPass { get; }

    /// <summary>Batches in one pass, or -1 when the source repeats forever.</summary>
    long BatchesPerPass { get; }

    /// <summary>
    /// The next batch of the pass, valid until the next call (its buffers are then refilled),
    /// or false at the end of the pass. Rethrows a loading error (naming the file) on the
    /// caller's thread.
    /// </summary>
    bool Next(out Batch batch);
}

/// <summary>One batch, borrowed from an <see cref="IBatchSource"/> until its next <c>Next</c> call.</summary>
public readonly struct Batch
{
    private readonly float[]? _features;
    private readonly float[]? _targets;
    private readonly int[]? _indices;
    private readonly float[]? _sampleWeights;
    private readonly int _sampleSize, _targetSize;

    internal Batch(float[] features, float[] targets, int[] indices, int count, int sampleSize, int targetSize)
        : this(features, targets, indices, count, sampleSize, targetSize, null, check: false) { }

    /// <summary>
    /// A batch of an <see cref="IBatchSource"/> of your own: <paramref name="count"/> samples of
    /// <paramref name="sampleSize"/> features and <paramref name="targetSize"/> targets at the start of
    /// buffers the source owns and refills, which samples of the underlying data they are, and
    /// optionally their Keras <c>sample_weight</c>s (null: every weight 1). The buffers are borrowed, not copied.
    /// </summary>
    public Batch(float[] features, float[] targets, int[] indices, int count, int sampleSize, int targetSize, float[]? sampleWeights = null)
        : this(features, targets, indices, count, sampleSize, targetSize, sampleWeights, check: true) { }

    private Batch(float[] features, float[] targets, int[] indices, int count, int sampleSize, int targetSize, float[]? sampleWeights, bool check)
    {
        if (check)
        {
            ArgumentNullException.ThrowIfNull(features);
            ArgumentNullException.ThrowIfNull(targets);
            ArgumentNullException.ThrowIfNull(indices);
            ArgumentOutOfRangeException.ThrowIfNegative(count);
            ArgumentOutOfRangeException.ThrowIfNegativeOrZero(sampleSize);
            ArgumentOutOfRangeException.ThrowIfNegative(targetSize);
            if ((long)count * sampleSize > features.Length || (long)count * targetSize > targets.Length || count > indices.Length || (sampleWeights is not null && count > sampleWeights.Length))
                throw new ArgumentException($"A batch of {count} samples needs {(long)count * sampleSize} features, {(long)count * targetSize} targets, {count} indices{(sampleWeights is null ? "" : $" and {count} sample weights")}; the buffers hold {features.Length}, {targets.Length}, {indices.Length}{(sampleWeights is null ? "" : $" and {sampleWeights.Length}")}.");
        }
        _sampleWeights = sampleWeights;
        _features = features;
        _targets = targets;
        _indices = indices;
        Count = count;
        _sampleSize = sampleSize;
        _targetSize = targetSize;
    }

    /// <summary>Samples in this batch (≤ the source's batch size).</summary>
    public int Count { get; }

    /// <summary><see cref="Count"/> samples, one after another.</summary>
    public ReadOnlySpan<float> Features => _features.AsSpan(0, Count * _sampleSize);

    /// <summary><see cref="Count"/> targets, one after another.</summary>
    public ReadOnlySpan<float> Targets => _targets.AsSpan(0, Count * _targetSize);

    /// <summary>
    /// Keras' <c>sample_weight</c> of these samples, one each, or empty when the source has none
    /// (every weight 1): a <see cref="Dataset"/> with <see cref="Dataset.WithSampleWeights"/>, a
    /// <see cref="Pipeline"/> with <see cref="Pipeline.WithSampleWeights"/>, or a source of your own.
    /// </summary>
    public ReadOnlySpan<float> SampleWeights => _sampleWeights is null ? default : _sampleWeights.AsSpan(0, Count);

    /// <summary>Which samples of the underlying source these are (e.g. <c>folder.Files[batch.Indices[0]]</c>).</summary>
    public ReadOnlySpan<int> Indices => _indices.AsSpan(0, Count);
}
