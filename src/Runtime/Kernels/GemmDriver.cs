using System;
using System.Runtime.CompilerServices;
using Kiln.Threading;

namespace Kiln.Kernels;

/// <summary>
/// The BLIS loop nest around a micro-kernel, with the k blocks outermost: KC k blocks (pack a slice
/// of A) → NC column blocks (pack B) → MC row blocks → NR × MR tiles. Every C element is one FMA chain
/// over k in the same order whatever the tiling, which is what makes results independent of the
/// thread split.
/// </summary>
internal static unsafe class GemmDriver
{
    /// <summary>
    /// Up to this many rows of C, B (when not transposed) is read in place: with few row panels
    /// to reuse it, packing B would cost about as much as the multiplication itself.
    /// </summary>
    internal static int DirectBMaxRows = 64;

    /// <summary>
    /// Up to this many floats (k·n), B (when not transposed) is read in place at any height of C too: a B this small
    /// stays in the core's L2, and a layer's kernel gradient (xᵀ·dz, k the batch) spent a pass over dz per part packing it.
    /// </summary>
    internal static long DirectBMaxFloats = 1L << 15;

    /// <summary>
    /// Whether rows <paramref name="ld"/> floats apart fall in a sixteenth of L1's sets or fewer (a multiple of 64 floats, 256
    /// bytes): read in place, a panel's rows then evict one another; the Fashion CNN's 64 × 128 dz ran its kernel gradient 11 % slower.
    /// </summary>
    private static bool RowsShareSets(nint ld) => (ld & 63) == 0;

    /// <summary>
    /// Up to this depth (k), a transposed A (a layer's input in its kernel gradient xᵀ·dz, stored k×m) is read in place:
    /// each k step's MR floats of a panel already lie side by side, so packing it only copied them.
    /// </summary>
    internal static int DirectAMaxDepth = 64;

