using System;
using System.Globalization;
using System.IO;
using System.Text;

namespace Kiln;

/// <summary>
/// What <see cref="Model.Fit"/> tells the person watching. The seam for a later live progress
/// bar: <see cref="BatchEnd"/> is called after every batch and must not allocate; the per-epoch
/// hooks may.
/// </summary>
internal abstract class TrainingProgress
{
    public abstract void TrainBegin(int trainSamples, int validationSamples);

    public abstract void EpochBegin(int epoch, int epochs);

    /// <summary>After each batch: samples seen so far this epoch and the running means.</summary>
    public virtual void BatchEnd(int seen, int total, double loss, double metric) { }

    public abstract void EpochEnd(int epoch, int samples, double seconds, History history);
}

/// <summary>
/// Keras' epoch summary, one line per epoch and nothing per batch, so logs stay readable:
/// <c>55000/55000 - 8s - 149us/sample - loss: 0.3912 - accuracy: 0.8603 - val_loss: ...</c>.
/// </summary>
internal sealed class EpochLineProgress(TextWriter output) : TrainingProgress
{
    public override void TrainBegin(int trainSamples, int validationSamples)
    {
        output.WriteLine(validationSamples > 0
            ? $"Train on {trainSamples} samples, validate on {validationSamples} samples"
            : $"Train on {trainSamples} samples");
        output.Flush();
    }

    public override void EpochBegin(int epoch, int epochs)
    {
        output.WriteLine($"Epoch {epoch}/{epochs}");
        output.Flush();
    }

    public override void EpochEnd(int epoch, int samples, double seconds, History history)
    {
        var line = new StringBuilder();
        line.Append(CultureInfo.InvariantCulture, $"{samples}/{samples} - {seconds:0}s - {PerSample(seconds / samples)}");
        foreach (string name in history.Names)
            line.Append(" - ").Append(name).Append(": ").Append(History.FormatValue(history[name][^1]));
        output.WriteLine(line.ToString());
        output.Flush();
    }

    // Keras picks the unit so the number has a few digits: s, ms or us per sample.
    private static string PerSample(double seconds) =>
        seconds >= 1 ? string.Create(CultureInfo.InvariantCulture, $"{seconds:0}s/sample")
        : seconds >= 1e-3 ? string.Create(CultureInfo.InvariantCulture, $"{seconds * 1e3:0}ms/sample")
        : string.Create(CultureInfo.InvariantCulture, $"{seconds * 1e6:0}us/sample");
}
