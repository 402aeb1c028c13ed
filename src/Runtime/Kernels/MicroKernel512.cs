using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Kiln.Kernels;

/// <summary>
/// 8×32 tile in 16 zmm accumulators: two B loads and eight broadcasts feed 16 FMAs per k step,
/// enough independent chains to cover FMA latency on two 512-bit pipes, and 8 rows divide the
/// usual batch sizes (32, 256) exactly. With the panels in L1 this loop runs at 93–97% of the
/// machine's FMA peak (benchmarks/README.md, "sgemm micro-kernel"); what the whole GEMM loses is
/// around it, so C's lines are prefetched before the k loop rather than missed after it.
/// </summary>
internal readonly unsafe struct MicroKernel512 : IMicroKernel
{
    public static int MR => 8;
    public static int NR => 32;

    /// <summary>
    /// K steps of A prefetched ahead (about 250 cycles): the packed A slice is read from L3 on its first
    /// column block, and the next panel follows this one in memory, so the stream runs on (past the end of
    /// the slice a prefetch is only a hint: it never faults). A read in place steps a row of A at a time.
    /// </summary>
    private const int APrefetchSteps = 32;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Run<TAct>(int kc, float* a, nint aStride, float* b, nint ldb, float* c, nint ldc, bool loadC, float* bias, bool epilogue, TAct act, float alpha)
        where TAct : struct, IActivation
    {
        // Eight rows of C lie a leading dimension apart (often 4 KiB: the same L1 set), usually in L3
        // or memory; fetched now they arrive during the ~2,000 cycles of FMAs instead of stalling the
        // stores at the end. Three lines cover a 128-byte row at any alignment; for writes too (RFO).
        if (Sse.IsSupported)
        {
            float* cr = c;
            for (int r = 0; r < 8; r++, cr += ldc)
            {
                Sse.Prefetch0(cr);
                Sse.Prefetch0(cr + 16);
                Sse.Prefetch0(cr + 31);
            }
        }

        Vector512<float> c00 = default, c01 = default, c10 = default, c11 = default;
        Vector512<float> c20 = default, c21 = default, c30 = default, c31 = default;
        Vector512<float> c40 = default, c41 = default, c50 = default, c51 = default;
        Vector512<float> c60 = default, c61 = default, c70 = default, c71 = default;

        // A read in place (a row of A a k step) is fetched a line ahead in its row, the panel after next: 32 rows on lies
        // past a short product's A, and each prefetch there cost a page walk (the MLP's kernel gradient ran 20 % slower).
        nint aAhead = aStride == MR ? APrefetchSteps * MR : 16;
        for (int p = 0; p < kc; p++)
        {
            if (Sse.IsSupported) Sse.Prefetch0(a + aAhead);
            Vector512<float> b0 = Vector512.Load(b);
            Vector512<float> b1 = Vector512.Load(b + 16);
            Vector512<float> ai = Vector512.Create(a[0]);
            c00 = Vector512.FusedMultiplyAdd(ai, b0, c00); c01 = Vector512.FusedMultiplyAdd(ai, b1, c01);
            ai = Vector512.Create(a[1]);
            c10 = Vector512.FusedMultiplyAdd(ai, b0, c10); c11 = Vector512.FusedMultiplyAdd(ai, b1, c11);
            ai = Vector512.Create(a[2]);
            c20 = Vector512.FusedMultiplyAdd(ai, b0, c20); c21 = Vector512.FusedMultiplyAdd(ai, b1, c21);
            ai = Vector512.Create(a[3]);
            c30 = Vector512.FusedMultiplyAdd(ai, b0, c30); c31 = Vector512.FusedMultiplyAdd(ai, b1, c31);
            ai = Vector512.Create(a[4]);
            c40 = Vector512.FusedMultiplyAdd(ai, b0, c40); c41 = Vector512.FusedMultiplyAdd(ai, b1, c41);
            ai = Vector512.Create(a[5]);
            c50 = Vector512.FusedMultiplyAdd(ai, b0, c50); c51 = Vector512.FusedMultiplyAdd(ai, b1, c51);
            ai = Vector512.Create(a[6]);
            c60 = Vector512.FusedMultiplyAdd(ai, b0, c60); c61 = Vector512.FusedMultiplyAdd(ai, b1, c61);
            ai = Vector512.Create(a[7]);
            c70 = Vector512.FusedMultiplyAdd(ai, b0, c70); c71 = Vector512.FusedMultiplyAdd(ai, b1, c71);
            a += aStride;
            b += ldb;
        }

        if (alpha != 1f)
        {
            var s = Vector512.Create(alpha);
            c00 *= s; c01 *= s; c10 *= s; c11 *= s; c20 *= s; c21 *= s; c30 *= s; c31 *= s;
            c40 *= s; c41 *= s; c50 *= s; c51 *= s; c60 *= s; c61 *= s; c70 *= s; c71 *= s;
        }
        LoadBias(bias, epilogue, out var bias0, out var bias1);
        Store(c, c00, c01, loadC, epilogue, bias0, bias1, act); c += ldc;
        Store(c, c10, c11, loadC, epilogue, bias0, bias1, act); c += ldc;
        Store(c, c20, c21, loadC, epilogue, bias0, bias1, act); c += ldc;
        Store(c, c30, c31, loadC, epilogue, bias0, bias1, act); c += ldc;
        Store(c, c40, c41, loadC, epilogue, bias0, bias1, act); c += ldc;
        Store(c, c50, c51, loadC, epilogue, bias0, bias1, act); c += ldc;
        Store(c, c60, c61, loadC, epilogue, bias0, bias1, act); c += ldc;
        Store(c, c70, c71, loadC, epilogue, bias0, bias1, act);
    }

    public static int TailRows => 4;

    /// <summary>
    /// Up to four rows in eight accumulators: eight FMA chains, enough to keep two pipes busy, so a 2-row remainder costs
    /// four FMA cycles a k step instead of a full tile's 8 plus its copy. All four are computed (the packed panel
    /// has 8 floats a k step, the rows past <paramref name="rows"/> padding) and the first <paramref name="rows"/> stored.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void RunTail<TAct>(int rows, int kc, float* a, nint aStride, float* b, nint ldb, float* c, nint ldc, bool loadC, float* bias, bool epilogue, TAct act, float alpha)
        where TAct : struct, IActivation
    {
        Vector512<float> c00 = default, c01 = default, c10 = default, c11 = default;
        Vector512<float> c20 = default, c21 = default, c30 = default, c31 = default;
        for (int p = 0; p < kc; p++)
        {
            Vector512<float> b0 = Vector512.Load(b);
            Vector512<float> b1 = Vector512.Load(b + 16);
            Vector512<float> ai = Vector512.Create(a[0]);
            c00 = Vector512.FusedMultiplyAdd(ai, b0, c00); c01 = Vector512.FusedMultiplyAdd(ai, b1, c01);
            ai = Vector512.Create(a[1]);
            c10 = Vector512.FusedMultiplyAdd(ai, b0, c10); c11 = Vector512.FusedMultiplyAdd(ai, b1, c11);
            ai = Vector512.Create(a[2]);
            c20 = Vector512.FusedMultiplyAdd(ai, b0, c20); c21 = Vector512.FusedMultiplyAdd(ai, b1, c21);
            ai = Vector512.Create(a[3]);
            c30 = Vector512.FusedMultiplyAdd(ai, b0, c30); c31 = Vector512.FusedMultiplyAdd(ai, b1, c31);
            a += aStride;
            b += ldb;
        }

        if (alpha != 1f)
        {
            var s = Vector512.Create(alpha);
            c00 *= s; c01 *= s; c10 *= s; c11 *= s; c20 *= s; c21 *= s; c30 *= s; c31 *= s;
        }
        LoadBias(bias, epilogue, out var bias0, out var bias1);
        Store(c, c00, c01, loadC, epilogue, bias0, bias1, act);
        if (rows > 1) Store(c + ldc, c10, c11, loadC, epilogue, bias0, bias1, act);
        if (rows > 2) Store(c + 2 * ldc, c20, c21, loadC, epilogue, bias0, bias1, act);
        if (rows > 3) Store(c + 3 * ldc, c30, c31, loadC, epilogue, bias0, bias1, act);
    }

    public static int NarrowCols => Avx512F.IsSupported ? 16 : 0;

    /// <summary>
    /// Up to 4 columns: a 100-wide product's last 4 (100 = 3·32 + 4), where the narrow tile computes 16 lanes a row to keep 4.
    /// Sixteen rows (two 8-row panels, one ymm register each) over 4 columns are eight FMA chains, as many as the narrow
    /// tile's, at half its FMAs.
    /// </summary>
    public static int FewCols => 4;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void RunFewColumns<TAct>(int rows, int cols, int kc, float* a, nint aStride, nint panelStride, float* b, nint ldb, float* c, nint ldc,
        bool loadC, float* bias, bool epilogue, TAct act, float alpha) where TAct : struct, IActivation
    {
        Vector256<float> c00 = default, c01 = default, c10 = default, c11 = default;
        Vector256<float> c20 = default, c21 = default, c30 = default, c31 = default;
        float* a1 = a + panelStride;
        for (int p = 0; p < kc; p++)
        {
            Vector256<float> top = Vector256.Load(a), bottom = Vector256.Load(a1);
            Vector256<float> bj = Vector256.Create(b[0]);
            c00 = Vector256.FusedMultiplyAdd(top, bj, c00); c01 = Vector256.FusedMultiplyAdd(bottom, bj, c01);
            if (cols > 1)
            {
                bj = Vector256.Create(b[1]);
                c10 = Vector256.FusedMultiplyAdd(top, bj, c10); c11 = Vector256.FusedMultiplyAdd(bottom, bj, c11);
            }
            if (cols > 2)
            {
                bj = Vector256.Create(b[2]);
                c20 = Vector256.FusedMultiplyAdd(top, bj, c20); c21 = Vector256.FusedMultiplyAdd(bottom, bj, c21);
            }
            if (cols > 3)
            {
                bj = Vector256.Create(b[3]);
                c30 = Vector256.FusedMultiplyAdd(top, bj, c30); c31 = Vector256.FusedMultiplyAdd(bottom, bj, c31);
            }
            a += aStride;
            a1 += aStride;
            b += ldb;
        }

        // Each element's epilogue in scalar arithmetic, the same bits as the tiles' lanes (ActivationTests checks Apply at every width).
        float* t = stackalloc float[64];
        Vector256.Store(c00, t); Vector256.Store(c01, t + 8); Vector256.Store(c10, t + 16); Vector256.Store(c11, t + 24);
        Vector256.Store(c20, t + 32); Vector256.Store(c21, t + 40); Vector256.Store(c30, t + 48); Vector256.Store(c31, t + 56);
        for (int j = 0; j < cols; j++)
        {
            float biasJ = epilogue && bias != null ? bias[j] : 0f;
            for (int r = 0; r < rows; r++)
            {
                float v = t[16 * j + r];
                if (alpha != 1f) v *= alpha;
                float* at = c + r * ldc + j;
                if (loadC) v = *at + v;
                if (epilogue) v = act.Apply(v + biasJ);
                *at = v;
            }
        }
    }

    /// <summary>Up to 8 rows × 16 columns in eight accumulators: eight FMA chains, as <see cref="RunTail"/>, at half a tile's FMAs.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void RunNarrow<TAct>(int rows, int cols, int kc, float* a, nint aStride, float* b, nint ldb, float* c, nint ldc, bool loadC, float* bias, bool epilogue, TAct act, float alpha)
        where TAct : struct, IActivation
    {
        if (Sse.IsSupported)
        {
            float* cr = c;
            for (int r = 0; r < rows; r++, cr += ldc)
            {
                Sse.Prefetch0(cr);
                Sse.Prefetch0(cr + cols - 1);
            }
        }

        // Lanes past cols are neither read nor written: the row may end there, in B (read in place, GemmDriver) as in C.
        Vector512<float> mask = Lanes16.FirstLanes(cols).V;
        Vector512<float> c0 = default, c1 = default, c2 = default, c3 = default;
        Vector512<float> c4 = default, c5 = default, c6 = default, c7 = default;
        for (int p = 0; p < kc; p++)
        {
            Vector512<float> b0 = Avx512F.MaskLoad(b, mask, Vector512<float>.Zero);
            c0 = Vector512.FusedMultiplyAdd(Vector512.Create(a[0]), b0, c0);
            c1 = Vector512.FusedMultiplyAdd(Vector512.Create(a[1]), b0, c1);
            c2 = Vector512.FusedMultiplyAdd(Vector512.Create(a[2]), b0, c2);
            c3 = Vector512.FusedMultiplyAdd(Vector512.Create(a[3]), b0, c3);
            c4 = Vector512.FusedMultiplyAdd(Vector512.Create(a[4]), b0, c4);
            c5 = Vector512.FusedMultiplyAdd(Vector512.Create(a[5]), b0, c5);
            c6 = Vector512.FusedMultiplyAdd(Vector512.Create(a[6]), b0, c6);
            c7 = Vector512.FusedMultiplyAdd(Vector512.Create(a[7]), b0, c7);
            a += aStride;
            b += ldb;
        }

        if (alpha != 1f)
        {
            var s = Vector512.Create(alpha);
            c0 *= s; c1 *= s; c2 *= s; c3 *= s; c4 *= s; c5 *= s; c6 *= s; c7 *= s;
        }
        Vector512<float> bias0 = epilogue && bias != null ? Avx512F.MaskLoad(bias, mask, Vector512<float>.Zero) : Vector512<float>.Zero;
        StoreNarrow(c, c0, mask, loadC, epilogue, bias0, act);
        if (rows > 1) StoreNarrow(c + ldc, c1, mask, loadC, epilogue, bias0, act);
        if (rows > 2) StoreNarrow(c + 2 * ldc, c2, mask, loadC, epilogue, bias0, act);
        if (rows > 3) StoreNarrow(c + 3 * ldc, c3, mask, loadC, epilogue, bias0, act);
        if (rows > 4) StoreNarrow(c + 4 * ldc, c4, mask, loadC, epilogue, bias0, act);
        if (rows > 5) StoreNarrow(c + 5 * ldc, c5, mask, loadC, epilogue, bias0, act);
        if (rows > 6) StoreNarrow(c + 6 * ldc, c6, mask, loadC, epilogue, bias0, act);
        if (rows > 7) StoreNarrow(c + 7 * ldc, c7, mask, loadC, epilogue, bias0, act);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreNarrow<TAct>(float* c, Vector512<float> v, Vector512<float> mask, bool loadC, bool epilogue, Vector512<float> bias, TAct act)
        where TAct : struct, IActivation
    {
        if (loadC) v = Avx512F.MaskLoad(c, mask, Vector512<float>.Zero) + v;
        if (epilogue) v = act.Apply(v + bias);
        Avx512F.MaskStore(c, mask, v);
    }

    /// <summary>The tile's 32 bias values for the epilogue; zeros without one.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void LoadBias(float* bias, bool epilogue, out Vector512<float> bias0, out Vector512<float> bias1)
    {
        bool load = epilogue && bias != null;
        bias0 = load ? Vector512.Load(bias) : Vector512<float>.Zero;
        bias1 = load ? Vector512.Load(bias + 16) : Vector512<float>.Zero;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store<TAct>(float* c, Vector512<float> v0, Vector512<float> v1, bool loadC, bool epilogue,
        Vector512<float> bias0, Vector512<float> bias1, TAct act) where TAct : struct, IActivation
    {
        if (loadC)
        {
            v0 = Vector512.Load(c) + v0;
            v1 = Vector512.Load(c + 16) + v1;
        }
        if (epilogue)
        {
            v0 = act.Apply(v0 + bias0);
            v1 = act.Apply(v1 + bias1);
        }
        Vector512.Store(v0, c);
        Vector512.Store(v1, c + 16);
    }
}
