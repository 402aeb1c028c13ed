using System;

namespace Kiln;

/// <summary>
/// One rank's share of an in-memory dataset's samples <c>[start, start + count)</c> under
/// data-parallel training. Every rank draws the same permutation per pass from the model's
/// <see cref="Model.Random"/> (Fit keeps the ranks' streams equal at each epoch's start), cuts it
/// into global batches of <c>Size × BatchSize</c> samples, exactly the batches one process with
/// that batch size would train on, and takes its slice of each: rank r gets positions
/// <c>⌊r·g/Size⌋ .. ⌊(r+1)·g/Size⌋</c> of a global batch of g samples. Full batches thus give every
/// rank <c>BatchSize</c> samples; the last, smaller one is split as evenly as it goes, and a rank
/// whose slice is empty there has ended its pass one step early (Fit lets it join that step with
/// no samples). Without shuffling, the same cut applies to the stored order (validation). Sample
/// weights, if the dataset has them, travel with their samples.
/// After drawing a training pass's permutation, ranks other than 0 move to a stream of their own
/// so that dropout masks differ between ranks.
/// </summary>
internal sealed class ShardedDatasetBatches : IBatchSource
{
    private readonly Model _model;
    private readonly Dataset _data;
    private readonly int _start, _count, _rank, _size, _global;
    private readonly bool _shuffle, _training;
    private readonly int[] _order, _indices;
    private readonly float[] _features, _targets;
    private readonly float[]? _weights; // the batch's sample weights, when the dataset has them
    private int _next = -1; // the first sample of the next global batch; -1 before a pass starts

    public ShardedDatasetBatches(Model model, Dataset data, int start, int count, bool shuffle, bool training, int rank, int size)
    {
        _model = model;
        _data = data;
        (_start, _count, _shuffle, _training, _rank, _size) = (start, count, shuffle, training, rank, size);
        BatchSize = model.BatchSize;
        _global = checked(size * model.BatchSize);
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

    /// <summary>This rank's samples in one pass.</summary>
    public long SamplesPerPass
    {
        get
        {
            long mine = 0;
            for (int at = 0; at < _count; at += _global)
            {
                var (from, to) = Slice(Math.Min(_global, _count - at));
                mine += to - from;
            }
            return mine;
        }
    }

    /// <summary>The global batches of a pass: the steps every rank takes part in.</summary>
    public long BatchesPerPass => (_count + (long)_global - 1) / _global;

    /// <summary>This rank's positions within a global batch of <paramref name="g"/> samples.</summary>
    private (int From, int To) Slice(int g) => ((int)((long)_rank * g / _size), (int)((long)(_rank + 1) * g / _size));

    public bool Next(out Batch batch)
    {
        if (_next < 0)
        {
            for (int i = 0; i < _count; i++) _order[i] = _start + i;
            if (_shuffle) _model.Random.Shuffle(_order);
            if (_training && _rank != 0) _model.Random = _model.Random.Fork((ulong)_rank);
            _next = 0;
        }
        int g = Math.Min(_global, _count - _next);
        var (from, to) = Slice(g);
        if (to == from)
        {
            // The end of the pass, or an empty slice of the last global batch, which ends this rank's pass.
            _next = -1;
            batch = default;
            return false;
        }
        batch = DatasetBatches.Gather(_data, _order.AsSpan(_next + from, to - from), _indices, _features, _targets, _weights);
        _next += g;
        return true;
    }

    public void Dispose() { }
}
