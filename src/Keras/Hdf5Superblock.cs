using System;
using System.Buffers.Binary;

namespace Kiln.Keras;

/// <summary>
/// The HDF5 superblock's signature and end-of-file address, read before PureHDF opens the file:
/// a file that is not HDF5 at all, or one cut short (an interrupted copy or download), gets its
/// own clear message. PureHDF reads what a truncated file still holds without noticing the rest
/// is gone, as the HDF5 library would (it compares the same address with the file's length).
/// </summary>
internal static class Hdf5Superblock
{
    private static ReadOnlySpan<byte> Signature => [0x89, (byte)'H', (byte)'D', (byte)'F', (byte)'\r', (byte)'\n', 0x1a, (byte)'\n'];

    /// <summary>How many leading bytes <see cref="Check"/> needs: the superblock after a user block of up to 32 KiB.</summary>
    public const int HeadLength = 32 * 1024 + 128;

    /// <summary>
    /// Null when a file of <paramref name="length"/> bytes starting with <paramref name="file"/>
    /// (its first <see cref="HeadLength"/> bytes or all of it) looks whole; otherwise why not.
    /// </summary>
    public static string? Check(ReadOnlySpan<byte> file, long length)
    {
        // The superblock sits at 0, or after a user block at 512, 1024, 2048, ...
        long at = -1;
        for (long p = 0; p + 8 <= file.Length; p = p == 0 ? 512 : p * 2)
            if (file.Slice((int)p, 8).SequenceEqual(Signature))
            {
                at = p;
                break;
            }
        if (at < 0)
        {
            if (file.Length >= 2 && file[0] == (byte)'P' && file[1] == (byte)'K')
                return "it is a zip archive, not an HDF5 file (a .keras file is read when its name ends in .keras)";
            return "it is not an HDF5 file (no HDF5 signature); Keras writes weights as .h5 or .weights.h5";
        }
        var s = file[(int)at..];
        if (s.Length < 9) return Truncated(length, null);
        int version = s[8];
        int offsets, addresses;
        switch (version)
        {
            case 0:
            case 1:
                if (s.Length < 16) return Truncated(length, null);
                offsets = s[13];
                addresses = version == 0 ? 24 : 28;
                break;
            case 2:
            case 3:
                if (s.Length < 12) return Truncated(length, null);
                offsets = s[9];
                addresses = 12;
                break;
            default:
                return $"its HDF5 superblock has version {version}, which this reader does not know";
        }
        if (offsets is not (2 or 4 or 8)) return $"its HDF5 superblock declares {offsets}-byte addresses, which is not valid";
        // Base address, then (v0/1) free-space address or (v2/3) superblock extension, then the end-of-file address.
        int eofAt = addresses + 2 * offsets;
        if (s.Length < eofAt + offsets) return Truncated(length, null);
        ulong baseAddress = Read(s.Slice(addresses, offsets));
        ulong eof = Read(s.Slice(eofAt, offsets));
        if (eof == Undefined(offsets)) return null;
        ulong end = baseAddress + eof;
        return end > (ulong)length ? Truncated(length, end) : null;
    }

    private static string Truncated(long length, ulong? expected) => expected is ulong e
        ? $"it is truncated: its HDF5 superblock says it ends at byte {e}, but it has {length} bytes"
        : $"it is truncated: {length} bytes do not hold an HDF5 superblock";

    private static ulong Read(ReadOnlySpan<byte> bytes) => bytes.Length switch
    {
        2 => BinaryPrimitives.ReadUInt16LittleEndian(bytes),
        4 => BinaryPrimitives.ReadUInt32LittleEndian(bytes),
        _ => BinaryPrimitives.ReadUInt64LittleEndian(bytes),
    };

    private static ulong Undefined(int size) => size == 8 ? ulong.MaxValue : (1UL << (8 * size)) - 1;
}
