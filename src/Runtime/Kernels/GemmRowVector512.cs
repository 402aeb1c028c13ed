using System;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Kiln.Kernels;

/// <summary>
/// <see cref="GemmRowVector"/>'s block in 512-bit registers: up to 24 accumulators of 16 columns
/// (384 columns: a whole row of the Fashion MLP's 784 → 300 weights, read in one pass), which with
/// the broadcast of a[p] and the last vector's mask fits AVX-512's 32 registers.
/// </summary>
internal static unsafe class GemmRowVector512
{
    public const int MaxVectors = 24;

    /// <summary>
    /// C[0..n) = a·B[:, 0..n) (+C), then act(v + bias) when <paramref name="epilogue"/> (a zero bias without one),
    /// for 1 ≤ n ≤ 16·<see cref="MaxVectors"/>.
    /// </summary>
    public static void Block<TAct>(int n, int k, float* a, nint aStride, float* b, nint ldb, float* c, bool accumulate, float* bias, bool epilogue, TAct act)
        where TAct : struct, IActivation
    {
        switch ((n + 15) >> 4)
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
            case 13: Block<Vectors13, TAct>(n, k, a, aStride, b, ldb, c, accumulate, bias, epilogue, act); break;
            case 14: Block<Vectors14, TAct>(n, k, a, aStride, b, ldb, c, accumulate, bias, epilogue, act); break;
            case 15: Block<Vectors15, TAct>(n, k, a, aStride, b, ldb, c, accumulate, bias, epilogue, act); break;
            case 16: Block<Vectors16, TAct>(n, k, a, aStride, b, ldb, c, accumulate, bias, epilogue, act); break;
            case 17: Block<Vectors17, TAct>(n, k, a, aStride, b, ldb, c, accumulate, bias, epilogue, act); break;
            case 18: Block<Vectors18, TAct>(n, k, a, aStride, b, ldb, c, accumulate, bias, epilogue, act); break;
            case 19: Block<Vectors19, TAct>(n, k, a, aStride, b, ldb, c, accumulate, bias, epilogue, act); break;
            case 20: Block<Vectors20, TAct>(n, k, a, aStride, b, ldb, c, accumulate, bias, epilogue, act); break;
            case 21: Block<Vectors21, TAct>(n, k, a, aStride, b, ldb, c, accumulate, bias, epilogue, act); break;
            case 22: Block<Vectors22, TAct>(n, k, a, aStride, b, ldb, c, accumulate, bias, epilogue, act); break;
            case 23: Block<Vectors23, TAct>(n, k, a, aStride, b, ldb, c, accumulate, bias, epilogue, act); break;
            case 24: Block<Vectors24, TAct>(n, k, a, aStride, b, ldb, c, accumulate, bias, epilogue, act); break;
            default: throw new ArgumentOutOfRangeException(nameof(n), n, $"a row-vector block holds 1 to {16 * MaxVectors} columns");
        }
    }

    /// <summary>
    /// <typeparamref name="TV"/> accumulators, vector i holding columns 16i..16i+15; only the last is
    /// masked (to n). The unused ones and every branch on <typeparamref name="TV"/> compile away.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Block<TV, TAct>(int n, int k, float* a, nint aStride, float* b, nint ldb, float* c, bool accumulate, float* bias, bool epilogue, TAct act)
        where TV : struct, IVectorCount where TAct : struct, IActivation
    {
        Vector512<float> last = Lanes16.FirstLanes(n - 16 * (TV.Value - 1)).V;
        Vector512<float> c0 = default, c1 = default, c2 = default, c3 = default, c4 = default, c5 = default, c6 = default, c7 = default;
        Vector512<float> c8 = default, c9 = default, c10 = default, c11 = default, c12 = default, c13 = default, c14 = default, c15 = default;
        Vector512<float> c16 = default, c17 = default, c18 = default, c19 = default, c20 = default, c21 = default, c22 = default, c23 = default;
        for (int p = 0; p < k; p++)
        {
            Vector512<float> av = Vector512.Create(*a);
            c0 = Fma<TV>(0, av, b, last, c0); c1 = Fma<TV>(1, av, b, last, c1);
            c2 = Fma<TV>(2, av, b, last, c2); c3 = Fma<TV>(3, av, b, last, c3);
            c4 = Fma<TV>(4, av, b, last, c4); c5 = Fma<TV>(5, av, b, last, c5);
            c6 = Fma<TV>(6, av, b, last, c6); c7 = Fma<TV>(7, av, b, last, c7);
            c8 = Fma<TV>(8, av, b, last, c8); c9 = Fma<TV>(9, av, b, last, c9);
            c10 = Fma<TV>(10, av, b, last, c10); c11 = Fma<TV>(11, av, b, last, c11);
            c12 = Fma<TV>(12, av, b, last, c12); c13 = Fma<TV>(13, av, b, last, c13);
            c14 = Fma<TV>(14, av, b, last, c14); c15 = Fma<TV>(15, av, b, last, c15);
            c16 = Fma<TV>(16, av, b, last, c16); c17 = Fma<TV>(17, av, b, last, c17);
            c18 = Fma<TV>(18, av, b, last, c18); c19 = Fma<TV>(19, av, b, last, c19);
            c20 = Fma<TV>(20, av, b, last, c20); c21 = Fma<TV>(21, av, b, last, c21);
            c22 = Fma<TV>(22, av, b, last, c22); c23 = Fma<TV>(23, av, b, last, c23);
            a += aStride;
            b += ldb;
        }
        Store<TV, TAct>(0, c, bias, c0, last, accumulate, epilogue, act); Store<TV, TAct>(1, c, bias, c1, last, accumulate, epilogue, act);
        Store<TV, TAct>(2, c, bias, c2, last, accumulate, epilogue, act); Store<TV, TAct>(3, c, bias, c3, last, accumulate, epilogue, act);
        Store<TV, TAct>(4, c, bias, c4, last, accumulate, epilogue, act); Store<TV, TAct>(5, c, bias, c5, last, accumulate, epilogue, act);
        Store<TV, TAct>(6, c, bias, c6, last, accumulate, epilogue, act); Store<TV, TAct>(7, c, bias, c7, last, accumulate, epilogue, act);
        Store<TV, TAct>(8, c, bias, c8, last, accumulate, epilogue, act); Store<TV, TAct>(9, c, bias, c9, last, accumulate, epilogue, act);
        Store<TV, TAct>(10, c, bias, c10, last, accumulate, epilogue, act); Store<TV, TAct>(11, c, bias, c11, last, accumulate, epilogue, act);
        Store<TV, TAct>(12, c, bias, c12, last, accumulate, epilogue, act); Store<TV, TAct>(13, c, bias, c13, last, accumulate, epilogue, act);
        Store<TV, TAct>(14, c, bias, c14, last, accumulate, epilogue, act); Store<TV, TAct>(15, c, bias, c15, last, accumulate, epilogue, act);
        Store<TV, TAct>(16, c, bias, c16, last, accumulate, epilogue, act); Store<TV, TAct>(17, c, bias, c17, last, accumulate, epilogue, act);
        Store<TV, TAct>(18, c, bias, c18, last, accumulate, epilogue, act); Store<TV, TAct>(19, c, bias, c19, last, accumulate, epilogue, act);
        Store<TV, TAct>(20, c, bias, c20, last, accumulate, epilogue, act); Store<TV, TAct>(21, c, bias, c21, last, accumulate, epilogue, act);
        Store<TV, TAct>(22, c, bias, c22, last, accumulate, epilogue, act); Store<TV, TAct>(23, c, bias, c23, last, accumulate, epilogue, act);
    }

    /// <summary>acc + a[p]·B[p, 16i..16i+15] for vector i of the block (masked if it is the last); nothing past the block.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Fma<TV>(int i, Vector512<float> av, float* b, Vector512<float> last, Vector512<float> acc)
        where TV : struct, IVectorCount
    {
        if (i >= TV.Value) return acc;
        Vector512<float> bv = i == TV.Value - 1 ? Load(b + 16 * i, last) : Vector512.Load(b + 16 * i);
        return Vector512.FusedMultiplyAdd(av, bv, acc);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store<TV, TAct>(int i, float* c, float* bias, Vector512<float> v, Vector512<float> last, bool accumulate, bool epilogue, TAct act)
        where TV : struct, IVectorCount where TAct : struct, IActivation
    {
        if (i >= TV.Value) return;
        c += 16 * i;
        if (i < TV.Value - 1)
        {
            if (accumulate) v += Vector512.Load(c);
            if (epilogue) v = act.Apply(v + (bias == null ? Vector512<float>.Zero : Vector512.Load(bias + 16 * i)));
            Vector512.Store(v, c);
            return;
        }
        if (accumulate) v += Load(c, last);
        if (epilogue) v = act.Apply(v + (bias == null ? Vector512<float>.Zero : Load(bias + 16 * i, last)));
        if (Avx512F.IsSupported) Avx512F.MaskStore(c, last, v);
        else
            for (int lane = 0; lane < 16 && last.AsInt32()[lane] != 0; lane++) c[lane] = v[lane];  // the software 512-bit path (Simd.MaxBits)
    }

    /// <summary>The lanes under <paramref name="mask"/>, zero elsewhere; masked-off lanes are never read (no fault past the end).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Load(float* p, Vector512<float> mask)
    {
        if (Avx512F.IsSupported) return Avx512F.MaskLoad(p, mask, Vector512<float>.Zero);
        // The software 512-bit path (Simd.MaxBits): the same lanes, read one by one.
        Vector512<float> v = Vector512<float>.Zero;
        for (int lane = 0; lane < 16 && mask.AsInt32()[lane] != 0; lane++) v = v.WithElement(lane, p[lane]);
        return v;
    }
}
