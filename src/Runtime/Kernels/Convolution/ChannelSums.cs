using System;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using Kiln.Threading;

namespace Kiln.Kernels;

/// <summary>
/// Row-blocked passes over a rows × channels matrix (NHWC images seen as pixels × channels). Sums are
/// taken per fixed block of <see cref="BlockRows"/> rows (rows in order) and the block results added
/// in block order in double, so the result does not depend on how blocks were spread over threads.
/// </summary>
internal static unsafe class ChannelSums
{
    internal const int BlockRows = 256;

    internal static int Blocks(long rows) => (int)((rows + BlockRows - 1) / BlockRows);

    /// <summary>The rows in block <paramref name="block"/>: <see cref="BlockRows"/>, fewer in the last.</summary>
    internal static int RowsIn(int block, long rows) => (int)Math.Min(BlockRows, rows - (long)block * BlockRows);

    /// <summary>Streaming passes: worth a second thread from about 64 K elements (<see cref="Streams.PartsFor"/>).</summary>
    internal static int PartsFor(long rows, int channels, int blocks) => Streams.PartsFor(rows * channels, blocks);

    /// <summary>dy = dy·act'(y) in place (skipped for Identity); then, when <paramref name="sums"/> is not null, sums[j] = Σ_r dy[r, j].</summary>
    public static void ActivationBackwardAndSums<TAct>(float* y, float* dy, float* sums, long rows, int channels, TAct act)
        where TAct : struct, IActivation
    {
        bool identity = typeof(TAct) == typeof(Identity);
        if (identity && sums == null) return;
        int blocks = Blocks(rows);
        var job = ActJob<TAct>.ForCurrentThread;
        job.Y = y; job.Dy = dy; job.Rows = rows; job.Channels = channels; job.Blocks = blocks; job.Act = act;
        job.Partials = sums == null ? null : ConvScratch.Current.Floats(ConvScratch.PartialsSlot, (long)blocks * channels);
        try { WorkerPool.Shared.Run(job, PartsFor(rows, channels, blocks)); }
        finally { job.Y = job.Dy = null; }
        if (sums != null) Reduce(job.Partials, blocks, channels, sums);
        job.Partials = null;
    }

    /// <summary>sums[j] = Σ_b partials[b, j], in block order, in double.</summary>
    internal static void Reduce(float* partials, int blocks, int channels, float* sums)
    {
        const int Chunk = 64;
        double* column = stackalloc double[Chunk];
        for (int j = 0; j < channels; j += Chunk)
        {
            int width = Math.Min(Chunk, channels - j);
            Reduce(partials + j, blocks, channels, width, column);
            for (int i = 0; i < width; i++) sums[j + i] = (float)column[i];
        }
    }

    /// <summary>sums[j] = Σ_b partials[b, j], in block order, kept in double (synchronized batch normalization adds them over ranks).</summary>
    internal static void Reduce(float* partials, int blocks, int channels, double* sums) => Reduce(partials, blocks, channels, channels, sums);

