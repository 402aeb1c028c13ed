using System;

namespace Kiln;

/// <summary>
/// Keras 3's <c>PiecewiseConstantDecay</c>: <c>values[0]</c> while <c>step ≤ boundaries[0]</c>,
/// <c>values[i]</c> while <c>boundaries[i−1] &lt; step ≤ boundaries[i]</c>, and the last value after the
/// last boundary. A boundary step still gets the value before it, as in Keras.
/// </summary>
public sealed class PiecewiseConstantDecay : LearningRateSchedule
{
    private readonly long[] _boundaries;
    private readonly float[] _values;

    public PiecewiseConstantDecay(long[] boundaries, double[] values)
    {
        ArgumentNullException.ThrowIfNull(boundaries);
        ArgumentNullException.ThrowIfNull(values);
        if (boundaries.Length == 0)
            throw new ArgumentException("Give at least one boundary; a constant rate needs no schedule.", nameof(boundaries));
        if (values.Length != boundaries.Length + 1)
            throw new ArgumentException($"values needs one more element than boundaries ({boundaries.Length + 1}); it has {values.Length}.", nameof(values));
        for (int i = 1; i < boundaries.Length; i++)
            if (boundaries[i] <= boundaries[i - 1])
                throw new ArgumentException($"boundaries must increase; {boundaries[i]} follows {boundaries[i - 1]}.", nameof(boundaries));
        _values = new float[values.Length];
        for (int i = 0; i < values.Length; i++)
        {
            if (!(values[i] >= 0) || double.IsInfinity(values[i]))
                throw new ArgumentOutOfRangeException(nameof(values), values[i], $"values[{i}] must be a finite learning rate ≥ 0.");
            _values[i] = (float)values[i];
        }
        _boundaries = (long[])boundaries.Clone();
    }

    public ReadOnlySpan<long> Boundaries => _boundaries;
    public ReadOnlySpan<float> Values => _values;

    public override float Rate(long step)
    {
        int i = 0;
        while (i < _boundaries.Length && step > _boundaries[i]) i++;
        return _values[i];
    }
}
