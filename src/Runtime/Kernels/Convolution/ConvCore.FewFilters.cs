using System;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using Kiln.Threading;

namespace Kiln.Kernels;

/// <summary>
/// The forward pass of a layer with at most four filters (an image generator's last layer: 256
/// channels to RGB through a 7×7 window) as dot products over the window. The indirect micro-kernel
/// computes 32 filters per tile, so with 3 it throws away 29 of every 32 products and streams the
/// whole K × 32 zero-padded kernel panel (1.6 MB for 7×7×256) once per 8 pixels. Here each 4-pixel ×
/// 4-filter tile keeps 16 accumulators of 16 channels: per step, four input vectors and four kernel
/// vectors feed 16 FMAs. The kernel is transposed once per call to four rows of K (zeros past F), and
/// each output is one fixed-order sum, so the bits do not depend on the thread count. The kernel
/// gradient is the same product transposed (<see cref="BackwardKernelFewFilters"/>): its GEMM would
/// have 3 columns, behind an im2col of 32 pixels × K.
/// </summary>
internal static unsafe partial class ConvCore
{
    /// <summary>Filters one dot-product tile computes.</summary>
    internal const int FewFilters = 4;

    /// <summary>True where <see cref="Forward"/> takes the dot-product path: a vector path, at most 4 filters, whole 16-channel vectors.</summary>
    internal static bool UsesFewFilters(in Conv2DGeometry g) =>
        Simd.Use16Lanes && g.OutputChannels <= FewFilters && g.InputChannels % 16 == 0;

    private static void ForwardFewFilters<TAct>(float* x, float* kernel, float* bias, float* y, int n, in Conv2DGeometry g, TAct act)
        where TAct : struct, IActivation
    {
        long pixels = (long)n * g.OutputHeight * g.OutputWidth;
        int f = g.OutputChannels, k = g.PatchSize;
        // rows[j][p] = kernel[p][j]: filter j's K weights contiguous, rows past F zero.
        float* rows = ConvScratch.Current.Floats(2, (long)FewFilters * k);
        for (int j = 0; j < FewFilters; j++)
        {
            float* row = rows + (nint)j * k;
            if (j >= f) { new Span<float>(row, k).Clear(); continue; }
            for (int p = 0; p < k; p++) row[p] = kernel[(nint)p * f + j];
        }
        var job = FewFiltersJob<TAct>.ForCurrentThread;
        job.X = x; job.Rows = rows; job.Bias = bias; job.Y = y; job.G = g; job.Act = act; job.Pixels = pixels;
        job.Units = (pixels + MR - 1) / MR;
        int parts = PartsFor(2 * pixels * k * f, (int)Math.Min(job.Units, int.MaxValue));
        try { WorkerPool.Shared.Run(job, parts); }
        finally { job.X = job.Rows = job.Bias = job.Y = null; }
    }

    /// <summary>
    /// dKernel (K × F) = Σ over pixels of patch ⊗ dz, for at most 4 filters: per 8 pixels, tap and 64
    /// channels, 16 accumulators (4 channel vectors × 4 filters) are loaded from a transposed sum
    /// (4 rows of K), take the 8 pixels' products in order and are stored back, so each element is
    /// one FMA chain over its group's pixels. Groups of pixels are as in <see cref="BackwardKernel"/>
    /// (a function of the problem only) and added in order.
    /// </summary>
    private static void BackwardKernelFewFilters(float* x, float* dz, float* dKernel, long pixels, in Conv2DGeometry g)
    {
        int k = g.PatchSize, f = g.OutputChannels;
        long blocks = (pixels + MR - 1) / MR;
        int groups = KernelGradientGroups(2 * pixels * k * f, blocks);
        long size = (long)FewFilters * k;
        var job = FewKernelJob.ForCurrentThread;
        job.X = x; job.Dz = dz; job.G = g; job.Pixels = pixels; job.Blocks = blocks; job.Groups = groups;
        job.Sums = ConvScratch.Current.Floats(ConvScratch.PartialsSlot, groups * size);
        int parts = groups == 1 ? 1 : Math.Min(groups, KilnSettings.Threads * PartsPerThread);
        try
        {
            WorkerPool.Shared.Run(job, parts);
            for (int grp = 1; grp < groups; grp++) AddLong(job.Sums + grp * size, job.Sums, size);
            for (int p = 0; p < k; p++)
                for (int j = 0; j < f; j++) dKernel[(nint)p * f + j] = job.Sums[(nint)j * k + p];
        }
        finally { job.X = job.Dz = job.Sums = null; }
    }

