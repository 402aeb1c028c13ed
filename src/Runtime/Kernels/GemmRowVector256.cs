using System;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Kiln.Kernels;

/// <summary>
/// <see cref="GemmRowVector"/>'s block in 256-bit registers: up to 12 accumulators of 8 columns
/// (96 columns), which with the broadcast of a[p], the last vector's mask and a loaded vector fits
/// AVX2's 16 registers.
/// </summary>
internal static unsafe class GemmRowVector256
{
    public const int MaxVectors = 12;

    /// <summary>C[0..n) = a·B[:, 0..n) (+C, then the epilogue) for 1 ≤ n ≤ 8·<see cref="MaxVectors"/>.</summary>
    public static void Block<TAct>(int n, int k, float* a, nint aStride, float* b, nint ldb, float* c, bool accumulate, float* bias, bool epilogue, TAct act)
        where TAct : struct, IActivation
    {
        switch ((n + 7) >> 3)
        {
            case 1: Block<Vectors1, TAct>(n, k, a, aStride, b, ldb, c, accumulate, bias, epilogue, act); break;
            case 2: Block<Vectors2, TAct>(n, k, a, aStride, b, ldb, c, accumulate, bias, epilogue, act); break;
            case 3: Block<Vectors3, TAct>(n, k, a, aStride, b, ldb, c, accumulate, bias, epilogue, act); break;
            case 4: Block<Vectors4, TAct>(n, k, a, aStride, b, ldb, c, accumulate, bias, epilogue, act); break;
            case 5: Block<Vectors5, TAct>(n, k, a, aStride, b, ldb, c, accumulate, bias, epilogue, act); break;
            case 6: Block<Vectors6, TAct>(n, k, a, aStride, b, ldb, c, accumulate, bias, epilogue, act); break;
            case 7: Block<Vectors7, TAct>(n, k, a, aStride, b, ldb, c, accumulate, bias, epilogue, act); break;
            case 8: Block<Vectors8, TAct>(n, k, a, aStride, b, ldb, c, accumulate, bias, epilogue, act); break;
            case 9: Block<Vectors9, TAct>(n, k, a, aStride, b, ldb, c, accumulate, bias, epilogue, act); break;
            case 10: Block<Vectors10, TAct>(n, k, a, aStride, b, ldb, c, accumulate, bias, epilogue, act); break;
            case 11: Block<Vectors11, TAct>(n, k, a, aStride, b, ldb, c, accumulate, bias, epilogue, act); break;
            case 12: Block<Vectors12, TAct>(n, k, a, aStride, b, ldb, c, accumulate, bias, epilogue, act); break;
            default: throw new ArgumentOutOfRangeException(nameof(n), n, $"a row-vector block holds 1 to {8 * MaxVectors} columns");
        }
    }

