using System;

namespace Kiln;

/// <summary>
/// Keras 3's <c>CosineDecayRestarts</c> (SGDR, keras/src/optimizers/schedules/learning_rate_schedule.py):
/// cosine decay over periods that restart, the first <c>firstDecaySteps</c> long and each next one
/// <c>tMul</c> times longer; restart <c>i</c> starts from <c>initial · mMul^i</c>. Within a period at
/// fraction <c>f</c>: <c>rate = initial · ((1 − alpha) · ½ · mMul^i · (1 + cos(π f)) + alpha)</c>
/// (Keras does not scale the <c>alpha</c> floor by <c>mMul^i</c>; neither do we).
/// </summary>
public sealed class CosineDecayRestarts : LearningRateSchedule
{
    public CosineDecayRestarts(double initial, long firstDecaySteps, double tMul = 2.0, double mMul = 1.0, double alpha = 0)
    {
        CheckCommon((float)initial, firstDecaySteps, 0f);
        // Below 1 the periods shrink and sum to a finite number of steps, after which Keras' rate is NaN.
        if (!(tMul >= 1) || double.IsInfinity(tMul))
            throw new ArgumentOutOfRangeException(nameof(tMul), tMul, "tMul, how much longer each period is than the one before, must be a finite number ≥ 1.");
        if (!(mMul >= 0) || double.IsInfinity(mMul))
            throw new ArgumentOutOfRangeException(nameof(mMul), mMul, "mMul, the factor on each restart's starting rate, must be a finite number ≥ 0.");
        if (!(alpha >= 0 && alpha <= 1))
            throw new ArgumentOutOfRangeException(nameof(alpha), alpha, "alpha, the final rate as a fraction of the initial one, must be in [0, 1].");
        Initial = (float)initial;
        FirstDecaySteps = firstDecaySteps;
        TMul = (float)tMul;
        MMul = (float)mMul;
        Alpha = (float)alpha;
    }

    public float Initial { get; }
    public long FirstDecaySteps { get; }
    public float TMul { get; }
    public float MMul { get; }
    public float Alpha { get; }

    public override float Rate(long step)
    {
        double t = TMul, fraction = (double)step / FirstDecaySteps, restart;
        if (t == 1)
        {
            restart = Math.Floor(fraction);
            fraction -= restart;
        }
        else
        {
            // Keras' closed form: the periods before restart i sum to (1 − tⁱ)/(1 − t) first periods.
            restart = Math.Floor(Math.Log(1 - fraction * (1 - t)) / Math.Log(t));
            // The logarithm can land a hair off an integer exactly at a restart; the sums decide.
            if (Before(restart + 1, t) <= fraction) restart++;
            else if (Before(restart, t) > fraction) restart--;
            fraction = (fraction - Before(restart, t)) / Math.Pow(t, restart);
        }
        double cosine = 0.5 * Math.Pow(MMul, restart) * (1 + Math.Cos(Math.PI * fraction));
        return (float)(Initial * ((1 - (double)Alpha) * cosine + Alpha));
    }

    private static double Before(double restart, double t) => (1 - Math.Pow(t, restart)) / (1 - t);
}
