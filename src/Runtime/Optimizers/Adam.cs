using System;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using Kiln.Kernels;

namespace Kiln;

/// <summary>
/// Keras' Adam: <c>m += (g − m)(1−β₁); v += (g² − v)(1−β₂); w −= α·m / (√v + ε)</c> with the
/// bias-corrected <c>α = lr·√(1−β₂ᵗ)/(1−β₁ᵗ)</c>, <c>t = Iterations + 1</c>.
/// </summary>
// Not sealed: AdamW is this optimizer with weight decay on by default, as in Keras 3.
public class Adam : Optimizer
{
    // Hyperparameters are double so Keras-style literals (new Adam(1e-3, beta1: 0.5)) compile; the update runs in float.
    public Adam(double learningRate = 0.001, double beta1 = 0.9, double beta2 = 0.999, double epsilon = 1e-7, double decay = 0, double? weightDecay = null, double? clipNorm = null, double? clipValue = null, double? globalClipNorm = null)
        : base((float)learningRate)
    {
        Init((float)beta1, (float)beta2, (float)epsilon, (float)decay);
        SetCommon(weightDecay, clipNorm, clipValue, globalClipNorm);
    }

    public Adam(LearningRateSchedule schedule, double beta1 = 0.9, double beta2 = 0.999, double epsilon = 1e-7, double? weightDecay = null, double? clipNorm = null, double? clipValue = null, double? globalClipNorm = null)
        : base(schedule)
    {
        Init((float)beta1, (float)beta2, (float)epsilon, 0f);
        SetCommon(weightDecay, clipNorm, clipValue, globalClipNorm);
    }

    public float Beta1 { get; private set; }
    public float Beta2 { get; private set; }
    public float Epsilon { get; private set; }

    /// <summary>Two arrays: first moment <c>m</c>, then second moment <c>v</c>.</summary>
    protected sealed override int StateCount => 2;

    private void Init(float beta1, float beta2, float epsilon, float decay)
    {
        if (!(beta1 >= 0 && beta1 < 1))
            throw new ArgumentOutOfRangeException(nameof(beta1), beta1, "Adam beta1 must be in [0, 1).");
        if (!(beta2 >= 0 && beta2 < 1))
            throw new ArgumentOutOfRangeException(nameof(beta2), beta2, "Adam beta2 must be in [0, 1).");
        if (!(epsilon > 0))
            throw new ArgumentOutOfRangeException(nameof(epsilon), epsilon, "Adam epsilon must be positive.");
        Beta1 = beta1;
        Beta2 = beta2;
        Epsilon = epsilon;
        Decay = decay;
    }

    // Never inlined: see Optimizer.Update.
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    protected sealed override void Update(Span<float> w, ReadOnlySpan<float> g, int offset)
    {
        double t = Iterations + 1;
        // The powers in double: β₂ᵗ stays representable and 1 − β₂ᵗ keeps its digits for small t.
        float alpha = (float)(CurrentLearningRate * Math.Sqrt(1 - Math.Pow(Beta2, t)) / (1 - Math.Pow(Beta1, t)));
        float c1 = 1f - Beta1, c2 = 1f - Beta2, eps = Epsilon;
        float clip = ClipValue ?? float.PositiveInfinity;
        Span<float> m = State(0, offset, w.Length), v = State(1, offset, w.Length);
        ref float pw = ref MemoryMarshal.GetReference(w);
        ref float pg = ref MemoryMarshal.GetReference(g);
        ref float pm = ref MemoryMarshal.GetReference(m);
        ref float pv = ref MemoryMarshal.GetReference(v);
        int n = w.Length, i = 0;
        if (Simd.Use16Lanes)
        {
            var va = Vector512.Create(alpha); var vc1 = Vector512.Create(c1); var vc2 = Vector512.Create(c2);
            var veps = Vector512.Create(eps); var hi = Vector512.Create(clip); var lo = -hi;
            for (; i <= n - Vector512<float>.Count; i += Vector512<float>.Count)
            {
                var gi = Vector512.Min(Vector512.Max(Vector512.LoadUnsafe(ref pg, (nuint)i), lo), hi);
                var mi = Vector512.LoadUnsafe(ref pm, (nuint)i);
                var vi = Vector512.LoadUnsafe(ref pv, (nuint)i);
                mi += (gi - mi) * vc1;
                vi += (gi * gi - vi) * vc2;
                mi.StoreUnsafe(ref pm, (nuint)i);
                vi.StoreUnsafe(ref pv, (nuint)i);
                (Vector512.LoadUnsafe(ref pw, (nuint)i) - mi * va / (Vector512.Sqrt(vi) + veps)).StoreUnsafe(ref pw, (nuint)i);
            }
        }
        for (; i < n; i++)
        {
            float gi = MathF.Min(MathF.Max(g[i], -clip), clip);
            float mi = m[i] + (gi - m[i]) * c1;
            float vi = v[i] + (gi * gi - v[i]) * c2;
            m[i] = mi;
            v[i] = vi;
            w[i] -= mi * alpha / (MathF.Sqrt(vi) + eps);
        }
    }
}
