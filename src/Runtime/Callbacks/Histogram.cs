using System;
using System.Collections.Generic;

namespace Kiln;

/// <summary>
/// A histogram of float values in TensorFlow's <c>HistogramProto</c> form (tensorflow/core/framework/summary.proto),
/// as TensorFlow's own histogram (tensorflow/core/lib/histogram/histogram.cc) fills it: exact min,
/// max, count, sum and sum of squares, and counts over TensorFlow's default bucket edges, which
/// grow by 10% from ±1e-12 to ±1e20 (0 and ±<see cref="double.MaxValue"/> close them), so the
/// buckets of a tensor are the same at every epoch. A value v falls in the first bucket whose
/// limit is greater than v; as TensorFlow encodes it, each run of empty buckets becomes one.
/// TensorBoard reads this form directly (it turns the limits into [left, right, count] bins
/// starting at min and ending at max, the same bins as its v2 histogram tensors).
/// </summary>
internal sealed class Histogram
{
    // HistogramProto's fields.
    private const int MinField = 1, MaxField = 2, NumField = 3, SumField = 4, SumSquaresField = 5, LimitsField = 6, CountsField = 7;

    /// <summary>TensorFlow's default bucket limits, ascending: −DBL_MAX, −1e20 … −1e-12, 0, 1e-12 … 1e20, DBL_MAX.</summary>
    public static readonly double[] DefaultLimits = BuildDefaultLimits();

    private readonly double[] _counts = new double[DefaultLimits.Length];

    // Scratch for the encoded (collapsed) buckets; at most one per default bucket.
    private readonly double[] _limitsOut = new double[DefaultLimits.Length];
    private readonly double[] _countsOut = new double[DefaultLimits.Length];

    public Histogram() => Clear();

    public double Min { get; private set; }
    public double Max { get; private set; }
    public double Count { get; private set; }
    public double Sum { get; private set; }
    public double SumSquares { get; private set; }

    /// <summary>The count of default bucket <paramref name="bucket"/> (values in [limit(bucket − 1), limit(bucket))).</summary>
    public double this[int bucket] => _counts[bucket];

    public void Clear()
    {
        Array.Clear(_counts);
        Min = double.MaxValue;
        Max = -double.MaxValue;
        Count = Sum = SumSquares = 0;
    }

    /// <summary>
    /// Adds <paramref name="values"/>. TensorFlow refuses a NaN or infinite value in a histogram
    /// (there is no bucket for it); so does this, with <paramref name="name"/> in the message.
    /// </summary>
    public void Add(ReadOnlySpan<float> values, string name)
    {
        double min = Min, max = Max, sum = Sum, squares = SumSquares;
        foreach (float f in values)
        {
            if (!float.IsFinite(f))
                throw new InvalidOperationException($"{name} holds {f}: TensorBoard cannot draw a histogram of a NaN or infinite value (TensorFlow refuses it too); training diverged.");
            double v = f;
            _counts[BucketOf(v)]++;
            if (v < min) min = v;
            if (v > max) max = v;
            sum += v;
            squares += v * v;
        }
        Min = min;
        Max = max;
        Sum = sum;
        SumSquares = squares;
        Count += values.Length;
    }

    /// <summary>The index of the first default limit greater than <paramref name="v"/> (C++'s upper_bound).</summary>
    public static int BucketOf(double v)
    {
        double[] limits = DefaultLimits;
        int lo = 0, hi = limits.Length - 1; // v ≤ DBL_MAX, so the last limit is an answer when no other is
        while (lo < hi)
        {
            int mid = (lo + hi) >>> 1;
            if (limits[mid] > v) hi = mid;
            else lo = mid + 1;
        }
        return lo;
    }

    /// <summary>Writes the HistogramProto's fields (the caller opened the message).</summary>
    public void Encode(ProtobufWriter w)
    {
        int n = 0;
        for (int i = 0; i < _counts.Length;)
        {
            double end = DefaultLimits[i], count = _counts[i];
            i++;
            if (count <= 0)
                while (i < _counts.Length && _counts[i] <= 0) end = DefaultLimits[i++];
            _limitsOut[n] = end;
            _countsOut[n++] = count;
        }
        w.Double(MinField, Min);
        w.Double(MaxField, Max);
        w.Double(NumField, Count);
        w.Double(SumField, Sum);
        w.Double(SumSquaresField, SumSquares);
        w.PackedDoubles(LimitsField, _limitsOut.AsSpan(0, n));
        w.PackedDoubles(CountsField, _countsOut.AsSpan(0, n));
    }

    private static double[] BuildDefaultLimits()
    {
        var positive = new List<double>();
        for (double v = 1e-12; v < 1e20; v *= 1.1) positive.Add(v);
        positive.Add(double.MaxValue);
        var limits = new double[2 * positive.Count + 1];
        for (int i = 0; i < positive.Count; i++)
        {
            limits[positive.Count - 1 - i] = -positive[i];
            limits[positive.Count + 1 + i] = positive[i];
        }
        limits[positive.Count] = 0;
        return limits;
    }
}
