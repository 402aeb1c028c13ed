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
        bool serial = KilnSettings.Threads <= 1 || parameters.Length < ParallelMinParameters;
        if (serial && !_anyApplied)
        {
            Update(parameters, gradients, 0);
            return;
        }
        WorkerPool? pool = serial ? null : WorkerPool.Shared;
        int parts = pool is null ? 1 : Math.Min(KilnSettings.Threads, pool.MaxParts);

        UpdateJob job = _updateJob ??= new UpdateJob(this);
        fixed (float* w = parameters, g = gradients)
        {
            job.Parameters = w;
            job.Gradients = g;
            job.Length = parameters.Length;
            try
            {
                // Serial with variables to skip: the job's walk over the variables, as one part.
                if (pool is null) job.Execute(0, 1);
                else pool.Run(job, parts);
            }
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
            int[] starts = optimizer._starts, lengths = optimizer._lengths;
            if (starts.Length == 0 || optimizer._boundLength > Length)
            {
                Range(0, Length, part, parts);
                return;
            }
            // Each variable split the same way, so a thread updates the rows of every weight matrix that its
            // part of the products read and wrote (GemmSplitK, the gradients' row splits) and the other core
            // never held; then the gaps between variables and the buffer's tail.
            // Variables a fused backward already updated are skipped (Optimizer.InBackward.cs).
            bool[] applied = optimizer._applied;
            int end = 0;
            for (int v = 0; v < starts.Length; v++)
            {
                if (starts[v] > end) Range(end, starts[v], part, parts);
                if (!applied[v]) Range(starts[v], starts[v] + lengths[v], part, parts);
                end = starts[v] + lengths[v];
            }
            if (Length > end) Range(end, Length, part, parts);
        }

        // This part's share of [from, to), cut every 16 floats from its start: variables start on 64-byte lines,
        // so two threads never write into one line.
        private void Range(int from, int to, int part, int parts)
        {
            const int line = 16;
            int lines = (to - from + line - 1) / line;
            int start = from + (int)((long)part * lines / parts) * line;
            int stop = Math.Min(to, from + (int)((long)(part + 1) * lines / parts) * line);
            if (stop <= start) return;
            optimizer.Update(new Span<float>(Parameters + start, stop - start), new ReadOnlySpan<float>(Gradients + start, stop - start), start);
        }
    }
}
