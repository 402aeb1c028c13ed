using System;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Kiln.Kernels;

internal static unsafe partial class ConvCore
{
    /// <summary><see cref="TapBlock"/> at 256 bits: up to 12 taps × 8 filters.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void TapBlock256(int taps, float* col, int rows, float* dz, int f, float* target, bool first)
    {
        switch (taps)
        {
            case 1: TapBlock256<Vectors1>(col, rows, dz, f, target, first); break;
            case 2: TapBlock256<Vectors2>(col, rows, dz, f, target, first); break;
            case 3: TapBlock256<Vectors3>(col, rows, dz, f, target, first); break;
            case 4: TapBlock256<Vectors4>(col, rows, dz, f, target, first); break;
            case 5: TapBlock256<Vectors5>(col, rows, dz, f, target, first); break;
            case 6: TapBlock256<Vectors6>(col, rows, dz, f, target, first); break;
            case 7: TapBlock256<Vectors7>(col, rows, dz, f, target, first); break;
            case 8: TapBlock256<Vectors8>(col, rows, dz, f, target, first); break;
            case 9: TapBlock256<Vectors9>(col, rows, dz, f, target, first); break;
            case 10: TapBlock256<Vectors10>(col, rows, dz, f, target, first); break;
            case 11: TapBlock256<Vectors11>(col, rows, dz, f, target, first); break;
            case 12: TapBlock256<Vectors12>(col, rows, dz, f, target, first); break;
            default: throw new ArgumentOutOfRangeException(nameof(taps), taps, $"a 256-bit tap block holds 1 to {MaxTapBlock256} taps");
        }
    }

    /// <summary><typeparamref name="TT"/> taps (target rows f apart) × 8 filters, as <see cref="TapBlock{TT}"/> does 16.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void TapBlock256<TT>(float* col, int rows, float* dz, int f, float* target, bool first) where TT : struct, IVectorCount
    {
        Vector256<float> a0 = Start256<TT>(0, target, f, first), a1 = Start256<TT>(1, target, f, first), a2 = Start256<TT>(2, target, f, first);
        Vector256<float> a3 = Start256<TT>(3, target, f, first), a4 = Start256<TT>(4, target, f, first), a5 = Start256<TT>(5, target, f, first);
        Vector256<float> a6 = Start256<TT>(6, target, f, first), a7 = Start256<TT>(7, target, f, first), a8 = Start256<TT>(8, target, f, first);
        Vector256<float> a9 = Start256<TT>(9, target, f, first), a10 = Start256<TT>(10, target, f, first), a11 = Start256<TT>(11, target, f, first);
        for (int p = 0; p < rows; p++, col++, dz += f)
        {
            Vector256<float> d = Vector256.Load(dz);
            a0 = Step256<TT>(0, col, d, a0); a1 = Step256<TT>(1, col, d, a1); a2 = Step256<TT>(2, col, d, a2); a3 = Step256<TT>(3, col, d, a3);
            a4 = Step256<TT>(4, col, d, a4); a5 = Step256<TT>(5, col, d, a5); a6 = Step256<TT>(6, col, d, a6); a7 = Step256<TT>(7, col, d, a7);
            a8 = Step256<TT>(8, col, d, a8); a9 = Step256<TT>(9, col, d, a9); a10 = Step256<TT>(10, col, d, a10); a11 = Step256<TT>(11, col, d, a11);
        }
        Finish256<TT>(0, target, f, a0); Finish256<TT>(1, target, f, a1); Finish256<TT>(2, target, f, a2); Finish256<TT>(3, target, f, a3);
        Finish256<TT>(4, target, f, a4); Finish256<TT>(5, target, f, a5); Finish256<TT>(6, target, f, a6); Finish256<TT>(7, target, f, a7);
        Finish256<TT>(8, target, f, a8); Finish256<TT>(9, target, f, a9); Finish256<TT>(10, target, f, a10); Finish256<TT>(11, target, f, a11);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Start256<TT>(int t, float* target, int f, bool first) where TT : struct, IVectorCount =>
        t >= TT.Value || first ? default : Vector256.Load(target + (nint)t * f);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Step256<TT>(int t, float* col, Vector256<float> d, Vector256<float> acc) where TT : struct, IVectorCount =>
        t >= TT.Value ? acc : Vector256.FusedMultiplyAdd(Vector256.Create(col[t * TapStride]), d, acc);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Finish256<TT>(int t, float* target, int f, Vector256<float> acc) where TT : struct, IVectorCount
    {
        if (t < TT.Value) Vector256.Store(acc, target + (nint)t * f);
    }
}
