using System;
using System.Buffers.Binary;
using System.Text;

namespace Kiln;

/// <summary>
/// A small protocol-buffer encoder for the few TensorFlow messages the runtime writes (event
/// files): fields are appended to a buffer the writer owns and reuses, so encoding a message
/// allocates nothing once the buffer has grown to fit. A nested message is opened with
/// <see cref="BeginMessage"/> and closed with <see cref="EndMessage"/>, which writes its length
/// before it (moving its bytes by the few the length takes), so no message is encoded twice.
/// </summary>
internal sealed class ProtobufWriter
{
    private const int Varint = 0, Fixed64 = 1, LengthDelimited = 2, Fixed32 = 5;

    // The longest varint (10 bytes) and a field key: room EndMessage may need to move bytes into.
    private const int Slack = 16;

    private byte[] _buffer;
    private int _length;

    public ProtobufWriter(int capacity = 1024) => _buffer = new byte[Math.Max(capacity, 64)];

    /// <summary>The bytes written since the last <see cref="Clear"/>.</summary>
    public ReadOnlySpan<byte> Written => _buffer.AsSpan(0, _length);

    public int Length => _length;

    public void Clear() => _length = 0;

    public void UInt64(int field, ulong value)
    {
        Key(field, Varint);
        WriteVarint(value);
    }

    /// <summary>An <c>int32</c> or <c>int64</c> field (a negative value takes ten bytes, as protobuf encodes it).</summary>
    public void Int64(int field, long value) => UInt64(field, (ulong)value);

    public void Bool(int field, bool value) => UInt64(field, value ? 1UL : 0UL);

    public void Double(int field, double value)
    {
        Key(field, Fixed64);
        BinaryPrimitives.WriteDoubleLittleEndian(Reserve(8), value);
    }

    public void Float(int field, float value)
    {
        Key(field, Fixed32);
        BinaryPrimitives.WriteSingleLittleEndian(Reserve(4), value);
    }

    public void Bytes(int field, ReadOnlySpan<byte> value)
    {
        Key(field, LengthDelimited);
        WriteVarint((ulong)value.Length);
        value.CopyTo(Reserve(value.Length));
    }

    /// <summary>A string field, encoded as UTF-8 straight into the buffer.</summary>
    public void String(int field, string value)
    {
        int count = Encoding.UTF8.GetByteCount(value);
        Key(field, LengthDelimited);
        WriteVarint((ulong)count);
        Encoding.UTF8.GetBytes(value, Reserve(count));
    }

    /// <summary>A packed <c>repeated double</c> field.</summary>
    public void PackedDoubles(int field, ReadOnlySpan<double> values)
    {
        Key(field, LengthDelimited);
        WriteVarint((ulong)values.Length * 8);
        Span<byte> into = Reserve(values.Length * 8);
        for (int i = 0; i < values.Length; i++) BinaryPrimitives.WriteDoubleLittleEndian(into[(8 * i)..], values[i]);
    }

    /// <summary>Opens a nested message; returns where its content starts, for <see cref="EndMessage"/>.</summary>
    public int BeginMessage(int field)
    {
        Key(field, LengthDelimited);
        return _length;
    }

    /// <summary>Closes the nested message opened at <paramref name="start"/>: its length goes before its content.</summary>
    public void EndMessage(int start)
    {
        int content = _length - start;
        int prefix = VarintLength((ulong)content);
        Reserve(prefix);
        _buffer.AsSpan(start, content).CopyTo(_buffer.AsSpan(start + prefix)); // memmove: the ranges overlap
        int p = start;
        ulong v = (ulong)content;
        while (v >= 0x80)
        {
            _buffer[p++] = (byte)(v | 0x80);
            v >>= 7;
        }
        _buffer[p] = (byte)v;
    }

    public static int VarintLength(ulong v)
    {
        int n = 1;
        while (v >= 0x80) { v >>= 7; n++; }
        return n;
    }

    private void Key(int field, int wire) => WriteVarint(((ulong)(uint)field << 3) | (uint)wire);

    private void WriteVarint(ulong v)
    {
        Span<byte> into = Reserve(VarintLength(v));
        int p = 0;
        while (v >= 0x80)
        {
            into[p++] = (byte)(v | 0x80);
            v >>= 7;
        }
        into[p] = (byte)v;
    }

    private Span<byte> Reserve(int count)
    {
        if (_length + count + Slack > _buffer.Length)
            Array.Resize(ref _buffer, Math.Max(_buffer.Length * 2, _length + count + Slack));
        var span = _buffer.AsSpan(_length, count);
        _length += count;
        return span;
    }
}
