using System;

namespace Kiln;

/// <summary>Process-wide runtime settings.</summary>
public static class KilnSettings
{
    private static int s_threads = Environment.ProcessorCount;

    /// <summary>
    /// How many threads a kernel may use (the caller counts as one). Default: the machine's cores.
    /// Results do not depend on it: kernels never split a reduction across threads.
    /// </summary>
    public static int Threads
    {
        get => s_threads;
        set
        {
            if (value < 1) throw new ArgumentOutOfRangeException(nameof(value), value, "Threads must be at least 1");
            s_threads = value;
        }
    }
}
