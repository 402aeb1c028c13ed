using System;
using System.Globalization;
using System.IO;
using System.Text;

namespace Kiln;

/// <summary>
/// Keras' <c>CSVLogger</c>: one row per epoch, <c>epoch</c> (0-based, as Keras) then every logged
/// value with its columns sorted by name, values in full round-trip precision. With
/// <see cref="Append"/> an existing file keeps its rows and gets no second header (for resumed
/// runs). The file is opened, written and closed each epoch, so it is complete after any epoch.
/// </summary>
public sealed class CsvLogger : ICallback
{
    private string[]? _columns;
    private bool _writeHeader;

    public CsvLogger(string fileName, char separator = ',', bool append = false)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(fileName);
        FileName = fileName;
        Separator = separator;
        Append = append;
    }

    public string FileName { get; }
    public char Separator { get; }
    public bool Append { get; }

    void ICallback.OnTrainBegin(TrainingContext context)
    {
        string? directory = Path.GetDirectoryName(Path.GetFullPath(FileName));
        if (directory is not null) Directory.CreateDirectory(directory);
        bool hasRows = Append && File.Exists(FileName) && new FileInfo(FileName).Length > 0;
        _writeHeader = !hasRows;
        if (!Append) File.WriteAllText(FileName, "");
        _columns = null;
    }

    void ICallback.OnEpochEnd(int epoch, Logs logs, TrainingContext context)
    {
        if (_columns is null)
        {
            _columns = [.. logs.Names];
            Array.Sort(_columns, StringComparer.Ordinal);
        }
        var sb = new StringBuilder();
        if (_writeHeader)
        {
            sb.Append("epoch");
            foreach (string c in _columns) sb.Append(Separator).Append(Quote(c));
            sb.Append('\n');
            _writeHeader = false;
        }
        sb.Append(epoch.ToString(CultureInfo.InvariantCulture));
        foreach (string c in _columns)
            sb.Append(Separator).Append(logs.TryGetValue(c, out double v) ? Number(v) : "NA");
        sb.Append('\n');
        File.AppendAllText(FileName, sb.ToString());
    }

    // Python's repr of a float, which Keras writes: shortest round-trip, nan and inf spelled its way.
    private static string Number(double v) =>
        double.IsNaN(v) ? "nan" : double.IsPositiveInfinity(v) ? "inf" : double.IsNegativeInfinity(v) ? "-inf"
        : v.ToString("R", CultureInfo.InvariantCulture);

    private string Quote(string s) =>
        s.Contains(Separator) || s.Contains('"') ? "\"" + s.Replace("\"", "\"\"") + "\"" : s;
}
