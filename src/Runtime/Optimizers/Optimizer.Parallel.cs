using System;
using System.Runtime.CompilerServices;
using Kiln.Threading;

namespace Kiln;

public abstract partial class Optimizer
{
    /// <summary>
    /// From this many parameters a step's update is split over the worker pool: below it (a few
    /// microseconds of work) the hand-off costs about what it saves.
    /// </summary>
    internal static int ParallelMinParameters = 1 << 15;

    private UpdateJob? _updateJob;

    /// <summary>
    /// <see cref="Update"/> over the whole buffer, in one range per thread when it is large: an update
    /// is a memory-bound pass (SGD was a tenth of the Fashion MLP's step at batch 32), and elementwise,
    /// so every element gets the same bits however the buffer is split.
    /// </summary>
    private unsafe void UpdateInParts(Span<float> parameters, ReadOnlySpan<float> gradients)
    {
        // A small buffer or one thread never touches the pool, so a lone optimizer starts no workers.
        if (KilnSettings.Threads <= 1 || parameters.Length < ParallelMinParameters)
        {
            Update(parameters, gradients, 0);
            return;
        }
        WorkerPool pool = WorkerPool.Shared;
        int parts = Math.Min(KilnSettings.Threads, pool.MaxParts);

        UpdateJob job = _updateJob ??= new UpdateJob(this);
        fixed (float* w = parameters, g = gradients)
        {
            job.Parameters = w;
            job.Gradients = g;
            job.Length = parameters.Length;
            try { pool.Run(job, parts); }
            finally { job.Parameters = job.Gradients = null; }
        }
    }

    private sealed unsafe class UpdateJob(Optimizer optimizer) : ParallelJob
    {
        public float* Parameters, Gradients;
        public int Length;

        // Compiled fully optimized up front, like the kernels' jobs: tiering's promotions of code that runs
        // on pool workers would allocate there mid-training.
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public override void Execute(int part, int parts)
        {
            // Ranges of whole 64-byte lines, so that two threads never write into one cache line.
            const int line = 16;
            int lines = (Length + line - 1) / line;
            int start = (int)((long)part * lines / parts) * line;
            int end = Math.Min(Length, (int)((long)(part + 1) * lines / parts) * line);
            if (end <= start) return;
            optimizer.Update(new Span<float>(Parameters + start, end - start), new ReadOnlySpan<float>(Gradients + start, end - start), start);
        }
    }
}