    /// <summary>
    /// <typeparamref name="TV"/> accumulators, vector i holding columns 8i..8i+7; only the last is
    /// masked (to n). The unused ones and every branch on <typeparamref name="TV"/> compile away.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Block<TV, TAct>(int n, int k, float* a, nint aStride, float* b, nint ldb, float* c, bool accumulate, float* bias, bool epilogue, TAct act)
        where TV : struct, IVectorCount where TAct : struct, IActivation
    {
        Vector256<float> last = Lanes8.FirstLanes(n - 8 * (TV.Value - 1)).V;
        Vector256<float> c0 = default, c1 = default, c2 = default, c3 = default, c4 = default, c5 = default, c6 = default, c7 = default;
        Vector256<float> c8 = default, c9 = default, c10 = default, c11 = default;
        for (int p = 0; p < k; p++)
        {
            Vector256<float> av = Vector256.Create(*a);
            c0 = Fma<TV>(0, av, b, last, c0); c1 = Fma<TV>(1, av, b, last, c1);
            c2 = Fma<TV>(2, av, b, last, c2); c3 = Fma<TV>(3, av, b, last, c3);
            c4 = Fma<TV>(4, av, b, last, c4); c5 = Fma<TV>(5, av, b, last, c5);
            c6 = Fma<TV>(6, av, b, last, c6); c7 = Fma<TV>(7, av, b, last, c7);
            c8 = Fma<TV>(8, av, b, last, c8); c9 = Fma<TV>(9, av, b, last, c9);
            c10 = Fma<TV>(10, av, b, last, c10); c11 = Fma<TV>(11, av, b, last, c11);
            a += aStride;
            b += ldb;
        }
        Store<TV, TAct>(0, c, bias, c0, last, accumulate, epilogue, act); Store<TV, TAct>(1, c, bias, c1, last, accumulate, epilogue, act);
        Store<TV, TAct>(2, c, bias, c2, last, accumulate, epilogue, act); Store<TV, TAct>(3, c, bias, c3, last, accumulate, epilogue, act);
        Store<TV, TAct>(4, c, bias, c4, last, accumulate, epilogue, act); Store<TV, TAct>(5, c, bias, c5, last, accumulate, epilogue, act);
        Store<TV, TAct>(6, c, bias, c6, last, accumulate, epilogue, act); Store<TV, TAct>(7, c, bias, c7, last, accumulate, epilogue, act);
        Store<TV, TAct>(8, c, bias, c8, last, accumulate, epilogue, act); Store<TV, TAct>(9, c, bias, c9, last, accumulate, epilogue, act);
        Store<TV, TAct>(10, c, bias, c10, last, accumulate, epilogue, act); Store<TV, TAct>(11, c, bias, c11, last, accumulate, epilogue, act);
    }

