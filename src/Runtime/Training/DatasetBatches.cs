using System;

namespace Kiln;

/// <summary>
/// Samples <c>[start, start + count)</c> of an in-memory dataset as a batch source, so that Fit
/// and Evaluate on a <see cref="Dataset"/> run the same loop as on a pipeline. Each pass starts
/// from the stored order and, when shuffling, permutes it with the model's
/// <see cref="Model.Random"/> (which a checkpoint saves, so a resumed run draws the same orders).
/// Batches are copied into buffers of the model's batch size, allocated once; a pass allocates nothing.
/// The dataset's sample weights, if any, travel with their samples (shuffled and split alike).
/// </summary>
internal sealed class DatasetBatches : IBatchSource
{
    private readonly Model _model;
    private readonly Dataset _data;
    private readonly int _start, _count;
    private readonly bool _shuffle;
    private readonly int[] _order, _indices;
    private readonly float[] _features, _targets;
    private readonly float[]? _weights; // the batch's sample weights, when the dataset has them
    private int _next = -1; // position in the pass; -1 before a pass starts

    public DatasetBatches(Model model, Dataset data, int start, int count, bool shuffle)
    {
        _model = model;
        _data = data;
        (_start, _count, _shuffle) = (start, count, shuffle);
        BatchSize = Math.Min(model.BatchSize, Math.Max(count, 1));
        _order = new int[count];
        _indices = new int[BatchSize];
        _features = new float[BatchSize * data.SampleSize];
        _targets = new float[BatchSize * data.TargetSize];
        if (data.SampleWeights is not null) _weights = new float[BatchSize];
    }

    public int BatchSize { get; }
    public int[] SampleShape => _data.SampleShape;
    public int SampleSize => _data.SampleSize;
    public int TargetSize => _data.TargetSize;
    public long SamplesPerPass => _count;
    public long BatchesPerPass => (_count + BatchSize - 1) / BatchSize;

    public bool Next(out Batch batch)
    {
        if (_next < 0)
        {
            // The order restarts from the stored one each pass, so one pass's permutation depends
            // only on the RNG state, not on every shuffle before it.
            for (int i = 0; i < _count; i++) _order[i] = _start + i;
            if (_shuffle) _model.Random.Shuffle(_order);
            _next = 0;
        }
        if (_next == _count)
        {
            _next = -1;
            batch = default;
            return false;
        }
        int n = Math.Min(BatchSize, _count - _next);
        batch = Gather(_data, _order.AsSpan(_next, n), _indices, _features, _targets, _weights);
        _next += n;
        return true;
    }

    /// <summary>
    /// Copies the samples <paramref name="order"/> names (their features, targets and sample weights)
    /// into the preallocated batch buffers, in that order: the batch a data-set source hands out.
    /// </summary>
    internal static Batch Gather(Dataset data, ReadOnlySpan<int> order, int[] indices, float[] features, float[] targets, float[]? weights)
    {
        int n = order.Length, x = data.SampleSize, y = data.TargetSize;
        for (int j = 0; j < n; j++)
        {
            int s = order[j];
            indices[j] = s;
            data.Features.AsSpan(s * x, x).CopyTo(features.AsSpan(j * x));
            data.Targets.AsSpan(s * y, y).CopyTo(targets.AsSpan(j * y));
            if (weights is not null) weights[j] = data.SampleWeights![s];
        }
        return new Batch(features, targets, indices, n, x, y, weights);
    }

    public void Dispose() { }
}
