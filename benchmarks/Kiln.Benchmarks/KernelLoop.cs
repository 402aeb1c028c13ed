using System;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Kiln.Kernels;

namespace Kiln.Benchmarks;

/// <summary>
/// Where a GEMM micro-kernel loses to the FMA peak on this core, with memory out of the picture: the
/// kernel itself (<see cref="MicroKernel256"/>: 12 FMAs, 2 loads of B and 6 broadcasts of A per k step;
/// <see cref="MicroKernel512"/>, where the CPU runs 512-bit vectors: 16 FMAs, 2 loads and 8 broadcasts)
/// on one KC-deep A and B panel that sit in L1, and the C tile's store, against the same FMA chains with
/// the two B loads but A held in registers, and against the FMA peak loop of the same width; each timed
/// by the thread's CPU time, the three interleaved, median of the samples. A kernel that falls short
/// while the loop without broadcasts does not is limited by feeding A to the FMAs, not by C, packing or
/// caches (issue 15's sgemm rows on AMD Zen 3); one at the peak here but not in sgemm loses around the
/// kernel (blocking, packing, prefetch). Where the CPU runs 512-bit vectors, also the implicit GEMM's
/// forward tile (<see cref="IndirectTile"/>) as the 32×32, 64 → 64 layer runs it, with what it reads
/// held near: the same against the layer's own GFLOP/s says whether its loss is in the tile or around it.
/// </summary>
internal static unsafe class KernelLoop
{
    private const int Kc = 168;
    private const int Calls = 20_000;

    public static void Run(int runs)
    {
        if (!CpuClock.Available) return;
        if (Avx2.IsSupported && Fma.IsSupported) Run(256, runs);
        if (Avx512F.IsSupported)
        {
            Run(512, runs);
            IndirectTile(runs);
        }
    }

