using System;
using System.IO;
using System.IO.Compression;

namespace Kiln;

/// <summary>
/// Reader for IDX files (MNIST, Fashion-MNIST): magic <c>00 00 08 D</c> (unsigned bytes, D
/// dimensions), D big-endian int32 sizes, then the data. Gzip is detected by its magic
/// <c>1f 8b</c>, so <c>.gz</c> and raw files read the same way. Every defect is an
/// <see cref="InvalidDataException"/> naming the file.
/// </summary>
public static class Idx
{
    private const byte UnsignedByte = 0x08;

    /// <summary>Reads an unsigned-byte IDX file with <paramref name="expectedDimensions"/> dimensions; returns its shape and raw bytes.</summary>
    public static (int[] Shape, byte[] Data) Read(string path, int expectedDimensions)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (expectedDimensions is < 1 or > 255)
            throw new ArgumentOutOfRangeException(nameof(expectedDimensions), expectedDimensions, "an IDX file has 1 to 255 dimensions");
        using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        bool gzip = file.ReadByte() == 0x1f && file.ReadByte() == 0x8b;
        file.Position = 0;
        using Stream stream = gzip ? new GZipStream(file, CompressionMode.Decompress) : file;
        try
        {
            return ReadFrom(stream, path, expectedDimensions, gzip ? -1 : file.Length);
        }
        catch (InvalidDataException e) when (!e.Message.StartsWith(path, StringComparison.Ordinal))
        {
            // GZipStream's own complaints (corrupt deflate data) do not say which file.
            throw new InvalidDataException($"{path}: the gzip data is corrupt ({e.Message}).", e);
        }
    }

    /// <summary>Like <see cref="Read"/>, converted to floats with their raw values 0..255.</summary>
    public static (int[] Shape, float[] Data) ReadFloats(string path, int expectedDimensions)
    {
        var (shape, bytes) = Read(path, expectedDimensions);
        var data = new float[bytes.Length];
        for (int i = 0; i < bytes.Length; i++) data[i] = bytes[i];
        return (shape, data);
    }

    // fileLength: the raw file's length, or -1 for gzip, whose length says nothing of the data's.
    private static (int[], byte[]) ReadFrom(Stream stream, string path, int expectedDimensions, long fileLength)
    {
        Span<byte> magic = stackalloc byte[4];
        if (ReadFully(stream, magic) < 4)
            throw new InvalidDataException($"{path}: truncated: the file ends inside the 4-byte IDX magic number.");
        if (magic[0] != 0 || magic[1] != 0)
            throw new InvalidDataException(
                $"{path}: bad magic {magic[0]:x2} {magic[1]:x2} {magic[2]:x2} {magic[3]:x2}; an IDX file starts with 00 00, a type byte and a dimension count. Is this an IDX file?");
        if (magic[2] != UnsignedByte)
            throw new InvalidDataException($"{path}: bad magic: data type 0x{magic[2]:x2}, but only unsigned bytes (0x08) are supported.");
        int dims = magic[3];
        if (dims != expectedDimensions)
            throw new InvalidDataException($"{path}: has {dims} dimension(s), expected {expectedDimensions}.");

        var header = new byte[4 * dims];
        if (ReadFully(stream, header) < header.Length)
            throw new InvalidDataException($"{path}: truncated: the file ends inside the header of {dims} dimension sizes.");
        var shape = new int[dims];
        long total = 1;
        for (int d = 0; d < dims; d++)
        {
            uint size = (uint)(header[4 * d] << 24 | header[4 * d + 1] << 16 | header[4 * d + 2] << 8 | header[4 * d + 3]);
            if (size > int.MaxValue)
                throw new InvalidDataException($"{path}: dimension {d} has size {size}, too large.");
            shape[d] = (int)size;
            total *= size;
            if (total > Array.MaxLength)
                throw new InvalidDataException($"{path}: the header's shape ({Dataset.Shape(shape[..(d + 1)])}...) needs more bytes than one array holds.");
        }

        // Never allocate what a 12-byte header merely claims: a raw file's length is known; gzip
        // data is read in growing pieces, so memory follows the bytes that really arrive.
        long headerBytes = 4 + 4L * dims;
        if (fileLength >= 0 && fileLength - headerBytes < total)
            throw new InvalidDataException($"{path}: truncated: the header's shape ({Dataset.Shape(shape)}) needs {total:N0} data bytes, the file has {fileLength - headerBytes:N0}.");
        var (data, got) = fileLength >= 0 ? ReadExactly(stream, (int)total) : ReadGrowing(stream, (int)total);
        if (got < total)
            throw new InvalidDataException($"{path}: truncated: the header's shape ({Dataset.Shape(shape)}) needs {total:N0} data bytes, the file has {got:N0}.");
        if (stream.ReadByte() != -1)
            throw new InvalidDataException($"{path}: size mismatch: more data follows the {total:N0} bytes the header's shape ({Dataset.Shape(shape)}) describes.");
        return (shape, data);
    }

    private static (byte[], int) ReadExactly(Stream stream, int total)
    {
        var data = new byte[total];
        return (data, ReadFully(stream, data));
    }

    /// <summary>Reads up to <paramref name="total"/> bytes into a buffer that doubles from 1 MiB as data comes; the array is exactly <paramref name="total"/> long only when that many arrived.</summary>
    private static (byte[], int) ReadGrowing(Stream stream, int total)
    {
        var data = new byte[Math.Min(total, 1 << 20)];
        int got = 0;
        while (true)
        {
            got += ReadFully(stream, data.AsSpan(got));
            if (got < data.Length || data.Length == total) return (data, got);
            Array.Resize(ref data, (int)Math.Min(total, 2L * data.Length));
        }
    }

    private static int ReadFully(Stream stream, Span<byte> buffer)
    {
        int total = 0;
        while (total < buffer.Length)
        {
            int n = stream.Read(buffer[total..]);
            if (n == 0) break;
            total += n;
        }
        return total;
    }
}
