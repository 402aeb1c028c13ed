using System;
using System.Buffers.Binary;
using System.IO;
using System.Text;

namespace Kiln;

/// <summary>
/// Writes TensorBoard event files (<c>events.out.tfevents.*</c>): TFRecord framing (length,
/// masked CRC-32C of the length, the record, masked CRC-32C of the record) around hand-encoded
/// <c>tensorflow.Event</c> protocol buffers: wall_time (1, double), step (2, int64),
/// file_version (3, string) and summary (5) holding <c>Summary.Value</c>s of tag (1) and
/// simple_value (2, float). Writing a scalar encodes into a buffer it owns: no allocation.
/// </summary>
internal sealed class EventFileWriter : IDisposable
{
    private static int s_counter;
    private readonly FileStream _stream;
    private readonly byte[] _record = new byte[1024];

    public EventFileWriter(string directory)
    {
        Directory.CreateDirectory(directory);
        long seconds = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        string host = Environment.MachineName;
        int counter = System.Threading.Interlocked.Increment(ref s_counter);
        Path = System.IO.Path.Combine(directory, $"events.out.tfevents.{seconds}.{host}.{Environment.ProcessId}.{counter}.v2");
        _stream = new FileStream(Path, FileMode.Create, FileAccess.Write, FileShare.Read, 1 << 14);
        WriteFileVersion();
        Flush();
    }

    public string Path { get; }

    /// <summary>A tag encoded once as UTF-8, so writing it per batch allocates nothing.</summary>
    public static byte[] Tag(string tag) => Encoding.UTF8.GetBytes(tag);

    public void WriteScalar(ReadOnlySpan<byte> tag, float value, long step)
    {
        if (tag.Length > 512) throw new ArgumentException($"A TensorBoard tag of {tag.Length} bytes is too long.", nameof(tag));
        // Value = tag (1, bytes) + simple_value (2, fixed32); Summary = value (1); Event = wall_time, step, summary (5).
        int valueLength = 1 + VarintLength((ulong)tag.Length) + tag.Length + 1 + 4;
        int summaryLength = 1 + VarintLength((ulong)valueLength) + valueLength;
        Span<byte> r = _record;
        int p = 0;
        p = WallTime(r, p);
        r[p++] = 0x10; // step, varint
        p = Varint(r, p, (ulong)step);
        r[p++] = 0x2A; // summary, length-delimited
        p = Varint(r, p, (ulong)summaryLength);
        r[p++] = 0x0A; // Summary.value
        p = Varint(r, p, (ulong)valueLength);
        r[p++] = 0x0A; // Value.tag
        p = Varint(r, p, (ulong)tag.Length);
        tag.CopyTo(r[p..]);
        p += tag.Length;
        r[p++] = 0x15; // Value.simple_value, fixed32
        BinaryPrimitives.WriteSingleLittleEndian(r[p..], value);
        p += 4;
        WriteRecord(r[..p]);
    }

    public void Flush() => _stream.Flush();

    public void Dispose() => _stream.Dispose();

    private void WriteFileVersion()
    {
        ReadOnlySpan<byte> version = "brain.Event:2"u8;
        Span<byte> r = _record;
        int p = WallTime(r, 0);
        r[p++] = 0x1A; // file_version, length-delimited
        p = Varint(r, p, (ulong)version.Length);
        version.CopyTo(r[p..]);
        WriteRecord(r[..(p + version.Length)]);
    }

    private void WriteRecord(ReadOnlySpan<byte> data)
    {
        Span<byte> header = stackalloc byte[12];
        BinaryPrimitives.WriteUInt64LittleEndian(header, (ulong)data.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(header[8..], Crc32C.Mask(Crc32C.Compute(header[..8])));
        Span<byte> footer = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(footer, Crc32C.Mask(Crc32C.Compute(data)));
        _stream.Write(header);
        _stream.Write(data);
        _stream.Write(footer);
    }

    private static int WallTime(Span<byte> r, int p)
    {
        r[p++] = 0x09; // wall_time, fixed64
        double now = (DateTime.UtcNow - DateTime.UnixEpoch).TotalSeconds;
        BinaryPrimitives.WriteDoubleLittleEndian(r[p..], now);
        return p + 8;
    }

    private static int Varint(Span<byte> r, int p, ulong v)
    {
        while (v >= 0x80)
        {
            r[p++] = (byte)(v | 0x80);
            v >>= 7;
        }
        r[p++] = (byte)v;
        return p;
    }

    private static int VarintLength(ulong v)
    {
        int n = 1;
        while (v >= 0x80) { v >>= 7; n++; }
        return n;
    }
}
