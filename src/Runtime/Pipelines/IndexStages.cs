using System;

namespace Kiln;

/// <summary>
/// One stage of a pipeline's index stream. Ordering operations (shuffle, take, skip, repeat)
/// act on sample indices rather than on samples, so nothing is copied until the batch is filled.
/// Not thread-safe: one planner owns each chain.
/// </summary>
internal abstract class IndexStage
{
    /// <summary>Indices in one pass, or -1 for an endless stream.</summary>
    public abstract long Count { get; }

    /// <summary>Starts a new pass (a shuffle draws its next order unless told not to).</summary>
    public abstract void Reset();

    public abstract bool Next(out int index);
}

internal sealed class RangeStage(int count) : IndexStage
{
    private int _next;

    public override long Count => count;

    public override void Reset() => _next = 0;

    public override bool Next(out int index)
    {
        index = _next;
        if (_next >= count) return false;
        _next++;
        return true;
    }
}

/// <summary>
/// tf.data's shuffle: a buffer of <c>bufferSize</c> elements; each output is a uniformly chosen
/// buffer entry, replaced by the next upstream element. A buffer at least as large as the data
/// gives a uniform permutation.
/// </summary>
internal sealed class ShuffleStage : IndexStage
{
    private readonly IndexStage _upstream;
    private readonly int[] _buffer;
    private readonly Rng _initial;
    private readonly bool _reshuffle;
    private Rng _rng;
    private int _size;
    private bool _upstreamDone;

    public ShuffleStage(IndexStage upstream, int bufferSize, int seed, bool reshuffleEachIteration)
    {
        _upstream = upstream;
        // Never more slots than the pass has elements: a full shuffle of 60,000 needs 60,000, not int.MaxValue.
        long cap = upstream.Count < 0 ? bufferSize : Math.Min(bufferSize, Math.Max(1, upstream.Count));
        _buffer = new int[cap];
        _initial = _rng = new Rng((ulong)(uint)seed);
        _reshuffle = reshuffleEachIteration;
    }

    public override long Count => _upstream.Count;

    public override void Reset()
    {
        _upstream.Reset();
        _size = 0;
        _upstreamDone = false;
        if (!_reshuffle) _rng = _initial;
    }

    public override bool Next(out int index)
    {
        while (!_upstreamDone && _size < _buffer.Length)
        {
            if (_upstream.Next(out int i)) _buffer[_size++] = i;
            else _upstreamDone = true;
        }
        if (_size == 0)
        {
            index = 0;
            return false;
        }
        int j = _rng.NextInt(_size);
        index = _buffer[j];
        _buffer[j] = _buffer[--_size];
        return true;
    }
}

internal sealed class TakeStage(IndexStage upstream, long take) : IndexStage
{
    private long _taken;

    public override long Count => upstream.Count < 0 ? take : Math.Min(upstream.Count, take);

    public override void Reset()
    {
        upstream.Reset();
        _taken = 0;
    }

    public override bool Next(out int index)
    {
        index = 0;
        if (_taken >= take || !upstream.Next(out index)) return false;
        _taken++;
        return true;
    }
}

internal sealed class SkipStage(IndexStage upstream, long skip) : IndexStage
{
    private bool _skipped;

    public override long Count => upstream.Count < 0 ? -1 : Math.Max(0, upstream.Count - skip);

    public override void Reset()
    {
        upstream.Reset();
        _skipped = false;
    }

    public override bool Next(out int index)
    {
        if (!_skipped)
        {
            _skipped = true;
            for (long i = 0; i < skip; i++)
                if (!upstream.Next(out _)) break;
        }
        return upstream.Next(out index);
    }
}

/// <summary>Runs the upstream <c>times</c> passes in a row (-1: forever), restarting it (and reshuffling) between them.</summary>
internal sealed class RepeatStage(IndexStage upstream, long times) : IndexStage
{
    private long _pass;
    private bool _gotAny;

    public override long Count => times < 0 ? (upstream.Count == 0 ? 0 : -1) : upstream.Count < 0 ? -1 : upstream.Count * times;

    public override void Reset()
    {
        upstream.Reset();
        _pass = 0;
        _gotAny = false;
    }

    public override bool Next(out int index)
    {
        while (times < 0 || _pass < times)
        {
            if (upstream.Next(out index))
            {
                _gotAny = true;
                return true;
            }
            // An empty upstream repeated forever is empty, as in tf.data, not an endless loop.
            if (!_gotAny) break;
            _pass++;
            _gotAny = false;
            if (times < 0 || _pass < times) upstream.Reset();
        }
        index = 0;
        return false;
    }
}
