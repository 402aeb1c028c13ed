using System;
using Kiln.Threading;

namespace Kiln.Kernels;

/// <summary>
/// An elementwise pass over a long tensor, split over the worker pool in contiguous ranges cut at whole cache
/// lines, each thread's share where the convolution jobs put the same samples. On the calling thread alone,
/// a residual network's gradient sums and ReLU derivatives (1.6 M floats a pass at the Fashion ResNet's first
/// stage) read half their lines from the other core while it waited. Each element is computed on its own, so
/// the split changes no bit.
/// </summary>
internal static unsafe class Streams
{
    /// <summary>
    /// Elements from which a streaming pass takes the pool: these passes, <see cref="ChannelSums"/>' (batch norm's) and the
    /// pooling passes' (<see cref="PartsFor"/>); settable for measuring it (Kiln.Benchmarks --paired MODEL,streams-parallel-min,A,B).
    /// </summary>
    internal static long ParallelMinElements = 1 << 16;

    /// <summary>
    /// Parts for a streaming pass over <paramref name="elements"/> elements in <paramref name="units"/> units: one below
    /// <see cref="ParallelMinElements"/>, else a convolution-family job's (<see cref="ConvCore.PartsFor"/>).
    /// </summary>
    internal static int PartsFor(long elements, long units) =>
        elements < ParallelMinElements ? 1 : ConvCore.PartsFor(long.MaxValue, (int)Math.Min(units, int.MaxValue));

    private const int LineFloats = 16;

    /// <summary>A pass over elements [start, end) of its tensors.</summary>
    internal interface IPass
    {
        void Run(long start, long end);
    }

    /// <summary>Runs <paramref name="pass"/> over <paramref name="length"/> elements, split over the pool when it is long enough.</summary>
    public static void Run<TPass>(in TPass pass, long length) where TPass : struct, IPass
    {
        long lines = (length + LineFloats - 1) / LineFloats;
        int parts = PartsFor(length, lines);
        if (parts <= 1)
        {
            pass.Run(0, length);
            return;
        }
        var job = RangeJob<TPass>.ForCurrentThread;
        job.Pass = pass; job.Length = length; job.Lines = lines;
        try { WorkerPool.Shared.Run(job, parts); }
        finally { job.Pass = default; }
    }

    private sealed class RangeJob<TPass> : ParallelJob where TPass : struct, IPass
    {
        [ThreadStatic] private static RangeJob<TPass>? t_instance;
        public static RangeJob<TPass> ForCurrentThread => t_instance ??= new RangeJob<TPass>();

        public TPass Pass;
        public long Length, Lines;

        public override void Execute(int part, int parts)
        {
            long start = part * Lines / parts * LineFloats, end = Math.Min(Length, (part + 1) * Lines / parts * LineFloats);
            if (start < end) Pass.Run(start, end);
        }
    }
}
