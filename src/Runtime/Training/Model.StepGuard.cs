using System;

namespace Kiln;

/// <summary>
/// A training forward pass updates <see cref="Model.State"/> (BN moving statistics) before the
/// loss is known; a step refused for a non-finite loss puts it back, so a NaN batch poisons
/// nothing. The copy is allocated on the first step and reused: steps stay allocation-free.
/// </summary>
public abstract partial class Model
{
    private float[]? _stateBeforeStep;

    private void KeepState()
    {
        var state = State.Span;
        if (state.IsEmpty) return;
        _stateBeforeStep ??= new float[state.Length];
        state.CopyTo(_stateBeforeStep);
    }

    /// <summary>Puts the state back as <see cref="KeepState"/> saw it; returns <paramref name="loss"/> for the caller's report.</summary>
    private float RestoreState(float loss)
    {
        if (_stateBeforeStep is not null) _stateBeforeStep.CopyTo(State.Span);
        return loss;
    }
}
