using System;
using System.Runtime.CompilerServices;
using Kiln.Threading;

namespace Kiln.Kernels;

/// <summary>
/// C[1×n] = a·B for a single row (batch-1 inference). B is streamed once, in place (packing would
/// copy it, and an 8-row tile would spend most of its time on rows that do not exist), in column
/// blocks of up to <see cref="GemmRowVector512.MaxVectors"/> vectors, each vector one independent
/// FMA chain over a k block. Blocks of 8 vectors until the rest fits one block, so every block but a
/// tiny product's has at least 8 chains to hide the FMA latency; the last vector's columns past n are
/// masked off (loads, stores), never computed one at a time.
/// The arithmetic is <see cref="GemmDriver.Serial"/>'s: per column one FMA chain per k block
/// (<see cref="GemmScratch.KBlock"/>), the blocks added to C in k order, then act(v + bias) (a zero
/// bias without one). So the row gets the bits it has in a taller product, and the same bits however
/// the columns or the k blocks are split over threads (<see cref="RowVectorJob{TAct}"/>).
/// </summary>
internal static unsafe class GemmRowVector
{
    /// <summary>Vectors per block before the last one: 8 chains cover the FMA latency of two pipes.</summary>
    private const int BlockVectors = 8;

    /// <summary>The widest row one block holds in registers at the current vector width.</summary>
    public static int BlockColumns(bool use512) => use512 ? 16 * GemmRowVector512.MaxVectors : 8 * GemmRowVector256.MaxVectors;

    /// <summary>
    /// A row wider than one 256-bit register block (96 columns) streams whole rows of B (<see cref="GemmRowVector256.Stream"/>)
    /// instead of a column block at a time; off: column blocks (a switch for benchmarks' paired windows).
    /// </summary>
    internal static bool Stream256 = true;

    /// <summary>The widest row whose later k blocks' sums fit the packing scratch (<see cref="GemmScratch.B"/>).</summary>
    private static int StreamMaxColumns => GemmScratch.KC * GemmScratch.NC;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Run<TAct>(int n, int k, float* a, nint aStride, float* b, nint ldb, float* c, bool accumulate, float* bias, bool epilogue, TAct act)
        where TAct : struct, IActivation =>
        LeadingBlocks(k, n, k, a, aStride, b, ldb, c, accumulate, bias, epilogue, act);

    /// <summary>
    /// The k blocks in the first <paramref name="rows"/> rows of a product <paramref name="k"/> deep, added to C in
    /// order (the first onto C only when <paramref name="accumulate"/>); the epilogue after the last when it ends the product.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void LeadingBlocks<TAct>(int rows, int n, int k, float* a, nint aStride, float* b, nint ldb, float* c, bool accumulate,
        float* bias, bool epilogue, TAct act) where TAct : struct, IActivation
    {
        int kb = GemmScratch.KBlock(k);
        for (int pc = 0; pc < rows; pc += kb)
        {
            int kc = Math.Min(kb, rows - pc);
            KBlockProduct(n, kc, a + pc * aStride, aStride, b + pc * ldb, ldb, c, accumulate || pc > 0, bias, pc + kc >= k && epilogue, act);
        }
    }

    /// <summary>One k block: c[0..n) = a·B (+ c when <paramref name="addC"/>), then the epilogue when asked.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void KBlockProduct<TAct>(int n, int k, float* a, nint aStride, float* b, nint ldb, float* c, bool addC, float* bias, bool epilogue, TAct act)
        where TAct : struct, IActivation
    {
        bool use512 = Simd.Use512;
        if (!use512 && n > BlockColumns(false) && Stream256 && (n <= StreamMaxColumns || !addC))
        {
            GemmRowVector256.Stream(n, k, a, aStride, b, ldb, c, addC, bias, epilogue, act, GemmScratch.Current.B);
            return;
        }
        int width = use512 ? 16 : 8;
        int maxVectors = use512 ? GemmRowVector512.MaxVectors : GemmRowVector256.MaxVectors;
        for (int j = 0; j < n;)
        {
            int vectors = (n - j + width - 1) / width;
            int columns = vectors <= maxVectors ? n - j : BlockVectors * width;
            float* blockBias = bias == null ? null : bias + j;
            if (use512)
                GemmRowVector512.Block(columns, k, a, aStride, b + j, ldb, c + j, addC, blockBias, epilogue, act);
            else
                GemmRowVector256.Block(columns, k, a, aStride, b + j, ldb, c + j, addC, blockBias, epilogue, act);
            j += columns;
        }
    }
}

