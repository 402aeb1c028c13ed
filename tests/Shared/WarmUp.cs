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

    /// <summary>Bytes <paramref name="action"/> allocates on this thread.</summary>
    public static long BytesOnThisThread(Action action)
    {
        long before = GC.GetAllocatedBytesForCurrentThread();
        action();
        return GC.GetAllocatedBytesForCurrentThread() - before;
    }

    /// <summary>
    /// Up to <paramref name="attempts"/> readings of <paramref name="window"/> (bytes), stopping at the
    /// first that reads <paramref name="expected"/>; assert that the result contains it. For the same
    /// reason as <see cref="Allocations"/>: another thread's collection can charge one window with up
    /// to 8 KiB nothing allocated, while an allocation per step shows in every window.
    /// </summary>
    public static long[] Windows(Func<long> window, long expected = 0, int attempts = 4)
    {
        var seen = new long[attempts];
        for (int i = 0; i < attempts; i++)
        {
            seen[i] = window();
            if (seen[i] == expected) return seen[..(i + 1)];
        }
        return seen;
    }

    /// <summary>
    /// Readings (as <see cref="Windows"/>) of the bytes <c>fit(6)</c> allocates on this thread beyond
    /// <c>fit(1)</c>, the epochs given as the argument: per-run setup cancels out, so only what grows
    /// with epochs remains, which should be <paramref name="expected"/> (the history's reserve).
    /// </summary>
    public static long[] ExtraForFiveEpochs(Action<int> fit, long expected) =>
        Windows(() => BytesOnThisThread(() => fit(6)) - BytesOnThisThread(() => fit(1)), expected);
}
