using System;

namespace Kiln;

/// <summary>
/// Updates a model's whole contiguous parameter buffer from its gradient buffer in one
/// pass. State (momentum, moments) is allocated on the first step, sized to the buffer.
/// </summary>
public abstract class Optimizer
{
    /// <summary>Number of steps taken (Keras' <c>iterations</c>); learning-rate decay counts these.</summary>
    public long Iterations { get; set; }

    /// <summary>Applies one update and advances <see cref="Iterations"/>.</summary>
    public void Step(Span<float> parameters, ReadOnlySpan<float> gradients)
    {
        if (parameters.Length != gradients.Length)
            throw new ArgumentException($"{GetType().Name}: {parameters.Length} parameters but {gradients.Length} gradients.", nameof(gradients));
        Update(parameters, gradients);
        Iterations++;
    }

    protected abstract void Update(Span<float> parameters, ReadOnlySpan<float> gradients);
}
