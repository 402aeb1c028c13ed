using System;
using System.Numerics;

namespace Kiln;

/// <summary>
/// Kernels of Keras' <c>Normalization</c> layer (<see cref="NormalizationAttribute"/>):
/// <c>y = (x − mean) / max(√variance, ε)</c> with ε = 1e-7 (Keras' <c>backend.epsilon()</c>),
/// or <c>y = mean + x · max(√variance, ε)</c> when inverted. The statistics have length K and
/// repeat every K values of a sample (K = the channel count for Keras' default <c>axis=-1</c>,
/// 1 for <c>axis=None</c>, the sample size for per-feature statistics); <see cref="Adapt(Dataset, int[])"/>
/// computes them like Keras' <c>adapt</c>: the mean and the population (biased) variance over
/// every other axis. <c>x</c> and <c>y</c> may be the same span. Nothing allocates.
/// </summary>
public static class Normalization
{
    /// <summary>Keras' <c>backend.epsilon()</c>, the floor under the standard deviation.</summary>
    public const float Epsilon = 1e-7f;

    private const int Tile = 64, ChannelChunk = 512;

    /// <summary>
    /// K, the statistics length, for Keras' <paramref name="axis"/> (indices count the batch
    /// dimension as 0, negatives from the end; null or [-1]: the last axis; empty: one global
    /// pair) on samples of <paramref name="sampleShape"/>. The kept axes must be a trailing run.
    /// </summary>
    public static int StatisticsLength(int[] sampleShape, int[]? axis = null)
    {
        ArgumentNullException.ThrowIfNull(sampleShape);
        axis ??= [-1];
        int rank = sampleShape.Length + 1;
        var kept = new bool[rank];
        foreach (int a in axis)
        {
            int r = a < 0 ? a + rank : a;
            if (r <= 0 || r >= rank)
                throw new ArgumentOutOfRangeException(nameof(axis), a, $"Normalization axis {a} is not a sample axis of inputs with shape (batch, {Dataset.Shape(sampleShape)}).");
            kept[r] = true;
        }
        int k = 1;
        bool inRun = false;
        for (int r = 1; r < rank; r++)
        {
            if (kept[r]) { inRun = true; k *= sampleShape[r - 1]; }
            else if (inRun)
                throw new ArgumentException($"Normalization axes ({string.Join(", ", axis)}) must be the last axes of (batch, {Dataset.Shape(sampleShape)}); keep a trailing run such as -1.", nameof(axis));
        }
        return k;
    }

    /// <summary>Normalizes (or, with <paramref name="invert"/>, denormalizes) <paramref name="x"/> into <paramref name="y"/>.</summary>
    public static void Forward(ReadOnlySpan<float> x, Span<float> y, ReadOnlySpan<float> mean, ReadOnlySpan<float> variance, bool invert = false)
    {
        int k = Check(x.Length, y.Length, mean, variance);
        if (k <= ChannelChunk)
        {
            // Tile the statistics to a multiple of K of at least 64 values so that even K = 3 vectorizes.
            int l = k * ((Tile + k - 1) / k);
            Span<float> m = stackalloc float[l];
            Span<float> d = stackalloc float[l];
            for (int i = 0; i < l; i++)
            {
                m[i] = mean[i % k];
                d[i] = StdFloor(variance[i % k]);
            }
            int off = 0;
            for (; off + l <= x.Length; off += l) Apply(x.Slice(off, l), y.Slice(off, l), m, d, invert);
            int rest = x.Length - off; // whole samples, so the tile lines up
            if (rest > 0) Apply(x[off..], y[off..], m[..rest], d[..rest], invert);
            return;
        }
        Span<float> dc = stackalloc float[ChannelChunk];
        int rows = x.Length / k;
        for (int c0 = 0; c0 < k; c0 += ChannelChunk)
        {
            int cn = Math.Min(ChannelChunk, k - c0);
            for (int c = 0; c < cn; c++) dc[c] = StdFloor(variance[c0 + c]);
            for (int r = 0; r < rows; r++)
                Apply(x.Slice(r * k + c0, cn), y.Slice(r * k + c0, cn), mean.Slice(c0, cn), dc[..cn], invert);
        }
    }

