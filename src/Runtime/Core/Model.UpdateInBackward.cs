using System;
using Kiln.Kernels;

namespace Kiln;

/// <summary>
/// A training step with an optimizer whose update fuses into backward (<see cref="Sgd.FuseIntoBackward"/>):
/// each Dense layer's backward adds −lr·g into its weights as it computes g, and the optimizer then
/// updates only the rest. The list of what was applied is allocated once and reused: steps stay
/// allocation-free.
/// </summary>
public abstract partial class Model
{
    private bool _updatingInBackward;
    private float _updateScale;
    private int[] _updatedOffsets = [];
    private int _updatedCount;

    /// <summary>
    /// Where a Dense layer's backward puts the gradient of the weight at [<paramref name="offset"/>, +<paramref name="length"/>):
    /// the gradient buffer (<see cref="WeightGradient"/>), or during a fused step the weight itself, which then takes this
    /// step's update. A regularized weight always gets its gradient: the penalty's gradient, added after backward, reads the
    /// weights as they were.
    /// </summary>
    protected GradientTarget GradientOrUpdate(int offset, int length)
    {
        if (!_updatingInBackward || IsRegularized(offset)) return WeightGradient(offset, length);
        _updatedOffsets[_updatedCount++] = offset;
        return GradientTarget.AddInto(Parameters.Slice(offset, length), _updateScale);
    }

    /// <summary>Backward, then the optimizer's step; fused where the optimizer allows it.</summary>
    private void BackwardAndStep(int n, Optimizer optimizer)
    {
        _updatedCount = 0;
        _updatingInBackward = optimizer.TryFuseIntoBackward(out _updateScale);
        if (_updatingInBackward && _updatedOffsets.Length < Description.Tensors.Count) _updatedOffsets = new int[Description.Tensors.Count];
        try { Backward(n); }
        finally { _updatingInBackward = false; }
        optimizer.Step(this, _updatedOffsets.AsSpan(0, _updatedCount));
    }

    private bool IsRegularized(int offset)
    {
        foreach (var t in _regularized)
            if (t.Offset == offset) return true;
        return false;
    }
}
