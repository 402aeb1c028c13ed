using System;

namespace Kiln;

/// <summary>
/// Keras' <c>ReduceLROnPlateau</c>: when <see cref="Monitor"/> has not improved by
/// <see cref="MinDelta"/> for <see cref="Patience"/> epochs, multiplies the learning rate by
/// <see cref="Factor"/> (never below <see cref="MinLearningRate"/>), then waits
/// <see cref="Cooldown"/> epochs before counting again.
/// </summary>
public sealed class ReduceLROnPlateau : ICallback
{
    private bool _maximize;
    private double _best;
    private int _cooldownCounter;

    /// <remarks><paramref name="factor"/> and <paramref name="minLearningRate"/> are double so Keras-style literals compile; the rate itself is float.</remarks>
    public ReduceLROnPlateau(string monitor = "val_loss", double factor = 0.1, int patience = 10, MonitorMode mode = MonitorMode.Auto,
        double minDelta = 1e-4, int cooldown = 0, double minLearningRate = 0, int verbose = 0)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(monitor);
        if (!(factor >= 0 && factor < 1))
            throw new ArgumentOutOfRangeException(nameof(factor), factor, "ReduceLROnPlateau does not support a factor ≥ 1 (it would raise the rate).");
        if (patience < 0) throw new ArgumentOutOfRangeException(nameof(patience), patience, "must not be negative");
        if (cooldown < 0) throw new ArgumentOutOfRangeException(nameof(cooldown), cooldown, "must not be negative");
        if (!(minLearningRate >= 0)) throw new ArgumentOutOfRangeException(nameof(minLearningRate), minLearningRate, "must not be negative");
        Monitor = monitor;
        Factor = (float)factor;
        Patience = patience;
        Mode = mode;
        MinDelta = minDelta;
        Cooldown = cooldown;
        MinLearningRate = (float)minLearningRate;
        Verbose = verbose;
    }

    public string Monitor { get; }
    public float Factor { get; }
    public int Patience { get; }
    public MonitorMode Mode { get; }
    public double MinDelta { get; }
    public int Cooldown { get; }
    public float MinLearningRate { get; }
    public int Verbose { get; }

    /// <summary>Epochs without improvement counted so far.</summary>
    public int Wait { get; private set; }

    void ICallback.OnTrainBegin(TrainingContext context)
    {
        Monitoring.Require(nameof(ReduceLROnPlateau), Monitor, context);
        LearningRates.RequireSettable(nameof(ReduceLROnPlateau), context.Optimizer);
        _maximize = Monitoring.Maximizes(Monitor, Mode);
        _best = _maximize ? double.NegativeInfinity : double.PositiveInfinity;
        _cooldownCounter = 0;
        Wait = 0;
    }

    void ICallback.OnEpochEnd(int epoch, Logs logs, TrainingContext context)
    {
        double current = logs[Monitor];
        if (_cooldownCounter > 0)
        {
            _cooldownCounter--;
            Wait = 0;
        }
        if (_maximize ? current > _best + MinDelta : current < _best - MinDelta)
        {
            _best = current;
            Wait = 0;
        }
        else if (_cooldownCounter <= 0)
        {
            Wait++;
            if (Wait >= Patience)
            {
                float old = context.Optimizer.LearningRate;
                if (old > MinLearningRate)
                {
                    float rate = Math.Max(old * Factor, MinLearningRate);
                    context.Optimizer.LearningRate = rate;
                    if (Verbose > 0)
                        context.Output.WriteLine($"Epoch {epoch + 1}: ReduceLROnPlateau reducing learning rate to {rate:G6}.");
                    _cooldownCounter = Cooldown;
                    Wait = 0;
                }
            }
        }
    }
}
