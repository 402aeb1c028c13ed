using System;
using System.Runtime.InteropServices;

namespace Kiln.Distributed;

/// <summary>
/// The few MPI functions Kiln needs, bound to Open MPI's <c>libmpi.so.40</c> (Open MPI 3.x–5.x).
/// Open MPI's handles are pointers: <c>MPI_COMM_WORLD</c> is the address of the global
/// <c>ompi_mpi_comm_world</c>, <c>MPI_FLOAT</c> of <c>ompi_mpi_float</c>, <c>MPI_SUM</c> of
/// <c>ompi_mpi_op_sum</c> (mpi.h's <c>OMPI_PREDEFINED_GLOBAL</c>), so they are the addresses of
/// those exported symbols. MPICH and MS-MPI use integer handles instead: this binding is for Open
/// MPI only, and says so when another library is found. Functions are called through unmanaged
/// function pointers, which allocate nothing.
/// </summary>
internal static unsafe class OpenMpi
{
    private const string Library = "libmpi.so.40";

    // mpi.h: enum { MPI_THREAD_SINGLE, MPI_THREAD_FUNNELED, MPI_THREAD_SERIALIZED, MPI_THREAD_MULTIPLE }.
    public const int ThreadSerialized = 2;
    public const int Success = 0;
    public const int MaxErrorString = 256;

    /// <summary>mpi.h: <c>#define MPI_IN_PLACE ((void *) 1)</c>.</summary>
    public static readonly nint InPlace = 1;

    public static readonly nint Handle = Load();

    public static readonly nint CommWorld = Export("ompi_mpi_comm_world");
    public static readonly nint Float = Export("ompi_mpi_float");
    public static readonly nint Double = Export("ompi_mpi_double");
    public static readonly nint Byte = Export("ompi_mpi_byte");
    public static readonly nint Sum = Export("ompi_mpi_op_sum");

    public static readonly delegate* unmanaged<int*, nint, int, int*, int> InitThread = (delegate* unmanaged<int*, nint, int, int*, int>)Export("MPI_Init_thread");
    public static readonly delegate* unmanaged<int*, int> Initialized = (delegate* unmanaged<int*, int>)Export("MPI_Initialized");
    public static readonly delegate* unmanaged<int*, int> Finalized = (delegate* unmanaged<int*, int>)Export("MPI_Finalized");
    public static readonly delegate* unmanaged<int> Finalize = (delegate* unmanaged<int>)Export("MPI_Finalize");
    public static readonly delegate* unmanaged<nint, int*, int> CommRank = (delegate* unmanaged<nint, int*, int>)Export("MPI_Comm_rank");
    public static readonly delegate* unmanaged<nint, int*, int> CommSize = (delegate* unmanaged<nint, int*, int>)Export("MPI_Comm_size");
    public static readonly delegate* unmanaged<nint, void*, int, nint, nint, nint, int> Allreduce = (delegate* unmanaged<nint, void*, int, nint, nint, nint, int>)Export("MPI_Allreduce");
    public static readonly delegate* unmanaged<void*, int, nint, int, nint, int> Bcast = (delegate* unmanaged<void*, int, nint, int, nint, int>)Export("MPI_Bcast");
    public static readonly delegate* unmanaged<nint, int> Barrier = (delegate* unmanaged<nint, int>)Export("MPI_Barrier");
    public static readonly delegate* unmanaged<nint, int, int> Abort = (delegate* unmanaged<nint, int, int>)Export("MPI_Abort");
    public static readonly delegate* unmanaged<int, byte*, int*, int> ErrorString = (delegate* unmanaged<int, byte*, int*, int>)Export("MPI_Error_string");

    /// <summary>Throws <see cref="MpiException"/> naming <paramref name="call"/> and MPI's own message when <paramref name="code"/> is not MPI_SUCCESS.</summary>
    public static void Check(int code, string call)
    {
        if (code == Success) return;
        byte* text = stackalloc byte[MaxErrorString];
        int length = 0;
        string message = ErrorString(code, text, &length) == Success ? System.Text.Encoding.ASCII.GetString(text, length) : $"error {code}";
        throw new MpiException($"{call} failed: {message}.", code);
    }

    private static nint Load()
    {
        // RTLD_NOW | RTLD_GLOBAL, as mpi4py does: Open MPI loads its components (transports,
        // launchers) with dlopen, and they resolve symbols from libmpi and libopen-pal, which a
        // local load (NativeLibrary.Load's) would hide from them.
        nint handle = dlopen(Library, 0x2 | 0x100);
        if (handle != 0) return handle;
        string why = Marshal.PtrToStringUTF8(dlerror()) ?? "not found";
        throw new DllNotFoundException(
            $"Kiln.Distributed needs Open MPI's {Library} ({why}). Install Open MPI (Debian and Ubuntu: apt-get install openmpi-bin) " +
            "and start the program with mpirun; MPICH and MS-MPI are not supported.");
    }

    private static nint Export(string name)
    {
        if (NativeLibrary.TryGetExport(Handle, name, out nint address)) return address;
        throw new EntryPointNotFoundException(
            $"{Library} has no symbol '{name}': it is not Open MPI (Kiln.Distributed binds Open MPI's ABI, whose handles are such symbols), or not a version 3 to 5.");
    }

    [DllImport("libc", EntryPoint = "dlopen")]
    private static extern nint dlopen([MarshalAs(UnmanagedType.LPUTF8Str)] string file, int mode);

    [DllImport("libc", EntryPoint = "dlerror")]
    private static extern nint dlerror();
}
