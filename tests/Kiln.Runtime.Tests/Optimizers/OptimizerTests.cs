using Kiln.Tests;
using System;
using System.Collections.Generic;
using Kiln;
using Kiln.Runtime.Tests.Kernels;

namespace Kiln.Runtime.Tests.Optimizers;

// Expected values are worked from the Keras formulas written next to them (DESIGN.md's parity
// table), on w = [1, −2, 0.5] and g = [0.1, −0.2, 0.3] unless said otherwise. A 3-element buffer
// runs the scalar tail; VectorPathMatchesScalarPath covers the 16-lane loops on both vector paths.
[Collection(KernelCollection.Name)]
public class OptimizerTests
{
    private const float Tol = 2e-6f;
    private static readonly float[] G = [0.1f, -0.2f, 0.3f];

    private static float[] W0() => [1f, -2f, 0.5f];

    private static void Near(double[] expected, float[] actual)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - actual[i]) <= Tol, $"element {i}: expected {expected[i]}, got {actual[i]}");
    }

    [Fact]
    public void SgdPlain()
    {
        var w = W0();
        var sgd = new Sgd(0.1f);
        // w −= lr·g: [1 − 0.01, −2 + 0.02, 0.5 − 0.03]
        sgd.Step(w, G);
        Near([0.99, -1.98, 0.47], w);
        sgd.Step(w, G);
        Near([0.98, -1.96, 0.44], w);
        Assert.Equal(2, sgd.Iterations);
        Assert.Empty(sgd.StateBuffers); // no momentum, no state
    }

    [Fact]
    public void SgdMomentumVelocityIncludesLearningRate()
    {
        var w = W0();
        var sgd = new Sgd(0.1f, momentum: 0.9f);
        // step 1: m = 0.9·0 − 0.1·g = [−0.01, 0.02, −0.03]; w += m
        sgd.Step(w, G);
        Near([0.99, -1.98, 0.47], w);
        Near([-0.01, 0.02, -0.03], sgd.StateBuffers[0]);
        // step 2: m = 0.9·[−0.01, 0.02, −0.03] − [0.01, −0.02, 0.03] = [−0.019, 0.038, −0.057]; w += m
        sgd.Step(w, G);
        Near([-0.019, 0.038, -0.057], sgd.StateBuffers[0]);
        Near([0.971, -1.942, 0.413], w);
    }

    [Fact]
    public void SgdNesterov()
    {
        var w = W0();
        var sgd = new Sgd(0.1f, momentum: 0.9f, nesterov: true);
        // step 1: m = [−0.01, 0.02, −0.03]; w += 0.9·m − 0.1·g = [−0.019, 0.038, −0.057]
        sgd.Step(w, G);
        Near([0.981, -1.962, 0.443], w);
        // step 2: m = [−0.019, 0.038, −0.057]; w += 0.9·m − 0.1·g = [−0.0271, 0.0542, −0.0813]
        sgd.Step(w, G);
        Near([0.9539, -1.9078, 0.3617], w);
    }

    [Fact]
    public void SgdLegacyDecayCountsIterationsBeforeTheStep()
    {
        var w = W0();
        var sgd = new Sgd(0.1f) { Decay = 0.5f };
        // lr_t = 0.1 / (1 + 0.5·iterations): 0.1, then 0.1/1.5 = 0.0666667, then 0.1/2 = 0.05
        Assert.Equal(0.1f, sgd.CurrentLearningRate);
        sgd.Step(w, G);
        Near([0.99, -1.98, 0.47], w);
        Assert.Equal(0.1 / 1.5, sgd.CurrentLearningRate, 6);
        sgd.Step(w, G);
        // w −= 0.0666667·g: [0.99 − 0.00666667, −1.98 + 0.0133333, 0.47 − 0.02]
        Near([0.98333333, -1.96666667, 0.45], w);
        sgd.Step(w, G);
        // w −= 0.05·g
        Near([0.97833333, -1.95666667, 0.435], w);
    }

    [Fact]
    public void RmsPropEpsilonInsideTheSquareRoot()
    {
        var w = W0();
        var rms = new RmsProp(0.01f);
        // step 1: v = 0.9·0 + 0.1·g² = [0.001, 0.004, 0.009]
        //         w −= 0.01·g/√(v + 1e-7): 0.01·0.1/√0.0010001 = 0.0316212 → 0.9683788
        //         (ε outside the root would give 0.0316218; the 6th digit tells them apart)
        rms.Step(w, G);
        Near([0.001, 0.004, 0.009], rms.StateBuffers[0]);
        Near([0.9683788, -1.9683776, 0.4683774], w);
        // step 2 with g' = [−0.3, 0.1, 0.2]: v = 0.9·v + 0.1·g'² = [0.0099, 0.0046, 0.0121]
        //         w −= 0.01·g'/√(v + 1e-7): [+0.0301510, −0.0147441, −0.0181817]
        rms.Step(w, [-0.3f, 0.1f, 0.2f]);
        Near([0.0099, 0.0046, 0.0121], rms.StateBuffers[0]);
        Near([0.9985298, -1.9831217, 0.4501957], w);
        Assert.Equal(1e-7f, rms.Epsilon);
        Assert.Equal(0.9f, rms.Rho);
    }

    [Fact]
    public void RmsPropClipValueClipsEachGradientFirst()
    {
        var w = W0();
        var rms = new RmsProp(0.01f, clipValue: 0.5f);
        float[] g = [0.1f, -2f, 5f];
        // clipped g = [0.1, −0.5, 0.5]; v = 0.1·g² = [0.001, 0.025, 0.025]
        // w −= 0.01·g/√(v + 1e-7) = [0.0316212, −0.0316227, 0.0316227]
        rms.Step(w, g);
        Near([0.001, 0.025, 0.025], rms.StateBuffers[0]);
        Near([0.9683788, -1.9683773, 0.4683773], w);
        // step 2, same g: v = 0.9·v + 0.1·g² = [0.0019, 0.0475, 0.0475]; w −= 0.01·g/√(v + 1e-7)
        rms.Step(w, g);
        Near([0.9454378, -1.9454357, 0.4454357], w);
    }

    [Fact]
    public void RmsPropDecay()
    {
        var w = W0();
        var rms = new RmsProp(0.01f, decay: 0.5f);
        rms.Step(w, G); // lr 0.01: as RmsPropEpsilonInsideTheSquareRoot's step 1
        Near([0.9683788, -1.9683776, 0.4683774], w);
        // step 2: lr = 0.01/(1 + 0.5·1); v = 0.9·[0.001, 0.004, 0.009] + 0.1·g² = [0.0019, 0.0076, 0.0171]
        // w −= 0.0066667·g/√(v + 1e-7) = [0.0152940, −0.0152943, 0.0152944]
        rms.Step(w, G);
        Near([0.9530848, -1.9530833, 0.4530831], w);
    }

    [Fact]
    public void AdamBiasCorrectedAlpha()
    {
        var w = W0();
        var adam = new Adam(0.01f);
        // t = 1: α = 0.01·√(1 − 0.999)/(1 − 0.9) = 0.00316228
        //        m = 0 + (g − 0)·0.1 = 0.1·g;  v = 0 + (g² − 0)·0.001 = 0.001·g²
        //        w −= α·m/(√v + 1e-7): for g = 0.1: 0.00316228·0.01/(0.00316228 + 1e-7) = 0.00999968
        adam.Step(w, G);
        Near([0.01, -0.02, 0.03], adam.StateBuffers[0]);
        Near([1e-5, 4e-5, 9e-5], adam.StateBuffers[1]);
        Near([0.9900003, -1.9900002, 0.4900001], w);
        // t = 2, g' = [−0.3, 0.1, 0.2]: α = 0.01·√(1 − 0.999²)/(1 − 0.9²) = 0.00235317
        //        m = m + (g' − m)·0.1 = [−0.021, −0.008, 0.047]
        //        v = v + (g'² − v)·0.001 = [0.00009999, 0.00004996, 0.00012991]
        adam.Step(w, [-0.3f, 0.1f, 0.2f]);
        Near([-0.021, -0.008, 0.047], adam.StateBuffers[0]);
        Near([0.9949422, -1.9873368, 0.4802967], w);
        // t = 3, g: α = 0.01·√(1 − 0.999³)/(1 − 0.9³) = 0.00202011
        adam.Step(w, G);
        Near([0.9966572, -1.9815421, 0.4704449], w);
        Assert.Equal(3, adam.Iterations);
    }

    [Fact]
    public void SchedulesFollowKeras()
    {
        // InverseTimeDecay: initial / (1 + rate·step/decaySteps)
        var inv = new InverseTimeDecay(0.1f, 10, 0.5f);
        Assert.Equal(0.1f, inv.Rate(0));
        Assert.Equal(0.08f, inv.Rate(5), 6);        // 0.1/1.25
        Assert.Equal(0.05f, inv.Rate(20), 6);       // 0.1/2
        var invStairs = new InverseTimeDecay(0.1f, 10, 0.5f, staircase: true);
        Assert.Equal(0.1f, invStairs.Rate(9), 6);   // floor(0.9) = 0
        Assert.Equal(0.1f / 1.5f, invStairs.Rate(15), 6);
        // ExponentialDecay: initial · rate^(step/decaySteps)
        var exp = new ExponentialDecay(0.1f, 10, 0.5f);
        Assert.Equal(0.05f, exp.Rate(10), 6);
        Assert.Equal(0.0707107f, exp.Rate(5), 6);   // 0.1·0.5^0.5
        var expStairs = new ExponentialDecay(0.1f, 10, 0.5f, staircase: true);
        Assert.Equal(0.1f, expStairs.Rate(9), 6);
        Assert.Equal(0.05f, expStairs.Rate(15), 6);
    }

    [Fact]
    public void OptimizerReadsTheScheduleAtTheStepCount()
    {
        var w = W0();
        var sgd = new Sgd(new ExponentialDecay(0.1f, 1, 0.5f));
        sgd.Step(w, G); // rate(0) = 0.1
        Near([0.99, -1.98, 0.47], w);
        Assert.Equal(0.05f, sgd.LearningRate, 6);
        sgd.Step(w, G); // rate(1) = 0.05
        Near([0.985, -1.97, 0.455], w);
        sgd.LearningRate = 0.2f; // a callback setting a float replaces the schedule
        Assert.Null(sgd.Schedule);
        sgd.Step(w, G);
        Near([0.965, -1.93, 0.395], w);
    }

    public static IEnumerable<object[]> AllKinds() =>
    [
        ["sgd"], ["momentum"], ["nesterov"], ["rmsprop"], ["rmsclip"], ["adam"], ["adamdecay"],
        ["sgdwd"], ["rmswd"], ["adamw"],
    ];

    internal static Optimizer Make(string kind) => kind switch
    {
        "sgd" => new Sgd(0.05f) { Decay = 0.01f },
        "momentum" => new Sgd(0.05f, 0.9f),
        "nesterov" => new Sgd(0.05f, 0.9f, nesterov: true),
        "rmsprop" => new RmsProp(0.01f),
        "rmsclip" => new RmsProp(0.01f, clipValue: 0.3f, decay: 0.1f),
        "adam" => new Adam(0.01f),
        "adamdecay" => new Adam(0.01f) { Decay = 0.1f, ClipValue = 0.4f },
        "sgdwd" => new Sgd(0.05, 0.9, weightDecay: 0.1),
        "rmswd" => new RmsProp(0.01, weightDecay: 0.05, clipValue: 0.3),
        "adamw" => new AdamW(0.01),
        _ => throw new ArgumentException(kind),
    };

    [Theory]
    [MemberData(nameof(AllKinds))]
    public void VectorPathMatchesScalarPath(string kind)
    {
        // 37 elements: two 16-lane blocks and a 5-element scalar tail. The same element updated alone
        // (scalar only) must come out bitwise identical, on the 256-bit path and on the 512-bit one
        // (in software where the processor lacks AVX-512: Simd.MaxBits).
        foreach (int bits in new[] { 256, 512 })
        {
            using var _ = new KernelSwitches(bits, 1);
            const int n = 37;
            var rng = new Rng(7);
            var w = new float[n];
            for (int i = 0; i < n; i++) w[i] = rng.NextNormal();
            var whole = Make(kind);
            var singles = new Optimizer[n];
            var single = new float[n][];
            for (int i = 0; i < n; i++) { singles[i] = Make(kind); single[i] = [w[i]]; }
            var g = new float[n];
            for (int step = 0; step < 4; step++)
            {
                for (int i = 0; i < n; i++) g[i] = rng.NextNormal();
                whole.Step(w, g);
                for (int i = 0; i < n; i++) singles[i].Step(single[i], g.AsSpan(i, 1));
            }
            for (int i = 0; i < n; i++)
                Assert.True(BitConverter.SingleToInt32Bits(single[i][0]) == BitConverter.SingleToInt32Bits(w[i]),
                    $"{kind}, {bits}-bit path: element {i} is {w[i]:R} updated with the others, {single[i][0]:R} alone");
        }
    }

    [Theory]
    [MemberData(nameof(AllKinds))]
    public void StateRoundTripsThroughACheckpoint(string kind)
    {
        var rng = new Rng(3);
        var w = new float[20];
        var g = new float[20];
        for (int i = 0; i < 20; i++) { w[i] = rng.NextNormal(); g[i] = rng.NextNormal(); }
        var a = Make(kind);
        a.Step(w, g);
        a.Step(w, g);
        var b = Make(kind);
        b.SetState(a.StateBuffers, a.Iterations);
        var w2 = (float[])w.Clone();
        a.Step(w, g);
        b.Step(w2, g);
        Assert.Equal(w, w2);
        Assert.Equal(3, b.Iterations);
    }

    [Fact]
    public void StateIsAllocatedOnceAndBoundToTheBufferLength()
    {
        var adam = new Adam();
        var w = new float[100];
        var g = new float[100];
        adam.Step(w, g);
        var m = adam.StateBuffers[0];
        Assert.Contains(0L, WarmUp.Windows(() => WarmUp.BytesOnThisThread(() => { for (int i = 0; i < 50; i++) adam.Step(w, g); })));
        Assert.Same(m, adam.StateBuffers[0]);
        var e = Assert.Throws<ArgumentException>(() => adam.Step(new float[5], new float[5]));
        Assert.Contains("100 parameters", e.Message);
    }
}
