using System;

namespace Kiln;

/// <summary>What <see cref="StandardScaler"/> and <see cref="MinMaxScaler"/> share with sklearn's validation and <c>_handle_zeros_in_scale</c>.</summary>
internal static class ScalerChecks
{
    /// <summary>Below 10 float epsilons a spread is noise: dividing by it turns values into ±∞ or NaN.</summary>
    private const double ZeroScale = 10 * 1.1920928955078125e-7;

    /// <summary>sklearn's <c>check_array(force_all_finite='allow-nan')</c>: NaN is a missing value, infinity is an error. Allocates nothing.</summary>
    public static void RequireNoInfinity(ReadOnlySpan<float> values, string what)
    {
        for (int i = 0; i < values.Length; i++)
            if (float.IsInfinity(values[i]))
                throw new ArgumentException($"{what}: value {i} is {values[i]}; the data must be finite or NaN (NaN counts as missing, infinity has no place on a scale).", "values");
    }

    /// <summary>sklearn's <c>_is_constant_feature</c>: a variance within rounding of the mean's magnitude is zero.</summary>
    public static bool IsConstant(double variance, double mean, long count)
    {
        const double eps = 2.220446049250313e-16; // numpy's float64 eps, as sklearn uses
        double bound = count * eps * variance + Math.Pow(count * mean * eps, 2);
        return variance <= bound;
    }

    /// <summary>The scale itself, or 1 where it is (near) zero, as sklearn's <c>_handle_zeros_in_scale</c>.</summary>
    public static double NonZeroScale(double scale) => scale < ZeroScale ? 1 : scale;
}
