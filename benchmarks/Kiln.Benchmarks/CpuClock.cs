using System;
using System.Runtime.InteropServices;

namespace Kiln.Benchmarks;

/// <summary>
/// CPU time (Linux clock_gettime), for comparisons on a shared machine: time another process
/// holds this core is not counted, which wall-clock time cannot tell apart from a slower kernel.
/// </summary>
internal static class CpuClock
{
    private const int ProcessCpuTime = 2, ThreadCpuTime = 3; // CLOCK_PROCESS_CPUTIME_ID, CLOCK_THREAD_CPUTIME_ID

    [StructLayout(LayoutKind.Sequential)]
    private struct TimeSpec
    {
        public long Seconds, Nanoseconds;
    }

    [DllImport("libc", EntryPoint = "clock_gettime")]
    private static extern int ClockGetTime(int clock, out TimeSpec time);

    /// <summary>Whether this OS has the clocks (Linux).</summary>
    public static bool Available => OperatingSystem.IsLinux();

    /// <summary>Seconds of CPU the calling thread has used.</summary>
    public static double Thread() => Read(ThreadCpuTime);

    /// <summary>Seconds of CPU all of this process's threads have used.</summary>
    public static double Process() => Read(ProcessCpuTime);

    private static double Read(int clock)
    {
        if (ClockGetTime(clock, out TimeSpec t) != 0) throw new InvalidOperationException("clock_gettime failed");
        return t.Seconds + t.Nanoseconds * 1e-9;
    }
}
