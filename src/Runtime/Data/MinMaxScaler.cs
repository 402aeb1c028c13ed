using System;

namespace Kiln;

/// <summary>
/// sklearn's MinMaxScaler: <c>(x − min) / (max − min) · (hi − lo) + lo</c>, mapping the training
/// data onto <c>[lo, hi]</c> (default [0, 1]); a constant feature (range 0) gets range 1, as in
/// sklearn. <b>Global</b> (the default, like <see cref="StandardScaler"/>) fits one min and max
/// over every value; <b>per-feature</b> fits one pair per position in the sample (sklearn's
/// column-wise default on a <c>reshape(n, -1)</c> matrix). Fit on the training set, then transform
/// validation and test data with the same statistics: their values may fall outside [lo, hi].
/// A range below 10 float epsilons counts as 0, as sklearn's <c>_handle_zeros_in_scale</c>. NaN
/// counts as missing: <see cref="Fit(ReadOnlySpan{float}, int)"/> disregards it and the transforms
/// keep it NaN; an infinite value is an <see cref="ArgumentException"/> in both.
/// </summary>
public sealed class MinMaxScaler : IFeatureTransform
{
    private float[]? _dataMin, _dataMax;
    private float[] _scale = [], _offset = [];

    /// <remarks>The range is double so Keras-style literals (<c>new MinMaxScaler(-1, 0.5)</c>) compile; it is kept as float.</remarks>
    public MinMaxScaler(double min = 0, double max = 1, bool perFeature = false)
    {
        if (!((float)min < (float)max) || !float.IsFinite((float)min) || !float.IsFinite((float)max))
            throw new ArgumentException($"The feature range ({min}, {max}) needs min < max, both finite.", nameof(min));
        RangeMin = (float)min;
        RangeMax = (float)max;
        PerFeature = perFeature;
    }

    public float RangeMin { get; }
    public float RangeMax { get; }
    public bool PerFeature { get; }
    public bool IsFitted => _dataMin is not null;

    /// <summary>Smallest training value: one (global) or one per feature.</summary>
    public ReadOnlySpan<float> DataMin => _dataMin ?? throw NotFitted();

    /// <summary>Largest training value: one (global) or one per feature.</summary>
    public ReadOnlySpan<float> DataMax => _dataMax ?? throw NotFitted();

    public MinMaxScaler Fit(Dataset data)
    {
        ArgumentNullException.ThrowIfNull(data);
        return Fit(data.Features, data.SampleSize);
    }

    /// <summary>Fits on <paramref name="values"/>, read as rows of <paramref name="featureSize"/> features (ignored when global).</summary>
    public MinMaxScaler Fit(ReadOnlySpan<float> values, int featureSize = 1)
    {
        int features = PerFeature ? featureSize : 1;
        if (features <= 0)
            throw new ArgumentOutOfRangeException(nameof(featureSize), featureSize, "must be positive");
        if (values.Length == 0 || values.Length % features != 0)
            throw new ArgumentException($"MinMaxScaler needs a non-empty whole number of rows of {features} features; got {values.Length} values.", nameof(values));
        var lo = new float[features];
        var hi = new float[features];
        lo.AsSpan().Fill(float.PositiveInfinity);
        hi.AsSpan().Fill(float.NegativeInfinity);
        ScalerChecks.RequireNoInfinity(values, "MinMaxScaler.Fit");
        for (int i = 0; i < values.Length; i += features)
            for (int f = 0; f < features; f++)
            {
                float v = values[i + f];
                if (v < lo[f]) lo[f] = v; // NaN compares false: disregarded
                if (v > hi[f]) hi[f] = v;
            }
        _scale = new float[features];
        _offset = new float[features];
        for (int f = 0; f < features; f++)
        {
            if (lo[f] > hi[f]) lo[f] = hi[f] = float.NaN; // only NaN seen: sklearn's nanmin is NaN too
            double range = float.IsNaN(lo[f]) ? 1 : ScalerChecks.NonZeroScale((double)hi[f] - lo[f]);
            double min = float.IsNaN(lo[f]) ? 0 : lo[f];
            double scale = (RangeMax - (double)RangeMin) / range;
            _scale[f] = (float)scale;
            _offset[f] = (float)(RangeMin - min * scale);
        }
        _dataMin = lo;
        _dataMax = hi;
        return this;
    }

    /// <summary>Scales whole samples in place as <c>x · scale + offset</c> (sklearn's form); allocates nothing.</summary>
    public void TransformInPlace(Span<float> values)
    {
        int features = Features(values.Length);
        ScalerChecks.RequireNoInfinity(values, "MinMaxScaler.Transform");
        for (int i = 0; i < values.Length; i += features)
            for (int f = 0; f < features; f++)
                values[i + f] = values[i + f] * _scale[f] + _offset[f];
    }

    /// <summary>Maps scaled values back to the data's range.</summary>
    public void InverseTransformInPlace(Span<float> values)
    {
        int features = Features(values.Length);
        for (int i = 0; i < values.Length; i += features)
            for (int f = 0; f < features; f++)
                values[i + f] = (values[i + f] - _offset[f]) / _scale[f];
    }

    public void TransformInPlace(Dataset data)
    {
        ArgumentNullException.ThrowIfNull(data);
        CheckFeatures(data);
        TransformInPlace(data.Features);
    }

    /// <summary>A new dataset with scaled features and the same targets (shared, not copied).</summary>
    public Dataset Transform(Dataset data)
    {
        ArgumentNullException.ThrowIfNull(data);
        CheckFeatures(data);
        var features = (float[])data.Features.Clone();
        TransformInPlace(features);
        return new Dataset(features, data.Targets, data.SampleShape, data.TargetSize) { SampleWeights = data.SampleWeights };
    }

    public Dataset FitTransform(Dataset data) => Fit(data).Transform(data);

    private int Features(int length)
    {
        if (_dataMin is null) throw NotFitted();
        if (length % _scale.Length != 0)
            throw new ArgumentException($"The scaler was fitted on {_scale.Length} features per sample; {length} values are not whole samples.", "values");
        return _scale.Length;
    }

    private void CheckFeatures(Dataset data)
    {
        if (_dataMin is not null && _dataMin.Length != 1 && _dataMin.Length != data.SampleSize)
            throw new ArgumentException($"The scaler was fitted on {_dataMin.Length} features per sample; this dataset has {data.SampleSize}.", nameof(data));
    }

    private static InvalidOperationException NotFitted() => new("The MinMaxScaler is not fitted yet; call Fit on the training set first.");
}
