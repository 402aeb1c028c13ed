using System;
using System.Threading;

namespace Kiln.Distributed;

/// <summary>
/// The processes <c>mpirun</c> started, as an <see cref="ICommunicator"/> for
/// <c>Fit(..., distributed:)</c> (MPI_COMM_WORLD of Open MPI). One per process: create it with
/// <see cref="Initialize"/> before anything else talks to MPI, and dispose it at the end
/// (MPI_Finalize), after every rank has finished training.
/// <code>
/// using var mpi = Mpi.Initialize();
/// var model = new FashionMlp(batchSize: 32, seed: 1);      // the same seed on every rank
/// model.Fit(train, epochs: 10, new Sgd(0.01f), validation: valid, distributed: mpi);
/// if (mpi.IsRoot) Console.WriteLine(model.Evaluate(test));
/// </code>
/// Started without mpirun, it is a group of one (MPI's singleton mode). Errors follow MPI's default
/// handler: a failed call or a rank that dies aborts the whole job, so the others never hang.
/// </summary>
public sealed unsafe class Mpi : ICommunicator, IDisposable
{
    private static Mpi? _current;
    private static bool _finalized;
    private static readonly Lock Gate = new();

    private Mpi(int rank, int size)
    {
        Rank = rank;
        Size = size;
    }

    /// <summary>
    /// MPI_Init_thread (MPI_THREAD_SERIALIZED: Kiln calls MPI from one thread at a time, not
    /// necessarily the one that initialized it), then this process's rank and the group's size.
    /// A second call returns the same instance; after <see cref="Dispose"/>, MPI cannot start again
    /// in this process.
    /// </summary>
    public static Mpi Initialize()
    {
        lock (Gate)
        {
            if (_current is not null) return _current;
            if (_finalized) throw new InvalidOperationException("MPI was finalized in this process; it cannot be initialized again.");
            LoadLibrary();
            int already, provided;
            OpenMpi.Check(OpenMpi.Initialized(&already), "MPI_Initialized");
            if (already == 0)
                OpenMpi.Check(OpenMpi.InitThread(null, 0, OpenMpi.ThreadSerialized, &provided), "MPI_Init_thread");
            else provided = OpenMpi.ThreadSerialized;
            if (provided < OpenMpi.ThreadSerialized)
                throw new MpiException($"Open MPI gives thread level {provided}; Kiln needs MPI_THREAD_SERIALIZED ({OpenMpi.ThreadSerialized}).", 0);
            int rank, size;
            OpenMpi.Check(OpenMpi.CommRank(OpenMpi.CommWorld, &rank), "MPI_Comm_rank");
            OpenMpi.Check(OpenMpi.CommSize(OpenMpi.CommWorld, &size), "MPI_Comm_size");
            return _current = new Mpi(rank, size);
        }
    }

    /// <summary>Binds libmpi, so that a missing or foreign library is reported as itself, not as a type initializer's failure.</summary>
    private static void LoadLibrary()
    {
        try
        {
            System.Runtime.CompilerServices.RuntimeHelpers.RunClassConstructor(typeof(OpenMpi).TypeHandle);
        }
        catch (TypeInitializationException e) when (e.InnerException is not null)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(e.InnerException);
        }
    }

    /// <inheritdoc />
    public int Rank { get; }

    /// <inheritdoc />
    public int Size { get; }

    /// <summary>
    /// The ranks mpirun started on this machine (Open MPI's <c>OMPI_COMM_WORLD_LOCAL_SIZE</c>; 1
    /// without mpirun): ranks on one machine share its cores, so each should use about
    /// <c>Environment.ProcessorCount / LocalRanks</c> threads (<see cref="KilnSettings.Threads"/>).
    /// </summary>
    public static int LocalRanks =>
        int.TryParse(Environment.GetEnvironmentVariable("OMPI_COMM_WORLD_LOCAL_SIZE"), out int n) && n > 0 ? n : 1;

    /// <summary>Rank 0: the process that prints and writes files.</summary>
    public bool IsRoot => Rank == 0;

    /// <inheritdoc />
    public void AllReduceSum(Span<float> values)
    {
        CheckOpen();
        fixed (float* p = values)
            OpenMpi.Check(OpenMpi.Allreduce(OpenMpi.InPlace, p, values.Length, OpenMpi.Float, OpenMpi.Sum, OpenMpi.CommWorld), "MPI_Allreduce");
    }

    /// <inheritdoc />
    public void AllReduceSum(Span<double> values)
    {
        CheckOpen();
        fixed (double* p = values)
            OpenMpi.Check(OpenMpi.Allreduce(OpenMpi.InPlace, p, values.Length, OpenMpi.Double, OpenMpi.Sum, OpenMpi.CommWorld), "MPI_Allreduce");
    }

    /// <inheritdoc />
    public void Broadcast(Span<byte> bytes, int root)
    {
        CheckOpen();
        if ((uint)root >= (uint)Size) throw new ArgumentOutOfRangeException(nameof(root), root, $"a rank in 0..{Size - 1}");
        fixed (byte* p = bytes)
            OpenMpi.Check(OpenMpi.Bcast(p, bytes.Length, OpenMpi.Byte, root, OpenMpi.CommWorld), "MPI_Bcast");
    }

    /// <summary>Waits until every rank has called it.</summary>
    public void Barrier()
    {
        CheckOpen();
        OpenMpi.Check(OpenMpi.Barrier(OpenMpi.CommWorld), "MPI_Barrier");
    }

    /// <summary>
    /// Ends every rank of the job now (MPI_Abort) after writing <paramref name="message"/> to
    /// standard error: what a rank that caught an error it cannot share with the others should do,
    /// since they would otherwise wait for it in the next collective. Does not return.
    /// </summary>
    public void Abort(string message, int errorCode = 1)
    {
        Console.Error.WriteLine($"rank {Rank} of {Size}: {message}");
        Console.Error.Flush();
        OpenMpi.Abort(OpenMpi.CommWorld, errorCode);
        Environment.Exit(errorCode); // MPI_Abort does not return; this only satisfies the contract if it did
    }

    /// <summary>MPI_Finalize. Every rank must reach it; after it, no MPI call works in this process.</summary>
    public void Dispose()
    {
        lock (Gate)
        {
            if (_finalized || _current is null) return;
            int done;
            OpenMpi.Check(OpenMpi.Finalized(&done), "MPI_Finalized");
            if (done == 0) OpenMpi.Check(OpenMpi.Finalize(), "MPI_Finalize");
            _finalized = true;
            _current = null;
        }
    }

    private void CheckOpen()
    {
        if (_finalized) throw new ObjectDisposedException(nameof(Mpi), "MPI was finalized in this process.");
    }
}
