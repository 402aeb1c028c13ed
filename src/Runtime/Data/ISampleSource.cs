using System;

namespace Kiln;

/// <summary>
/// Samples addressed by index (PyTorch's map-style dataset): an in-memory <see cref="Dataset"/>,
/// an <see cref="ImageFolder"/>, CIFAR batches. A <see cref="Pipeline"/> shuffles, takes and
/// repeats <i>indices</i> and reads each sample once, straight into a preallocated batch.
/// </summary>
public interface ISampleSource
{
    /// <summary>Shape of one sample's features, channels last for images.</summary>
    int[] SampleShape { get; }

    /// <summary>Floats per sample (the product of <see cref="SampleShape"/>).</summary>
    int SampleSize { get; }

    /// <summary>Floats per sample's targets (1 for a class index, the class count for one-hot).</summary>
    int TargetSize { get; }

    int Count { get; }

    /// <summary>
    /// Writes sample <paramref name="index"/> into <paramref name="features"/> and
    /// <paramref name="targets"/> (exactly <see cref="SampleSize"/> and <see cref="TargetSize"/>
    /// long). Returns false when the source drops the sample (a corrupt image it was told to
    /// skip); throws, naming the file, for other defects. Called from several threads at once.
    /// </summary>
    bool TryRead(int index, Span<float> features, Span<float> targets);
}
