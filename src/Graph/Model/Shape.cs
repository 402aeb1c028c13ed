using System;
using System.Linq;

namespace Kiln.Graph;

/// <summary>The shape of one sample (no batch axis), channels last.</summary>
public sealed class Shape : IEquatable<Shape>
{
    private readonly int[] _dims;

    public Shape(params int[] dims) => _dims = (int[])dims.Clone();

    public int Rank => _dims.Length;

    public int this[int axis] => _dims[axis];

    public int[] Dims => (int[])_dims.Clone();

    /// <summary>
    /// A dimension computed in 64 bits (UpSampling, ZeroPadding, a transposed convolution), saturating
    /// at int.MaxValue rather than wrapping to a negative size; Capacity then reports the layer
    /// (KILN0012, its count a lower bound).
    /// </summary>
    public static int Dim(long d) => d > int.MaxValue ? int.MaxValue : (int)d;

    /// <summary>Number of floats in one sample, exactly (saturating at long.MaxValue), for size checks and parameter counts.</summary>
    public long Elements
    {
        get
        {
            long n = 1;
            foreach (int d in _dims)
            {
                if (d != 0 && n > long.MaxValue / System.Math.Abs((long)d)) return long.MaxValue;
                n *= d;
            }
            return n;
        }
    }

    /// <summary>Number of floats in one sample, saturating at int.MaxValue (Capacity rejects models where that happens).</summary>
    public int Size
    {
        get
        {
            long n = 1;
            foreach (int d in _dims) n *= d;
            return n > int.MaxValue ? int.MaxValue : (int)n;
        }
    }

    /// <summary>The last axis: units of a Dense output, channels of an image.</summary>
    public int Last => _dims[_dims.Length - 1];

    /// <summary>As Keras prints it, e.g. <c>(None, 14, 14, 32)</c>.</summary>
    public string ToKeras() => "(None, " + string.Join(", ", _dims) + ")";

    /// <summary>Without the batch axis, e.g. <c>(14, 14, 32)</c>.</summary>
    public override string ToString() => "(" + string.Join(", ", _dims) + ")";

    public bool Equals(Shape? other) => other is not null && _dims.SequenceEqual(other._dims);

    public override bool Equals(object? obj) => Equals(obj as Shape);

    public override int GetHashCode() => _dims.Aggregate(17, (h, d) => unchecked(h * 31 + d));
}
