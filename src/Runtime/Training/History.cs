using System;
using System.Collections.Generic;
using System.Globalization;
using System.Text;

namespace Kiln;

/// <summary>
/// Keras' <c>History.history</c>: per-epoch values of each metric, in the order Keras prints
/// them (<c>loss</c>, <c>accuracy</c>, <c>val_loss</c>, <c>val_accuracy</c>).
/// </summary>
public sealed class History
{
    private readonly string[] _names;
    private readonly List<double>[] _values;

    internal History(IReadOnlyList<string> names, int capacity)
    {
        _names = [.. names];
        _values = new List<double>[_names.Length];
        // Sized for every epoch up front so recording an epoch allocates nothing.
        for (int i = 0; i < _values.Length; i++) _values[i] = new List<double>(capacity);
    }

    /// <summary>Metric names in print order.</summary>
    public IReadOnlyList<string> Names => _names;

    /// <summary>Epochs recorded so far.</summary>
    public int Epochs => _values.Length == 0 ? 0 : _values[0].Count;

    /// <summary>The per-epoch values of <paramref name="name"/> (<c>history["val_loss"]</c>).</summary>
    public IReadOnlyList<double> this[string name]
    {
        get
        {
            if (TryGetValue(name, out var values)) return values;
            throw new KeyNotFoundException($"History has no metric '{name}'; it has {string.Join(", ", _names)}.");
        }
    }

    public bool Contains(string name) => Array.IndexOf(_names, name) >= 0;

    public bool TryGetValue(string name, out IReadOnlyList<double> values)
    {
        int i = Array.IndexOf(_names, name);
        values = i >= 0 ? _values[i] : [];
        return i >= 0;
    }

    /// <summary>Records one epoch: one value per name, in <see cref="Names"/> order.</summary>
    internal void Append(ReadOnlySpan<double> epochValues)
    {
        if (epochValues.Length != _names.Length)
            throw new ArgumentException($"History expects {_names.Length} values per epoch, got {epochValues.Length}.", nameof(epochValues));
        for (int i = 0; i < _names.Length; i++) _values[i].Add(epochValues[i]);
    }

    /// <summary>Appends every epoch of <paramref name="earlier"/> (same names), e.g. a resumed checkpoint's.</summary>
    internal void AppendAll(History earlier)
    {
        for (int i = 0; i < _names.Length; i++) _values[i].AddRange(earlier._values[i]);
    }

    /// <summary>A copy as name → per-epoch values, like Keras' <c>history.history</c> dict.</summary>
    public IReadOnlyDictionary<string, double[]> ToDictionary()
    {
        var d = new Dictionary<string, double[]>(_names.Length);
        for (int i = 0; i < _names.Length; i++) d[_names[i]] = [.. _values[i]];
        return d;
    }

    /// <summary>Builds a history from name → per-epoch values (all the same length), e.g. read back from a log.</summary>
    public static History FromValues(IReadOnlyList<KeyValuePair<string, double[]>> columns)
    {
        ArgumentNullException.ThrowIfNull(columns);
        int epochs = columns.Count == 0 ? 0 : columns[0].Value.Length;
        var names = new string[columns.Count];
        for (int i = 0; i < names.Length; i++)
        {
            names[i] = columns[i].Key;
            if (columns[i].Value.Length != epochs)
                throw new ArgumentException($"History column '{names[i]}' has {columns[i].Value.Length} epochs but '{names[0]}' has {epochs}.", nameof(columns));
        }
        var h = new History(names, epochs);
        for (int i = 0; i < names.Length; i++) h._values[i].AddRange(columns[i].Value);
        return h;
    }

    /// <summary>One line per epoch, the metrics formatted as Keras prints them.</summary>
    public override string ToString()
    {
        var sb = new StringBuilder();
        for (int e = 0; e < Epochs; e++)
        {
            sb.Append("Epoch ").Append(e + 1);
            for (int i = 0; i < _names.Length; i++)
                sb.Append(" - ").Append(_names[i]).Append(": ").Append(FormatValue(_values[i][e]));
            sb.AppendLine();
        }
        return sb.ToString();
    }

    /// <summary>Keras' progress-bar number format: 4 decimals, or 4-digit scientific below 1e-3.</summary>
    internal static string FormatValue(double value) =>
        Math.Abs(value) > 1e-3 || value == 0 || !double.IsFinite(value)
            ? value.ToString("0.0000", CultureInfo.InvariantCulture)
            : value.ToString("0.0000e+00", CultureInfo.InvariantCulture);
}
