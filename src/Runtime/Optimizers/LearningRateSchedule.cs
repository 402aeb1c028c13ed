using System;

namespace Kiln;

/// <summary>
/// A learning rate as a function of the step (the optimizer's <see cref="Optimizer.Iterations"/> before
/// the step). Constructors take double, so Keras-style literals compile; rates are float, as the optimizers use them.
/// </summary>
public abstract class LearningRateSchedule
{
    public abstract float Rate(long step);

    private protected static void CheckCommon(float initial, long decaySteps, float decayRate)
    {
        if (!(initial >= 0) || float.IsInfinity(initial))
            throw new ArgumentOutOfRangeException(nameof(initial), initial, "the initial learning rate must be a finite number ≥ 0.");
        if (decaySteps <= 0)
            throw new ArgumentOutOfRangeException(nameof(decaySteps), decaySteps, "decaySteps must be positive.");
        if (!(decayRate >= 0) || float.IsInfinity(decayRate))
            throw new ArgumentOutOfRangeException(nameof(decayRate), decayRate, "decayRate must be a finite number ≥ 0.");
    }
}

/// <summary>Keras' <c>InverseTimeDecay</c>: <c>initial / (1 + decayRate · p)</c>, <c>p = step / decaySteps</c> (floored when <c>Staircase</c>).</summary>
public sealed class InverseTimeDecay : LearningRateSchedule
{
    public InverseTimeDecay(double initial, long decaySteps, double decayRate, bool staircase = false)
    {
        CheckCommon((float)initial, decaySteps, (float)decayRate);
        Initial = (float)initial;
        DecaySteps = decaySteps;
        DecayRate = (float)decayRate;
        Staircase = staircase;
    }

    public float Initial { get; }
    public long DecaySteps { get; }
    public float DecayRate { get; }
    public bool Staircase { get; }

    public override float Rate(long step)
    {
        double p = (double)step / DecaySteps;
        if (Staircase) p = Math.Floor(p);
        return (float)(Initial / (1.0 + DecayRate * p));
    }
}

/// <summary>Keras' <c>ExponentialDecay</c>: <c>initial · decayRate^p</c>, <c>p = step / decaySteps</c> (floored when <c>Staircase</c>).</summary>
public sealed class ExponentialDecay : LearningRateSchedule
{
    public ExponentialDecay(double initial, long decaySteps, double decayRate, bool staircase = false)
    {
        CheckCommon((float)initial, decaySteps, (float)decayRate);
        Initial = (float)initial;
        DecaySteps = decaySteps;
        DecayRate = (float)decayRate;
        Staircase = staircase;
    }

    public float Initial { get; }
    public long DecaySteps { get; }
    public float DecayRate { get; }
    public bool Staircase { get; }

    public override float Rate(long step)
    {
        double p = (double)step / DecaySteps;
        if (Staircase) p = Math.Floor(p);
        return (float)(Initial * Math.Pow(DecayRate, p));
    }
}
