using System;
using System.Collections.Generic;
using System.Globalization;
using System.Text;

namespace Kiln;

/// <summary>
/// Keras' <c>logs</c> dict: metric name → value. Fit owns one instance per kind (batch, epoch)
/// and updates it in place, so reading it allocates nothing; copy values you keep.
/// </summary>
public sealed class Logs
{
    private readonly string[] _names;
    private readonly double[] _values;

    internal Logs(IReadOnlyList<string> names)
    {
        _names = [.. names];
        _values = new double[_names.Length];
    }

    public IReadOnlyList<string> Names => _names;

    public int Count => _names.Length;

    /// <summary>The value of <paramref name="name"/> (<c>logs["val_loss"]</c>).</summary>
    public double this[string name] => TryGetValue(name, out double v)
        ? v
        : throw new KeyNotFoundException($"The logs have no '{name}'; they have {string.Join(", ", _names)}.");

    /// <summary>The <paramref name="index"/>-th value, in <see cref="Names"/> order.</summary>
    public double this[int index] => _values[index];

    public bool Contains(string name) => Array.IndexOf(_names, name) >= 0;

    public bool TryGetValue(string name, out double value)
    {
        int i = Array.IndexOf(_names, name);
        value = i >= 0 ? _values[i] : double.NaN;
        return i >= 0;
    }

    internal Span<double> Values => _values;

    public override string ToString()
    {
        var sb = new StringBuilder();
        for (int i = 0; i < _names.Length; i++)
        {
            if (i > 0) sb.Append(" - ");
            sb.Append(_names[i]).Append(": ").Append(_values[i].ToString("R", CultureInfo.InvariantCulture));
        }
        return sb.ToString();
    }
}
