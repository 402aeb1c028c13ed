using System;
using System.Collections.Generic;
using System.IO;
using System.Threading;

namespace Kiln.Runtime.Tests.Fuzz;

/// <summary>
/// Runs one loader over many inputs, each on its own thread with a time limit, and sorts the
/// outcomes: accepted, a documented error (<see cref="InvalidDataException"/> naming the file),
/// unexpected (any other exception, a message without the path, allocation past the budget, a
/// state check that failed), or a hang.
/// </summary>
internal sealed class FuzzRun(string name, string path, double secondsPerInput = 5)
{
    public int Inputs, Accepted, Documented, Unexpected, Hangs;
    public readonly List<string> Problems = [];

    /// <param name="load">Reads <see cref="path"/>; throws on a bad file.</param>
    /// <param name="budget">Bytes the load may allocate on its thread.</param>
    /// <param name="afterFailure">Checks that a failed load changed nothing; throws if it did.</param>
    public bool Run(byte[] input, int id, Action<string> load, long budget, Action? afterFailure = null)
    {
        File.WriteAllBytes(path, input);
        Inputs++;
        Exception? error = null;
        long allocated = 0;
        var thread = new Thread(() =>
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            try { load(path); }
            catch (Exception e) { error = e; }
            allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        }, 16 << 20) { IsBackground = true };
        thread.Start();
        if (!thread.Join(TimeSpan.FromSeconds(secondsPerInput)))
        {
            Hangs++;
            Keep(id, input, $"still running after {secondsPerInput} s");
            return false; // the thread spins on; stop this run
        }
        string? problem = null;
        if (error is null) Accepted++;
        else if (error is InvalidDataException && error.Message.Contains(path, StringComparison.Ordinal))
        {
            try
            {
                afterFailure?.Invoke();
                Documented++;
            }
            catch (Exception e)
            {
                problem = $"state changed after a failed load: {e.Message}";
            }
        }
        else problem = $"{error.GetType().Name}: {error.Message}";
        if (problem is null && allocated > budget) problem = $"allocated {allocated:N0} bytes, budget {budget:N0}";
        if (problem is not null)
        {
            if (error is null) Accepted--;
            Unexpected++;
            Keep(id, input, problem);
        }
        return true;
    }

    private void Keep(int id, byte[] input, string problem)
    {
        if (Problems.Count >= 10) return;
        // Small enough to read in the log and paste into a fixture.
        string head = Convert.ToHexString(input, 0, Math.Min(input.Length, 48));
        Problems.Add($"{name} input {id} ({input.Length} bytes, starts {head}): {problem}");
    }

    public override string ToString() =>
        $"{name}: {Inputs} inputs, {Accepted} accepted, {Documented} documented errors, {Unexpected} unexpected, {Hangs} hangs";
}