    /// <summary>
    /// The first <paramref name="width"/> columns of rows <paramref name="stride"/> apart. Eight columns at a time side by
    /// side, each still adding its blocks in order (the same bits as one column at a time): with a few hundred blocks,
    /// one column's chain of dependent adds took microseconds while the pool's other threads waited.
    /// </summary>
    private static void Reduce(float* partials, int blocks, int stride, int width, double* sums)
    {
        int j = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            for (; j + 8 <= width; j += 8)
            {
                Vector256<double> low = Vector256<double>.Zero, high = Vector256<double>.Zero;
                float* p = partials + j;
                for (int b = 0; b < blocks; b++, p += stride)
                {
                    var (l, h) = Vector256.Widen(Vector256.Load(p));
                    low += l;
                    high += h;
                }
                Vector256.Store(low, sums + j);
                Vector256.Store(high, sums + j + 4);
            }
        }
        for (; j < width; j++)
        {
            double s = 0;
            for (int b = 0; b < blocks; b++) s += partials[(nint)b * stride + j];
            sums[j] = s;
        }
    }

    private sealed class ActJob<TAct> : ParallelJob where TAct : struct, IActivation
    {
        [ThreadStatic] private static ActJob<TAct>? t_instance;
        public static ActJob<TAct> ForCurrentThread => t_instance ??= new ActJob<TAct>();

        public float* Y, Dy, Partials;
        public long Rows;
        public int Channels, Blocks;
        public TAct Act;

        public override void Execute(int part, int parts)
        {
            int c = Channels;
            bool identity = typeof(TAct) == typeof(Identity);
            for (int blk = (int)((long)part * Blocks / parts), end = (int)((long)(part + 1) * Blocks / parts); blk < end; blk++)
            {
                long r0 = (long)blk * BlockRows;
                int rows = RowsIn(blk, Rows);
                float* acc = Partials == null ? null : Partials + (nint)blk * c;
                if (acc != null) new Span<float>(acc, c).Clear();
                for (int r = 0; r < rows; r++)
                {
                    float* d = Dy + (r0 + r) * c;
                    if (!identity) MaskRow(Y + (r0 + r) * c, d, c, Act);
                    if (acc != null) ConvCore.Add(d, acc, c);
                }
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void MaskRow<TAct>(float* y, float* d, int count, TAct act) where TAct : struct, IActivation
    {
        int i = 0;
        if (Simd.Use512)
            for (; i + 16 <= count; i += 16)
                Vector512.Store(Vector512.Load(d + i) * act.DerivativeFromOutput(Vector512.Load(y + i)), d + i);
        else if (Simd.Use256)
            for (; i + 8 <= count; i += 8)
                Vector256.Store(Vector256.Load(d + i) * act.DerivativeFromOutput(Vector256.Load(y + i)), d + i);
        for (; i < count; i++) d[i] *= act.DerivativeFromOutput(y[i]);
    }

    /// <summary>y = act(y + bias[channel]) in place, rows split over threads; bias null = none.</summary>
    public static void BiasActivation<TAct>(float* y, float* bias, long rows, int channels, TAct act) where TAct : struct, IActivation
    {
        if (bias == null && typeof(TAct) == typeof(Identity)) return;
        int blocks = Blocks(rows);
        var job = BiasJob<TAct>.ForCurrentThread;
        job.Y = y; job.Bias = bias; job.Rows = rows; job.Channels = channels; job.Blocks = blocks; job.Act = act;
        try { WorkerPool.Shared.Run(job, PartsFor(rows, channels, blocks)); }
        finally { job.Y = job.Bias = null; }
    }

    private sealed class BiasJob<TAct> : ParallelJob where TAct : struct, IActivation
    {
        [ThreadStatic] private static BiasJob<TAct>? t_instance;
        public static BiasJob<TAct> ForCurrentThread => t_instance ??= new BiasJob<TAct>();

        public float* Y, Bias;
        public long Rows;
        public int Channels, Blocks;
        public TAct Act;

        public override void Execute(int part, int parts)
        {
            int c = Channels;
            long r0 = (long)((long)part * Blocks / parts) * BlockRows;
            long r1 = Math.Min(Rows, (long)((long)(part + 1) * Blocks / parts) * BlockRows);
            for (long r = r0; r < r1; r++)
            {
                float* row = Y + r * c;
                int i = 0;
                if (Simd.Use512)
                    for (; i + 16 <= c; i += 16)
                    {
                        var v = Vector512.Load(row + i);
                        if (Bias != null) v += Vector512.Load(Bias + i);
                        Vector512.Store(Act.Apply(v), row + i);
                    }
                else if (Simd.Use256)
                    for (; i + 8 <= c; i += 8)
                    {
                        var v = Vector256.Load(row + i);
                        if (Bias != null) v += Vector256.Load(Bias + i);
                        Vector256.Store(Act.Apply(v), row + i);
                    }
                for (; i < c; i++) row[i] = Act.Apply(Bias != null ? row[i] + Bias[i] : row[i]);
            }
        }
    }
}
