using System;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Kiln;

/// <summary>
/// A float buffer whose first element sits on a 64-byte boundary (one cache line, one
/// Vector512), allocated once on the pinned heap so the address never moves. Models keep
/// their parameters, gradients and activation arena in three of these.
/// </summary>
public sealed class AlignedBuffer
{
    private const int Alignment = 64;
    private readonly float[] _array;
    private readonly int _offset;

    public AlignedBuffer(int length)
    {
        if (length < 0) throw new ArgumentOutOfRangeException(nameof(length), length, "must not be negative");
        _array = GC.AllocateArray<float>(length + Alignment / sizeof(float), pinned: true);
        _offset = OffsetToAlignment(_array);
        Length = length;
    }

    public int Length { get; }

    public Span<float> Span => _array.AsSpan(_offset, Length);

    /// <summary>The underlying array and the offset of element 0, for APIs that want arrays.</summary>
    public ArraySegment<float> Segment => new(_array, _offset, Length);

    public Span<float> Slice(int start, int length) => _array.AsSpan(_offset + start, length);

    private static unsafe int OffsetToAlignment(float[] array)
    {
        nuint address = (nuint)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(array));
        nuint misalignment = address % Alignment;
        return misalignment == 0 ? 0 : (int)((Alignment - misalignment) / sizeof(float));
    }
}
