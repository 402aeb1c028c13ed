using System;
using Kiln;
using Xunit;

namespace Kiln.Runtime.Tests.Optimizers;

// Keras 3's CosineDecay (keras/src/optimizers/schedules/learning_rate_schedule.py). The expected
// values are the formula worked out by hand: decayed = (1 − α)·½(1 + cos(π·min(step, D)/D)) + α.
public class CosineDecayTests
{
    [Fact]
    public void DecaysFromTheInitialRateToZeroAndStaysThere()
    {
        var cos = new CosineDecay(0.1f, decaySteps: 1000);
        Assert.Equal(0.1f, cos.Rate(0));
        Assert.Equal(0.0999998f, cos.Rate(1), 7);      // 0.1·½(1 + cos(π/1000))
        Assert.Equal(0.0853553f, cos.Rate(250), 7);    // 0.1·½(1 + √½)
        Assert.Equal(0.05f, cos.Rate(500), 7);         // half way: cos(π/2) = 0
        Assert.Equal(0.0146447f, cos.Rate(750), 7);    // 0.1·½(1 − √½)
        Assert.Equal(2.4674e-7f, cos.Rate(999), 10);   // 0.1·½(1 − cos(π/1000))
        Assert.Equal(0f, cos.Rate(1000), 7);
        Assert.Equal(0f, cos.Rate(1001), 7);           // past the end: min(step, D)
        Assert.Equal(0f, cos.Rate(5000), 7);
    }

    [Fact]
    public void AlphaIsTheFloorAsAFractionOfTheInitialRate()
    {
        var cos = new CosineDecay(0.1f, decaySteps: 1000, alpha: 0.1f);
        Assert.Equal(0.1f, cos.Rate(0), 7);
        Assert.Equal(0.0868198f, cos.Rate(250), 7);    // 0.1·(0.9·½(1 + √½) + 0.1)
        Assert.Equal(0.055f, cos.Rate(500), 7);        // 0.1·(0.45 + 0.1)
        Assert.Equal(0.0231802f, cos.Rate(750), 7);
        Assert.Equal(0.01f, cos.Rate(1000), 7);
        Assert.Equal(0.01f, cos.Rate(100_000), 7);
    }

    [Fact]
    public void WarmupRisesLinearlyToTheTargetThenDecaysFromIt()
    {
        // Keras: s = min(step, warmup + D); s < warmup: initial + (target − initial)·s/warmup;
        // else target · decayed(s − warmup).
        var cos = new CosineDecay(0f, decaySteps: 1000, alpha: 0.01f, warmupTarget: 1e-3f, warmupSteps: 100);
        Assert.Equal(0f, cos.Rate(0));
        Assert.Equal(5e-4f, cos.Rate(50), 9);
        Assert.Equal(9.9e-4f, cos.Rate(99), 9);
        Assert.Equal(1e-3f, cos.Rate(100), 9);         // the decay starts at the target
        Assert.Equal(0.9999976e-3f, cos.Rate(101), 9);
        Assert.Equal(5.05e-4f, cos.Rate(600), 9);      // 1e-3·(0.99·½ + 0.01)
        Assert.Equal(1e-5f, cos.Rate(1100), 9);        // the end: target·alpha
        Assert.Equal(1e-5f, cos.Rate(2000), 9);
        // A target without warmup steps decays from the target at once.
        Assert.Equal(2e-3f, new CosineDecay(1e-3f, 10, warmupTarget: 2e-3f).Rate(0), 9);
    }

    [Fact]
    public void AdamFollowsTheScheduleAtItsStepCount()
    {
        var adam = new Adam(new CosineDecay(1e-3f, decaySteps: 4));
        Span<float> w = [1f], g = [0.5f];
        Assert.Equal(1e-3f, adam.CurrentLearningRate, 9);
        adam.Step(w, g);
        adam.Step(w, g);
        Assert.Equal(5e-4f, adam.CurrentLearningRate, 9);   // step 2 of 4
        adam.Step(w, g);
        adam.Step(w, g);
        Assert.Equal(0f, adam.CurrentLearningRate, 9);
        float before = w[0];
        adam.Step(w, g);
        Assert.Equal(before, w[0]);                          // past the end the rate stays 0
    }

    [Theory]
    [InlineData(-1f, 10L, 0f)]
    [InlineData(1f, 0L, 0f)]
    [InlineData(1f, 10L, -0.1f)]
    [InlineData(1f, 10L, 1.5f)]
    [InlineData(float.NaN, 10L, 0f)]
    public void RejectsBadArguments(float initial, long decaySteps, float alpha)
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new CosineDecay(initial, decaySteps, alpha));
    }

    [Fact]
    public void RejectsWarmupStepsWithoutATarget()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new CosineDecay(1f, 10, warmupTarget: 1f, warmupSteps: -1));
        Assert.Throws<ArgumentOutOfRangeException>(() => new CosineDecay(1f, 10, warmupTarget: float.PositiveInfinity));
        Assert.Throws<ArgumentException>(() => new CosineDecay(1f, 10, warmupSteps: 5));
    }
}
