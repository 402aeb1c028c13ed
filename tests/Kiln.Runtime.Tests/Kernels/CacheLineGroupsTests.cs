using System;
using System.Runtime.CompilerServices;
using Kiln.Threading;

namespace Kiln.Runtime.Tests.Kernels;

/// <summary>The worker pool's signal slots: each group starts on a 128-byte boundary and no two groups share one.</summary>
public class CacheLineGroupsTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(6)]
    [InlineData(35)]
    public unsafe void EachGroupOwnsAnAlignedPairOfCacheLinesAndKeepsItsValues(int groups)
    {
        var lines = new CacheLineGroups(groups);
        for (int g = 0; g < groups; g++)
        {
            long first = (long)Unsafe.AsPointer(ref lines[g, 0]), last = (long)Unsafe.AsPointer(ref lines[g, 15]);
            Assert.Equal(0, first & 127);
            Assert.Equal(first / 128, last / 128);
            if (g > 0) Assert.Equal(first - 128, (long)Unsafe.AsPointer(ref lines[g - 1, 0]));
            for (int s = 0; s < 16; s++) lines[g, s] = g * 100 + s;
        }
        // Garbage collections move unpinned arrays; these slots stay where they were, with their values.
        long before = (long)Unsafe.AsPointer(ref lines[0, 0]);
        GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
        Assert.Equal(before, (long)Unsafe.AsPointer(ref lines[0, 0]));
        for (int g = 0; g < groups; g++)
            for (int s = 0; s < 16; s++) Assert.Equal(g * 100 + s, lines[g, s]);
    }

    [Theory]
    [InlineData(2, 0)]
    [InlineData(-1, 0)]
    [InlineData(0, 16)]
    [InlineData(1, -1)]
    public void ASlotOutsideTheGroupsIsRefused(int group, int slot)
    {
        var lines = new CacheLineGroups(2);
        Assert.Throws<IndexOutOfRangeException>(() => lines[group, slot] = 1);
    }
}
