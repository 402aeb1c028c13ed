using System;
using System.Diagnostics;

namespace Kiln;

/// <summary>
/// A training step's input, lent to backward. <see cref="TrainOnBatch(ReadOnlySpan{float}, ReadOnlySpan{float}, int, Optimizer, ReadOnlySpan{float})"/>
/// and Fit run forward, loss and backward within one call, while the caller's input stays where it is
/// (a batch source's batch is valid until its next call), so backward reads it in place. A separate
/// <see cref="Forward(ReadOnlySpan{float}, int, bool)"/> in training mode still copies the input into the
/// arena for a later <see cref="Backward"/>, since its caller may reuse the span in between. The copy
/// was 800 kB per step of the Fashion MLP at batch 256.
/// </summary>
public abstract partial class Model
{
    private unsafe float* _lentInput;
    private int _lentLength;

    /// <summary>Whether this step's input is lent to backward, so the forward pass keeps no copy.</summary>
    protected unsafe bool InputLent => _lentInput != null;

    /// <summary>What backward reads as the input: the lent input during a training step, else the copy the forward pass kept.</summary>
    protected unsafe ReadOnlySpan<float> SavedInput(Span<float> copy)
    {
        if (_lentInput == null) return copy;
        Debug.Assert(copy.Length <= _lentLength);
        return new ReadOnlySpan<float>(_lentInput, copy.Length);
    }

    /// <summary>Lends <paramref name="pinned"/> (the step's input, pinned by the caller) to backward until <see cref="EndLending"/>.</summary>
    private unsafe void Lend(float* pinned, int length)
    {
        _lentInput = pinned;
        _lentLength = length;
    }

    /// <summary>
    /// Ends a step's loan. The arena holds no copy of that input, so a later Backward without a new
    /// training forward is refused rather than fed a stale copy.
    /// </summary>
    private unsafe void EndLending()
    {
        if (_lentInput == null) return;
        _lentInput = null;
        _lentLength = 0;
        _trainingBatch = 0;
    }
}
