using System;
using System.Diagnostics;
using System.IO;
using System.Text;

namespace Kiln.Distributed.Tests;

/// <summary>Starts the worker under <c>mpirun</c> on this machine and waits for it, for a bounded time.</summary>
internal static class MpiRun
{
    /// <summary>A run that has not ended by then is a hang: the test fails and the job is killed.</summary>
    public static readonly TimeSpan Limit = TimeSpan.FromSeconds(90);

    public sealed record Result(int ExitCode, string Output);

    /// <summary>
    /// <c>mpirun --allow-run-as-root --oversubscribe -np <paramref name="ranks"/> dotnet Kiln.Distributed.Worker.dll scenario directory</c>:
    /// oversubscribed so that 2 ranks start on a machine with fewer cores, unbound so that they share them,
    /// and yielding while they wait in a collective rather than spinning on a core the other rank needs.
    /// </summary>
    public static Result Start(int ranks, string scenario, string directory)
    {
        string worker = Path.Combine(AppContext.BaseDirectory, "Kiln.Distributed.Worker.dll");
        Assert.True(File.Exists(worker), $"The worker program is missing: {worker}");
        var start = new ProcessStartInfo("mpirun")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string a in (string[])["--allow-run-as-root", "--oversubscribe", "--bind-to", "none", "--mca", "mpi_yield_when_idle", "1", "-np", ranks.ToString(),
                     "dotnet", worker, scenario, directory])
            start.ArgumentList.Add(a);
        var output = new StringBuilder();
        Process process;
        try
        {
            process = Process.Start(start)!;
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new InvalidOperationException("mpirun was not found: install Open MPI (apt-get install openmpi-bin), as .ci/run does.", e);
        }
        using (process)
        {
            process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (output) output.AppendLine(e.Data); };
            process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (output) output.AppendLine(e.Data); };
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            if (!process.WaitForExit(Limit))
            {
                process.Kill(entireProcessTree: true);
                process.WaitForExit();
                Assert.Fail($"mpirun {scenario} did not end within {Limit.TotalSeconds} s (a hang). Output so far:\n{output}");
            }
            process.WaitForExit(); // drains the redirected streams
            lock (output) return new Result(process.ExitCode, output.ToString());
        }
    }

    /// <summary>A fresh directory for one run's files.</summary>
    public static string Directory(string name)
    {
        string path = Path.Combine(Path.GetTempPath(), "kiln-mpi-" + name + "-" + Guid.NewGuid().ToString("N")[..8]);
        System.IO.Directory.CreateDirectory(path);
        return path;
    }
}
