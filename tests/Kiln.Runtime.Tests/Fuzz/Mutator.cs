using System;
using System.Buffers.Binary;
using System.Collections.Generic;

namespace Kiln.Runtime.Tests.Fuzz;

/// <summary>
/// Seeded byte-level mutations in the style of AFL's havoc stage: bit flips, interesting values
/// (0, 0xFF, 0x7F…, int.MaxValue) written as 1, 2 or 4 bytes in either byte order, truncation,
/// deleted, duplicated and inserted blocks, and splices from another seed. Half of the edits
/// fall in the first <c>headerBytes</c>, where the formats keep their sizes and offsets.
/// </summary>
internal sealed class Mutator(int seed)
{
    private readonly Random _random = new(seed);
    private static readonly int[] Interesting = [0, 1, -1, 0x7F, 0x80, 0xFF, 0x100, 0x7FFF, 0x8000, 0xFFFF, 0x10000, int.MaxValue, int.MinValue, 0x7FFFFFFE, 16_777_216, 46341, 65536];

    public byte[] Mutate(byte[] input, int headerBytes, IReadOnlyList<byte[]> others)
    {
        var data = new List<byte>(input);
        int edits = 1 + _random.Next(4);
        for (int e = 0; e < edits; e++)
        {
            if (data.Count == 0) data.Add(0);
            int limit = _random.Next(2) == 0 ? Math.Min(headerBytes, data.Count) : data.Count;
            int at = _random.Next(Math.Max(1, limit));
            switch (_random.Next(9))
            {
                case 0:
                case 1:
                    data[at] ^= (byte)(1 << _random.Next(8));
                    break;
                case 2:
                    data[at] = (byte)Interesting[_random.Next(Interesting.Length)];
                    break;
                case 3:
                {
                    Span<byte> word = stackalloc byte[4];
                    int value = Interesting[_random.Next(Interesting.Length)];
                    if (_random.Next(2) == 0) BinaryPrimitives.WriteInt32BigEndian(word, value);
                    else BinaryPrimitives.WriteInt32LittleEndian(word, value);
                    int width = _random.Next(2) == 0 ? 2 : 4;
                    for (int i = 0; i < width && at + i < data.Count; i++) data[at + i] = word[4 - width + i];
                    break;
                }
                case 4:
                    data.RemoveRange(at, data.Count - at); // truncate
                    break;
                case 5:
                    data.RemoveRange(at, Math.Min(data.Count - at, 1 + _random.Next(32)));
                    break;
                case 6:
                {
                    int length = Math.Min(data.Count - at, 1 + _random.Next(64));
                    data.InsertRange(_random.Next(data.Count + 1), data.GetRange(at, length));
                    break;
                }
                case 7:
                {
                    var junk = new byte[1 + _random.Next(16)];
                    _random.NextBytes(junk);
                    data.InsertRange(at, junk);
                    break;
                }
                default:
                {
                    var other = others[_random.Next(others.Count)];
                    if (other.Length == 0) break;
                    int from = _random.Next(other.Length);
                    int length = Math.Min(other.Length - from, 1 + _random.Next(256));
                    for (int i = 0; i < length && at + i < data.Count; i++) data[at + i] = other[from + i];
                    break;
                }
            }
        }
        return [.. data];
    }

    public int Next(int max) => _random.Next(max);
}
