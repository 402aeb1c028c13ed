using System;

namespace Kiln;

/// <summary>
/// sklearn's StandardScaler on features: <c>(x − mean) / std</c> with the population std
/// (divide by N), and a zero or near-zero std (a constant feature, or one below 10 float
/// epsilons, which dividing by would blow up) replaced by 1. As in sklearn, NaN counts as
/// missing: <see cref="Fit(ReadOnlySpan{float}, int)"/> disregards it and the transforms keep it
/// NaN; an infinite value is an <see cref="ArgumentException"/> in both. <b>Global</b> (the default) fits one mean and std
/// over every value, which is what seed 004's <c>reshape(-1, 1)</c> does; <b>per-feature</b>
/// fits one pair per position in the sample. Fit on the training set, then transform the
/// validation and test sets with the same statistics. Targets are never touched.
/// </summary>
public sealed class StandardScaler : IFeatureTransform
{
    private double[]? _mean;
    private double[]? _scale;
    // Float copies for the transforms, made once at Fit so that transforming allocates nothing.
    private float[] _meanF = [], _scaleF = [];

    public StandardScaler(bool perFeature = false)
    {
        PerFeature = perFeature;
    }

    public bool PerFeature { get; }

    public bool IsFitted => _mean is not null;

    /// <summary>Fitted means: one value (global) or one per feature.</summary>
    public ReadOnlySpan<double> Mean => _mean ?? throw NotFitted();

    /// <summary>Fitted standard deviations (0 replaced by 1): one value (global) or one per feature.</summary>
    public ReadOnlySpan<double> Scale => _scale ?? throw NotFitted();

    public StandardScaler Fit(Dataset data)
    {
        ArgumentNullException.ThrowIfNull(data);
        return Fit(data.Features, data.SampleSize);
    }

    /// <summary>Fits on <paramref name="values"/>, read as rows of <paramref name="featureSize"/> features (ignored when global).</summary>
    public StandardScaler Fit(ReadOnlySpan<float> values, int featureSize = 1)
    {
        int features = PerFeature ? featureSize : 1;
        if (features <= 0)
            throw new ArgumentOutOfRangeException(nameof(featureSize), featureSize, "must be positive");
        if (values.Length == 0 || values.Length % features != 0)
            throw new ArgumentException($"StandardScaler needs a non-empty whole number of rows of {features} features; got {values.Length} values.", nameof(values));
        ScalerChecks.RequireNoInfinity(values, "StandardScaler.Fit");
        var mean = new double[features];
        var scale = new double[features];
        var count = new long[features];
        // Two passes in double: the one-pass formula loses digits when the mean is large against the spread.
        for (int i = 0; i < values.Length; i += features)
            for (int f = 0; f < features; f++)
            {
                float v = values[i + f];
                if (float.IsNaN(v)) continue;
                mean[f] += v;
                count[f]++;
            }
        for (int f = 0; f < features; f++) mean[f] = count[f] == 0 ? 0 : mean[f] / count[f];
        for (int i = 0; i < values.Length; i += features)
            for (int f = 0; f < features; f++)
            {
                float v = values[i + f];
                if (float.IsNaN(v)) continue;
                double d = v - mean[f];
                scale[f] += d * d;
            }
        for (int f = 0; f < features; f++)
        {
            double variance = count[f] == 0 ? 0 : scale[f] / count[f];
            scale[f] = ScalerChecks.IsConstant(variance, mean[f], count[f]) ? 1 : ScalerChecks.NonZeroScale(Math.Sqrt(variance));
        }
        _meanF = Array.ConvertAll(mean, m => (float)m);
        _scaleF = Array.ConvertAll(scale, v => (float)v);
        _mean = mean;
        _scale = scale;
        return this;
    }

    /// <summary>Scales <paramref name="values"/> in place (rows of the fitted feature count when per-feature).</summary>
    public void TransformInPlace(Span<float> values)
    {
        var (m, sc) = Fitted(values.Length);
        ScalerChecks.RequireNoInfinity(values, "StandardScaler.Transform");
        int features = m.Length;
        for (int i = 0; i < values.Length; i += features)
            for (int f = 0; f < features; f++)
                values[i + f] = (values[i + f] - m[f]) / sc[f];
    }

    /// <summary>Undoes <see cref="TransformInPlace(Span{float})"/>: <c>x · std + mean</c>.</summary>
    public void InverseTransformInPlace(Span<float> values)
    {
        var (m, sc) = Fitted(values.Length);
        int features = m.Length;
        for (int i = 0; i < values.Length; i += features)
            for (int f = 0; f < features; f++)
                values[i + f] = values[i + f] * sc[f] + m[f];
    }

    private (float[] Mean, float[] Scale) Fitted(int length)
    {
        if (_mean is null) throw NotFitted();
        if (length % _meanF.Length != 0)
            throw new ArgumentException($"The scaler was fitted on {_meanF.Length} features per sample; {length} values are not whole samples.", "values");
        return (_meanF, _scaleF);
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

    private void CheckFeatures(Dataset data)
    {
        if (_mean is not null && _mean.Length != 1 && _mean.Length != data.SampleSize)
            throw new ArgumentException($"The scaler was fitted on {_mean.Length} features per sample; this dataset has {data.SampleSize}.", nameof(data));
    }

    private static InvalidOperationException NotFitted() => new("The StandardScaler is not fitted yet; call Fit on the training set first.");
}

/// <summary>Multiplies every feature by a constant, Keras' <c>Rescaling(1/255)</c> / <c>rescale=1./255</c>.</summary>
public sealed class Rescale : IFeatureTransform
{
    /// <remarks>double, so <c>new Rescale(1 / 255.0)</c> compiles; kept as float, as the kernel uses it.</remarks>
    public Rescale(double factor)
    {
        if (!float.IsFinite((float)factor))
            throw new ArgumentOutOfRangeException(nameof(factor), factor, "must be finite");
        Factor = (float)factor;
    }

    public float Factor { get; }

    public void TransformInPlace(Span<float> values) => Preprocessing.Rescale(values, values, Factor);

    public void TransformInPlace(Dataset data)
    {
        ArgumentNullException.ThrowIfNull(data);
        TransformInPlace(data.Features);
    }

    /// <summary>A new dataset with rescaled features and the same targets (shared, not copied).</summary>
    public Dataset Transform(Dataset data)
    {
        ArgumentNullException.ThrowIfNull(data);
        var features = (float[])data.Features.Clone();
        TransformInPlace(features);
        return new Dataset(features, data.Targets, data.SampleShape, data.TargetSize) { SampleWeights = data.SampleWeights };
    }
}
