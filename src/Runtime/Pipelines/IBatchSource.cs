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
        : this(features, targets, indices, count, sampleSize, targetSize, null) { }

    internal Batch(float[] features, float[] targets, int[] indices, int count, int sampleSize, int targetSize, float[]? sampleWeights)
    {
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
    /// (every weight 1): a <see cref="Dataset"/> with <see cref="Dataset.WithSampleWeights"/>.
    /// </summary>
    public ReadOnlySpan<float> SampleWeights => _sampleWeights is null ? default : _sampleWeights.AsSpan(0, Count);

    /// <summary>Which samples of the underlying source these are (e.g. <c>folder.Files[batch.Indices[0]]</c>).</summary>
    public ReadOnlySpan<int> Indices => _indices.AsSpan(0, Count);
}
