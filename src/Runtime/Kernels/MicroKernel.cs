namespace Kiln.Kernels;

/// <summary>
/// A register-blocked MR×NR tile of C = Apanel·Bpanel. Static abstract so the blocked driver is
/// specialized per kernel by the JIT. A has MR floats per k step at a stride of <c>aStride</c> floats, which
/// is MR when packed or the source row length when a transposed A is read in place; B has NR floats per k
/// step at a stride of <c>ldb</c> floats, which is NR when packed or the source row length when read in place.
/// </summary>
internal unsafe interface IMicroKernel
{
    static abstract int MR { get; }
    static abstract int NR { get; }

    /// <summary>
    /// Full tile: C = alpha·acc (or C += alpha·acc when <paramref name="loadC"/>), the product rounded, then scaled (unless
    /// <paramref name="alpha"/> is 1), then added; then, when <paramref name="epilogue"/>, C = act(C + bias) with bias null meaning none.
    /// </summary>
    static abstract void Run<TAct>(int kc, float* a, nint aStride, float* b, nint ldb, float* c, nint ldc, bool loadC, float* bias, bool epilogue, TAct act, float alpha)
        where TAct : struct, IActivation;

    /// <summary>The most rows <see cref="RunTail"/> takes: a product's last, partial row panel of at most this many rows.</summary>
    static abstract int TailRows { get; }

    /// <summary>
    /// The first <paramref name="rows"/> (1 to <see cref="TailRows"/>) rows of a full-width tile, A at MR floats a k step as for
    /// <see cref="Run"/>: fewer FMAs a k step than the full tile and no scratch tile to copy back, with each element the same FMA chain,
    /// so the same bits as <see cref="Run"/> on a scratch tile.
    /// </summary>
    static abstract void RunTail<TAct>(int rows, int kc, float* a, nint aStride, float* b, nint ldb, float* c, nint ldc, bool loadC, float* bias, bool epilogue, TAct act, float alpha)
        where TAct : struct, IActivation;

    /// <summary>
    /// The most columns <see cref="RunNarrow"/> takes (half a tile at 512 bits, all but a whole tile at 256), or 0 where the
    /// processor lacks the masked loads and stores it needs; a narrower last column panel then runs the full tile on a scratch copy.
    /// </summary>
    static abstract int NarrowCols { get; }

    /// <summary>
    /// The first <paramref name="rows"/> (1 to MR) rows and <paramref name="cols"/> (1 to <see cref="NarrowCols"/>) columns of a
    /// tile: one accumulator a row instead of two, read and written under a lane mask, B as well as C (so B's last columns may
    /// be read in place where a row ends). An MLP's 10-class output or a 300-wide layer's last 12 columns no longer pay a full
    /// tile's FMAs and its scratch copy; each element is the same FMA chain, so the same bits as <see cref="Run"/>.
    /// </summary>
    static abstract void RunNarrow<TAct>(int rows, int cols, int kc, float* a, nint aStride, float* b, nint ldb, float* c, nint ldc, bool loadC, float* bias, bool epilogue, TAct act, float alpha)
        where TAct : struct, IActivation;

    /// <summary>The most columns <see cref="RunFewColumns"/> takes; 0 where it is not used.</summary>
    static abstract int FewCols { get; }

    /// <summary>
    /// The first <paramref name="rows"/> (MR + 1 to 2·MR) rows and <paramref name="cols"/> (1 to <see cref="FewCols"/>) columns of
    /// a tile, A as two panels <paramref name="panelStride"/> floats apart, with the rows in the vector lanes: one FMA a
    /// column and panel per k step, where <see cref="RunNarrow"/> spends one a row on a vector whose lanes past
    /// <paramref name="cols"/> are discarded. Each element is the same FMA chain, so the same bits.
    /// </summary>
    static abstract void RunFewColumns<TAct>(int rows, int cols, int kc, float* a, nint aStride, nint panelStride, float* b, nint ldb, float* c, nint ldc,
        bool loadC, float* bias, bool epilogue, TAct act, float alpha) where TAct : struct, IActivation;
}