    private sealed class FewKernelJob : ParallelJob
    {
        [ThreadStatic] private static FewKernelJob? t_instance;
        public static FewKernelJob ForCurrentThread => t_instance ??= new FewKernelJob();

        public float* X, Dz, Sums;
        public Conv2DGeometry G;
        public long Pixels, Blocks;
        public int Groups;

        public override void Execute(int part, int parts)
        {
            for (int grp = part; grp < Groups; grp += parts) RunGroup(grp);
        }

        private void RunGroup(int grp)
        {
            ref readonly Conv2DGeometry g = ref G;
            int f = g.OutputChannels, c = g.InputChannels, k = g.PatchSize, taps = g.KernelHeight * g.KernelWidth;
            float* sums = Sums + (long)grp * FewFilters * k;
            new Span<float>(sums, FewFilters * k).Clear();
            ConvScratch s = ConvScratch.Current;
            float* zeros = s.Zeros(c);
            float** table = s.Pointers((long)taps * MR);
            // dz of the block's 8 pixels, 4 filters each (zeros past F and past the last pixel).
            float* grads = stackalloc float[MR * FewFilters];
            long b0 = grp * Blocks / Groups, b1 = (grp + 1) * Blocks / Groups;
            for (long blk = b0; blk < b1; blk++)
            {
                long q0 = blk * MR;
                int valid = (int)Math.Min(MR, Pixels - q0);
                BuildTable(X, g, q0, valid, zeros, table);
                for (int r = 0; r < MR; r++)
                    for (int j = 0; j < FewFilters; j++) grads[r * FewFilters + j] = r < valid && j < f ? Dz[(q0 + r) * f + j] : 0f;
                for (int t = 0; t < taps; t++)
                {
                    float** rows = table + t * MR;
                    float* at = sums + (nint)t * c;
                    int cc = 0;
                    // Accumulate64's 16 accumulators are 32 halves on the 256-bit path: more than its registers.
                    if (Simd.Use512)
                        for (; cc + 64 <= c; cc += 64) Accumulate64(rows, grads, at + cc, k, cc);
                    for (; cc < c; cc += 16) Accumulate16(rows, grads, at + cc, k, cc);
                }
            }
        }

