using System;
using System.Globalization;

namespace Kiln;

/// <summary>Whether a monitored value improves by falling (loss) or rising (accuracy); <see cref="Auto"/> decides from its name, as Keras.</summary>
public enum MonitorMode
{
    Auto,
    Min,
    Max,
}

/// <summary>Monitoring shared by the callbacks that watch one logged value.</summary>
internal static class Monitoring
{
    /// <summary>Keras: accuracy-like names (<c>acc</c>, <c>accuracy</c>, <c>auc</c>, top-k, precision, recall) rise; everything else (losses, errors) falls.</summary>
    public static bool Maximizes(string monitor, MonitorMode mode)
    {
        if (mode != MonitorMode.Auto) return mode == MonitorMode.Max;
        string name = monitor.StartsWith("val_", StringComparison.Ordinal) ? monitor[4..] : monitor;
        return name.Contains("acc", StringComparison.Ordinal) || name.Contains("auc", StringComparison.Ordinal)
            || name.StartsWith("fmeasure", StringComparison.Ordinal) || name.Contains("precision", StringComparison.Ordinal)
            || name.Contains("recall", StringComparison.Ordinal);
    }

    /// <summary>Fails early, naming what is logged, when <paramref name="monitor"/> will never appear.</summary>
    public static void Require(string callback, string monitor, TrainingContext context)
    {
        if (context.History.Contains(monitor)) return;
        string hint = monitor.StartsWith("val_", StringComparison.Ordinal)
            ? " Pass validation data (validation or validationSplit) or monitor a training metric."
            : "";
        throw new InvalidOperationException(
            $"{callback} monitors '{monitor}', which this Fit does not log; it logs {string.Join(", ", context.History.Names)}.{hint}");
    }

    // Python's %0.5f, which Keras' messages use: "-inf" before the first value.
    public static string Format(double v) =>
        double.IsNaN(v) ? "nan" : double.IsInfinity(v) ? (v > 0 ? "inf" : "-inf") : v.ToString("0.00000", CultureInfo.InvariantCulture);
}
