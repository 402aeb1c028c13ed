using System;

namespace Kiln;

/// <summary>
/// Keras' <c>EarlyStopping</c>: stops training when <see cref="Monitor"/> has not improved by more
/// than <see cref="MinDelta"/> for <see cref="Patience"/> epochs. With
/// <see cref="RestoreBestWeights"/> the model ends with the weights of its best epoch (the first
/// epoch's when none improved). <see cref="Baseline"/>: training stops unless the value beats it.
/// </summary>
public sealed class EarlyStopping : ICallback
{
    private bool _maximize;
    private double _best;
    private float[]? _bestParameters, _bestState;
    private bool _haveBest;

    public EarlyStopping(string monitor = "val_loss", double minDelta = 0, int patience = 0, MonitorMode mode = MonitorMode.Auto,
        double? baseline = null, bool restoreBestWeights = false, int startFromEpoch = 0, int verbose = 0)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(monitor);
        if (patience < 0) throw new ArgumentOutOfRangeException(nameof(patience), patience, "must not be negative");
        if (!double.IsFinite(minDelta)) throw new ArgumentOutOfRangeException(nameof(minDelta), minDelta, "must be finite");
        Monitor = monitor;
        MinDelta = Math.Abs(minDelta); // Keras takes the magnitude; the mode gives the direction
        Patience = patience;
        Mode = mode;
        Baseline = baseline;
        RestoreBestWeights = restoreBestWeights;
        StartFromEpoch = startFromEpoch;
        Verbose = verbose;
    }

    public string Monitor { get; }
    public double MinDelta { get; }
    public int Patience { get; }
    public MonitorMode Mode { get; }
    public double? Baseline { get; }
    public bool RestoreBestWeights { get; }

    /// <summary>Epochs (0-based index) before which nothing is monitored, a warm-up.</summary>
    public int StartFromEpoch { get; }

    public int Verbose { get; }

    /// <summary>Epochs since the last improvement.</summary>
    public int Wait { get; private set; }

    /// <summary>The 0-based epoch at which training was stopped, or 0 when it was not.</summary>
    public int StoppedEpoch { get; private set; }

    /// <summary>The 0-based epoch with the best value.</summary>
    public int BestEpoch { get; private set; }

    public double Best => _best;

    void ICallback.OnTrainBegin(TrainingContext context)
    {
        Monitoring.Require(nameof(EarlyStopping), Monitor, context);
        _maximize = Monitoring.Maximizes(Monitor, Mode);
        Wait = 0;
        StoppedEpoch = 0;
        BestEpoch = 0;
        _best = _maximize ? double.NegativeInfinity : double.PositiveInfinity;
        _haveBest = false;
        if (RestoreBestWeights)
        {
            // Allocated once here so that keeping the best weights each epoch allocates nothing.
            _bestParameters = new float[context.Model.Parameters.Length];
            _bestState = new float[context.Model.State.Length];
        }
    }

    void ICallback.OnEpochEnd(int epoch, Logs logs, TrainingContext context)
    {
        double current = logs[Monitor];
        if (epoch < StartFromEpoch) return;
        if (RestoreBestWeights && !_haveBest)
        {
            context.Model.CopyWeightsTo(_bestParameters!, _bestState!);
            _haveBest = true;
        }
        Wait++;
        if (IsImprovement(current, _best))
        {
            _best = current;
            BestEpoch = epoch;
            if (RestoreBestWeights) context.Model.CopyWeightsTo(_bestParameters!, _bestState!);
            // Only reset the wait once past the baseline.
            if (Baseline is not double b || IsImprovement(current, b))
            {
                Wait = 0;
                return;
            }
        }
        if (Wait >= Patience && epoch > 0)
        {
            StoppedEpoch = epoch;
            context.StopTraining = true;
            if (RestoreBestWeights && _haveBest)
            {
                if (Verbose > 0) context.Output.WriteLine($"Restoring model weights from the end of the best epoch: {BestEpoch + 1}.");
                context.Model.RestoreWeights(_bestParameters!, _bestState!);
            }
        }
    }

    void ICallback.OnTrainEnd(TrainingContext context)
    {
        if (StoppedEpoch > 0 && Verbose > 0) context.Output.WriteLine($"Epoch {StoppedEpoch + 1}: early stopping");
    }

    private bool IsImprovement(double value, double reference) =>
        _maximize ? value - MinDelta > reference : value + MinDelta < reference;
}
