using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Kiln.Kernels;

/// <summary>
/// F(4×4, 3×3)'s transforms with their intermediates parked in scratch, for JITs that hold 16 vectors of
/// 256 bits, not 32 of 512. The register forms (WinogradCore.F4x4.cs) keep 12 to 24 16-lane vectors live,
/// which without AVX-512 are pairs of 256-bit registers and spill: on Zen 5 with AVX-512 off
/// (DOTNET_EnableAVX512=0) they ran the CIFAR net's step at 0.86 of this form's speed, where with it on
/// they run it 6–7 % faster (paired, stop 46). Both compute the same operations in the same order, so the
/// same bits.
/// </summary>
internal static unsafe partial class WinogradCore
{
    /// <summary>
    /// Whether the F(4×4, 3×3) transforms keep Bᵀ·d, Aᵀ·M and A·dy in registers: where the JIT compiles
    /// 16-lane vectors to AVX-512 registers (32 of them). Tests set it both ways.
    /// </summary>
    internal static bool TransformsInRegisters { get; set; } = Vector512.IsHardwareAccelerated;

    /// <summary><see cref="InputTransform6"/> through <paramref name="tmp"/> (36 vectors): Bᵀ·d down each column of the patch, then each row of that times B.</summary>
    private static void InputTransform6Scratch(float* x, in Conv2DGeometry g, int tile, int tileCols, long tilesPerSample, long plane, long t0, int count,
        float* v, float* zeros, float** rows, Vector512<float>* tmp, bool prefetch)
    {
        int c = g.InputChannels;
        for (int r = 0; r < count; r++)
        {
            PatchRows(x, g, tile, 6, t0 + r, tileCols, tilesPerSample, zeros, rows);
            if (prefetch) PrefetchNextRows(x, g, tile, 6, t0 + r, tileCols, tilesPerSample);
            float* o = v + (nint)r * c;
            for (int cc = 0; cc < c; cc += 16)
            {
                for (int j = 0; j < 6; j++)
                {
                    Input6(Vector512.Load(rows[j] + cc), Vector512.Load(rows[6 + j] + cc), Vector512.Load(rows[12 + j] + cc),
                        Vector512.Load(rows[18 + j] + cc), Vector512.Load(rows[24 + j] + cc), Vector512.Load(rows[30 + j] + cc),
                        out tmp[j], out tmp[6 + j], out tmp[12 + j], out tmp[18 + j], out tmp[24 + j], out tmp[30 + j]);
                }
                for (int i = 0; i < 6; i++)
                {
                    Vector512<float>* row = tmp + 6 * i;
                    Input6(row[0], row[1], row[2], row[3], row[4], row[5],
                        out var e0, out var e1, out var e2, out var e3, out var e4, out var e5);
                    Store6(o + cc + 6 * i * plane, plane, e0, e1, e2, e3, e4, e5);
                }
            }
        }
    }

    /// <summary><see cref="GradientTransform4"/> through <paramref name="tmp"/> (24 vectors): A·dy down each of the four output columns, then each of the six rows of that times Aᵀ.</summary>
    private static void GradientTransform4Scratch(float* dz, in Conv2DGeometry g, int tileCols, long tilesPerSample, long plane, long t0, int count,
        float* dm, float* zeros, Vector512<float>* tmp)
    {
        int k = g.OutputChannels;
        float** at = stackalloc float*[16];
        for (int r = 0; r < count; r++)
        {
            FourByFourOutputs(dz, g, t0 + r, tileCols, tilesPerSample, zeros, at);
            float* o = dm + (nint)r * k;
            for (int j = 0; j < k; j += 16)
            {
                for (int q = 0; q < 4; q++)
                {
                    Gradient6(Vector512.Load(at[q] + j), Vector512.Load(at[4 + q] + j), Vector512.Load(at[8 + q] + j), Vector512.Load(at[12 + q] + j),
                        out tmp[q], out tmp[4 + q], out tmp[8 + q], out tmp[12 + q], out tmp[16 + q], out tmp[20 + q]);
                }
                for (int a = 0; a < 6; a++)
                {
                    Vector512<float>* row = tmp + 4 * a;
                    Gradient6(row[0], row[1], row[2], row[3], out var e0, out var e1, out var e2, out var e3, out var e4, out var e5);
                    Store6(o + j + 6 * a * plane, plane, e0, e1, e2, e3, e4, e5);
                }
            }
        }
    }
}