        /// <summary>sums[j·K + i] += Σ_r rows[r][cc + i] · grads[r][j] for 64 channels i and the 4 filters j.</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private static void Accumulate64(float** rows, float* grads, float* sums, int k, int cc)
        {
            float* o0 = sums, o1 = sums + k, o2 = sums + 2 * (nint)k, o3 = sums + 3 * (nint)k;
            var a00 = Vector512.Load(o0); var a01 = Vector512.Load(o0 + 16); var a02 = Vector512.Load(o0 + 32); var a03 = Vector512.Load(o0 + 48);
            var a10 = Vector512.Load(o1); var a11 = Vector512.Load(o1 + 16); var a12 = Vector512.Load(o1 + 32); var a13 = Vector512.Load(o1 + 48);
            var a20 = Vector512.Load(o2); var a21 = Vector512.Load(o2 + 16); var a22 = Vector512.Load(o2 + 32); var a23 = Vector512.Load(o2 + 48);
            var a30 = Vector512.Load(o3); var a31 = Vector512.Load(o3 + 16); var a32 = Vector512.Load(o3 + 32); var a33 = Vector512.Load(o3 + 48);
            for (int r = 0; r < MR; r++)
            {
                float* xr = rows[r] + cc;
                var x0 = Vector512.Load(xr); var x1 = Vector512.Load(xr + 16); var x2 = Vector512.Load(xr + 32); var x3 = Vector512.Load(xr + 48);
                float* d = grads + r * FewFilters;
                var v = Vector512.Create(d[0]);
                a00 = Vector512.FusedMultiplyAdd(x0, v, a00); a01 = Vector512.FusedMultiplyAdd(x1, v, a01); a02 = Vector512.FusedMultiplyAdd(x2, v, a02); a03 = Vector512.FusedMultiplyAdd(x3, v, a03);
                v = Vector512.Create(d[1]);
                a10 = Vector512.FusedMultiplyAdd(x0, v, a10); a11 = Vector512.FusedMultiplyAdd(x1, v, a11); a12 = Vector512.FusedMultiplyAdd(x2, v, a12); a13 = Vector512.FusedMultiplyAdd(x3, v, a13);
                v = Vector512.Create(d[2]);
                a20 = Vector512.FusedMultiplyAdd(x0, v, a20); a21 = Vector512.FusedMultiplyAdd(x1, v, a21); a22 = Vector512.FusedMultiplyAdd(x2, v, a22); a23 = Vector512.FusedMultiplyAdd(x3, v, a23);
                v = Vector512.Create(d[3]);
                a30 = Vector512.FusedMultiplyAdd(x0, v, a30); a31 = Vector512.FusedMultiplyAdd(x1, v, a31); a32 = Vector512.FusedMultiplyAdd(x2, v, a32); a33 = Vector512.FusedMultiplyAdd(x3, v, a33);
            }
            Vector512.Store(a00, o0); Vector512.Store(a01, o0 + 16); Vector512.Store(a02, o0 + 32); Vector512.Store(a03, o0 + 48);
            Vector512.Store(a10, o1); Vector512.Store(a11, o1 + 16); Vector512.Store(a12, o1 + 32); Vector512.Store(a13, o1 + 48);
            Vector512.Store(a20, o2); Vector512.Store(a21, o2 + 16); Vector512.Store(a22, o2 + 32); Vector512.Store(a23, o2 + 48);
            Vector512.Store(a30, o3); Vector512.Store(a31, o3 + 16); Vector512.Store(a32, o3 + 32); Vector512.Store(a33, o3 + 48);
        }

        /// <summary>The same for 16 channels (the rest of a C that is not a multiple of 64, or every 16 on the 256-bit path), in the same order.</summary>
        private static void Accumulate16(float** rows, float* grads, float* sums, int k, int cc)
        {
            float* o0 = sums, o1 = sums + k, o2 = sums + 2 * (nint)k, o3 = sums + 3 * (nint)k;
            var a0 = Vector512.Load(o0); var a1 = Vector512.Load(o1); var a2 = Vector512.Load(o2); var a3 = Vector512.Load(o3);
            for (int r = 0; r < MR; r++)
            {
                var xv = Vector512.Load(rows[r] + cc);
                float* d = grads + r * FewFilters;
                a0 = Vector512.FusedMultiplyAdd(xv, Vector512.Create(d[0]), a0);
                a1 = Vector512.FusedMultiplyAdd(xv, Vector512.Create(d[1]), a1);
                a2 = Vector512.FusedMultiplyAdd(xv, Vector512.Create(d[2]), a2);
                a3 = Vector512.FusedMultiplyAdd(xv, Vector512.Create(d[3]), a3);
            }
            Vector512.Store(a0, o0); Vector512.Store(a1, o1); Vector512.Store(a2, o2); Vector512.Store(a3, o3);
        }
    }

    private sealed class FewFiltersJob<TAct> : ParallelJob where TAct : struct, IActivation
    {
        [ThreadStatic] private static FewFiltersJob<TAct>? t_instance;
        public static FewFiltersJob<TAct> ForCurrentThread => t_instance ??= new FewFiltersJob<TAct>();

