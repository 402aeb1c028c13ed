using System;
using Kiln;

namespace Kiln.Runtime.Tests.Optimizers;

// Keras 3, keras/src/optimizers/schedules/learning_rate_schedule.py: each schedule against values
// worked by hand at its boundaries, and against a naive reference written here over many steps.
public class ScheduleTests
{
    private static void Near(double expected, float actual, double tol = 1e-6) =>
        Assert.True(Math.Abs(expected - actual) <= tol * Math.Max(1, Math.Abs(expected)), $"expected {expected}, got {actual}");

    // SGDR by walking the periods one by one (not Keras' logarithm): period i is first·tMulⁱ long.
    private static double RestartsReference(double initial, long first, double tMul, double mMul, double alpha, long step)
    {
        double start = 0, period = first;
        int i = 0;
        while (step >= start + period) { start += period; period *= tMul; i++; }
        double f = (step - start) / period;
        return initial * ((1 - alpha) * 0.5 * Math.Pow(mMul, i) * (1 + Math.Cos(Math.PI * f)) + alpha);
    }

    [Fact]
    public void CosineDecayRestartsAtTheBoundaries()
    {
        var s = new CosineDecayRestarts(1.0, 10); // Keras defaults: tMul 2, mMul 1, alpha 0
        Near(1, s.Rate(0));
        Near(0.5, s.Rate(5));            // halfway through the first period: ½(1 + cos(π/2))
        Near(1, s.Rate(10));             // restart 1: periods of 10, then 20, then 40
        Near(0.5, s.Rate(20));           // halfway through the second
        Near(1, s.Rate(30));             // restart 2
        Near(1, s.Rate(70));             // restart 3: 10 + 20 + 40
        Near(0.5 * (1 + Math.Cos(Math.PI * 39 / 40)), s.Rate(69)); // the last step of the third period
    }

    [Fact]
    public void CosineDecayRestartsMMulAndAlpha()
    {
        var s = new CosineDecayRestarts(0.1, 4, tMul: 1, mMul: 0.5, alpha: 0.2);
        // tMul 1: every period is 4 steps; restart i starts at 0.1·((1 − 0.2)·0.5ⁱ + 0.2).
        Near(0.1, s.Rate(0));
        Near(0.1 * (0.8 * 0.5 + 0.2), s.Rate(4));
        Near(0.1 * (0.8 * 0.25 + 0.2), s.Rate(8));
        Near(0.1 * (0.8 * 0.5 * 0.5 * (1 + Math.Cos(Math.PI * 0.5)) + 0.2), s.Rate(6));
    }

    [Theory]
    [InlineData(1.0, 10, 2.0, 1.0, 0.0)]
    [InlineData(0.01, 7, 1.5, 0.8, 0.1)]
    [InlineData(0.5, 3, 3.0, 0.9, 0.0)]
    [InlineData(0.2, 5, 1.0, 0.7, 0.05)]
    public void CosineDecayRestartsMatchesTheReference(double initial, long first, double tMul, double mMul, double alpha)
    {
        var s = new CosineDecayRestarts(initial, first, tMul, mMul, alpha);
        for (long step = 0; step < 2000; step++)
            Near(RestartsReference(initial, first, (float)tMul, (float)mMul, (float)alpha, step), s.Rate(step), 1e-5);
    }

    [Fact]
    public void PiecewiseConstantDecayTakesTheValueBeforeABoundaryAtIt()
    {
        // Keras' docstring example: boundaries [100000, 110000], values [1.0, 0.5, 0.1].
        var s = new PiecewiseConstantDecay([100000, 110000], [1.0, 0.5, 0.1]);
        Assert.Equal(1f, s.Rate(0));
        Assert.Equal(1f, s.Rate(100000));    // step ≤ boundaries[0]
        Assert.Equal(0.5f, s.Rate(100001));
        Assert.Equal(0.5f, s.Rate(110000));
        Assert.Equal(0.1f, s.Rate(110001));
        Assert.Equal(0.1f, s.Rate(long.MaxValue));
    }