    /// <summary>Input gradient: <c>dx = dy / max(√variance, ε)</c> (times it when inverted). The layer has no trainable weights.</summary>
    public static void Backward(ReadOnlySpan<float> dy, Span<float> dx, ReadOnlySpan<float> variance, bool invert = false)
    {
        int k = Check(dy.Length, dx.Length, variance, variance);
        for (int i = 0; i < dy.Length; i++)
        {
            float d = StdFloor(variance[i % k]);
            dx[i] = invert ? dy[i] * d : dy[i] / d;
        }
    }

    /// <summary>Keras' <c>adapt(data)</c> on an in-memory dataset's features.</summary>
    public static NormalizationStatistics Adapt(Dataset data, int[]? axis = null)
    {
        ArgumentNullException.ThrowIfNull(data);
        return Adapt(data.Features, StatisticsLength(data.SampleShape, axis));
    }

    /// <summary>Statistics of length <paramref name="statisticsLength"/> over <paramref name="values"/> (whole rows of K).</summary>
    public static NormalizationStatistics Adapt(ReadOnlySpan<float> values, int statisticsLength)
    {
        var adapter = new NormalizationAdapter(statisticsLength);
        adapter.Update(values);
        return adapter.Result();
    }

    /// <summary>
    /// Keras' <c>adapt(dataset, steps)</c>: one pass of <paramref name="source"/> (at most
    /// <paramref name="maxBatches"/> batches; required for a source that repeats forever).
    /// </summary>
    public static NormalizationStatistics Adapt(IBatchSource source, int[]? axis = null, long maxBatches = -1)
    {
        ArgumentNullException.ThrowIfNull(source);
        if (source.BatchesPerPass < 0 && maxBatches < 0)
            throw new ArgumentException("This source repeats forever; pass maxBatches to say how much of it to adapt on.", nameof(maxBatches));
        var adapter = new NormalizationAdapter(StatisticsLength(source.SampleShape, axis));
        for (long b = 0; (maxBatches < 0 || b < maxBatches) && source.Next(out var batch); b++)
            adapter.Update(batch.Features);
        return adapter.Result();
    }

    /// <summary><c>max(√variance, ε)</c> in float, as Keras computes it.</summary>
    public static float StdFloor(float variance) => MathF.Max(MathF.Sqrt(variance), Epsilon);

    private static int Check(int xLength, int yLength, ReadOnlySpan<float> mean, ReadOnlySpan<float> variance)
    {
        int k = mean.Length;
        if (k == 0 || variance.Length != k)
            throw new ArgumentException($"Normalization needs mean and variance of the same non-zero length; got {k} and {variance.Length}.", nameof(mean));
        if (xLength % k != 0)
            throw new ArgumentException($"Normalization: {xLength} values are not whole rows of the {k} statistics.", "x");
        if (yLength != xLength)
            throw new ArgumentException($"Normalization: the output holds {yLength} values, the input {xLength}.", "y");
        return k;
    }

    private static void Apply(ReadOnlySpan<float> x, Span<float> y, ReadOnlySpan<float> m, ReadOnlySpan<float> d, bool invert)
    {
        int i = 0, w = Vector<float>.Count;
        if (Vector.IsHardwareAccelerated)
            for (; i <= x.Length - w; i += w)
            {
                var xv = new Vector<float>(x[i..]);
                var r = invert ? xv * new Vector<float>(d[i..]) + new Vector<float>(m[i..]) : (xv - new Vector<float>(m[i..])) / new Vector<float>(d[i..]);
                r.CopyTo(y[i..]);
            }
        for (; i < x.Length; i++) y[i] = invert ? x[i] * d[i] + m[i] : (x[i] - m[i]) / d[i];
    }
}

/// <summary>Adapted statistics of a normalization: K means and population variances, over <see cref="Count"/> rows.</summary>
public sealed class NormalizationStatistics(float[] mean, float[] variance, long count)
{
    public float[] Mean { get; } = mean;
    public float[] Variance { get; } = variance;