        public float* X, Rows, Bias, Y;
        public Conv2DGeometry G;
        public TAct Act;
        public long Pixels, Units;

        public override void Execute(int part, int parts)
        {
            long u0 = part * Units / parts, u1 = (part + 1) * Units / parts;
            if (u1 <= u0) return;
            ref readonly Conv2DGeometry g = ref G;
            int f = g.OutputChannels, c = g.InputChannels, k = g.PatchSize, taps = g.KernelHeight * g.KernelWidth;
            ConvScratch s = ConvScratch.Current;
            float* zeros = s.Zeros(c);
            float** table = s.Pointers((long)taps * MR);
            float* sums = stackalloc float[16];
            var bias = Vector512<float>.Zero;
            if (Bias != null)
            {
                float* b = stackalloc float[16];
                for (int i = 0; i < 16; i++) b[i] = i % FewFilters < f ? Bias[i % FewFilters] : 0f;
                bias = Vector512.Load(b);
            }
            for (long u = u0; u < u1; u++)
            {
                long q0 = u * MR;
                int valid = (int)Math.Min(MR, Pixels - q0);
                BuildTable(X, g, q0, valid, zeros, table);
                for (int half = 0; half < MR && half < valid; half += 4)
                {
                    if (Simd.Use512) Tile(table + half, taps, c, k, Rows, sums);
                    else Tile256(table + half, taps, c, k, Rows, sums);
                    // sums[4r + j] = pixel r, filter j: bias and activation on all 16 at once.
                    Vector512.Store(Act.Apply(Vector512.Load(sums) + bias), sums);
                    int count = Math.Min(4, valid - half);
                    float* yr = Y + (q0 + half) * f;
                    for (int r = 0; r < count; r++)
                        for (int j = 0; j < f; j++) yr[(nint)r * f + j] = sums[4 * r + j];
                }
            }
        }

        /// <summary>sums[4r + j] = Σ over taps and channels of pixel r's input times filter j's weights, for table rows r = 0..3 of each tap.</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private static void Tile(float** table, int taps, int c, int k, float* rows, float* sums)
        {
            Vector512<float> s00 = default, s01 = default, s02 = default, s03 = default;
            Vector512<float> s10 = default, s11 = default, s12 = default, s13 = default;
            Vector512<float> s20 = default, s21 = default, s22 = default, s23 = default;
            Vector512<float> s30 = default, s31 = default, s32 = default, s33 = default;
            float* w0 = rows, w1 = rows + k, w2 = rows + 2 * (nint)k, w3 = rows + 3 * (nint)k;
            for (int t = 0; t < taps; t++)
            {
                float* a0 = table[0], a1 = table[1], a2 = table[2], a3 = table[3];
                table += MR;
                for (int i = 0; i < c; i += 16)
                {
                    var k0 = Vector512.Load(w0 + i); var k1 = Vector512.Load(w1 + i);
                    var k2 = Vector512.Load(w2 + i); var k3 = Vector512.Load(w3 + i);
                    var v = Vector512.Load(a0 + i);
                    s00 = Vector512.FusedMultiplyAdd(v, k0, s00); s01 = Vector512.FusedMultiplyAdd(v, k1, s01);
                    s02 = Vector512.FusedMultiplyAdd(v, k2, s02); s03 = Vector512.FusedMultiplyAdd(v, k3, s03);
                    v = Vector512.Load(a1 + i);
                    s10 = Vector512.FusedMultiplyAdd(v, k0, s10); s11 = Vector512.FusedMultiplyAdd(v, k1, s11);
                    s12 = Vector512.FusedMultiplyAdd(v, k2, s12); s13 = Vector512.FusedMultiplyAdd(v, k3, s13);
                    v = Vector512.Load(a2 + i);
                    s20 = Vector512.FusedMultiplyAdd(v, k0, s20); s21 = Vector512.FusedMultiplyAdd(v, k1, s21);
                    s22 = Vector512.FusedMultiplyAdd(v, k2, s22); s23 = Vector512.FusedMultiplyAdd(v, k3, s23);
                    v = Vector512.Load(a3 + i);
                    s30 = Vector512.FusedMultiplyAdd(v, k0, s30); s31 = Vector512.FusedMultiplyAdd(v, k1, s31);
                    s32 = Vector512.FusedMultiplyAdd(v, k2, s32); s33 = Vector512.FusedMultiplyAdd(v, k3, s33);
                }
                w0 += c; w1 += c; w2 += c; w3 += c;
            }
            sums[0] = Vector512.Sum(s00); sums[1] = Vector512.Sum(s01); sums[2] = Vector512.Sum(s02); sums[3] = Vector512.Sum(s03);
            sums[4] = Vector512.Sum(s10); sums[5] = Vector512.Sum(s11); sums[6] = Vector512.Sum(s12); sums[7] = Vector512.Sum(s13);
            sums[8] = Vector512.Sum(s20); sums[9] = Vector512.Sum(s21); sums[10] = Vector512.Sum(s22); sums[11] = Vector512.Sum(s23);
            sums[12] = Vector512.Sum(s30); sums[13] = Vector512.Sum(s31); sums[14] = Vector512.Sum(s32); sums[15] = Vector512.Sum(s33);
        }

