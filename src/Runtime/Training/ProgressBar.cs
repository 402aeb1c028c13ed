using System;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Text;

namespace Kiln;

/// <summary>
/// Keras' live progress bar for a terminal, redrawn in place with a carriage return:
/// <c>12032/55000 [======>.......................] - ETA: 6s - loss: 0.4213 - accuracy: 0.8511</c>,
/// ending each epoch as <c>55000/55000 [==============================] - 8s 149us/sample - loss: ... - val_accuracy: 0.8670</c>.
/// Redraws at most every <see cref="Interval"/> (Keras: 0.05 s) and formats into a buffer it owns,
/// so a batch allocates nothing.
/// </summary>
internal sealed class ProgressBar(TextWriter output, double interval = 0.05) : TrainingProgress(output)
{
    private const int Width = 30;
    private readonly char[] _line = new char[1024];
    private long _epochStarted, _lastDrawn;
    private int _previousLength;

    public double Interval { get; } = interval;

    public override void EpochBegin(int epoch, int epochs)
    {
        base.EpochBegin(epoch, epochs);
        _epochStarted = _lastDrawn = Stopwatch.GetTimestamp();
        _previousLength = 0;
    }

    public override void BatchEnd(int seen, int total, Logs logs)
    {
        long now = Stopwatch.GetTimestamp();
        if (seen < total && Stopwatch.GetElapsedTime(_lastDrawn, now).TotalSeconds < Interval) return;
        _lastDrawn = now;
        double elapsed = Stopwatch.GetElapsedTime(_epochStarted, now).TotalSeconds;
        var w = new SpanWriter(_line);
        w.Append('\r');
        Bar(ref w, seen, total);
        if (seen < total)
        {
            w.Append(" - ETA: ");
            Duration(ref w, elapsed / seen * (total - seen));
        }
        else
        {
            w.Append(" - ");
            Duration(ref w, elapsed);
        }
        for (int i = 0; i < logs.Count; i++)
        {
            w.Append(" - ");
            w.Append(logs.Names[i]);
            w.Append(": ");
            Value(ref w, logs[i]);
        }
        Pad(ref w);
        Output.Write(w.Written);
        Output.Flush();
    }

    public override void EpochEnd(int epoch, int samples, double seconds, Logs logs)
    {
        var w = new SpanWriter(_line);
        w.Append('\r');
        Bar(ref w, samples, samples);
        var line = new StringBuilder();
        line.Append(w.Written);
        line.Append(CultureInfo.InvariantCulture, $" - {seconds:0}s {PerSample(seconds / Math.Max(samples, 1))}");
        AppendLogs(line, logs);
        int pad = _previousLength - (line.Length - 1);
        if (pad > 0) line.Append(' ', pad);
        Output.WriteLine(line.ToString());
        Output.Flush();
    }

    // "  640/55000 [==>...........................]", the count right-aligned to the total's width.
    private static void Bar(ref SpanWriter w, int seen, int total)
    {
        int digits = Digits(total);
        for (int i = Digits(seen); i < digits; i++) w.Append(' ');
        w.Append(seen);
        w.Append('/');
        w.Append(total);
        w.Append(" [");
        int filled = total == 0 ? Width : (int)((long)Width * seen / total);
        if (filled > 0)
        {
            for (int i = 0; i < filled - 1; i++) w.Append('=');
            w.Append(seen < total ? '>' : '=');
        }
        for (int i = filled; i < Width; i++) w.Append('.');
        w.Append(']');
    }

    // Keras: "1:02:03" past an hour, "2:03" past a minute, else "12s".
    private static void Duration(ref SpanWriter w, double seconds)
    {
        long s = (long)Math.Round(seconds);
        if (s >= 3600)
        {
            w.Append(s / 3600);
            w.Append(':');
            Two(ref w, s % 3600 / 60);
            w.Append(':');
            Two(ref w, s % 60);
        }
        else if (s >= 60)
        {
            w.Append(s / 60);
            w.Append(':');
            Two(ref w, s % 60);
        }
        else
        {
            w.Append(s);
            w.Append('s');
        }
    }

    private static void Two(ref SpanWriter w, long v)
    {
        if (v < 10) w.Append('0');
        w.Append(v);
    }

    private static void Value(ref SpanWriter w, double value)
    {
        bool scientific = !(Math.Abs(value) > 1e-3 || value == 0 || !double.IsFinite(value));
        w.Append(value, scientific ? "0.0000e+00" : "0.0000");
    }

    // Clears what a longer previous draw left on the line.
    private void Pad(ref SpanWriter w)
    {
        int length = w.Length - 1;
        for (int i = length; i < _previousLength; i++) w.Append(' ');
        _previousLength = length;
    }

    private static int Digits(long v)
    {
        int d = 1;
        while (v >= 10) { v /= 10; d++; }
        return d;
    }

    /// <summary>Appends into a fixed char buffer with TryFormat: no strings, no allocation; drops what does not fit.</summary>
    private ref struct SpanWriter(Span<char> buffer)
    {
        private readonly Span<char> _buffer = buffer;
        public int Length { get; private set; }

        public readonly ReadOnlySpan<char> Written => _buffer[..Length];

        public void Append(char c)
        {
            if (Length < _buffer.Length) _buffer[Length++] = c;
        }

        public void Append(ReadOnlySpan<char> s)
        {
            int n = Math.Min(s.Length, _buffer.Length - Length);
            s[..n].CopyTo(_buffer[Length..]);
            Length += n;
        }

        public void Append(long v)
        {
            if (v.TryFormat(_buffer[Length..], out int n, default, CultureInfo.InvariantCulture)) Length += n;
        }

        public void Append(double v, string format)
        {
            if (v.TryFormat(_buffer[Length..], out int n, format, CultureInfo.InvariantCulture)) Length += n;
        }
    }
}
