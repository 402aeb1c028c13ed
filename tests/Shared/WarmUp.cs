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
    /// Bytes <paramref name="window"/> allocates on this thread and on the worker pool's threads.
    /// A garbage collection started by another thread (the test runner's) retires this thread's
    /// allocation context and can move GetAllocatedBytesForCurrentThread by up to one 8 KiB
    /// context with nothing allocated; such a window is measured again. A step that really
    /// allocates does so in every window, so retrying cannot hide it.
    /// </summary>
    public static (long CallingThread, long Workers) Allocations(Action window, int attempts = 5)
    {
        var pool = WorkerPool.Shared;
        (long, long) result = default;
        for (int attempt = 0; attempt < attempts; attempt++)
        {
            int collections = GC.CollectionCount(0);
            long workers = pool.AllocatedBytesOnWorkers;
            long before = GC.GetAllocatedBytesForCurrentThread();
            window();
            result = (GC.GetAllocatedBytesForCurrentThread() - before, pool.AllocatedBytesOnWorkers - workers);
            if (GC.CollectionCount(0) == collections || result == (0, 0)) return result;
        }
        return result;
    }
}