        /// <summary>
        /// <see cref="Tile"/> in 256-bit registers: the four pixels in two pairs, each pair's 8 sums (2 pixels
        /// × 4 filters) in 8 ymm accumulators over 8 channels a step (Tile's 16 accumulators would be 32
        /// halves here, twice AVX2's registers). Each sum is still one fixed-order chain, so the bits do not
        /// depend on the thread count.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private static void Tile256(float** table, int taps, int c, int k, float* rows, float* sums)
        {
            for (int pair = 0; pair < 4; pair += 2)
            {
                Vector256<float> s00 = default, s01 = default, s02 = default, s03 = default;
                Vector256<float> s10 = default, s11 = default, s12 = default, s13 = default;
                float* w0 = rows, w1 = rows + k, w2 = rows + 2 * (nint)k, w3 = rows + 3 * (nint)k;
                float** tab = table + pair;
                for (int t = 0; t < taps; t++)
                {
                    float* a0 = tab[0], a1 = tab[1];
                    tab += MR;
                    for (int i = 0; i < c; i += 8)
                    {
                        var v0 = Vector256.Load(a0 + i); var v1 = Vector256.Load(a1 + i);
                        var w = Vector256.Load(w0 + i);
                        s00 = Vector256.FusedMultiplyAdd(v0, w, s00); s10 = Vector256.FusedMultiplyAdd(v1, w, s10);
                        w = Vector256.Load(w1 + i);
                        s01 = Vector256.FusedMultiplyAdd(v0, w, s01); s11 = Vector256.FusedMultiplyAdd(v1, w, s11);
                        w = Vector256.Load(w2 + i);
                        s02 = Vector256.FusedMultiplyAdd(v0, w, s02); s12 = Vector256.FusedMultiplyAdd(v1, w, s12);
                        w = Vector256.Load(w3 + i);
                        s03 = Vector256.FusedMultiplyAdd(v0, w, s03); s13 = Vector256.FusedMultiplyAdd(v1, w, s13);
                    }
                    w0 += c; w1 += c; w2 += c; w3 += c;
                }
                float* o = sums + 4 * pair;
                o[0] = Vector256.Sum(s00); o[1] = Vector256.Sum(s01); o[2] = Vector256.Sum(s02); o[3] = Vector256.Sum(s03);
                o[4] = Vector256.Sum(s10); o[5] = Vector256.Sum(s11); o[6] = Vector256.Sum(s12); o[7] = Vector256.Sum(s13);
            }
        }
    }
}
