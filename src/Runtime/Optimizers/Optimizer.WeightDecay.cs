using System;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Text.RegularExpressions;

namespace Kiln;

// Keras 3's decoupled weight decay (BaseOptimizer._apply_weight_decay): before the update,
// variable -= variable * weight_decay * lr, for each variable not excluded.
public abstract partial class Optimizer
{
    private Regex? _excluded;

    /// <summary>
    /// Keras 3's <c>weight_decay</c>: each step first shrinks every variable not excluded by
    /// <c>w −= w·WeightDecay·lr</c>, at the step's rate (schedule and legacy decay included). 0 turns it off
    /// (Keras' None). It applies to biases and BatchNormalization's gamma and beta too, unless
    /// <see cref="ExcludeFromWeightDecay"/> names them.
    /// </summary>
    public float WeightDecay
    {
        get;
        set
        {
            if (!(value >= 0) || float.IsInfinity(value))
                throw new ArgumentOutOfRangeException(nameof(value), value, $"{GetType().Name}: weight_decay must be a finite number ≥ 0.");
            field = value;
        }
    }

    /// <summary>
    /// Keras' <c>exclude_from_weight_decay(var_names=...)</c>: variables whose name contains a match of
    /// any of these regular expressions (<c>"bias"</c>, <c>"batch_normalization"</c>, <c>"/gamma$"</c>) are
    /// not decayed. Kiln's names are Keras paths (<c>dense/bias</c>), so a Keras short name still matches.
    /// Takes effect when the optimizer is built on its variables (Fit and TrainOnBatch do this).
    /// </summary>
    public void ExcludeFromWeightDecay(params string[] names)
    {
        ArgumentNullException.ThrowIfNull(names);
        if (names.Length == 0) throw new ArgumentException("Name at least one pattern.", nameof(names));
        foreach (string n in names)
            if (string.IsNullOrEmpty(n)) throw new ArgumentException("A pattern is empty, which would exclude every variable.", nameof(names));
        // As Keras: re.compile("|".join(var_names)), searched in each name.
        _excluded = new Regex(string.Join('|', names), RegexOptions.CultureInvariant);
        MarkDecayed();
    }

    private void MarkDecayed()
    {
        int count = _tensors?.Count ?? 0;
        _decayed = new bool[count];
        for (int i = 0; i < count; i++) _decayed[i] = _excluded is null || !_excluded.IsMatch(_tensors![i].Name);
    }

    private void ApplyWeightDecay(Span<float> w, float lr)
    {
        if (_tensors is null)
        {
            if (_excluded is not null)
                throw new InvalidOperationException(
                    $"{GetType().Name}: ExcludeFromWeightDecay needs the variables' names; call Build(model.Description) before Step, or train with Fit or TrainOnBatch.");
            Shrink(w, WeightDecay, lr);
            return;
        }
        for (int v = 0; v < _starts.Length; v++)
            if (_decayed[v]) Shrink(w.Slice(_starts[v], _lengths[v]), WeightDecay, lr);
    }

    // w − w·wd·lr in Keras' order: (w·wd)·lr, then the subtraction.
    private static void Shrink(Span<float> w, float wd, float lr)
    {
        ref float pw = ref MemoryMarshal.GetReference(w);
        int n = w.Length, i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            var vwd = Vector256.Create(wd); var vlr = Vector256.Create(lr);
            for (; i <= n - Vector256<float>.Count; i += Vector256<float>.Count)
            {
                var wi = Vector256.LoadUnsafe(ref pw, (nuint)i);
                (wi - wi * vwd * vlr).StoreUnsafe(ref pw, (nuint)i);
            }
        }
        for (; i < n; i++) w[i] -= w[i] * wd * lr;
    }
}
