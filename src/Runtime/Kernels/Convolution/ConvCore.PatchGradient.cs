using System;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Kiln.Kernels;

internal static unsafe partial class ConvCore
{
    /// <summary>
    /// A kernel-gradient group (chunks <paramref name="c0"/> .. <paramref name="c1"/> of <paramref name="chunk"/> pixels)
    /// with its patches read where they lie in x: per chunk, for each tap and block of 8 channels (8 rows of
    /// dW), <see cref="PatchGradientTile"/> over 32 filters at a time, through one pointer per pixel and tap.
    /// Gathering the patches into the GEMM's packed A panels first was a fifth of this product on a 3×3,
    /// 64 → 64 layer (Zen 5, `perf`). Each element of dW is the GEMM's chain over a chunk's pixels, added to
    /// what the chunks before left: the bits of the GEMM path it replaces.
    /// </summary>
    private static void PatchGradientGroup(float* x, in Conv2DGeometry g, long pixels, int chunk, long c0, long c1, float* dz, float* target)
    {
        int c = g.InputChannels, f = g.OutputChannels, taps = g.KernelHeight * g.KernelWidth;
        ConvScratch s = ConvScratch.Current;
        float* zeros = s.Zeros(c);
        // Two tables: this chunk's, and the next one's, built ahead so its new lines can be prefetched.
        float** tables = s.Pointers(2L * taps * chunk);
        // Filters past the last whole 32: their dz columns zero-padded to 32, each tile run into a scratch
        // tile and its valid columns copied out (edge columns get interior arithmetic).
        int whole = f - f % NR;
        float* edgeDz = whole < f ? s.Floats(0, (long)chunk * NR) : null;
        float* tile = whole < f ? s.Floats(3, MR * NR) : null;
        int lastTapRow = (g.KernelHeight - 1) * g.KernelWidth;
        int steps = taps * (c / MR);
        bool prefetches = PatchPrefetch.Pays(c, f, steps);
        BuildTable(x, g, c0 * chunk, (int)Math.Min(chunk, pixels - c0 * chunk), zeros, tables, chunk);
        for (long ch = c0; ch < c1; ch++)
        {
            long q0 = ch * chunk;
            int rows = (int)Math.Min(chunk, pixels - q0);
            float** table = tables + ((ch - c0) & 1) * (nint)taps * chunk;
            float* dzc = dz + q0 * f;
            // The next chunk's dz and the x of its last kernel row (all it reads that this chunk has not)
            // come from L3 or memory; fetched into L2 a slice per step of this chunk, they are there when it
            // starts, where the products are dense enough to hide the fetching (see PatchPrefetch.Pays).
            // The last chunk of a group fetches nothing.
            var ahead = default(PatchPrefetch);
            if (ch + 1 < c1)
            {
                float** next = tables + ((ch + 1 - c0) & 1) * (nint)taps * chunk;
                int nextRows = (int)Math.Min(chunk, pixels - q0 - rows);
                BuildTable(x, g, q0 + rows, nextRows, zeros, next, chunk);
                if (prefetches) ahead = new PatchPrefetch(dzc + (nint)rows * f, (long)nextRows * f, next + (nint)lastTapRow * chunk, nextRows, c, steps);
            }
            if (edgeDz != null) GemmPacking.PackB(false, dzc + whole, f, rows, f - whole, edgeDz, NR);
            bool accumulate = ch > c0;
            for (int tap = 0; tap < taps; tap++)
            {
                float** patches = table + (nint)tap * chunk;
                for (int cb = 0; cb < c; cb += MR)
                {
                    ahead.Step();
                    float* dw = target + (nint)(tap * c + cb) * f;
                    for (int j0 = 0; j0 < whole; j0 += NR)
                        PatchGradientTile(patches, cb, rows, dzc + j0, f, dw + j0, f, accumulate);
                    if (edgeDz != null)
                    {
                        if (accumulate) GemmDriver.CopyColumns(dw + whole, f, tile, NR, MR, f - whole);
                        PatchGradientTile(patches, cb, rows, edgeDz, NR, tile, NR, accumulate);
                        GemmDriver.CopyColumns(tile, NR, dw + whole, f, MR, f - whole);
                    }
                }
            }
        }
    }

