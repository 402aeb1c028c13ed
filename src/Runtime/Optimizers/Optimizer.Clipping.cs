using System;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Kiln;

// Keras 3's BaseOptimizer._clip_gradients: clipnorm per variable, global_clipnorm over all of them
// (clipvalue is clamped inside each update kernel). The clipped gradients go to a buffer of the
// optimizer's own, allocated on the first clipped step: the model's gradients stay as backward wrote them.
public abstract partial class Optimizer
{
    private float[]? _clipped;

    /// <summary>Keras' <c>clipnorm</c>: each variable's gradient is scaled so its L2 norm is at most this. Needs the variables (<see cref="Build(ModelDescription)"/>).</summary>
    public float? ClipNorm
    {
        get;
        set
        {
            CheckClip(value, "clipnorm", ClipValue, GlobalClipNorm);
            field = value;
        }
    }

    /// <summary>Keras' <c>global_clipnorm</c> (PyTorch's <c>clip_grad_norm_</c>): all gradients are scaled together so their joint L2 norm is at most this.</summary>
    public float? GlobalClipNorm
    {
        get;
        set
        {
            CheckClip(value, "global_clipnorm", ClipValue, ClipNorm);
            field = value;
        }
    }

    private void CheckClip(float? value, string name, float? other1, float? other2)
    {
        if (value is float c && (!(c > 0) || float.IsInfinity(c)))
            throw new ArgumentOutOfRangeException(nameof(value), value, $"{GetType().Name}: {name} must be a finite positive number.");
        // Keras raises the same: "Only one of `clipnorm`, `clipvalue` and `global_clipnorm` can be set."
        if (value is not null && (other1 is not null || other2 is not null))
            throw new ArgumentException($"{GetType().Name}: only one of clipvalue, clipnorm and global_clipnorm can be set; clear the other first.", nameof(value));
    }

    private ReadOnlySpan<float> ClipGradients(ReadOnlySpan<float> g)
    {
        if (ClipNorm is null && GlobalClipNorm is null) return g;
        _clipped ??= new float[g.Length];
        if (_clipped.Length != g.Length)
            throw new ArgumentException($"{GetType().Name} clipped {_clipped.Length} gradients before and now gets {g.Length}; use one optimizer per model.", nameof(g));
        Span<float> output = _clipped;
        if (ClipNorm is float c)
        {
            if (_tensors is null)
                throw new InvalidOperationException(
                    $"{GetType().Name}: clipnorm clips each variable on its own, so it needs their boundaries; call Build(model.Description) before Step, or train with Fit or TrainOnBatch.");
            // Padding outside the variables keeps a zero gradient (the buffer starts zeroed; nothing writes there).
            for (int v = 0; v < _starts.Length; v++)
            {
                var gv = g.Slice(_starts[v], _lengths[v]);
                // Keras' _clip_by_norm: g·clipnorm / max(‖g‖, clipnorm); a zero norm leaves g as it is.
                Scale(gv, output.Slice(_starts[v], _lengths[v]), c, MathF.Max(Norm(gv), c));
            }
        }
        else
        {
            float gc = GlobalClipNorm!.Value;
            float norm = Norm(g);
            // Keras' clip_by_global_norm: clip_norm·min(1/norm, 1/clip_norm), NaN when the norm is not finite.
            float scale = gc * MathF.Min(1f / norm, 1f / gc) + (norm - norm);
            Scale(g, output, scale, 1f);
        }
        return output;
    }

    // In double and in order: deterministic, and exact enough that a norm just under the threshold stays under it.
    private static float Norm(ReadOnlySpan<float> g)
    {
        double sum = 0;
        foreach (float x in g) sum += (double)x * x;
        return (float)Math.Sqrt(sum);
    }

    // g·numerator/denominator in Keras' order; the vector loop rounds as the scalar one does.
    private static void Scale(ReadOnlySpan<float> g, Span<float> output, float numerator, float denominator)
    {
        ref float pg = ref MemoryMarshal.GetReference(g);
        ref float po = ref MemoryMarshal.GetReference(output);
        int n = g.Length, i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            var vn = Vector256.Create(numerator); var vd = Vector256.Create(denominator);
            for (; i <= n - Vector256<float>.Count; i += Vector256<float>.Count)
                (Vector256.LoadUnsafe(ref pg, (nuint)i) * vn / vd).StoreUnsafe(ref po, (nuint)i);
        }
        for (; i < n; i++) output[i] = g[i] * numerator / denominator;
    }
}
