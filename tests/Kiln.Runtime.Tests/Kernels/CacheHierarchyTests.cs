using System;
using System.IO;
using Kiln.Kernels;

namespace Kiln.Runtime.Tests.Kernels;

public class CacheHierarchyTests
{
    [Fact]
    public void BlocksAreCutFromTheCacheSizes()
    {
        // Zen 5 with the 512-bit kernel (NR 32): the sizes the kernels were tuned with.
        Assert.Equal(new GemmBlocking(256, 192, 2048), GemmBlocking.For(new CacheHierarchy(48 << 10, 1 << 20, 32 << 20), 32));
        // Smaller caches get smaller blocks, still whole micro-panels: KC a multiple of 8, MC of 24 (both MRs), NC of 32.
        var small = GemmBlocking.For(new CacheHierarchy(32 << 10, 512 << 10, 8 << 20), 32);
        Assert.Equal(new GemmBlocking(168, 144, 768), small);
        // Absurd sizes stay within bounds that keep the packing buffers sensible.
        Assert.Equal(new GemmBlocking(64, 48, 256), GemmBlocking.For(new CacheHierarchy(1, 1, 1), 32));
        Assert.Equal(new GemmBlocking(512, 960, 8192), GemmBlocking.For(new CacheHierarchy(1L << 30, 1L << 30, 1L << 34), 32));
        // A 16-wide micro-kernel's panel of B takes half the L1: k blocks twice as deep, A blocks half as tall.
        Assert.Equal(new GemmBlocking(336, 72, 1536), GemmBlocking.For(new CacheHierarchy(32 << 10, 512 << 10, 32 << 20), 16));
        Assert.Throws<ArgumentOutOfRangeException>(() => GemmBlocking.For(CacheHierarchy.Typical, 0));
    }

    [Fact]
    public void DetectReadsSysfsAndKeepsTypicalSizesForWhatIsMissing()
    {
        string dir = Path.Combine(Path.GetTempPath(), "kiln-cache-" + Guid.NewGuid().ToString("N"));
        try
        {
            Write(dir, "index0", 1, "Data", "48K");
            Write(dir, "index1", 1, "Instruction", "32K");
            Write(dir, "index2", 2, "Unified", "1024K");
            var c = CacheHierarchy.Detect(dir);
            Assert.Equal(48 << 10, c.L1Data);
            Assert.Equal(1 << 20, c.L2);
            Assert.Equal(CacheHierarchy.Typical.L3, c.L3); // no index3
            Write(dir, "index3", 3, "Unified", "32M");
            Assert.Equal(32 << 20, CacheHierarchy.Detect(dir).L3);
            Assert.Same(CacheHierarchy.Typical, CacheHierarchy.Detect(Path.Combine(dir, "missing")));
            File.WriteAllText(Path.Combine(dir, "index2", "size"), "lots");
            Assert.Same(CacheHierarchy.Typical, CacheHierarchy.Detect(dir));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void CpuidCacheDescriptorsDecode()
    {
        // A 48 KiB, 12-way L1 data cache with 64-byte lines and 64 sets (type 1, level 1).
        Assert.Equal((1, 1, 48L << 10), CacheHierarchy.DecodeCpuidCache(1 | (1 << 5), (11 << 22) | 63, 63));
        // A 2 MiB, 16-way unified L2 (type 3, level 2) with 2048 sets.
        Assert.Equal((3, 2, 2L << 20), CacheHierarchy.DecodeCpuidCache(3 | (2 << 5), (15 << 22) | 63, 2047));
        // A 32 MiB, 16-way L3 with 32768 sets: the ways field's top bit set must not turn negative.
        Assert.Equal((3, 3, 32L << 20), CacheHierarchy.DecodeCpuidCache(3 | (3 << 5), (15 << 22) | 63, 32767));
        Assert.Equal((3, 3, 512L * 64 * 2), CacheHierarchy.DecodeCpuidCache(3 | (3 << 5), unchecked((int)(511u << 22)) | 63, 1));
        Assert.Equal(0, CacheHierarchy.DecodeCpuidCache(0, 0, 0).Type);
    }

    [Fact]
    public void AmdSizeLeavesDecode()
    {
        // What this project's AMD EPYC (Zen 5) VMs report in 0x80000005 ECX and 0x80000006 ECX/EDX while
        // they zero the descriptor leaf and hide sysfs: 48 KiB L1d, 1 MiB L2, and 1016 × 512 KiB of L3,
        // the whole package's (which FromCpuid therefore does not use).
        Assert.Equal((48L << 10, 1L << 20, 1016L << 19), CacheHierarchy.DecodeAmdSizeLeaves(0x300C0140, 0x04006140, 0x0FE09140));
        // The L3 field's top bit set: unsigned.
        Assert.Equal(((long)0xFF << 10, 0xFFFFL << 10, 0x3FFFL << 19), CacheHierarchy.DecodeAmdSizeLeaves(unchecked((int)0xFF000000), unchecked((int)0xFFFF0000), unchecked((int)0xFFFC0000)));
    }

    [Fact]
    public void CpuidCachesOnThisMachineAreOrderedOrAbsent()
    {
        var c = CacheHierarchy.FromCpuid();
        if (c is null) return; // not x86, or a hypervisor that hides the cache leaf: Typical is used
        Assert.True(c.L1Data >= 4 << 10 && c.L1Data <= c.L2 && c.L2 <= c.L3, c.ToString());
    }

    private static void Write(string dir, string index, int level, string type, string size)
    {
        string d = Path.Combine(dir, index);
        Directory.CreateDirectory(d);
        File.WriteAllText(Path.Combine(d, "level"), level + "\n");
        File.WriteAllText(Path.Combine(d, "type"), type + "\n");
        File.WriteAllText(Path.Combine(d, "size"), size + "\n");
    }
}