    /// <summary>Off: a last panel of few columns takes the narrow tile (a switch for benchmarks' paired windows).</summary>
    internal static bool FewColumns = true;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Serial<TK, TAct>(bool transA, bool transB, int m, int n, int k, float* a, nint lda, float* b, nint ldb,
        float* c, nint ldc, bool accumulate, float* bias, bool epilogue, TAct act, float* packedA = null, int kBlock = 0, float alpha = 1f)
        where TK : struct, IMicroKernel where TAct : struct, IActivation
    {
        // alpha: each k block's product scaled before it is added to C, as BLAS's sgemm does (a fused SGD step's −lr).
        // kBlock: the k blocks' depth, GemmScratch.KBlock(k) unless this is a slice of a deeper product
        // (Gemm.RunWithSharedA), whose blocks must fall where the whole product's do for the same bits.
        // packedA: op(A) already packed by the caller (shared by the threads that split this product's
        // columns, GemmJob):
        // its k blocks one after the other, block pc at rows·pc with rows (all m of them) rounded up to
        // whole panels, so the band of rows from i0 starts i0·kc into its block.
        int mr = TK.MR, nr = TK.NR;
        GemmScratch s = GemmScratch.Current;
        nint packedRows = (m + mr - 1) / mr * mr;
        bool directB = !transB && (m <= DirectBMaxRows || ((long)k * n <= DirectBMaxFloats && !RowsShareSets(ldb)));
        // Whole panels of A in place, a row of A between k steps; a band's last, partial panel is packed (read in
        // place, its rows past m would run off A's end).
        bool directA = transA && packedA == null && k <= DirectAMaxDepth;

        // k blocks outside the column blocks: each k block of A (up to PackedRows rows) is packed once
        // and serves every column block, where packing it per column block re-read and re-transposed
        // A n / NC times (7% of sgemm 1024³ on Zen 5). Per element of C the arithmetic is the
        // same: one FMA chain per k block, the blocks added in k order.
        int kb = kBlock > 0 ? kBlock : GemmScratch.KBlock(k);
        for (int i0 = 0; i0 < m; i0 += GemmScratch.PackedRows)
        {
            int rowsHere = m - i0 < GemmScratch.PackedRows ? m - i0 : GemmScratch.PackedRows;
            for (int pc = 0; pc < k; pc += kb)
            {
                int kc = k - pc < kb ? k - pc : kb;
                bool loadC = accumulate || pc > 0;
                bool applyEpilogue = pc + kc >= k && epilogue;
                float* aSlice = transA ? a + pc * lda + i0 : a + i0 * lda + pc;
                float* aPacked = packedA != null ? packedA + packedRows * pc + (nint)i0 * kc : s.A;
                int wholePanelRows = rowsHere - rowsHere % mr;
                if (directA)
                {
                    if (wholePanelRows < rowsHere) GemmPacking.PackA(true, aSlice + wholePanelRows, lda, rowsHere - wholePanelRows, kc, s.A, mr);
                }
                else if (packedA == null) GemmPacking.PackA(transA, aSlice, lda, rowsHere, kc, s.A, mr);

                for (int jc = 0; jc < n; jc += GemmScratch.NC)
                {
                    int nc = n - jc < GemmScratch.NC ? n - jc : GemmScratch.NC;
                    int fullCols = nc - nc % nr;
                    float* bBlock = transB ? b + jc * ldb + pc : b + pc * ldb + jc;
                    // B's last columns are read in place too when the narrow kernel takes them (it reads under a mask):
                    // packing them for every call made the MLP's batch-32 step 4–5 % slower on Zen 5 (benchmarks/README.md, stop 55).
                    bool narrowInPlace = directB && nc - fullCols <= TK.NarrowCols;
                    if (!directB) GemmPacking.PackB(transB, bBlock, ldb, kc, nc, s.B, nr);
                    else if (!narrowInPlace) GemmPacking.PackB(false, bBlock + fullCols, ldb, kc, nc - fullCols, s.B, nr);

                    for (int ic = 0; ic < rowsHere; ic += GemmScratch.MC)
                    {
                        int mc = rowsHere - ic < GemmScratch.MC ? rowsHere - ic : GemmScratch.MC;
                        float* aBlock = aPacked + (nint)ic * kc;
                        for (int jr = 0; jr < nc; jr += nr)
                        {
                            int cols = nc - jr < nr ? nc - jr : nr;
                            float* bp;
                            nint bStride;
                            if (!directB) { bp = s.B + (nint)jr * kc; bStride = nr; }
                            else if (cols == nr || narrowInPlace) { bp = bBlock + jr; bStride = ldb; }
                            else { bp = s.B; bStride = nr; }
                            float* biasTile = bias == null ? null : bias + jc + jr;

                            for (int ir = 0; ir < mc; ir += mr)
                            {
                                int rows = mc - ir < mr ? mc - ir : mr;
                                float* cp = c + (i0 + ic + ir) * ldc + jc + jr;
                                int row = ic + ir;
                                bool inPlace = directA && row < wholePanelRows;
                                float* ap = inPlace ? aSlice + row : directA ? s.A : aBlock + (nint)ir * kc;
                                nint aStride = inPlace ? lda : mr;
                                // In place, the second panel must be whole and in place too: both step by aStride.
                                if (cols <= TK.FewCols && mc - ir > mr && FewColumns && (!directA || row + 2 * mr <= wholePanelRows))
                                {
                                    // Two row panels at once over the last few columns (the next panel's rows are this call's).
                                    TK.RunFewColumns(Math.Min(2 * mr, mc - ir), cols, kc, ap, aStride, inPlace ? mr : (nint)mr * kc, bp, bStride, cp, ldc, loadC, biasTile, applyEpilogue, act, alpha);
                                    ir += mr;
                                }
                                else if (rows == mr && cols == nr)
                                    TK.Run(kc, ap, aStride, bp, bStride, cp, ldc, loadC, biasTile, applyEpilogue, act, alpha);
                                else if (cols == nr && rows <= TK.TailRows)
                                    TK.RunTail(rows, kc, ap, aStride, bp, bStride, cp, ldc, loadC, biasTile, applyEpilogue, act, alpha);
                                else if (cols <= TK.NarrowCols)
                                    TK.RunNarrow(rows, cols, kc, ap, aStride, bp, bStride, cp, ldc, loadC, biasTile, applyEpilogue, act, alpha);
                                else
                                    EdgeTile<TK, TAct>(s, kc, ap, aStride, bp, bStride, cp, ldc, rows, cols, loadC, biasTile, applyEpilogue, act, alpha);
                            }
                        }
                    }
                }
            }
        }
    }

    // Runs the full-width kernel on a scratch tile and copies back the valid part, so edge
    // elements get exactly the arithmetic of interior ones.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void EdgeTile<TK, TAct>(GemmScratch s, int kc, float* ap, nint aStride, float* bp, nint bStride, float* cp, nint ldc,
        int rows, int cols, bool loadC, float* bias, bool applyEpilogue, TAct act, float alpha)
        where TK : struct, IMicroKernel where TAct : struct, IActivation
    {
        int nr = TK.NR;
        float* t = s.Tile;
        if (loadC) CopyColumns(cp, ldc, t, nr, rows, cols);
        float* bt = null;
        if (applyEpilogue && bias != null)
        {
            bt = s.BiasTile;
            int j = 0;
            for (; j < cols; j++) bt[j] = bias[j];
            for (; j < nr; j++) bt[j] = 0f;
        }
        TK.Run(kc, ap, aStride, bp, bStride, t, nr, loadC, bt, applyEpilogue, act, alpha);
        CopyColumns(t, nr, cp, ldc, rows, cols);
    }

    /// <summary>
    /// dst[r, j] = src[r, j] for the first <paramref name="rows"/> × <paramref name="cols"/> of two row-major blocks: a
    /// full-width tile's valid corner, in or out (here and in the convolutions' edge tiles).
    /// </summary>
    internal static void CopyColumns(float* src, nint lds, float* dst, nint ldd, int rows, int cols)
    {
        for (int r = 0; r < rows; r++)
            for (int j = 0; j < cols; j++) dst[r * ldd + j] = src[r * lds + j];
    }
}

