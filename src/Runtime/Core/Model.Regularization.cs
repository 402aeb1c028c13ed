using System;
using System.Collections.Generic;
using System.Numerics;

namespace Kiln;

/// <summary>
/// Keras' kernel and bias regularizers (<c>L1L2</c>: l1·Σ|w| + l2·Σw²) on the layers that declare
/// them (<c>[Dense(64, KernelL2 = 1e-4)]</c>). As in Keras 3 (<c>Trainer.compute_loss</c> adds
/// <c>model.losses</c> to the compiled loss), the penalty of the trainable weights is added once to
/// each batch's loss, not scaled by the batch size nor by sample weights, and its gradient
/// l1·sign(w) + 2·l2·w is added to <see cref="Gradients"/> in one vectorized pass after backward.
/// A frozen layer's weights are state and a frozen model has no trainable weights, so neither is
/// penalized (Keras regularizes <c>trainable_weights</c> only).
/// </summary>
public abstract partial class Model
{
    private readonly TensorInfo[] _regularized;

    private static TensorInfo[] RegularizedTensors(ModelDescription description)
    {
        var list = new List<TensorInfo>();
        foreach (var t in description.Tensors)
            if (t.Trainable && t.Regularized) list.Add(t);
        return list.ToArray();
    }

    /// <summary>
    /// Keras' <c>sum(model.losses)</c>: the regularization penalty of the current weights, Σ over
    /// regularized trainable tensors of l1·Σ|w| + l2·Σw² (0 when none is, or the model is frozen).
    /// <see cref="ComputeLoss(ReadOnlySpan{float}, int, bool)"/> already includes it.
    /// </summary>
    public double RegularizationLoss()
    {
        if (!Trainable) return 0;
        double penalty = 0;
        foreach (var t in _regularized)
        {
            ReadOnlySpan<float> w = Parameters.Slice(t.Offset, t.Length);
            var (abs, squares) = Norms(w);
            penalty += t.L1 * abs + t.L2 * squares;
        }
        return penalty;
    }

    /// <summary>Adds l1·sign(w) + 2·l2·w to each regularized tensor's gradient (sign(0) = 0, as TensorFlow's and PyTorch's).</summary>
    private void AddRegularizationGradient()
    {
        if (_regularized.Length == 0 || !Trainable) return;
        foreach (var t in _regularized)
            AddPenaltyGradient(Parameters.Slice(t.Offset, t.Length), Gradients.Slice(t.Offset, t.Length), (float)t.L1, (float)(2 * t.L2));
    }

    /// <summary>Σ|w| and Σw², vectorized, with partial sums flushed to double every block so a large kernel keeps its precision.</summary>
    internal static (double Abs, double Squares) Norms(ReadOnlySpan<float> w)
    {
        double abs = 0, squares = 0;
        int i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            int width = Vector<float>.Count;
            const int Block = 1024;
            while (i <= w.Length - width)
            {
                var a = Vector<float>.Zero;
                var s = Vector<float>.Zero;
                int end = Math.Min(w.Length - width, i + Block);
                for (; i <= end; i += width)
                {
                    var v = new Vector<float>(w[i..]);
                    a += Vector.Abs(v);
                    s += v * v;
                }
                abs += Vector.Sum(a);
                squares += Vector.Sum(s);
            }
        }
        for (; i < w.Length; i++)
        {
            abs += Math.Abs(w[i]);
            squares += (double)w[i] * w[i];
        }
        return (abs, squares);
    }

    /// <summary>g += l1·sign(w) + twoL2·w.</summary>
    internal static void AddPenaltyGradient(ReadOnlySpan<float> w, Span<float> g, float l1, float twoL2)
    {
        int i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            int width = Vector<float>.Count;
            var vl1 = new Vector<float>(l1);
            var vl2 = new Vector<float>(twoL2);
            var zero = Vector<float>.Zero;
            for (; i <= w.Length - width; i += width)
            {
                var v = new Vector<float>(w[i..]);
                // sign(v)·l1: +l1 where v > 0, −l1 where v < 0, 0 at 0.
                var sign = Vector.ConditionalSelect(Vector.GreaterThan(v, zero), vl1, zero)
                         - Vector.ConditionalSelect(Vector.LessThan(v, zero), vl1, zero);
                (new Vector<float>(g[i..]) + sign + vl2 * v).CopyTo(g[i..]);
            }
        }
        // The same order of additions as the vector lanes, so a tail element rounds like the rest.
        for (; i < w.Length; i++)
            g[i] = g[i] + (w[i] > 0 ? l1 : w[i] < 0 ? -l1 : 0f) + twoL2 * w[i];
    }
}