/// <summary>A vector count fixed at JIT time, so one block kernel compiles to straight-line code for each count.</summary>
internal interface IVectorCount
{
    static abstract int Value { get; }
}

internal readonly struct Vectors1 : IVectorCount { public static int Value => 1; }
internal readonly struct Vectors2 : IVectorCount { public static int Value => 2; }
internal readonly struct Vectors3 : IVectorCount { public static int Value => 3; }
internal readonly struct Vectors4 : IVectorCount { public static int Value => 4; }
internal readonly struct Vectors5 : IVectorCount { public static int Value => 5; }
internal readonly struct Vectors6 : IVectorCount { public static int Value => 6; }
internal readonly struct Vectors7 : IVectorCount { public static int Value => 7; }
internal readonly struct Vectors8 : IVectorCount { public static int Value => 8; }
internal readonly struct Vectors9 : IVectorCount { public static int Value => 9; }
internal readonly struct Vectors10 : IVectorCount { public static int Value => 10; }
internal readonly struct Vectors11 : IVectorCount { public static int Value => 11; }
internal readonly struct Vectors12 : IVectorCount { public static int Value => 12; }
internal readonly struct Vectors13 : IVectorCount { public static int Value => 13; }
internal readonly struct Vectors14 : IVectorCount { public static int Value => 14; }
internal readonly struct Vectors15 : IVectorCount { public static int Value => 15; }
internal readonly struct Vectors16 : IVectorCount { public static int Value => 16; }
internal readonly struct Vectors17 : IVectorCount { public static int Value => 17; }
internal readonly struct Vectors18 : IVectorCount { public static int Value => 18; }
internal readonly struct Vectors19 : IVectorCount { public static int Value => 19; }
internal readonly struct Vectors20 : IVectorCount { public static int Value => 20; }
internal readonly struct Vectors21 : IVectorCount { public static int Value => 21; }
internal readonly struct Vectors22 : IVectorCount { public static int Value => 22; }
internal readonly struct Vectors23 : IVectorCount { public static int Value => 23; }
internal readonly struct Vectors24 : IVectorCount { public static int Value => 24; }

/// <summary>
/// A single-row product split over <see cref="KilnSettings.Threads"/> threads, part i on thread i whenever
/// that thread is ready, so each core keeps its share of B in its own cache across calls (batch-1 inference).
/// A row that fits one register block (or any row at 256 bits, where a wider row streams whole rows of B:
/// <see cref="GemmRowVector256.Stream"/>), two or more k blocks deep, is split by k blocks: each thread reads
/// whole rows of B, one contiguous stretch of it, where a split by columns read a slice of every row and
/// streamed the 784 → 300 layer's weights at half the speed from L2 (stop 49: 4.6 against 2.3 µs for one
/// core's half at 512 bits). A worker adds the first blocks into C, each later block leaves its sums in a
/// scratch row, and the caller, which took the last blocks, adds the rows to C in block order with the
/// epilogue after (as <see cref="GemmSplitK{TAct}"/> does): of the rows it adds, only C and the middle
/// threads' come from another core's cache. Otherwise the columns are split, each column's chains on one thread.
/// </summary>
internal sealed unsafe class RowVectorJob<TAct> : ParallelJob where TAct : struct, IActivation
{
    [ThreadStatic] private static RowVectorJob<TAct>? t_instance;

    private int _n, _k, _kb, _blocks;
    private float* _a, _b, _c, _bias, _partials;
    private nint _aStride, _ldb;
    private bool _accumulate, _epilogue;
    private TAct _act;