    /// <summary>
    /// Multiply-adds a step of a chunk does per line it fetches: below this, fetching costs more than it
    /// saves (the losses below come to about two cycles a fetched line). Kernel gradients alone, fetching
    /// against none alternated in one process (Zen 5, 1 and 2 threads): 3×3 64 → 64 at 4,608 a line gained
    /// 3–5 %; 64 → 128 (6,144) and the GAN's 4×4 stride-2 128 → 128 (16,384) were level; the Fashion ResNet's
    /// 3×3 stride-2 layers lost 6–9 % at 1,536 (16 → 32) and 4 % at 3,072 (32 → 64), a 16 × 16 32 → 64 stride-1
    /// layer 1–2 % at 3,072, and the 1×1 stride-2 shortcuts 16–35 % at a few hundred (benchmarks/README.md,
    /// stop 62). Settable for measuring it (Kiln.Benchmarks --paired MODEL,patch-prefetch-min-macs,A,B).
    /// </summary>
    internal static int PatchPrefetchMinMultiplyAdds = 4096;

    /// <summary>
    /// The next chunk's new lines, fetched into L2 an equal share per step of this chunk: its dz block, then
    /// the c floats each pointer of its table's last kernel row names (the rows of x no earlier chunk read).
    /// The walk keeps its place as a patch and a line in it, with no division per line.
    /// </summary>
    private struct PatchPrefetch
    {
        private readonly float* _dz;
        private readonly float** _patches;
        private readonly long _dzLines, _lines;
        private readonly int _linesPerPatch, _perStep;
        private long _next;
        private int _patch, _line;

        public PatchPrefetch(float* dz, long dzFloats, float** patches, int count, int channels, int steps)
        {
            _dz = dz;
            _patches = patches;
            _dzLines = (dzFloats + 15) / 16;
            _linesPerPatch = (channels + 15) / 16;
            _lines = _dzLines + (long)count * _linesPerPatch;
            _perStep = (int)((_lines + steps - 1) / steps);
        }

        /// <summary>
        /// Whether a layer's kernel gradient fetches ahead: each step of a chunk (a tap and 8 channels) does
        /// 8·F multiply-adds a pixel, and the chunk fetches ⌈F/16⌉ + ⌈C/16⌉ lines a pixel over its steps.
        /// </summary>
        public static bool Pays(int channels, int filters, int steps) =>
            (long)MR * filters * steps >= (long)PatchPrefetchMinMultiplyAdds * ((filters + 15) / 16 + (channels + 15) / 16);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Step()
        {
            long end = Math.Min(_lines, _next + _perStep);
            for (; _next < end && _next < _dzLines; _next++) Sse.Prefetch1(_dz + _next * 16);
            for (; _next < end; _next++)
            {
                Sse.Prefetch1(_patches[_patch] + (nint)_line * 16);
                if (++_line == _linesPerPatch)
                {
                    _line = 0;
                    _patch++;
                }
            }
        }
    }

    /// <summary>
    /// dW rows (one tap, channels c0 .. c0 + 7) × 32 filters (+)= Σ over the chunk's pixels p of
    /// patches[p][c0 .. c0 + 7] ⊗ dz[p][0 .. 31], in 16 zmm accumulators: the 512-bit GEMM micro-kernel's
    /// tile with its A panel's 8 values a step read through the pixel's pointer (x's row, or zeros outside
    /// the image) instead of from a packed panel. Each chain starts at zero and is added to dW at the end,
    /// as the micro-kernel's are.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void PatchGradientTile(float** patches, nint c0, int rows, float* dz, nint ldd, float* dw, nint ldw, bool accumulate)
    {
        Vector512<float> c00 = default, c01 = default, c10 = default, c11 = default;
        Vector512<float> c20 = default, c21 = default, c30 = default, c31 = default;
        Vector512<float> c40 = default, c41 = default, c50 = default, c51 = default;
        Vector512<float> c60 = default, c61 = default, c70 = default, c71 = default;
        for (int p = 0; p < rows; p++)
        {
            float* a = patches[p] + c0;
            Vector512<float> b0 = Vector512.Load(dz);
            Vector512<float> b1 = Vector512.Load(dz + 16);
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
            dz += ldd;
        }
        AddStore(dw, c00, c01, accumulate); dw += ldw;
        AddStore(dw, c10, c11, accumulate); dw += ldw;
        AddStore(dw, c20, c21, accumulate); dw += ldw;
        AddStore(dw, c30, c31, accumulate); dw += ldw;
        AddStore(dw, c40, c41, accumulate); dw += ldw;
        AddStore(dw, c50, c51, accumulate); dw += ldw;
        AddStore(dw, c60, c61, accumulate); dw += ldw;
        AddStore(dw, c70, c71, accumulate);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void AddStore(float* dw, Vector512<float> v0, Vector512<float> v1, bool accumulate)
    {
        if (accumulate)
        {
            v0 = Vector512.Load(dw) + v0;
            v1 = Vector512.Load(dw + 16) + v1;
        }
        Vector512.Store(v0, dw);
        Vector512.Store(v1, dw + 16);
    }
}
