using System;

namespace Kiln;

/// <summary>Class predictions: Keras users' <c>np.argmax(model.predict(x), axis=-1)</c>.</summary>
public abstract partial class Model
{
    /// <summary>The predicted class of every sample of <paramref name="data"/> (see <see cref="PredictClasses(ReadOnlySpan{float}, int, Span{int})"/>).</summary>
    public int[] PredictClasses(Dataset data)
    {
        ArgumentNullException.ThrowIfNull(data);
        CheckInputs(data.SampleSize, data.SampleShape, nameof(data));
        return PredictClasses(data.Features, data.Count);
    }

    /// <summary>The predicted class of each of <paramref name="count"/> samples laid out one after another in <paramref name="inputs"/>.</summary>
    public int[] PredictClasses(ReadOnlySpan<float> inputs, int count)
    {
        if (count < 0) throw new ArgumentOutOfRangeException(nameof(count), count, "must not be negative");
        var classes = new int[count];
        PredictClasses(inputs, count, classes);
        return classes;
    }

    /// <summary>
    /// Writes each sample's predicted class into <paramref name="destination"/>, in inference mode;
    /// allocates nothing. The class is the index of the largest output (the first on a tie), as
    /// <c>np.argmax(model.predict(x), axis=-1)</c>; for a model with one output value (a sigmoid),
    /// 1 when it exceeds 0.5 (0 for logits) and else 0, as Keras' <c>predict_classes</c> did.
    /// </summary>
    public void PredictClasses(ReadOnlySpan<float> inputs, int count, Span<int> destination)
    {
        if (count < 0) throw new ArgumentOutOfRangeException(nameof(count), count, "must not be negative");
        if (Description.Outputs.Count > 1)
            throw new InvalidOperationException(
                $"{Description.Name} has {Description.Outputs.Count} outputs, so a sample has no one class; call Predict and take the argmax of the output you mean (Description.Outputs gives their columns).");
        if (inputs.Length != (long)count * InputSize)
            throw new ArgumentException($"{Description.Name}: {count} samples of shape ({Dataset.Shape(Description.InputShape)}) need {(long)count * InputSize} floats, but the span holds {inputs.Length}.", nameof(inputs));
        if (destination.Length != count)
            throw new ArgumentException($"{Description.Name}: {count} samples need {count} class slots, but the destination holds {destination.Length}.", nameof(destination));
        int width = OutputSize;
        float threshold = Description.FromLogits ? 0f : 0.5f;
        for (int start = 0; start < count; start += BatchSize)
        {
            int n = Math.Min(BatchSize, count - start);
            var outputs = Forward(inputs.Slice(start * InputSize, n * InputSize), n, training: false);
            for (int i = 0; i < n; i++)
            {
                var row = outputs.Slice(i * width, width);
                destination[start + i] = width == 1 ? (row[0] > threshold ? 1 : 0) : Metric.ArgMax(row);
            }
        }
    }
}
