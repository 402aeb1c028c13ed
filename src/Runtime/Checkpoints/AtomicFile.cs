using System;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.IO;

namespace Kiln;

/// <summary>
/// Writes a file so that readers see the old file or the complete new one, never a half: the
/// bytes go to a temporary file in the same folder (<c>.NAME.PID.GUID.tmp</c>), are flushed to
/// disk, then renamed over the target (a rename within one file system replaces atomically).
/// A writer killed mid-write leaves its temporary file behind; the next write to the same target
/// removes those of writers that are gone.
/// </summary>
internal static class AtomicFile
{
    // Temporary files this process is writing now: the others with its PID are a dead earlier
    // process's (a container restarts with the same PIDs).
    private static readonly ConcurrentDictionary<string, byte> InFlight = new(StringComparer.Ordinal);

    public static void Write(string path, Action<Stream> write)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        string full = Path.GetFullPath(path);
        string directory = Path.GetDirectoryName(full)!;
        Directory.CreateDirectory(directory);
        RemoveStale(directory, Path.GetFileName(full));
        string temporary = Path.Combine(directory, $".{Path.GetFileName(full)}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp");
        InFlight[temporary] = 0;
        try
        {
            using (var stream = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16))
            {
                write(stream);
                stream.Flush(flushToDisk: true);
            }
            File.Move(temporary, full, overwrite: true);
        }
        catch
        {
            try { File.Delete(temporary); } catch (IOException) { } catch (UnauthorizedAccessException) { }
            throw;
        }
        finally
        {
            InFlight.TryRemove(temporary, out _);
        }
    }

    /// <summary>Deletes <c>.NAME.PID.GUID.tmp</c> files whose writer is no longer running; best effort, never fails the write.</summary>
    internal static void RemoveStale(string directory, string name)
    {
        string prefix = "." + name + ".";
        string[] candidates;
        try
        {
            candidates = Directory.GetFiles(directory, prefix + "*.tmp");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return;
        }
        foreach (string file in candidates)
        {
            // PID.GUID between the target's name and ".tmp"; the GUID is 32 hex digits.
            string fileName = Path.GetFileName(file);
            if (fileName.Length < prefix.Length + ".tmp".Length || !fileName.StartsWith(prefix, StringComparison.Ordinal)) continue;
            string middle = fileName[prefix.Length..^".tmp".Length];
            int dot = middle.IndexOf('.');
            if (dot < 0 || middle.Length - dot - 1 != 32
                || !int.TryParse(middle.AsSpan(0, dot), NumberStyles.None, CultureInfo.InvariantCulture, out int pid))
                continue;
            bool alive = pid == Environment.ProcessId ? InFlight.ContainsKey(file) : IsRunning(pid);
            if (alive) continue;
            try { File.Delete(file); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
    }

    private static bool IsRunning(int pid)
    {
        try
        {
            using var process = Process.GetProcessById(pid);
            return !process.HasExited;
        }
        catch (ArgumentException)
        {
            return false; // no such process
        }
        catch (InvalidOperationException)
        {
            return false;
        }
    }
}
