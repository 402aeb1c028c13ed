using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Kiln.Kernels;

// The data gradient's scattering tiles (ScatterSample), at 512 and 256 bits.
internal static unsafe partial class ConvCore
{
    /// <summary>
    /// 32 columns (16 when not <paramref name="whole"/>) of 8 rows of dz·Wᵀ, in 16 zmm accumulators as the
    /// 512-bit GEMM micro-kernel's tile with its A values read from dz's rows in place, then each row's two
    /// 16-column runs added into the dx pixels their taps name: run h is channels o_h .. o_h + 15 of tap t_h,
    /// added at targets[row·taps + t_h] + o_h. Two runs may name one pixel (neighbouring windows overlap):
    /// each add reads what the one before it stored.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void ScatterTile512(float** rows, int depth, float* b, float** targets, int taps, int t0, int o0, int t1, int o1, bool whole)
    {
        float* a0 = rows[0], a1 = rows[1], a2 = rows[2], a3 = rows[3], a4 = rows[4], a5 = rows[5], a6 = rows[6], a7 = rows[7];
        Vector512<float> c00 = default, c01 = default, c10 = default, c11 = default;
        Vector512<float> c20 = default, c21 = default, c30 = default, c31 = default;
        Vector512<float> c40 = default, c41 = default, c50 = default, c51 = default;
        Vector512<float> c60 = default, c61 = default, c70 = default, c71 = default;
        if (whole)
        {
            for (nint p = 0; p < depth; p++, b += 32)
            {
                Vector512<float> b0 = Vector512.Load(b), b1 = Vector512.Load(b + 16);
                Vector512<float> ai = Vector512.Create(a0[p]);
                c00 = Vector512.FusedMultiplyAdd(ai, b0, c00); c01 = Vector512.FusedMultiplyAdd(ai, b1, c01);
                ai = Vector512.Create(a1[p]);
                c10 = Vector512.FusedMultiplyAdd(ai, b0, c10); c11 = Vector512.FusedMultiplyAdd(ai, b1, c11);
                ai = Vector512.Create(a2[p]);
                c20 = Vector512.FusedMultiplyAdd(ai, b0, c20); c21 = Vector512.FusedMultiplyAdd(ai, b1, c21);
                ai = Vector512.Create(a3[p]);
                c30 = Vector512.FusedMultiplyAdd(ai, b0, c30); c31 = Vector512.FusedMultiplyAdd(ai, b1, c31);
                ai = Vector512.Create(a4[p]);
                c40 = Vector512.FusedMultiplyAdd(ai, b0, c40); c41 = Vector512.FusedMultiplyAdd(ai, b1, c41);
                ai = Vector512.Create(a5[p]);
                c50 = Vector512.FusedMultiplyAdd(ai, b0, c50); c51 = Vector512.FusedMultiplyAdd(ai, b1, c51);
                ai = Vector512.Create(a6[p]);
                c60 = Vector512.FusedMultiplyAdd(ai, b0, c60); c61 = Vector512.FusedMultiplyAdd(ai, b1, c61);
                ai = Vector512.Create(a7[p]);
                c70 = Vector512.FusedMultiplyAdd(ai, b0, c70); c71 = Vector512.FusedMultiplyAdd(ai, b1, c71);
            }
        }
        else
        {
            // A last run of 16 columns (K = taps·C is a multiple of 16): half the tile.
            for (nint p = 0; p < depth; p++, b += 32)
            {
                Vector512<float> b0 = Vector512.Load(b);
                c00 = Vector512.FusedMultiplyAdd(Vector512.Create(a0[p]), b0, c00);
                c10 = Vector512.FusedMultiplyAdd(Vector512.Create(a1[p]), b0, c10);
                c20 = Vector512.FusedMultiplyAdd(Vector512.Create(a2[p]), b0, c20);
                c30 = Vector512.FusedMultiplyAdd(Vector512.Create(a3[p]), b0, c30);
                c40 = Vector512.FusedMultiplyAdd(Vector512.Create(a4[p]), b0, c40);
                c50 = Vector512.FusedMultiplyAdd(Vector512.Create(a5[p]), b0, c50);
                c60 = Vector512.FusedMultiplyAdd(Vector512.Create(a6[p]), b0, c60);
                c70 = Vector512.FusedMultiplyAdd(Vector512.Create(a7[p]), b0, c70);
            }
        }
        AddRow(targets, t0, o0, t1, o1, c00, c01, whole); targets += taps;
        AddRow(targets, t0, o0, t1, o1, c10, c11, whole); targets += taps;
        AddRow(targets, t0, o0, t1, o1, c20, c21, whole); targets += taps;
        AddRow(targets, t0, o0, t1, o1, c30, c31, whole); targets += taps;
        AddRow(targets, t0, o0, t1, o1, c40, c41, whole); targets += taps;
        AddRow(targets, t0, o0, t1, o1, c50, c51, whole); targets += taps;
        AddRow(targets, t0, o0, t1, o1, c60, c61, whole); targets += taps;
        AddRow(targets, t0, o0, t1, o1, c70, c71, whole);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void AddRow(float** targets, int t0, int o0, int t1, int o1, Vector512<float> v0, Vector512<float> v1, bool whole)
    {
        float* d = targets[t0] + o0;
        Vector512.Store(Vector512.Load(d) + v0, d);
        if (!whole) return;
        d = targets[t1] + o1;
        Vector512.Store(Vector512.Load(d) + v1, d);
    }

    /// <summary>
    /// <see cref="ScatterTile512"/> at 256 bits: 16 columns (8 when not <paramref name="whole"/>) of 6 rows in 12 ymm
    /// accumulators, the 256-bit micro-kernel's tile, each row's two 8-column runs added where their taps land.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void ScatterTile256(float** rows, int depth, float* b, float** targets, int taps, int t0, int o0, int t1, int o1, bool whole)
    {
        float* a0 = rows[0], a1 = rows[1], a2 = rows[2], a3 = rows[3], a4 = rows[4], a5 = rows[5];
        Vector256<float> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default;
        Vector256<float> c30 = default, c31 = default, c40 = default, c41 = default, c50 = default, c51 = default;
        if (whole)
        {
            for (nint p = 0; p < depth; p++, b += 16)
            {
                Vector256<float> b0 = Vector256.Load(b), b1 = Vector256.Load(b + 8);
                Vector256<float> ai = Vector256.Create(a0[p]);
                c00 = Vector256.FusedMultiplyAdd(ai, b0, c00); c01 = Vector256.FusedMultiplyAdd(ai, b1, c01);
                ai = Vector256.Create(a1[p]);
                c10 = Vector256.FusedMultiplyAdd(ai, b0, c10); c11 = Vector256.FusedMultiplyAdd(ai, b1, c11);
                ai = Vector256.Create(a2[p]);
                c20 = Vector256.FusedMultiplyAdd(ai, b0, c20); c21 = Vector256.FusedMultiplyAdd(ai, b1, c21);
                ai = Vector256.Create(a3[p]);
                c30 = Vector256.FusedMultiplyAdd(ai, b0, c30); c31 = Vector256.FusedMultiplyAdd(ai, b1, c31);
                ai = Vector256.Create(a4[p]);
                c40 = Vector256.FusedMultiplyAdd(ai, b0, c40); c41 = Vector256.FusedMultiplyAdd(ai, b1, c41);
                ai = Vector256.Create(a5[p]);
                c50 = Vector256.FusedMultiplyAdd(ai, b0, c50); c51 = Vector256.FusedMultiplyAdd(ai, b1, c51);
            }
        }
        else
        {
            for (nint p = 0; p < depth; p++, b += 16)
            {
                Vector256<float> b0 = Vector256.Load(b);
                c00 = Vector256.FusedMultiplyAdd(Vector256.Create(a0[p]), b0, c00);
                c10 = Vector256.FusedMultiplyAdd(Vector256.Create(a1[p]), b0, c10);
                c20 = Vector256.FusedMultiplyAdd(Vector256.Create(a2[p]), b0, c20);
                c30 = Vector256.FusedMultiplyAdd(Vector256.Create(a3[p]), b0, c30);
                c40 = Vector256.FusedMultiplyAdd(Vector256.Create(a4[p]), b0, c40);
                c50 = Vector256.FusedMultiplyAdd(Vector256.Create(a5[p]), b0, c50);
            }
        }
        AddRow(targets, t0, o0, t1, o1, c00, c01, whole); targets += taps;
        AddRow(targets, t0, o0, t1, o1, c10, c11, whole); targets += taps;
        AddRow(targets, t0, o0, t1, o1, c20, c21, whole); targets += taps;
        AddRow(targets, t0, o0, t1, o1, c30, c31, whole); targets += taps;
        AddRow(targets, t0, o0, t1, o1, c40, c41, whole); targets += taps;
        AddRow(targets, t0, o0, t1, o1, c50, c51, whole);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void AddRow(float** targets, int t0, int o0, int t1, int o1, Vector256<float> v0, Vector256<float> v1, bool whole)
    {
        float* d = targets[t0] + o0;
        Vector256.Store(Vector256.Load(d) + v0, d);
        if (!whole) return;
        d = targets[t1] + o1;
        Vector256.Store(Vector256.Load(d) + v1, d);
    }
}
