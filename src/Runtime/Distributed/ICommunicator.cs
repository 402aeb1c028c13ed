using System;

namespace Kiln;

/// <summary>
/// The collective operations synchronous data-parallel training needs from a group of processes
/// (ranks) that each run the same program: PyTorch's process group, Horovod's backend. Pass one to
/// <c>Fit(..., distributed:)</c>; Kiln.Distributed's <c>Mpi.Initialize()</c> is the implementation
/// over Open MPI. Every rank must call the operations in the same order with the same lengths
/// (they are collective); Fit guarantees that for its own calls. Implementations must not allocate
/// per call: Fit calls them on every training step.
/// </summary>
public interface ICommunicator
{
    /// <summary>This process's index in the group, 0 to <see cref="Size"/> − 1; rank 0 prints, logs and writes checkpoints.</summary>
    int Rank { get; }

    /// <summary>The number of processes in the group.</summary>
    int Size { get; }

    /// <summary>Replaces <paramref name="values"/>, on every rank, by their elementwise sum over all ranks. The result must be bitwise the same on every rank.</summary>
    void AllReduceSum(Span<float> values);

    /// <summary>Replaces <paramref name="values"/>, on every rank, by their elementwise sum over all ranks. The result must be bitwise the same on every rank.</summary>
    void AllReduceSum(Span<double> values);

    /// <summary>Copies rank <paramref name="root"/>'s <paramref name="bytes"/> into every other rank's.</summary>
    void Broadcast(Span<byte> bytes, int root);
}
