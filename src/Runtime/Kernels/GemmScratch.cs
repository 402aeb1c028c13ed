using System;
using System.Runtime.InteropServices;

namespace Kiln.Kernels;

/// <summary>
/// Per-thread packing buffers, allocated once per thread from native memory (64-byte aligned, never
/// moved, invisible to the GC) and sized for the largest block, so GEMM calls allocate nothing.
/// </summary>
internal sealed unsafe class GemmScratch
{
    // Cut for this machine's caches (KernelChoice, GemmBlocking): KC×NR of B stays in L1d while the
    // A panels stream from L2, MC×KC of A sits in L2, NC×KC of B is shared from L3; the packed slice
    // of A (PackedRows×KC) is read from L3 or memory once per column block.
    public static readonly GemmBlocking Blocking = KernelChoice.Current.Blocking;
    public static readonly int KC = Blocking.KC;
    public static readonly int MC = Blocking.MC;   // a multiple of both micro-kernels' MR (8 and 6)
    public static readonly int NC = Blocking.NC;   // a multiple of both NR (32 and 16)
    public const int MaxNR = 32;

    /// <summary>
    /// The depth of the k blocks of a product <paramref name="k"/> deep: all of it up to KC, else as many
    /// KC-or-shallower blocks as needed, all of one depth (a multiple of 8; the last one shorter). Cut at KC
    /// instead, k = 1024 at KC 336 left a 16-deep last block: a sixty-fourth of the FLOPs for a quarter
    /// of the kernel calls, each loading and storing its C tile.
    /// A product deeper than <see cref="TwoBlocksFromDepth"/> takes at least two blocks, and an even number of them
    /// (<see cref="EvenBlocks"/>), so that two threads splitting it by k (<see cref="GemmSplitK{TAct}"/>) each take
    /// whole blocks: the rows of a layer's weights that its forward reads on a core are then the rows its update
    /// rewrites there. With Zen 3's blocks (KC 336) the Fashion MLP's 784 → 300 layer was cut in 3 blocks, one of
    /// them shared by columns between the cores, and its 300 → 100 layer in one, not split by k at all: its batch-32
    /// step ran 1.11–1.13× as fast cut in 4 and 2 (paired, benchmarks/README.md, stop 69). The same cut for any
    /// thread count, so the same bits for any.
    /// </summary>
    public static int KBlock(int k)
    {
        int blocks = (k + KC - 1) / KC;
        if (EvenBlocks)
        {
            if (k > TwoBlocksFromDepth) blocks = Math.Max(blocks, 2);
            if (blocks > 1) blocks += blocks & 1;
        }
        if (blocks <= 1) return Math.Max(k, 1);
        return Math.Min(KC, ((k + blocks - 1) / blocks + 7) & ~7);
    }

    /// <summary>Products deeper than this are cut in two k blocks or more (<see cref="KBlock"/>): the 512-bit path's KC on Zen 5.</summary>
    internal static int TwoBlocksFromDepth = 256;

    /// <summary>Off: k blocks only as deep as KC asks, however many (a switch for benchmarks' paired windows; new bits).</summary>
    internal static bool EvenBlocks = true;

    /// <summary>
    /// Rows of A packed at once (a multiple of MC, 2,048 or more unless that would pass 4 MiB): a KC-deep
    /// slice of that many rows is packed once per k block and reused by every column block (GemmDriver);
    /// 2,112 rows, 2.1 MiB, at KC 256 and MC 192. Taller matrices go in bands of this many rows, packing
    /// B once per band.
    /// </summary>
    public static readonly int PackedRows = MC * Math.Max(1, Math.Min((2048 + MC - 1) / MC, (1 << 20) / (MC * KC)));

    [ThreadStatic] private static GemmScratch? t_current;

    public readonly float* A;
    public readonly float* B;
    public readonly float* Tile;
    public readonly float* BiasTile;

    private GemmScratch()
    {
        A = (float*)NativeMemory.AlignedAlloc((nuint)((long)PackedRows * KC * sizeof(float)), 64);
        B = (float*)NativeMemory.AlignedAlloc((nuint)(KC * NC * sizeof(float)), 64);
        Tile = (float*)NativeMemory.AlignedAlloc((nuint)(16 * MaxNR * sizeof(float)), 64);
        BiasTile = (float*)NativeMemory.AlignedAlloc((nuint)(MaxNR * sizeof(float)), 64);
        if (A == null || B == null || Tile == null || BiasTile == null) throw new OutOfMemoryException("GEMM packing buffers");
    }

    // Thread lifetime == buffer lifetime; pool workers and training threads never exit in practice,
    // so the buffers are deliberately not freed.
    public static GemmScratch Current => t_current ??= new GemmScratch();
}
