using System;

namespace Kiln;

/// <summary>
/// Keras 3's <c>CosineDecay</c> (Loshchilov and Hutter, SGDR), with its optional linear warmup.
/// Without warmup: <c>s = min(step, decaySteps)</c>,
/// <c>rate = initial · ((1 − alpha) · ½(1 + cos(π · s / decaySteps)) + alpha)</c>, so the rate goes
/// from <c>initial</c> at step 0 to <c>initial · alpha</c> at <c>decaySteps</c> and stays there.
/// With <c>warmupTarget</c>: <c>s = min(step, warmupSteps + decaySteps)</c>; while
/// <c>s &lt; warmupSteps</c> the rate rises linearly, <c>initial + (warmupTarget − initial) · s / warmupSteps</c>,
/// then it decays as above from <c>warmupTarget</c> over <c>s − warmupSteps</c>.
/// </summary>
public sealed class CosineDecay : LearningRateSchedule
{
    // Arguments are double so Keras-style literals compile; the schedule keeps float rates, as the optimizer uses.
    public CosineDecay(double initial, long decaySteps, double alpha = 0, double? warmupTarget = null, long warmupSteps = 0)
        : this((float)initial, decaySteps, (float)alpha, (float?)warmupTarget, warmupSteps)
    {
    }

    private CosineDecay(float initial, long decaySteps, float alpha, float? warmupTarget, long warmupSteps)
    {
        CheckCommon(initial, decaySteps, 0f);
        if (!(alpha >= 0 && alpha <= 1))
            throw new ArgumentOutOfRangeException(nameof(alpha), alpha, "alpha, the final rate as a fraction of the initial one, must be in [0, 1].");
        if (warmupTarget is float target && (!(target >= 0) || float.IsInfinity(target)))
            throw new ArgumentOutOfRangeException(nameof(warmupTarget), warmupTarget, "the warmup target must be a finite number ≥ 0.");
        if (warmupSteps < 0)
            throw new ArgumentOutOfRangeException(nameof(warmupSteps), warmupSteps, "warmupSteps must not be negative.");
        if (warmupSteps > 0 && warmupTarget is null)
            throw new ArgumentException("warmupSteps needs a warmupTarget (the rate the warmup rises to); Keras ignores the steps without one.", nameof(warmupSteps));
        Initial = initial;
        DecaySteps = decaySteps;
        Alpha = alpha;
        WarmupTarget = warmupTarget;
        WarmupSteps = warmupSteps;
    }

    public float Initial { get; }
    public long DecaySteps { get; }
    public float Alpha { get; }
    public float? WarmupTarget { get; }
    public long WarmupSteps { get; }

    public override float Rate(long step)
    {
        double s = step;
        if (WarmupTarget is not float target)
            return (float)(Initial * Decayed(Math.Min(s, DecaySteps)));
        s = Math.Min(s, (double)DecaySteps + WarmupSteps);
        if (s < WarmupSteps)
            return (float)((target - (double)Initial) * (s / WarmupSteps) + Initial);
        return (float)(target * Decayed(s - WarmupSteps));
    }

    private double Decayed(double s) => (1 - (double)Alpha) * 0.5 * (1 + Math.Cos(Math.PI * s / DecaySteps)) + Alpha;
}