    /// <summary>Rows (values per statistic) the statistics were computed from.</summary>
    public long Count { get; } = count;

    /// <summary>
    /// Stores the statistics in a model's non-trainable tensors <c>{layer}/mean</c> and
    /// <c>{layer}/variance</c>, where checkpoints save them with the weights (Keras names).
    /// Everything is checked first (lengths, finite means, finite variances of 0 or more):
    /// on an error neither tensor changes.
    /// </summary>
    public void CopyTo(Model model, string layer = "normalization")
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(layer);
        Span<float> mean = model.Tensor(layer + "/mean"), variance = model.Tensor(layer + "/variance");
        Check(mean, Mean, model, layer + "/mean", negativeAllowed: true);
        Check(variance, Variance, model, layer + "/variance", negativeAllowed: false);
        Mean.CopyTo(mean);
        Variance.CopyTo(variance);
    }

    private static void Check(Span<float> tensor, float[] values, Model model, string name, bool negativeAllowed)
    {
        if (tensor.Length != values.Length)
            throw new ArgumentException($"{model.Description.Name}: '{name}' holds {tensor.Length} values, but these statistics have {values.Length}; adapt with the layer's axis.", nameof(model));
        for (int i = 0; i < values.Length; i++)
            if (!float.IsFinite(values[i]) || (!negativeAllowed && values[i] < 0))
                throw new ArgumentException($"{model.Description.Name}: '{name}'[{i}] would be {values[i]}; statistics are finite{(negativeAllowed ? "" : " and a variance is 0 or more")}. Nothing was copied.", nameof(model));
    }
}

/// <summary>
/// Streaming mean and population variance per statistic, in double, merging each update with
/// Chan's pairwise formula (what Keras' adapt does batch by batch), so batches of any size give
/// the same result as one pass over everything.
/// </summary>
public sealed class NormalizationAdapter
{
    private readonly double[] _mean, _m2, _batchMean, _batchM2;
    private long _count;

    public NormalizationAdapter(int statisticsLength)
    {
        if (statisticsLength <= 0) throw new ArgumentOutOfRangeException(nameof(statisticsLength), statisticsLength, "must be positive");
        _mean = new double[statisticsLength];
        _m2 = new double[statisticsLength];
        _batchMean = new double[statisticsLength];
        _batchM2 = new double[statisticsLength];
    }

    public long Count => _count;

    /// <summary>Adds whole rows of K values; allocates nothing.</summary>
    public void Update(ReadOnlySpan<float> values)
    {
        int k = _mean.Length;
        if (values.Length % k != 0)
            throw new ArgumentException($"Normalization adapt: {values.Length} values are not whole rows of {k}.", nameof(values));
        long n = values.Length / k;
        if (n == 0) return;
        Array.Clear(_batchMean);
        Array.Clear(_batchM2);
        for (int i = 0; i < values.Length; i += k)
            for (int c = 0; c < k; c++) _batchMean[c] += values[i + c];
        for (int c = 0; c < k; c++) _batchMean[c] /= n;
        for (int i = 0; i < values.Length; i += k)
            for (int c = 0; c < k; c++)
            {
                double d = values[i + c] - _batchMean[c];
                _batchM2[c] += d * d;
            }
        long total = _count + n;
        for (int c = 0; c < k; c++)
        {
            double delta = _batchMean[c] - _mean[c];
            _mean[c] += delta * n / total;
            _m2[c] += _batchM2[c] + delta * delta * _count * n / total;
        }
        _count = total;
    }

    public NormalizationStatistics Result()
    {
        if (_count == 0) throw new InvalidOperationException("Normalization adapt saw no data.");
        var mean = new float[_mean.Length];
        var variance = new float[_mean.Length];
        for (int c = 0; c < mean.Length; c++)
        {
            mean[c] = (float)_mean[c];
            variance[c] = (float)(_m2[c] / _count);
        }
        return new NormalizationStatistics(mean, variance, _count);
    }
}