    /// <summary>
    /// The forward's 8-pixel × 32-filter tile over 9 taps × 64 channels, its pointer table into a 3-row band
    /// of a 34-pixel-wide image (26 KiB: stays in L1), taking turns between two 72-KiB kernel panels (the
    /// 64-filter layer's 147 KiB: L2), against the FMA peak interleaved, by the thread's CPU time.
    /// </summary>
    private static void IndirectTile(int runs)
    {
        const int c = 64, width = 34, taps = 9, tiles = 20_000;
        float* x = (float*)NativeMemory.AlignedAlloc((nuint)(3 * width * c * sizeof(float)), 64);
        float* w = (float*)NativeMemory.AlignedAlloc((nuint)(2 * taps * c * ConvCore.NR * sizeof(float)), 64);
        float* y = (float*)NativeMemory.AlignedAlloc((nuint)(ConvCore.MR * ConvCore.NR * sizeof(float)), 64);
        float** table = (float**)NativeMemory.AlignedAlloc((nuint)(taps * ConvCore.MR * sizeof(float*)), 64);
        try
        {
            for (int i = 0; i < 3 * width * c; i++) x[i] = 1e-3f * (i % 7);
            for (int i = 0; i < 2 * taps * c * ConvCore.NR; i++) w[i] = 1e-3f * (i % 5);
            // Tap (i, j) of output pixel r reads image row i, column r + j, as a 3×3 layer's interior tile does.
            for (int tap = 0; tap < taps; tap++)
                for (int r = 0; r < ConvCore.MR; r++)
                    table[tap * ConvCore.MR + r] = x + ((tap / 3) * width + r + tap % 3) * c;
            double flops = 2.0 * ConvCore.MR * ConvCore.NR * taps * c * tiles;
            Tiles(table, taps, c, w, y, tiles);
            int samples = 3 * runs;
            var tile = new double[samples];
            var peak = new double[samples];
            for (int s = 0; s < samples; s++)
            {
                peak[s] = FmaPeak.CpuTimeGflops(512);
                double t0 = CpuClock.Thread();
                Tiles(table, taps, c, w, y, tiles);
                tile[s] = flops / (CpuClock.Thread() - t0) / 1e9;
            }
            Array.Sort(tile);
            Array.Sort(peak);
            double p = peak[samples / 2];
            Bench.Emit(new Bench.Json()
                .Str("impl", "kiln")
                .Str("work", "indirecttile512_l2_panels")
                .Num("taps", taps)
                .Num("channels", c)
                .Num("samples", samples)
                .Num("peak_gflops", p)
                .Num("tile_gflops", tile[samples / 2])
                .Num("tile_fraction", tile[samples / 2] / p)
                .Num("sink", y[0]));
        }
        finally
        {
            NativeMemory.AlignedFree(x);
            NativeMemory.AlignedFree(w);
            NativeMemory.AlignedFree(y);
            NativeMemory.AlignedFree(table);
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static void Tiles(float** table, int taps, int channels, float* w, float* y, int tiles)
    {
        int panel = taps * channels * ConvCore.NR;
        for (int i = 0; i < tiles; i++)
            ConvCore.IndirectTile(table, taps, channels, w + (i & 1) * panel, ConvCore.NR, y, ConvCore.NR, ConvCore.MR, null, default(Identity));
    }

    private static void Run(int bits, int runs)
    {
        int mr = bits == 512 ? MicroKernel512.MR : MicroKernel256.MR, nr = bits == 512 ? MicroKernel512.NR : MicroKernel256.NR;
        float* a = (float*)NativeMemory.AlignedAlloc((nuint)(Kc * mr * sizeof(float)), 64);
        float* b = (float*)NativeMemory.AlignedAlloc((nuint)(Kc * nr * sizeof(float)), 64);
        float* c = (float*)NativeMemory.AlignedAlloc((nuint)(mr * nr * sizeof(float)), 64);
        try
        {
            for (int i = 0; i < Kc * mr; i++) a[i] = 1e-3f * (i % 7);
            for (int i = 0; i < Kc * nr; i++) b[i] = 1e-3f * (i % 5);
            double flops = 2.0 * mr * nr * Kc * Calls;
            Kernel(bits, a, b, c);
            Registers(bits, a, b, c);
            FmaPeak.CpuTimeGflops(bits);
            int samples = 3 * runs;
            var kernel = new double[samples];
            var registers = new double[samples];
            var peak = new double[samples];
            for (int s = 0; s < samples; s++)
            {
                peak[s] = FmaPeak.CpuTimeGflops(bits);
                double t0 = CpuClock.Thread();
                Kernel(bits, a, b, c);
                double t1 = CpuClock.Thread();
                Registers(bits, a, b, c);
                double t2 = CpuClock.Thread();
                kernel[s] = flops / (t1 - t0) / 1e9;
                registers[s] = flops / (t2 - t1) / 1e9;
            }
            Array.Sort(kernel);
            Array.Sort(registers);
            Array.Sort(peak);
            double p = peak[samples / 2];
            Bench.Emit(new Bench.Json()
                .Str("impl", "kiln")
                .Str("work", $"microkernel{bits}_l1")
                .Num("kc", Kc)
                .Num("samples", samples)
                .Num("peak_gflops", p)
                .Num("kernel_gflops", kernel[samples / 2])
                .Num("kernel_fraction", kernel[samples / 2] / p)
                .Num("a_in_registers_gflops", registers[samples / 2])
                .Num("a_in_registers_fraction", registers[samples / 2] / p)
                .Num("sink", c[0]));
        }
        finally
        {
            NativeMemory.AlignedFree(a);
            NativeMemory.AlignedFree(b);
            NativeMemory.AlignedFree(c);
        }
    }

    private static void Kernel(int bits, float* a, float* b, float* c)
    {
        if (bits == 512) Kernel512(a, b, c);
        else Kernel256(a, b, c);
    }

    private static void Registers(int bits, float* a, float* b, float* c)
    {
        if (bits == 512) Registers512(a, b, c);
        else Registers256(a, b, c);
    }

    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static void Kernel256(float* a, float* b, float* c)
    {
        for (int i = 0; i < Calls; i++)
            MicroKernel256.Run(Kc, a, MicroKernel256.MR, b, MicroKernel256.NR, c, MicroKernel256.NR, loadC: false, bias: null, epilogue: false, default(Identity), alpha: 1f);
    }

    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static void Kernel512(float* a, float* b, float* c)
    {
        for (int i = 0; i < Calls; i++)
            MicroKernel512.Run(Kc, a, MicroKernel512.MR, b, MicroKernel512.NR, c, MicroKernel512.NR, loadC: false, bias: null, epilogue: false, default(Identity), alpha: 1f);
    }

    // MicroKernel256's loop with its six broadcasts of A replaced by two values held in registers.
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static void Registers256(float* a, float* b, float* c)
    {
        Vector256<float> a0 = Vector256.Create(a[0]), a1 = Vector256.Create(a[1]);
        for (int i = 0; i < Calls; i++)
        {
            Vector256<float> c00 = default, c01 = default, c10 = default, c11 = default;
            Vector256<float> c20 = default, c21 = default, c30 = default, c31 = default;
            Vector256<float> c40 = default, c41 = default, c50 = default, c51 = default;
            float* bp = b;
            for (int p = 0; p < Kc; p++)
            {
                Vector256<float> b0 = Vector256.Load(bp);
                Vector256<float> b1 = Vector256.Load(bp + 8);
                c00 = Vector256.FusedMultiplyAdd(a0, b0, c00); c01 = Vector256.FusedMultiplyAdd(a0, b1, c01);
                c10 = Vector256.FusedMultiplyAdd(a1, b0, c10); c11 = Vector256.FusedMultiplyAdd(a1, b1, c11);
                c20 = Vector256.FusedMultiplyAdd(a0, b0, c20); c21 = Vector256.FusedMultiplyAdd(a0, b1, c21);
                c30 = Vector256.FusedMultiplyAdd(a1, b0, c30); c31 = Vector256.FusedMultiplyAdd(a1, b1, c31);
                c40 = Vector256.FusedMultiplyAdd(a0, b0, c40); c41 = Vector256.FusedMultiplyAdd(a0, b1, c41);
                c50 = Vector256.FusedMultiplyAdd(a1, b0, c50); c51 = Vector256.FusedMultiplyAdd(a1, b1, c51);
                bp += 16;
            }
            Vector256.Store(((c00 + c01) + (c10 + c11)) + ((c20 + c21) + (c30 + c31)) + ((c40 + c41) + (c50 + c51)), c);
        }
    }

    // MicroKernel512's loop with its eight broadcasts of A replaced by two values held in registers.
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static void Registers512(float* a, float* b, float* c)
    {
        Vector512<float> a0 = Vector512.Create(a[0]), a1 = Vector512.Create(a[1]);
        for (int i = 0; i < Calls; i++)
        {
            Vector512<float> c00 = default, c01 = default, c10 = default, c11 = default;
            Vector512<float> c20 = default, c21 = default, c30 = default, c31 = default;
            Vector512<float> c40 = default, c41 = default, c50 = default, c51 = default;
            Vector512<float> c60 = default, c61 = default, c70 = default, c71 = default;
            float* bp = b;
            for (int p = 0; p < Kc; p++)
            {
                Vector512<float> b0 = Vector512.Load(bp);
                Vector512<float> b1 = Vector512.Load(bp + 16);
                c00 = Vector512.FusedMultiplyAdd(a0, b0, c00); c01 = Vector512.FusedMultiplyAdd(a0, b1, c01);
                c10 = Vector512.FusedMultiplyAdd(a1, b0, c10); c11 = Vector512.FusedMultiplyAdd(a1, b1, c11);
                c20 = Vector512.FusedMultiplyAdd(a0, b0, c20); c21 = Vector512.FusedMultiplyAdd(a0, b1, c21);
                c30 = Vector512.FusedMultiplyAdd(a1, b0, c30); c31 = Vector512.FusedMultiplyAdd(a1, b1, c31);
                c40 = Vector512.FusedMultiplyAdd(a0, b0, c40); c41 = Vector512.FusedMultiplyAdd(a0, b1, c41);
                c50 = Vector512.FusedMultiplyAdd(a1, b0, c50); c51 = Vector512.FusedMultiplyAdd(a1, b1, c51);
                c60 = Vector512.FusedMultiplyAdd(a0, b0, c60); c61 = Vector512.FusedMultiplyAdd(a0, b1, c61);
                c70 = Vector512.FusedMultiplyAdd(a1, b0, c70); c71 = Vector512.FusedMultiplyAdd(a1, b1, c71);
                bp += 32;
            }
            Vector512.Store(((c00 + c01) + (c10 + c11)) + ((c20 + c21) + (c30 + c31)) + ((c40 + c41) + (c50 + c51))
                + ((c60 + c61) + (c70 + c71)), c);
        }
    }
}
