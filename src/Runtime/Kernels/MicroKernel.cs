namespace Kiln.Kernels;

/// <summary>
/// A register-blocked MR×NR tile of C = Apanel·Bpanel. Static abstract so the blocked driver is
/// specialized per kernel by the JIT. A is packed (MR floats per k step); B has NR floats per k step
/// at a stride of <c>ldb</c> floats, which is NR when packed or the source row length when read in place.
/// </summary>
internal unsafe interface IMicroKernel
{
    static abstract int MR { get; }
    static abstract int NR { get; }

    /// <summary>
    /// Full tile: C = acc (or C += acc when <paramref name="loadC"/>); then, when <paramref name="epilogue"/>,
    /// C = act(C + bias) with bias null meaning none.
    /// </summary>
    static abstract void Run<TAct>(int kc, float* a, float* b, nint ldb, float* c, nint ldc, bool loadC, float* bias, bool epilogue, TAct act)
        where TAct : struct, IActivation;
}
