using System;
using Kiln;

namespace Kiln.EndToEnd.Tests;

/// <summary>
/// Bytes the training thread allocates between batch 10 and batch 30 of each epoch after the first
/// (steps only: no epoch end between), the smallest window: another thread's garbage collection can
/// charge one window with bytes nothing allocated, while an allocation per step shows in every window.
/// </summary>
internal sealed class BatchAllocationProbe : ICallback
{
    private long _start;
    public long Smallest { get; private set; } = long.MaxValue;
    public int Windows { get; private set; }

    public void OnBatchEnd(int batch, Logs logs, TrainingContext context)
    {
        if (context.Epoch == 0) return;
        if (batch == 10) _start = GC.GetAllocatedBytesForCurrentThread();
        if (batch == 30)
        {
            Smallest = Math.Min(Smallest, GC.GetAllocatedBytesForCurrentThread() - _start);
            Windows++;
        }
    }
}
