namespace Kiln.Threading;

/// <summary>
/// Work that <see cref="WorkerPool"/> splits into parts. A preallocated, reusable object (not a
/// closure) so that dispatching allocates nothing.
/// </summary>
public abstract class ParallelJob
{
    /// <summary>Do part <paramref name="part"/> of <paramref name="parts"/>; parts run concurrently.</summary>
    public abstract void Execute(int part, int parts);
}