    /// <summary>
    /// Whether the k blocks are split: a row one register block holds, or at 256 bits a streamed row of any width,
    /// two k blocks or more, and the masked loads and stores the last pass needs. A wider 512-bit row is read in
    /// column blocks either way; at 256 bits column blocks (96 columns) split by k ran the 784 → 300 layer 5 % slower
    /// than split by columns (stop 49); streamed whole rows split by k run it 1.03× as fast as by columns (stop 69).
    /// </summary>
    public static bool SplitsK(bool use512, int n, int k) =>
        (n <= GemmRowVector.BlockColumns(use512) || !use512 && GemmRowVector.Stream256) && GemmScratch.KBlock(k) < k
        && GemmSplitK<TAct>.CombinesInHardware(use512);

    public static void Run(int n, int k, float* a, nint aStride, float* b, nint ldb, float* c, bool accumulate, float* bias, bool epilogue, TAct act)
    {
        var job = t_instance ??= new RowVectorJob<TAct>();
        WorkerPool pool = WorkerPool.Shared;
        int threads = Math.Min(KilnSettings.Threads, pool.MaxParts);
        bool use512 = Simd.Use512;
        int kb = GemmScratch.KBlock(k), blocks = SplitsK(use512, n, k) ? (k + kb - 1) / kb : 1;
        int parts = blocks > 1 ? Math.Min(threads, blocks) : threads;
        job._n = n; job._k = k; job._kb = kb; job._blocks = blocks; job._a = a; job._aStride = aStride; job._b = b; job._ldb = ldb;
        job._c = c; job._bias = bias; job._accumulate = accumulate; job._epilogue = epilogue; job._act = act;
        int later = blocks - blocks / parts;
        job._partials = blocks > 1 ? ConvScratch.Current.Floats(ConvScratch.SplitKPartialsSlot, (long)later * n) : null;
        try
        {
            pool.RunOnOwnThreads(job, parts);
            if (blocks <= 1) return;
            if (use512) GemmSplitK<TAct>.CombineRow512(c, job._partials, n, later, n, bias, epilogue, act);
            else GemmSplitK<TAct>.CombineRow256(c, job._partials, n, later, n, bias, epilogue, act);
        }
        finally { job._a = job._b = job._c = job._bias = job._partials = null; }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public override void Execute(int part, int parts)
    {
        if (_blocks > 1)
        {
            // Ranges of blocks in reverse: the calling thread (part 0) takes the last blocks, so their scratch
            // rows are its own when it adds them up, and a worker the first ones, added into C.
            // The ranges share the blocks' 16-column slices evenly, as GemmSplitK's parts share column tiles: whole
            // blocks gave the caller 3 of the 784 → 300 layer's 5 (KC 168, Zen 4), 464 of its 784 rows.
            int range = parts - 1 - part;
            int first = _blocks / parts; // range 0's blocks; the later ones have scratch rows from here
            int slices = (_n + 15) / 16;
            long units = (long)_blocks * slices;
            long u = range * units / parts, end = (range + 1) * units / parts;
            if (range == 0)
            {
                GemmRowVector.LeadingBlocks(first * _kb, _n, _k, _a, _aStride, _b, _ldb, _c, _accumulate, null, false, _act);
                u = (long)first * slices;
            }
            while (GemmSplitK<TAct>.NextRun(ref u, end, slices, out int blk, out int s0, out int s1))
            {
                int pc = blk * _kb, from = s0 * 16, to = Math.Min(_n, s1 * 16);
                GemmRowVector.KBlockProduct(to - from, Math.Min(_kb, _k - pc), _a + pc * _aStride, _aStride, _b + pc * _ldb + from, _ldb,
                    _partials + (long)(blk - first) * _n + from, false, null, false, _act);
            }
            return;
        }
        // Slices of whole vectors (16 columns: a multiple of both widths); the last part takes the remainder.
        int vectors = (_n + 15) / 16;
        int j0 = (int)((long)part * vectors / parts) * 16;
        int j1 = part == parts - 1 ? _n : (int)((long)(part + 1) * vectors / parts) * 16;
        if (j1 <= j0) return;
        GemmRowVector.Run(j1 - j0, _k, _a, _aStride, _b + j0, _ldb, _c + j0, _accumulate, _bias == null ? null : _bias + j0, _epilogue, _act);
    }
}
