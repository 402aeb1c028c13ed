using System;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using Kiln.Kernels;

namespace Kiln;

/// <summary>
/// Keras' SGD: <c>m = μ·m − lr·g; w += m</c> (the velocity includes the rate);
/// Nesterov: <c>w += μ·m − lr·g</c> with the new <c>m</c>. Without momentum: <c>w −= lr·g</c>, no state.
/// </summary>
public sealed class Sgd : Optimizer
{
    // Hyperparameters are double so Keras-style literals (new Sgd(0.01)) compile; the update runs in float.
    public Sgd(double learningRate = 0.01, double momentum = 0, bool nesterov = false, double decay = 0, double? weightDecay = null, double? clipNorm = null, double? clipValue = null, double? globalClipNorm = null)
        : base((float)learningRate)
    {
        Init((float)momentum, nesterov, (float)decay);
        SetCommon(weightDecay, clipNorm, clipValue, globalClipNorm);
    }

    public Sgd(LearningRateSchedule schedule, double momentum = 0, bool nesterov = false, double? weightDecay = null, double? clipNorm = null, double? clipValue = null, double? globalClipNorm = null)
        : base(schedule)
    {
        Init((float)momentum, nesterov, 0f);
        SetCommon(weightDecay, clipNorm, clipValue, globalClipNorm);
    }

    public float Momentum { get; private set; }
    public bool Nesterov { get; private set; }

    /// <summary>
    /// Whether <c>Fit</c> and <c>TrainOnBatch</c> may fuse this update into backward where it is plain
    /// <c>w −= lr·g</c> (no momentum, clipping or weight decay): a Dense layer's kernel gradient is then a
    /// product that adds −lr·g straight into the weights, and its bias gets the same update from the bias
    /// gradient's sums, so neither gradient is written to <see cref="Model.Gradients"/> nor read back by a
    /// separate pass (the Fashion MLP's step runs 1.16× as fast at batch 32, 1.02× at batch 256), with the separate
    /// update's bits while the batch is one GEMM k block deep (up to 256, or KC where less: GemmScratch.KBlock). Those slices of
    /// <see cref="Model.Gradients"/> are then not this step's gradients; regularized weights, data-parallel steps
    /// and <see cref="Model.Backward"/> called directly are never fused (docs/optimizers.md). Set false to keep every gradient.
    /// </summary>
    public bool FuseIntoBackward { get; set; } = true;

    internal override bool TryFuseIntoBackward(out float scale)
    {
        scale = -CurrentLearningRate;
        return FuseIntoBackward && Momentum == 0f && ClipValue is null && ClipNorm is null && GlobalClipNorm is null && WeightDecay == 0f;
    }

    // Keras creates no momentum variable when momentum is 0; neither do we.
    protected override int StateCount => Momentum == 0f ? 0 : 1;

    private void Init(float momentum, bool nesterov, float decay)
    {
        if (!(momentum >= 0 && momentum <= 1))
            throw new ArgumentOutOfRangeException(nameof(momentum), momentum, "SGD momentum must be in [0, 1].");
        Momentum = momentum;
        Nesterov = nesterov;
        Decay = decay;
    }

    // Never inlined: see Optimizer.Update.
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    protected override void Update(Span<float> parameters, ReadOnlySpan<float> gradients, int offset)
    {
        float lr = CurrentLearningRate;
        float clip = ClipValue ?? float.PositiveInfinity;
        if (Momentum == 0f)
            Plain(parameters, gradients, lr, clip);
        else
            WithMomentum(parameters, gradients, State(0, offset, parameters.Length), lr, Momentum, Nesterov, clip);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Plain(Span<float> w, ReadOnlySpan<float> g, float lr, float clip)
    {
        ref float pw = ref MemoryMarshal.GetReference(w);
        ref float pg = ref MemoryMarshal.GetReference(g);
        int n = w.Length, i = 0;
        if (Simd.Use16Lanes)
        {
            var vlr = Vector512.Create(lr); var hi = Vector512.Create(clip); var lo = -hi;
            for (; i <= n - Vector512<float>.Count; i += Vector512<float>.Count)
            {
                var gi = Vector512.Min(Vector512.Max(Vector512.LoadUnsafe(ref pg, (nuint)i), lo), hi);
                (Vector512.LoadUnsafe(ref pw, (nuint)i) - gi * vlr).StoreUnsafe(ref pw, (nuint)i);
            }
        }
        for (; i < n; i++)
        {
            float gi = MathF.Min(MathF.Max(g[i], -clip), clip);
            w[i] -= gi * lr;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void WithMomentum(Span<float> w, ReadOnlySpan<float> g, Span<float> m, float lr, float mu, bool nesterov, float clip)
    {
        ref float pw = ref MemoryMarshal.GetReference(w);
        ref float pg = ref MemoryMarshal.GetReference(g);
        ref float pm = ref MemoryMarshal.GetReference(m);
        int n = w.Length, i = 0;
        if (Simd.Use16Lanes)
        {
            var vlr = Vector512.Create(lr); var vmu = Vector512.Create(mu); var hi = Vector512.Create(clip); var lo = -hi;
            for (; i <= n - Vector512<float>.Count; i += Vector512<float>.Count)
            {
                var gi = Vector512.Min(Vector512.Max(Vector512.LoadUnsafe(ref pg, (nuint)i), lo), hi);
                var step = gi * vlr;
                var mi = Vector512.LoadUnsafe(ref pm, (nuint)i) * vmu - step;
                mi.StoreUnsafe(ref pm, (nuint)i);
                var delta = nesterov ? mi * vmu - step : mi;
                (Vector512.LoadUnsafe(ref pw, (nuint)i) + delta).StoreUnsafe(ref pw, (nuint)i);
            }
        }
        for (; i < n; i++)
        {
            float gi = MathF.Min(MathF.Max(g[i], -clip), clip);
            float step = gi * lr;
            float mi = m[i] * mu - step;
            m[i] = mi;
            w[i] += nesterov ? mi * mu - step : mi;
        }
    }
}
