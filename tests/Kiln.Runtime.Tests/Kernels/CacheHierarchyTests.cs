using System;
using System.IO;
using Kiln.Kernels;

namespace Kiln.Runtime.Tests.Kernels;

public class CacheHierarchyTests
{
    [Fact]
    public void BlocksAreCutFromTheCacheSizes()
    {
        // Zen 5 (this project's machines): the sizes the kernels were tuned with.
        Assert.Equal(new GemmBlocking(256, 192, 2048), GemmBlocking.For(new CacheHierarchy(48 << 10, 1 << 20, 32 << 20)));
        // Smaller caches get smaller blocks, still whole micro-panels: KC a multiple of 8, MC of 24 (both MRs), NC of 32.
        var small = GemmBlocking.For(new CacheHierarchy(32 << 10, 512 << 10, 8 << 20));
        Assert.Equal(new GemmBlocking(168, 144, 768), small);
        // Absurd sizes stay within bounds that keep the packing buffers sensible.
        Assert.Equal(new GemmBlocking(64, 48, 256), GemmBlocking.For(new CacheHierarchy(1, 1, 1)));
        Assert.Equal(new GemmBlocking(512, 960, 8192), GemmBlocking.For(new CacheHierarchy(1L << 30, 1L << 30, 1L << 34)));
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

    private static void Write(string dir, string index, int level, string type, string size)
    {
        string d = Path.Combine(dir, index);
        Directory.CreateDirectory(d);
        File.WriteAllText(Path.Combine(d, "level"), level + "\n");
        File.WriteAllText(Path.Combine(d, "type"), type + "\n");
        File.WriteAllText(Path.Combine(d, "size"), size + "\n");
    }
}
