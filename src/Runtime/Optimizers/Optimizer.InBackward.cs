using System;

namespace Kiln;

// A step whose update a backward pass already applied to some variables (Sgd.FuseIntoBackward): the
// optimizer then updates the rest of the buffer and leaves those variables, whose gradient slices were
// never written, alone; when that is all of them, it only counts the step (the Fashion MLP's pass over
// nothing but padding still cost a hand-off to the pool).
public abstract partial class Optimizer
{
    private bool[] _applied = [];
    private bool _anyApplied, _allApplied;

    /// <summary>
    /// When this step's update is <c>w += scale·g</c> alone, elementwise with no state, clipping or decay,
    /// true with that scale (−learning rate of this step), so a backward pass may add gradients straight
    /// into the weights. False by default.
    /// </summary>
    internal virtual bool TryFuseIntoBackward(out float scale)
    {
        scale = 0f;
        return false;
    }

    /// <summary>Marks the variables starting at <paramref name="appliedOffsets"/> as updated by backward, for this step to skip.</summary>
    private void MarkApplied(Model model, ReadOnlySpan<int> appliedOffsets)
    {
        if (!TryFuseIntoBackward(out _))
            throw new InvalidOperationException($"{GetType().Name}: a backward pass applied its update, but this step's update cannot be fused (its settings changed mid-step).");
        foreach (int offset in appliedOffsets)
        {
            int v = Array.BinarySearch(_starts, offset);
            if (v < 0)
                throw new InvalidOperationException($"{GetType().Name}: a backward pass updated the variable at offset {offset}, which is not one of {model.Description.Name}'s trainable variables.");
            _applied[v] = true;
        }
        _anyApplied = true;
        _allApplied = Array.IndexOf(_applied, false) < 0;
    }

    private void ClearApplied()
    {
        Array.Clear(_applied);
        _anyApplied = _allApplied = false;
    }
}