    [Fact]
    public void PiecewiseConstantDecayChecksItsArguments()
    {
        Assert.Throws<ArgumentException>(() => new PiecewiseConstantDecay([10, 20], [1.0, 0.5]));
        Assert.Throws<ArgumentException>(() => new PiecewiseConstantDecay([20, 10], [1.0, 0.5, 0.1]));
        Assert.Throws<ArgumentException>(() => new PiecewiseConstantDecay([], [1.0]));
        Assert.Throws<ArgumentOutOfRangeException>(() => new PiecewiseConstantDecay([10], [1.0, double.NaN]));
    }

    // Keras' PolynomialDecay.__call__, line by line in double.
    private static double PolynomialReference(double initial, long decaySteps, double end, double power, bool cycle, long step)
    {
        double s = step, d = decaySteps;
        if (cycle) d *= step == 0 ? 1.0 : Math.Ceiling(s / decaySteps);
        else s = Math.Min(s, d);
        return (initial - end) * Math.Pow(1 - s / d, power) + end;
    }

    [Fact]
    public void PolynomialDecayAtTheBoundaries()
    {
        var linear = new PolynomialDecay(0.1, 10); // Keras defaults: end 1e-4, power 1, no cycle
        Near(0.1, linear.Rate(0));
        Near((0.1 - 1e-4) * 0.5 + 1e-4, linear.Rate(5));
        Near(1e-4, linear.Rate(10));
        Near(1e-4, linear.Rate(1000));        // stays at the end rate
        var squared = new PolynomialDecay(1.0, 4, endLearningRate: 0, power: 2);
        Near(0.5625, squared.Rate(1));        // (1 − 1/4)²
        var cycling = new PolynomialDecay(1.0, 4, endLearningRate: 0, cycle: true);
        Near(1, cycling.Rate(0));
        Near(0, cycling.Rate(4));             // d = 4·⌈4/4⌉ = 4
        Near(1 - 5.0 / 8, cycling.Rate(5));   // d = 4·⌈5/4⌉ = 8: a new period from a lower rate
        Near(0, cycling.Rate(8));
    }

    [Theory]
    [InlineData(0.1, 10, 0.0001, 1.0, false)]
    [InlineData(0.1, 10, 0.001, 0.5, true)]
    [InlineData(1.0, 7, 0.0, 3.0, true)]
    public void PolynomialDecayMatchesTheReference(double initial, long decaySteps, double end, double power, bool cycle)
    {
        var s = new PolynomialDecay(initial, decaySteps, end, power, cycle);
        for (long step = 0; step < 200; step++)
            Near(PolynomialReference((float)initial, decaySteps, (float)end, (float)power, cycle, step), s.Rate(step));
    }

    [Fact]
    public void NewSchedulesRejectBadArguments()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new CosineDecayRestarts(0.1, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => new CosineDecayRestarts(0.1, 10, tMul: 0.5));
        Assert.Throws<ArgumentOutOfRangeException>(() => new CosineDecayRestarts(0.1, 10, alpha: 1.5));
        Assert.Throws<ArgumentOutOfRangeException>(() => new PolynomialDecay(0.1, 10, power: 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => new PolynomialDecay(0.1, 10, endLearningRate: -1));
    }

    [Fact]
    public void AnOptimizerFollowsPiecewiseConstantDecay()
    {
        // Iterations before the step is the schedule's step: steps 0..2 at 0.1, step 3 at 0.01.
        var sgd = new Sgd(new PiecewiseConstantDecay([2], [0.1, 0.01]));
        var w = new float[1];
        float[] g = [1f];
        for (int i = 0; i < 4; i++) sgd.Step(w, g);
        Near(-(0.1 * 3 + 0.01), w[0]);
    }
}
