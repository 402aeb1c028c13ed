using System;

namespace Kiln;

/// <summary>
/// A fitted, stateless-at-use transform of feature values (a scaler): safe to call from several
/// loader threads at once, allocates nothing. <see cref="Pipeline.Map(IFeatureTransform)"/> applies it per sample.
/// </summary>
public interface IFeatureTransform
{
    /// <summary>Transforms whole samples in place (any number of them, one after another).</summary>
    void TransformInPlace(Span<float> values);
}
