using System;
using Kiln.Tests;
using Xunit;

namespace Kiln.Runtime.Tests.Training;

/// <summary>The allocation helper every "0 bytes per step" test relies on must still see a step that allocates.</summary>
public class WarmUpTests
{
    private static object? s_keep;

    [Fact]
    public void AllocationsSeesAStepThatAllocatesInEveryWindow()
    {
        void Step() => s_keep = new float[16];
        WarmUp.Run(Step, calls: 2);
        var (caller, workers) = WarmUp.Allocations(() =>
        {
            for (int i = 0; i < 10; i++) Step();
        });
        Assert.True(caller >= 10 * (16 * sizeof(float)), $"measured {caller} bytes for ten 64-byte arrays");
        Assert.Equal(0, workers);
    }

    [Fact]
    public void AllocationsReportsZeroForAStepThatAllocatesNothing()
    {
        var buffer = new float[16];
        void Step() => buffer.AsSpan().Fill(1f);
        WarmUp.Run(Step, calls: 2);
        Assert.Equal((0L, 0L), WarmUp.Allocations(() =>
        {
            for (int i = 0; i < 10; i++) Step();
        }));
    }
}
