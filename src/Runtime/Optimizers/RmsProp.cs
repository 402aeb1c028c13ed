using System;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using Kiln.Kernels;

namespace Kiln;

/// <summary>
/// Keras' RMSprop (not centered, no momentum): <c>v = ρ·v + (1−ρ)·g²; w −= lr·g / √(v + ε)</c>,
/// ε inside the square root; with <c>clipValue</c> each gradient element is clipped first.
/// </summary>
public sealed class RmsProp : Optimizer
{
    // Hyperparameters are double so Keras-style literals (new RmsProp(1e-4, clipValue: 0.5)) compile; the update runs in float.
    public RmsProp(double learningRate = 0.001, double rho = 0.9, double epsilon = 1e-7, double? clipValue = null, double decay = 0, double? weightDecay = null, double? clipNorm = null, double? globalClipNorm = null)
        : base((float)learningRate)
    {
        Init((float)rho, (float)epsilon, (float)decay);
        SetCommon(weightDecay, clipNorm, clipValue, globalClipNorm);
    }

    public RmsProp(LearningRateSchedule schedule, double rho = 0.9, double epsilon = 1e-7, double? clipValue = null, double? weightDecay = null, double? clipNorm = null, double? globalClipNorm = null)
        : base(schedule)
    {
        Init((float)rho, (float)epsilon, 0f);
        SetCommon(weightDecay, clipNorm, clipValue, globalClipNorm);
    }

    public float Rho { get; private set; }
    public float Epsilon { get; private set; }

    /// <summary>One array: the running mean of squared gradients (Keras' <c>velocity</c>).</summary>
    protected override int StateCount => 1;

    private void Init(float rho, float epsilon, float decay)
    {
        if (!(rho >= 0 && rho < 1))
            throw new ArgumentOutOfRangeException(nameof(rho), rho, "RMSprop rho must be in [0, 1).");
        if (!(epsilon > 0))
            throw new ArgumentOutOfRangeException(nameof(epsilon), epsilon, "RMSprop epsilon must be positive.");
        Rho = rho;
        Epsilon = epsilon;
        Decay = decay;
    }

    // Never inlined: see Optimizer.Update.
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    protected override void Update(Span<float> w, ReadOnlySpan<float> g, int offset)
    {
        float lr = CurrentLearningRate, rho = Rho, oneMinusRho = 1f - Rho, eps = Epsilon;
        float clip = ClipValue ?? float.PositiveInfinity;
        Span<float> v = State(0, offset, w.Length);
        ref float pw = ref MemoryMarshal.GetReference(w);
        ref float pg = ref MemoryMarshal.GetReference(g);
        ref float pv = ref MemoryMarshal.GetReference(v);
        int n = w.Length, i = 0;
        if (Simd.Use16Lanes)
        {
            var vlr = Vector512.Create(lr); var vrho = Vector512.Create(rho); var v1r = Vector512.Create(oneMinusRho);
            var veps = Vector512.Create(eps); var hi = Vector512.Create(clip); var lo = -hi;
            for (; i <= n - Vector512<float>.Count; i += Vector512<float>.Count)
            {
                var gi = Vector512.Min(Vector512.Max(Vector512.LoadUnsafe(ref pg, (nuint)i), lo), hi);
                var vi = vrho * Vector512.LoadUnsafe(ref pv, (nuint)i) + v1r * (gi * gi);
                vi.StoreUnsafe(ref pv, (nuint)i);
                (Vector512.LoadUnsafe(ref pw, (nuint)i) - vlr * gi / Vector512.Sqrt(vi + veps)).StoreUnsafe(ref pw, (nuint)i);
            }
        }
        for (; i < n; i++)
        {
            float gi = MathF.Min(MathF.Max(g[i], -clip), clip);
            float vi = rho * v[i] + oneMinusRho * (gi * gi);
            v[i] = vi;
            w[i] -= lr * gi / MathF.Sqrt(vi + eps);
        }
    }
}
