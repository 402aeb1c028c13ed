using System;
using System.IO;

namespace Kiln;

/// <summary>
/// Keras' <c>ModelCheckpoint</c>: saves after each epoch to <see cref="FilePath"/>, a template
/// such as <c>"ckpt/model_{epoch:02d}-{val_accuracy:.2f}.safetensors"</c> filled with the 1-based
/// epoch and the epoch's logs (Python format specs). With <see cref="SaveBestOnly"/> it saves only
/// when <see cref="Monitor"/> improves on the best seen so far (strictly; for a fixed file name the
/// best model stays there). <see cref="SaveWeightsOnly"/> writes weights only (<c>LoadWeights</c>);
/// otherwise a full training checkpoint that <c>Fit(resumeFrom:)</c> continues from bitwise.
/// Files are written atomically; folders are created.
/// </summary>
public sealed class ModelCheckpoint : ICallback
{
    private bool _maximize;
    private double _best;

    public ModelCheckpoint(string filePath, string monitor = "val_loss", bool saveBestOnly = false,
        bool saveWeightsOnly = false, MonitorMode mode = MonitorMode.Auto, int verbose = 0, double? initialValueThreshold = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(filePath);
        ArgumentException.ThrowIfNullOrWhiteSpace(monitor);
        FilePath = filePath;
        Monitor = monitor;
        SaveBestOnly = saveBestOnly;
        SaveWeightsOnly = saveWeightsOnly;
        Mode = mode;
        Verbose = verbose;
        InitialValueThreshold = initialValueThreshold;
        Best = double.NaN;
    }

    public string FilePath { get; }
    public string Monitor { get; }
    public bool SaveBestOnly { get; }
    public bool SaveWeightsOnly { get; }
    public MonitorMode Mode { get; }

    /// <summary>1 prints a line per save or non-improvement, as Keras' verbose=1.</summary>
    public int Verbose { get; }

    /// <summary>With <see cref="SaveBestOnly"/>, the value to beat before the first save (Keras' <c>initial_value_threshold</c>).</summary>
    public double? InitialValueThreshold { get; }

    /// <summary>The best monitored value so far (NaN before the first).</summary>
    public double Best { get; private set; }

    /// <summary>The file written last, or null.</summary>
    public string? LastSaved { get; private set; }

    void ICallback.OnTrainBegin(TrainingContext context)
    {
        _maximize = Monitoring.Maximizes(Monitor, Mode);
        if (SaveBestOnly) Monitoring.Require(nameof(ModelCheckpoint), Monitor, context);
        _best = InitialValueThreshold ?? (_maximize ? double.NegativeInfinity : double.PositiveInfinity);
        Best = double.NaN;
        // A resumed Fit carries the earlier epochs: the best of them is the one to beat, so a
        // resumed run does not overwrite its best file with a worse epoch.
        if (InitialValueThreshold is null && context.History.TryGetValue(Monitor, out var earlier))
            foreach (double v in earlier)
                if (_maximize ? v > _best : v < _best) Best = _best = v;
    }

    void ICallback.OnEpochEnd(int epoch, Logs logs, TrainingContext context)
    {
        string path = FilePathTemplate.Format(FilePath, epoch + 1, logs);
        if (SaveBestOnly)
        {
            double current = logs[Monitor];
            bool better = _maximize ? current > _best : current < _best;
            if (!better)
            {
                if (Verbose > 0)
                    context.Output.WriteLine($"Epoch {epoch + 1}: {Monitor} did not improve from {Monitoring.Format(_best)}");
                return;
            }
            if (Verbose > 0)
                context.Output.WriteLine($"Epoch {epoch + 1}: {Monitor} improved from {Monitoring.Format(_best)} to {Monitoring.Format(current)}, saving model to {path}");
            _best = current;
            Best = current;
        }
        else if (Verbose > 0)
        {
            context.Output.WriteLine($"Epoch {epoch + 1}: saving model to {path}");
        }
        Save(path, epoch, context);
    }

    private void Save(string path, int epoch, TrainingContext context)
    {
        string? directory = Path.GetDirectoryName(Path.GetFullPath(path));
        if (directory is not null) Directory.CreateDirectory(directory);
        if (SaveWeightsOnly) context.Model.SaveWeights(path);
        else context.Model.SaveCheckpoint(path, context.Optimizer, epoch + 1, context.History);
        LastSaved = path;
    }
}
