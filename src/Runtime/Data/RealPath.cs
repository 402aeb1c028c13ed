using System;
using System.Collections.Generic;
using System.IO;

namespace Kiln;

/// <summary>
/// POSIX <c>realpath</c> in managed code: the absolute path with every symbolic link along it
/// resolved, so that two names of one folder compare equal (a folder walk uses it to see cycles).
/// </summary>
internal static class RealPath
{
    private const int MaxLinks = 40; // Linux's own limit before ELOOP

    public static string Of(string path)
    {
        string full = Path.GetFullPath(path);
        string current = Path.GetPathRoot(full)!;
        var pending = new Stack<string>();
        Push(pending, full[current.Length..]);
        int links = 0;
        while (pending.Count > 0)
        {
            string part = pending.Pop();
            if (part is "" or ".") continue;
            if (part == "..")
            {
                current = Path.GetDirectoryName(current) ?? current;
                continue;
            }
            string next = Path.Combine(current, part);
            string? target = new FileInfo(next).LinkTarget;
            if (target is null)
            {
                current = next;
                continue;
            }
            if (++links > MaxLinks)
                throw new IOException($"{path}: more than {MaxLinks} symbolic links to follow; they form a loop.");
            if (Path.IsPathRooted(target))
            {
                current = Path.GetPathRoot(target)!;
                target = target[current.Length..];
            }
            Push(pending, target);
        }
        return current;
    }

    /// <summary>Pushes the components of a relative path so that the first pops first.</summary>
    private static void Push(Stack<string> stack, string relative)
    {
        string[] parts = relative.Split([Path.DirectorySeparatorChar, Path.AltDirectorySeparatorChar]);
        for (int i = parts.Length - 1; i >= 0; i--) stack.Push(parts[i]);
    }
}
