using System;
using System.Globalization;
using System.IO;
using System.Text;

namespace Kiln;

/// <summary>
/// What <c>Model.Fit</c> tells the person watching. <see cref="BatchEnd"/> runs after
/// every batch and must not allocate; the per-epoch hooks may. Epochs here are 1-based, as printed.
/// </summary>
internal abstract class TrainingProgress(TextWriter output)
{
    protected TextWriter Output { get; } = output;

    public void TrainBegin(int trainSamples, int validationSamples)
    {
        Output.WriteLine(validationSamples > 0
            ? $"Train on {trainSamples} samples, validate on {validationSamples} samples"
            : $"Train on {trainSamples} samples");
        Output.Flush();
    }

    public virtual void EpochBegin(int epoch, int epochs)
    {
        Output.WriteLine($"Epoch {epoch}/{epochs}");
        Output.Flush();
    }

    /// <summary>After each batch: samples seen so far this epoch and the running means.</summary>
    public virtual void BatchEnd(int seen, int total, Logs logs) { }

    public abstract void EpochEnd(int epoch, int samples, double seconds, Logs logs);

    protected static void AppendLogs(StringBuilder line, Logs logs)
    {
        for (int i = 0; i < logs.Count; i++)
            line.Append(" - ").Append(logs.Names[i]).Append(": ").Append(History.FormatValue(logs[i]));
    }

    // Keras picks the unit so the number has a few digits: s, ms or us per sample.
    protected static string PerSample(double seconds) =>
        seconds >= 1 ? string.Create(CultureInfo.InvariantCulture, $"{seconds:0}s/sample")
        : seconds >= 1e-3 ? string.Create(CultureInfo.InvariantCulture, $"{seconds * 1e3:0}ms/sample")
        : string.Create(CultureInfo.InvariantCulture, $"{seconds * 1e6:0}us/sample");
}

/// <summary>
/// Keras' epoch summary, one line per epoch and nothing per batch, so logs stay readable:
/// <c>55000/55000 - 8s - 149us/sample - loss: 0.3912 - accuracy: 0.8603 - val_loss: ...</c>.
/// </summary>
internal sealed class EpochLineProgress(TextWriter output) : TrainingProgress(output)
{
    public override void EpochEnd(int epoch, int samples, double seconds, Logs logs)
    {
        var line = new StringBuilder();
        line.Append(CultureInfo.InvariantCulture, $"{samples}/{samples} - {seconds:0}s - {PerSample(seconds / Math.Max(samples, 1))}");
        AppendLogs(line, logs);
        Output.WriteLine(line.ToString());
        Output.Flush();
    }
}
