using System;

namespace Kiln.Distributed;

/// <summary>An MPI call returned an error (with MPI's default handler, errors abort the job before this can be thrown).</summary>
public sealed class MpiException : Exception
{
    /// <summary>Creates the exception with MPI's message and error code.</summary>
    public MpiException(string message, int errorCode) : base(message) => ErrorCode = errorCode;

    /// <summary>The MPI error code the call returned.</summary>
    public int ErrorCode { get; }
}
