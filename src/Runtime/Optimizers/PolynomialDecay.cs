using System;

namespace Kiln;

/// <summary>
/// Keras 3's <c>PolynomialDecay</c>: <c>rate = (initial − end) · (1 − s/d)^power + end</c>. Without
/// <c>cycle</c>, <c>s = min(step, decaySteps)</c> and <c>d = decaySteps</c>, so the rate stays at <c>end</c>;
/// with it, <c>d = decaySteps · ⌈step / decaySteps⌉</c> (1 period at step 0) and <c>s = step</c>, so each
/// new period decays again from a rate that falls from period to period.
/// </summary>
public sealed class PolynomialDecay : LearningRateSchedule
{
    public PolynomialDecay(double initial, long decaySteps, double endLearningRate = 0.0001, double power = 1.0, bool cycle = false)
    {
        CheckCommon((float)initial, decaySteps, 0f);
        if (!(endLearningRate >= 0) || double.IsInfinity(endLearningRate))
            throw new ArgumentOutOfRangeException(nameof(endLearningRate), endLearningRate, "the end learning rate must be a finite number ≥ 0.");
        if (!(power > 0) || double.IsInfinity(power))
            throw new ArgumentOutOfRangeException(nameof(power), power, "power must be a finite number > 0.");
        Initial = (float)initial;
        DecaySteps = decaySteps;
        EndLearningRate = (float)endLearningRate;
        Power = (float)power;
        Cycle = cycle;
    }

    public float Initial { get; }
    public long DecaySteps { get; }
    public float EndLearningRate { get; }
    public float Power { get; }
    public bool Cycle { get; }

    public override float Rate(long step)
    {
        double s = step, d = DecaySteps;
        if (Cycle) d *= step == 0 ? 1 : Math.Ceiling(s / DecaySteps);
        else s = Math.Min(s, d);
        return (float)((Initial - (double)EndLearningRate) * Math.Pow(1 - s / d, Power) + EndLearningRate);
    }
}