    /// <summary>acc + a[p]·B[p, 8i..8i+7] for vector i of the block (masked if it is the last); nothing past the block.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Fma<TV>(int i, Vector256<float> av, float* b, Vector256<float> last, Vector256<float> acc)
        where TV : struct, IVectorCount
    {
        if (i >= TV.Value) return acc;
        Vector256<float> bv = i == TV.Value - 1 ? Load(b + 8 * i, last) : Vector256.Load(b + 8 * i);
        return Vector256.FusedMultiplyAdd(av, bv, acc);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store<TV, TAct>(int i, float* c, float* bias, Vector256<float> v, Vector256<float> last, bool accumulate, bool epilogue, TAct act)
        where TV : struct, IVectorCount where TAct : struct, IActivation
    {
        if (i >= TV.Value) return;
        float* at = bias == null ? null : bias + 8 * i;
        if (i < TV.Value - 1) StoreVector(c + 8 * i, at, v, accumulate, epilogue, act);
        else StoreMasked(c + 8 * i, at, v, last, accumulate, epilogue, act);
    }

    /// <summary>One vector of sums into C: + C with <paramref name="accumulate"/>, then act(v + bias) with <paramref name="epilogue"/> (no bias adds zero).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreVector<TAct>(float* c, float* bias, Vector256<float> v, bool accumulate, bool epilogue, TAct act)
        where TAct : struct, IActivation
    {
        if (accumulate) v += Vector256.Load(c);
        if (epilogue) v = act.Apply(v + (bias == null ? Vector256<float>.Zero : Vector256.Load(bias)));
        Vector256.Store(v, c);
    }

    /// <summary><see cref="StoreVector{TAct}"/> for the lanes under <paramref name="last"/> alone: the row's last, partial vector.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreMasked<TAct>(float* c, float* bias, Vector256<float> v, Vector256<float> last, bool accumulate, bool epilogue, TAct act)
        where TAct : struct, IActivation
    {
        if (accumulate) v += Load(c, last);
        if (epilogue) v = act.Apply(v + (bias == null ? Vector256<float>.Zero : Load(bias, last)));
        Avx.MaskStore(c, last, v);
    }

    /// <summary>
    /// C[0..n) = a·B[:, 0..n) (+C, then the epilogue) for one k block and a row of any width: whole rows of B four at a time,
    /// the row's sums kept in memory (C itself for the first block, else a scratch row) instead of in registers, so each
    /// row of B is read once, front to back, where the register blocks (<see cref="Block{TAct}"/>) read a 96-column slice of every
    /// row per pass. Each element is the same FMA chain in k order, so the same bits as <see cref="Block{TAct}"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Stream<TAct>(int n, int k, float* a, nint aStride, float* b, nint ldb, float* c, bool addC, float* bias, bool epilogue, TAct act, float* scratch)
        where TAct : struct, IActivation
    {
        float* sums = addC ? scratch : c;
        int whole = n & ~7;
        Vector256<float> last = Lanes8.FirstLanes(n - whole).V;
        // Four rows ahead are fetched while these four are multiplied: the rows stream from L2 at about 90 B/ns without
        // (the probe in benchmarks/README.md, stop 69).
        nint ahead = 4 * ldb;
        int p = 0;
        for (; p + 4 <= k; p += 4)
        {
            Vector256<float> a0 = Vector256.Create(a[p * aStride]), a1 = Vector256.Create(a[(p + 1) * aStride]);
            Vector256<float> a2 = Vector256.Create(a[(p + 2) * aStride]), a3 = Vector256.Create(a[(p + 3) * aStride]);
            float* b0 = b + p * ldb, b1 = b0 + ldb, b2 = b1 + ldb, b3 = b2 + ldb;
            bool first = p == 0;
            int j = 0;
            for (; j < whole; j += 8)
            {
                if ((j & 8) == 0 && Sse.IsSupported)
                {
                    Sse.Prefetch0(b0 + ahead + j); Sse.Prefetch0(b1 + ahead + j);
                    Sse.Prefetch0(b2 + ahead + j); Sse.Prefetch0(b3 + ahead + j);
                }
                Vector256<float> v = first ? Vector256<float>.Zero : Vector256.Load(sums + j);
                v = Vector256.FusedMultiplyAdd(a0, Vector256.Load(b0 + j), v);
                v = Vector256.FusedMultiplyAdd(a1, Vector256.Load(b1 + j), v);
                v = Vector256.FusedMultiplyAdd(a2, Vector256.Load(b2 + j), v);
                v = Vector256.FusedMultiplyAdd(a3, Vector256.Load(b3 + j), v);
                Vector256.Store(v, sums + j);
            }
            if (j < n)
            {
                Vector256<float> v = first ? Vector256<float>.Zero : Load(sums + j, last);
                v = Vector256.FusedMultiplyAdd(a0, Load(b0 + j, last), v);
                v = Vector256.FusedMultiplyAdd(a1, Load(b1 + j, last), v);
                v = Vector256.FusedMultiplyAdd(a2, Load(b2 + j, last), v);
                v = Vector256.FusedMultiplyAdd(a3, Load(b3 + j, last), v);
                Avx.MaskStore(sums + j, last, v);
            }
        }
        for (; p < k; p++)
        {
            Vector256<float> ap = Vector256.Create(a[p * aStride]);
            float* bp = b + p * ldb;
            bool first = p == 0;
            int j = 0;
            for (; j < whole; j += 8)
                Vector256.Store(Vector256.FusedMultiplyAdd(ap, Vector256.Load(bp + j), first ? Vector256<float>.Zero : Vector256.Load(sums + j)), sums + j);
            if (j < n)
                Avx.MaskStore(sums + j, last, Vector256.FusedMultiplyAdd(ap, Load(bp + j, last), first ? Vector256<float>.Zero : Load(sums + j, last)));
        }
        if (!addC && !epilogue) return;
        // This block's sums into C as the register blocks store theirs.
        int i = 0;
        for (; i < whole; i += 8) StoreVector(c + i, bias == null ? null : bias + i, Vector256.Load(sums + i), addC, epilogue, act);
        if (i < n) StoreMasked(c + i, bias == null ? null : bias + i, Load(sums + i, last), last, addC, epilogue, act);
    }

    /// <summary>The lanes under <paramref name="mask"/>, zero elsewhere; masked-off lanes are never read (no fault past the end).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Load(float* p, Vector256<float> mask) => Avx.MaskLoad(p, mask);
}
