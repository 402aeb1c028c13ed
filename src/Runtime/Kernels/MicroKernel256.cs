using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Kiln.Kernels;

/// <summary>
/// 6×16 tile in 12 ymm accumulators for machines without fast 512-bit vectors: with two B
/// registers and one broadcast it fits the 16 ymm registers of AVX2.
/// </summary>
internal readonly unsafe struct MicroKernel256 : IMicroKernel
{
    public static int MR => 6;
    public static int NR => 16;

    /// <summary>K steps of A prefetched ahead, as in <see cref="MicroKernel512"/>.</summary>
    private const int APrefetchSteps = 32;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Run<TAct>(int kc, float* a, nint aStride, float* b, nint ldb, float* c, nint ldc, bool loadC, float* bias, bool epilogue, TAct act, float alpha)
        where TAct : struct, IActivation =>
        Tile<WholeUpper, TAct>(MR, kc, a, aStride, b, ldb, c, ldc, loadC, bias, epilogue, act, alpha, default);

    /// <summary>
    /// The 6 × 16 tile in twelve accumulators, its upper eight columns read and written whole (<see cref="Run"/>) or under
    /// <paramref name="upper"/>'s lanes (<see cref="RunNarrowWide"/>); the first <paramref name="rows"/> rows stored. Each
    /// element is one FMA chain over k either way.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Tile<TUpper, TAct>(int rows, int kc, float* a, nint aStride, float* b, nint ldb, float* c, nint ldc, bool loadC, float* bias, bool epilogue,
        TAct act, float alpha, Vector256<float> upper) where TUpper : struct, IUpperHalf where TAct : struct, IActivation
    {
        // C's six rows are fetched while the FMAs run, not missed at the stores (see MicroKernel512).
        if (Sse.IsSupported)
        {
            float* cr = c;
            for (int r = 0; r < rows; r++, cr += ldc)
            {
                Sse.Prefetch0(cr);
                Sse.Prefetch0(cr + 15);
            }
        }

        Vector256<float> c00 = default, c01 = default, c10 = default, c11 = default;
        Vector256<float> c20 = default, c21 = default, c30 = default, c31 = default;
        Vector256<float> c40 = default, c41 = default, c50 = default, c51 = default;

        // A read in place (a row of A a k step) is fetched a line ahead in its row, the panel after next: 32 rows on lies
        // past a short product's A, and each prefetch there cost a page walk (the MLP's kernel gradient ran 20 % slower).
        nint aAhead = aStride == MR ? APrefetchSteps * MR : 16;
        for (int p = 0; p < kc; p++)
        {
            if (Sse.IsSupported) Sse.Prefetch0(a + aAhead);
            Vector256<float> b0 = Vector256.Load(b);
            Vector256<float> b1 = TUpper.Load(b + 8, upper);
            Vector256<float> ai = Vector256.Create(a[0]);
            c00 = Vector256.FusedMultiplyAdd(ai, b0, c00); c01 = Vector256.FusedMultiplyAdd(ai, b1, c01);
            ai = Vector256.Create(a[1]);
            c10 = Vector256.FusedMultiplyAdd(ai, b0, c10); c11 = Vector256.FusedMultiplyAdd(ai, b1, c11);
            ai = Vector256.Create(a[2]);
            c20 = Vector256.FusedMultiplyAdd(ai, b0, c20); c21 = Vector256.FusedMultiplyAdd(ai, b1, c21);
            ai = Vector256.Create(a[3]);
            c30 = Vector256.FusedMultiplyAdd(ai, b0, c30); c31 = Vector256.FusedMultiplyAdd(ai, b1, c31);
            ai = Vector256.Create(a[4]);
            c40 = Vector256.FusedMultiplyAdd(ai, b0, c40); c41 = Vector256.FusedMultiplyAdd(ai, b1, c41);
            ai = Vector256.Create(a[5]);
            c50 = Vector256.FusedMultiplyAdd(ai, b0, c50); c51 = Vector256.FusedMultiplyAdd(ai, b1, c51);
            a += aStride;
            b += ldb;
        }

        if (alpha != 1f)
        {
            var s = Vector256.Create(alpha);
            c00 *= s; c01 *= s; c10 *= s; c11 *= s; c20 *= s; c21 *= s;
            c30 *= s; c31 *= s; c40 *= s; c41 *= s; c50 *= s; c51 *= s;
        }
        bool withBias = epilogue && bias != null;
        Vector256<float> bias0 = withBias ? Vector256.Load(bias) : Vector256<float>.Zero;
        Vector256<float> bias1 = withBias ? TUpper.Load(bias + 8, upper) : Vector256<float>.Zero;
        Store<TUpper, TAct>(c, c00, c01, upper, loadC, epilogue, bias0, bias1, act);
        if (rows > 1) Store<TUpper, TAct>(c + ldc, c10, c11, upper, loadC, epilogue, bias0, bias1, act);
        if (rows > 2) Store<TUpper, TAct>(c + 2 * ldc, c20, c21, upper, loadC, epilogue, bias0, bias1, act);
        if (rows > 3) Store<TUpper, TAct>(c + 3 * ldc, c30, c31, upper, loadC, epilogue, bias0, bias1, act);
        if (rows > 4) Store<TUpper, TAct>(c + 4 * ldc, c40, c41, upper, loadC, epilogue, bias0, bias1, act);
        if (rows > 5) Store<TUpper, TAct>(c + 5 * ldc, c50, c51, upper, loadC, epilogue, bias0, bias1, act);
    }

    public static int TailRows => 4;

    /// <summary>
    /// Up to four rows in eight accumulators: eight FMA chains, enough to keep two pipes busy, so a 2-row remainder costs
    /// four FMA cycles a k step instead of a full tile's 6 plus its copy. All four are computed (the packed panel
    /// has 6 floats a k step, the rows past <paramref name="rows"/> padding) and the first <paramref name="rows"/> stored.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void RunTail<TAct>(int rows, int kc, float* a, nint aStride, float* b, nint ldb, float* c, nint ldc, bool loadC, float* bias, bool epilogue, TAct act, float alpha)
        where TAct : struct, IActivation
    {
        Vector256<float> c00 = default, c01 = default, c10 = default, c11 = default;
        Vector256<float> c20 = default, c21 = default, c30 = default, c31 = default;
        for (int p = 0; p < kc; p++)
        {
            Vector256<float> b0 = Vector256.Load(b);
            Vector256<float> b1 = Vector256.Load(b + 8);
            Vector256<float> ai = Vector256.Create(a[0]);
            c00 = Vector256.FusedMultiplyAdd(ai, b0, c00); c01 = Vector256.FusedMultiplyAdd(ai, b1, c01);
            ai = Vector256.Create(a[1]);
            c10 = Vector256.FusedMultiplyAdd(ai, b0, c10); c11 = Vector256.FusedMultiplyAdd(ai, b1, c11);
            ai = Vector256.Create(a[2]);
            c20 = Vector256.FusedMultiplyAdd(ai, b0, c20); c21 = Vector256.FusedMultiplyAdd(ai, b1, c21);
            ai = Vector256.Create(a[3]);
            c30 = Vector256.FusedMultiplyAdd(ai, b0, c30); c31 = Vector256.FusedMultiplyAdd(ai, b1, c31);
            a += aStride;
            b += ldb;
        }

        if (alpha != 1f)
        {
            var s = Vector256.Create(alpha);
            c00 *= s; c01 *= s; c10 *= s; c11 *= s; c20 *= s; c21 *= s; c30 *= s; c31 *= s;
        }
        LoadBias(bias, epilogue, out var bias0, out var bias1);
        Store<WholeUpper, TAct>(c, c00, c01, default, loadC, epilogue, bias0, bias1, act);
        if (rows > 1) Store<WholeUpper, TAct>(c + ldc, c10, c11, default, loadC, epilogue, bias0, bias1, act);
        if (rows > 2) Store<WholeUpper, TAct>(c + 2 * ldc, c20, c21, default, loadC, epilogue, bias0, bias1, act);
        if (rows > 3) Store<WholeUpper, TAct>(c + 3 * ldc, c30, c31, default, loadC, epilogue, bias0, bias1, act);
    }

    public static int NarrowCols => Avx.IsSupported ? NR - 1 : 0;

    /// <summary>None: a 6-row panel fills six of a ymm register's eight lanes, and the narrow tile serves these columns.</summary>
    public static int FewCols => 0;

    public static void RunFewColumns<TAct>(int rows, int cols, int kc, float* a, nint aStride, nint panelStride, float* b, nint ldb, float* c, nint ldc,
        bool loadC, float* bias, bool epilogue, TAct act, float alpha) where TAct : struct, IActivation =>
        throw new System.NotSupportedException("the 256-bit micro-kernel takes no columns in its few-column form (FewCols is 0)");

    /// <summary>
    /// Up to 6 rows × 8 columns in six accumulators: fewer chains than FMA latency covers, yet half the full tile's FMAs
    /// and no scratch copy; 9 to 15 columns take the full tile's twelve (<see cref="RunNarrowWide"/>).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void RunNarrow<TAct>(int rows, int cols, int kc, float* a, nint aStride, float* b, nint ldb, float* c, nint ldc, bool loadC, float* bias, bool epilogue, TAct act, float alpha)
        where TAct : struct, IActivation
    {
        if (cols > 8)
        {
            RunNarrowWide(rows, cols, kc, a, aStride, b, ldb, c, ldc, loadC, bias, epilogue, act, alpha);
            return;
        }
        // Lanes past cols are neither read nor written: the row may end there, in B (read in place, GemmDriver) as in C.
        Vector256<float> mask = Lanes8.FirstLanes(cols).V;
        Vector256<float> c0 = default, c1 = default, c2 = default, c3 = default, c4 = default, c5 = default;
        for (int p = 0; p < kc; p++)
        {
            Vector256<float> b0 = Avx.MaskLoad(b, mask);
            c0 = Vector256.FusedMultiplyAdd(Vector256.Create(a[0]), b0, c0);
            c1 = Vector256.FusedMultiplyAdd(Vector256.Create(a[1]), b0, c1);
            c2 = Vector256.FusedMultiplyAdd(Vector256.Create(a[2]), b0, c2);
            c3 = Vector256.FusedMultiplyAdd(Vector256.Create(a[3]), b0, c3);
            c4 = Vector256.FusedMultiplyAdd(Vector256.Create(a[4]), b0, c4);
            c5 = Vector256.FusedMultiplyAdd(Vector256.Create(a[5]), b0, c5);
            a += aStride;
            b += ldb;
        }

        if (alpha != 1f)
        {
            var s = Vector256.Create(alpha);
            c0 *= s; c1 *= s; c2 *= s; c3 *= s; c4 *= s; c5 *= s;
        }
        Vector256<float> bias0 = epilogue && bias != null ? Avx.MaskLoad(bias, mask) : Vector256<float>.Zero;
        StoreNarrow(c, c0, mask, loadC, epilogue, bias0, act);
        if (rows > 1) StoreNarrow(c + ldc, c1, mask, loadC, epilogue, bias0, act);
        if (rows > 2) StoreNarrow(c + 2 * ldc, c2, mask, loadC, epilogue, bias0, act);
        if (rows > 3) StoreNarrow(c + 3 * ldc, c3, mask, loadC, epilogue, bias0, act);
        if (rows > 4) StoreNarrow(c + 4 * ldc, c4, mask, loadC, epilogue, bias0, act);
        if (rows > 5) StoreNarrow(c + 5 * ldc, c5, mask, loadC, epilogue, bias0, act);
    }

    /// <summary>
    /// 9 to 15 columns of up to 6 rows: <see cref="Run"/>'s twelve accumulators with the second vector read and written
    /// under a lane mask, so a 300-wide layer's last 12 columns are read in place (GemmDriver) instead of packed and
    /// multiplied on a scratch tile. Each element is the same FMA chain as in <see cref="Run"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void RunNarrowWide<TAct>(int rows, int cols, int kc, float* a, nint aStride, float* b, nint ldb, float* c, nint ldc, bool loadC, float* bias, bool epilogue, TAct act, float alpha)
        where TAct : struct, IActivation =>
        Tile<MaskedUpper, TAct>(rows, kc, a, aStride, b, ldb, c, ldc, loadC, bias, epilogue, act, alpha,
            Lanes8.FirstLanes(cols - 8).V);

    /// <summary>How <see cref="Tile"/> reads a tile's upper eight columns of B and of the bias: whole, or under a lane mask.</summary>
    private interface IUpperHalf
    {
        static abstract bool Masked { get; }
        static abstract Vector256<float> Load(float* p, Vector256<float> mask);
    }

    private readonly struct WholeUpper : IUpperHalf
    {
        public static bool Masked => false;
        public static Vector256<float> Load(float* p, Vector256<float> mask) => Vector256.Load(p);
    }

    private readonly struct MaskedUpper : IUpperHalf
    {
        public static bool Masked => true;
        public static Vector256<float> Load(float* p, Vector256<float> mask) => Avx.MaskLoad(p, mask);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreNarrow<TAct>(float* c, Vector256<float> v, Vector256<float> mask, bool loadC, bool epilogue, Vector256<float> bias, TAct act)
        where TAct : struct, IActivation
    {
        if (loadC) v = Avx.MaskLoad(c, mask) + v;
        if (epilogue) v = act.Apply(v + bias);
        Avx.MaskStore(c, mask, v);
    }

    /// <summary>The tile's 16 bias values for the epilogue; zeros without one.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void LoadBias(float* bias, bool epilogue, out Vector256<float> bias0, out Vector256<float> bias1)
    {
        bool load = epilogue && bias != null;
        bias0 = load ? Vector256.Load(bias) : Vector256<float>.Zero;
        bias1 = load ? Vector256.Load(bias + 8) : Vector256<float>.Zero;
    }

    /// <summary>One row of a tile: (C +) v (+ bias, activation), the upper half under <paramref name="upper"/>'s lanes where <typeparamref name="TUpper"/> masks.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store<TUpper, TAct>(float* c, Vector256<float> v0, Vector256<float> v1, Vector256<float> upper, bool loadC, bool epilogue,
        Vector256<float> bias0, Vector256<float> bias1, TAct act) where TUpper : struct, IUpperHalf where TAct : struct, IActivation
    {
        if (loadC) v0 = Vector256.Load(c) + v0;
        if (epilogue) v0 = act.Apply(v0 + bias0);
        Vector256.Store(v0, c);
        if (TUpper.Masked)
        {
            StoreNarrow(c + 8, v1, upper, loadC, epilogue, bias1, act);
            return;
        }
        if (loadC) v1 = Vector256.Load(c + 8) + v1;
        if (epilogue) v1 = act.Apply(v1 + bias1);
        Vector256.Store(v1, c + 8);
    }
}
