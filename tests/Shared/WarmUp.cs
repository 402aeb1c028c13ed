using System;
using System.Threading;
using Kiln.Threading;

namespace Kiln.Tests;

/// <summary>Warm-up and allocation measurement for the "no allocation per step" tests (linked into each test project).</summary>
internal static class WarmUp
{
    /// <summary>
    /// Runs a step until the runtime has finished compiling it: with tiered compilation a method
    /// is recompiled after 30 calls once a quiet period has passed, so warm up past that.
    /// </summary>
    public static void Run(Action step, int calls = 40)
    {
        for (int i = 0; i < calls; i++) step();
        Thread.Sleep(250);
        for (int i = 0; i < calls; i++) step();
    }

    /// <summary>
    /// Bytes <paramref name="window"/> allocates on this thread and on the worker pool's threads: the
    /// smallest of up to <paramref name="attempts"/> windows, stopping at the first that allocates nothing.
    /// A window can be charged with bytes no step allocated: a garbage collection started by another
    /// thread (the test runner's) retires this thread's allocation context and moves
    /// GetAllocatedBytesForCurrentThread by up to one 8 KiB context, and on a loaded machine tiering
    /// can still be compiling a method (on-stack replacement compiles on the thread that crosses the
    /// threshold). Both happen once; a step that really allocates does so in every window, so taking
    /// the smallest cannot hide it.
    /// </summary>
    public static (long CallingThread, long Workers) Allocations(Action window, int attempts = 5)
    {
        var pool = WorkerPool.Shared;
        (long CallingThread, long Workers) smallest = default;
        for (int attempt = 0; attempt < attempts; attempt++)
        {
            long workers = pool.AllocatedBytesOnWorkers;
            long before = GC.GetAllocatedBytesForCurrentThread();
            window();
            (long, long) result = (GC.GetAllocatedBytesForCurrentThread() - before, pool.AllocatedBytesOnWorkers - workers);
            if (attempt == 0 || result.Item1 + result.Item2 < smallest.CallingThread + smallest.Workers) smallest = result;
            if (result == (0, 0)) break;
        }
        return smallest;
    }
}