/// <summary>
/// One GEMM split over the worker pool by whole NR column tiles of C (or MR row tiles when C is
/// too narrow), never over k. One instance per calling thread and activation type, reused.
/// </summary>
internal sealed unsafe class GemmJob<TAct> : ParallelJob where TAct : struct, IActivation
{
    [ThreadStatic] private static GemmJob<TAct>? t_instance;

    public static GemmJob<TAct> ForCurrentThread => t_instance ??= new GemmJob<TAct>();

    public bool Use512, TransA, TransB, Accumulate, Epilogue, SplitColumns;
    public int M, N, K;

    /// <summary>The product's scale before it is added to C (<see cref="GemmDriver.Serial"/>'s alpha).</summary>
    public float Alpha = 1f;

    /// <summary>The k blocks' depth when K is a slice of a deeper product (<see cref="Gemm"/>'s shared-A path); 0: GemmScratch.KBlock(K).</summary>
    public int KBlock;
    public float* A, B, C, Bias;

    /// <summary>Non-null: op(A) (one band, its k blocks in order) packed once for all parts (<see cref="GemmPackAJob"/>).</summary>
    public float* PackedA;
    public nint Lda, Ldb, Ldc;
    public TAct Act;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public override void Execute(int part, int parts)
    {
        int mr = Use512 ? MicroKernel512.MR : MicroKernel256.MR;
        int nr = Use512 ? MicroKernel512.NR : MicroKernel256.NR;
        if (SplitColumns)
        {
            int tiles = (N + nr - 1) / nr;
            int j0 = (int)((long)part * tiles / parts) * nr;
            int j1 = part == parts - 1 ? N : (int)((long)(part + 1) * tiles / parts) * nr;
            if (j1 <= j0) return;
            float* b = TransB ? B + j0 * Ldb : B + j0;
            float* bias = Bias == null ? null : Bias + j0;
            Run(M, j1 - j0, A, b, C + j0, bias);
        }
        else
        {
            int tiles = (M + mr - 1) / mr;
            int i0 = (int)((long)part * tiles / parts) * mr;
            int i1 = part == parts - 1 ? M : (int)((long)(part + 1) * tiles / parts) * mr;
            if (i1 <= i0) return;
            float* a = TransA ? A + i0 : A + i0 * Lda;
            Run(i1 - i0, N, a, B, C + i0 * Ldc, Bias);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Run(int m, int n, float* a, float* b, float* c, float* bias)
    {
        if (Use512)
            GemmDriver.Serial<MicroKernel512, TAct>(TransA, TransB, m, n, K, a, Lda, b, Ldb, c, Ldc, Accumulate, bias, Epilogue, Act, PackedA, KBlock, Alpha);
        else
            GemmDriver.Serial<MicroKernel256, TAct>(TransA, TransB, m, n, K, a, Lda, b, Ldb, c, Ldc, Accumulate, bias, Epilogue, Act, PackedA, KBlock, Alpha);
    }
}

/// <summary>
/// Packs one band of op(A), k blocks [0, K) in KC steps, into the micro-kernels' panels (block pc at
/// rows·pc, as GemmDriver.Serial reads a shared copy), split over the pool by whole panels, so that the
/// parts of a column-split GEMM share one packed copy instead of each packing all of A (at 1024³ on two
/// threads that duplicate packing was 9% of the time).
/// </summary>
internal sealed unsafe class GemmPackAJob : ParallelJob
{
    [ThreadStatic] private static GemmPackAJob? t_instance;

    public static GemmPackAJob ForCurrentThread => t_instance ??= new GemmPackAJob();

    public bool TransA;

    /// <summary>K: this slice's depth, packed in blocks KBlock deep (the whole product's, GemmScratch.KBlock).</summary>
    public int Rows, K, KBlock, MR;
    public float* A, Dst;
    public nint Lda;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public override void Execute(int part, int parts)
    {
        int panels = (Rows + MR - 1) / MR;
        int r0 = (int)((long)part * panels / parts) * MR;
        int r1 = Math.Min(Rows, (int)((long)(part + 1) * panels / parts) * MR);
        if (r1 <= r0) return;
        nint packedRows = (nint)panels * MR;
        for (int pc = 0; pc < K; pc += KBlock)
        {
            int kc = Math.Min(KBlock, K - pc);
            float* a = TransA ? A + pc * Lda + r0 : A + r0 * Lda + pc;
            GemmPacking.PackA(TransA, a, Lda, r1 - r0, kc, Dst + packedRows * pc + (nint)r0 * kc, MR);
        }
    }
}
