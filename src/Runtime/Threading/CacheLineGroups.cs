using System;
using System.Runtime.CompilerServices;

namespace Kiln.Threading;

/// <summary>
/// Slots for the values threads hand each other, in groups that each own 128 bytes (a pair of cache lines:
/// Intel's spatial prefetcher fetches lines in pairs) of pinned memory aligned to 128. A class's fields lie
/// wherever the runtime puts them: the worker pool's generation, on which a waiting worker spins, shared a line
/// with its done count, part count and failure, and the two threads' claims and a sleeping flag shared another
/// (arrays allocated side by side), so the caller's writes while it published a job, and each claim, pulled lines
/// back and forth between the cores (stop 70, benchmarks/README.md).
/// </summary>
internal sealed class CacheLineGroups
{
    private const int GroupBytes = 128;
    private const int SlotsPerGroup = GroupBytes / sizeof(long);

    // Pinned (the pinned object heap), so the alignment found here holds for the array's life.
    private readonly long[] _slots;
    private readonly int _first, _groups;

    public CacheLineGroups(int groups)
    {
        _groups = groups;
        _slots = GC.AllocateArray<long>((groups + 1) * SlotsPerGroup, pinned: true);
        _first = (int)(GroupBytes - (AddressOf(ref _slots[0]) & (GroupBytes - 1))) % GroupBytes / sizeof(long);
    }

    /// <summary>Slot <paramref name="slot"/> (0 to 15) of group <paramref name="group"/>.</summary>
    public ref long this[int group, int slot]
    {
        get
        {
            // The array holds a group more than asked (the alignment's slack): an index past the groups would land there, or in a neighbour.
            if ((uint)group >= (uint)_groups || (uint)slot >= SlotsPerGroup) throw new IndexOutOfRangeException($"slot {slot} of group {group}: {_groups} groups of {SlotsPerGroup}");
            return ref _slots[_first + group * SlotsPerGroup + slot];
        }
    }

    private static unsafe nint AddressOf(ref long slot) => (nint)Unsafe.AsPointer(ref slot);
}
