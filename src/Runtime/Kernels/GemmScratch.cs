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
    /// KC-or-shallower blocks as needed, made even (a multiple of 8, the last one shorter). Cut at KC
    /// instead, k = 1024 at KC 336 left a 16-deep last block: a sixty-fourth of the FLOPs for a quarter
    /// of the kernel calls, each loading and storing its C tile.
    /// </summary>
    public static int KBlock(int k)
    {
        if (k <= KC) return Math.Max(k, 1);
        int blocks = (k + KC - 1) / KC;
        return Math.Min(KC, ((k + blocks - 1) / blocks + 7) & ~7);
    }

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
