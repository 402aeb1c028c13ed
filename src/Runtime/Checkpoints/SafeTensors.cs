using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;

namespace Kiln;

/// <summary>One float tensor to write: its name, shape and values.</summary>
internal readonly record struct TensorToWrite(string Name, int[] Shape, ReadOnlyMemory<float> Values);

/// <summary>One tensor read from a safetensors file, converted to float.</summary>
internal sealed record TensorRead(string Name, string DType, long[] Shape, float[] Values);

/// <summary>
/// The safetensors format (the one PyTorch and Hugging Face read): an 8-byte little-endian
/// header length, a JSON header <c>{"name": {"dtype", "shape", "data_offsets": [begin, end]},
/// "__metadata__": {string: string}}</c> padded with spaces to 8 bytes, then the little-endian
/// data, every byte of it belonging to exactly one tensor. Kiln writes F32 and adds to the
/// metadata the CRC-32C of the header's content and the data (<c>kiln.crc32c</c>, see
/// <see cref="HeaderBytes"/>) so that a flipped bit anywhere, a renamed tensor or an edited
/// scalar is caught on load; files of format version 1 carry <c>kiln.data_crc32c</c>, over the
/// data only, and still load. It reads F32, F64, F16 and BF16. Names must be unique (tensors,
/// metadata keys, <c>__metadata__</c> itself); every defect is an <see cref="InvalidDataException"/>.
/// </summary>
internal static class SafeTensors
{
    /// <summary>Version 2: CRC-32C of <see cref="HeaderBytes"/> then the data.</summary>
    public const string CrcKey = "kiln.crc32c";

    /// <summary>Version 1: CRC-32C of the data alone; read, no longer written.</summary>
    public const string DataCrcKey = "kiln.data_crc32c";
    private const long MaxHeader = 100_000_000; // the reference implementation's limit

    /// <summary>
    /// Floats turned into bytes at a time when writing: one span of bytes cannot pass 2 GiB, so a tensor of over
    /// 536,870,911 floats failed with an OverflowException when taken whole.
    /// </summary>
    private const int WriteSlice = 1 << 24;

    /// <summary>Bytes read at a time (a multiple of every dtype's size): a file over 2 GB failed with "file too long" when read whole.</summary>
    private const int ReadSlice = 1 << 24;

    public static void Write(string path, IReadOnlyList<TensorToWrite> tensors, IReadOnlyDictionary<string, string> metadata)
    {
        var meta = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (var (k, v) in metadata) meta[k] = v;
        var entries = new List<Entry>(tensors.Count);
        long at = 0;
        foreach (var t in tensors)
        {
            var shape = Array.ConvertAll(t.Shape, d => (long)d);
            entries.Add(new Entry(t.Name, "F32", shape, at, at + (long)t.Values.Length * sizeof(float)));
            at += (long)t.Values.Length * sizeof(float);
        }
        uint crc = Crc32C.Append(Crc32C.Start, HeaderBytes(entries, meta));
        foreach (var t in tensors)
            foreach (var part in Slices(t.Values)) crc = Crc32C.Append(crc, LittleEndianBytes(part.Span, out _));
        meta[CrcKey] = Crc32C.Finish(crc).ToString("x8", CultureInfo.InvariantCulture);

        var json = new MemoryStream();
        using (var w = new Utf8JsonWriter(json))
        {
            w.WriteStartObject();
            w.WriteStartObject("__metadata__");
            foreach (var (k, v) in meta) w.WriteString(k, v);
            w.WriteEndObject();
            long offset = 0;
            foreach (var t in tensors)
            {
                long bytes = (long)t.Values.Length * sizeof(float);
                long elements = 1;
                foreach (int d in t.Shape) elements *= d;
                if (elements != t.Values.Length)
                    throw new ArgumentException($"Tensor '{t.Name}' has shape ({string.Join(", ", t.Shape)}) but {t.Values.Length} values.");
                w.WriteStartObject(t.Name);
                w.WriteString("dtype", "F32");
                w.WriteStartArray("shape");
                foreach (int d in t.Shape) w.WriteNumberValue(d);
                w.WriteEndArray();
                w.WriteStartArray("data_offsets");
                w.WriteNumberValue(offset);
                w.WriteNumberValue(offset + bytes);
                w.WriteEndArray();
                w.WriteEndObject();
                offset += bytes;
            }
            w.WriteEndObject();
        }
        int padding = (int)((8 - json.Length % 8) % 8);
        AtomicFile.Write(path, stream =>
        {
            Span<byte> length = stackalloc byte[8];
            BinaryPrimitives.WriteUInt64LittleEndian(length, (ulong)(json.Length + padding));
            stream.Write(length);
            json.Position = 0;
            json.CopyTo(stream);
            for (int i = 0; i < padding; i++) stream.WriteByte((byte)' ');
            foreach (var t in tensors)
                foreach (var part in Slices(t.Values)) stream.Write(LittleEndianBytes(part.Span, out _));
        });
    }

    /// <summary>A tensor's values, at most <see cref="WriteSlice"/> floats at a time.</summary>
    private static IEnumerable<ReadOnlyMemory<float>> Slices(ReadOnlyMemory<float> values)
    {
        for (int i = 0; i < values.Length; i += WriteSlice) yield return values.Slice(i, Math.Min(WriteSlice, values.Length - i));
    }

    /// <summary>Reads and fully checks a file; throws <see cref="InvalidDataException"/> naming it on any inconsistency.</summary>
    public static (IReadOnlyList<TensorRead> Tensors, IReadOnlyDictionary<string, string> Metadata) Read(string path) => Read(path, ReadSlice);

    /// <summary><see cref="Read(string)"/>, reading <paramref name="slice"/> bytes at a time (a multiple of 8; small in tests).</summary>
    internal static (IReadOnlyList<TensorRead> Tensors, IReadOnlyDictionary<string, string> Metadata) Read(string path, int slice)
    {
        FileStream stream;
        try
        {
            stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1, FileOptions.SequentialScan);
        }
        catch (FileNotFoundException)
        {
            throw new FileNotFoundException($"Checkpoint '{path}' does not exist.", path);
        }
        string Bad(string why) => $"'{path}' is not a valid safetensors file: {why}. It may be truncated or corrupt; nothing was loaded.";

        using (stream)
        {
            long fileLength = stream.Length;
            if (fileLength < 8) throw new InvalidDataException(Bad($"it has {fileLength} bytes, fewer than the 8-byte header length"));
            Span<byte> length = stackalloc byte[8];
            stream.ReadExactly(length);
            ulong headerLength = BinaryPrimitives.ReadUInt64LittleEndian(length);
            if (headerLength > (ulong)(fileLength - 8) || headerLength > MaxHeader)
                throw new InvalidDataException(Bad($"the header claims {headerLength} bytes but the file has {fileLength - 8} after the length"));
            var header = new byte[(int)headerLength];
            stream.ReadExactly(header);
            long dataLength = fileLength - 8 - (long)headerLength;

            JsonDocument doc;
            try
            {
                doc = JsonDocument.Parse(header);
            }
            catch (JsonException e)
            {
                throw new InvalidDataException(Bad($"its header is not valid JSON ({e.Message})"), e);
            }
            using (doc)
            {
                Dictionary<string, string> metadata;
                List<Entry> entries;
                try
                {
                    (entries, metadata) = ReadHeader(doc.RootElement, Bad);
                }
                catch (InvalidOperationException e)
                {
                    // System.Text.Json's answer to a name or string it cannot transcode (invalid UTF-8, a lone surrogate).
                    throw new InvalidDataException(Bad($"its header holds text that is not valid Unicode ({e.Message})"), e);
                }

                // Every data byte belongs to exactly one tensor: sorted by offset they tile [0, data length).
                entries.Sort((a, b) => a.Begin.CompareTo(b.Begin));
                long expected = 0;
                foreach (var e in entries)
                {
                    if (e.Begin != expected)
                        throw new InvalidDataException(Bad($"tensor '{e.Name}' starts at data byte {e.Begin}, expected {expected} (overlap or gap)"));
                    long size = DTypeSize(e.DType);
                    long elements = 1;
                    foreach (long d in e.Shape)
                        if (d != 0 && elements > long.MaxValue / size / d)
                            throw new InvalidDataException(Bad($"tensor '{e.Name}' has shape {Shape(e.Shape)}, more elements than any file holds"));
                        else elements *= d;
                    if (e.End - e.Begin != elements * size)
                        throw new InvalidDataException(Bad($"tensor '{e.Name}' ({e.DType}, shape {Shape(e.Shape)}) needs {elements * size} bytes but its offsets span {e.End - e.Begin}"));
                    if (elements > Array.MaxLength)
                        throw new InvalidDataException(Bad($"tensor '{e.Name}' has {elements:N0} values, more than one array holds"));
                    expected = e.End;
                }
                if (expected > dataLength)
                    throw new InvalidDataException(Bad($"the tensors need {expected} data bytes but the file has {dataLength}; it is truncated"));
                if (expected < dataLength)
                    throw new InvalidDataException(Bad($"the file has {dataLength - expected} bytes after the last tensor"));

                // The data in slices, in file order: each slice goes into the CRC and into its tensor's values. Nothing is
                // returned, so nothing is loaded, until the CRC has matched.
                var (stored, withHeader, crc) = StartIntegrity(entries, metadata, Bad);
                var buffer = new byte[(int)Math.Min(slice, Math.Max(dataLength, 8))];
                var tensors = new List<TensorRead>(entries.Count);
                foreach (var e in entries)
                {
                    int size = DTypeSize(e.DType);
                    var values = new float[(e.End - e.Begin) / size];
                    for (long done = 0; done < e.End - e.Begin;)
                    {
                        int n = (int)Math.Min(buffer.Length, e.End - e.Begin - done);
                        stream.ReadExactly(buffer, 0, n);
                        crc = Crc32C.Append(crc, buffer.AsSpan(0, n));
                        ToFloats(buffer.AsSpan(0, n), e.DType, values.AsSpan((int)(done / size), n / size));
                        done += n;
                    }
                    tensors.Add(new TensorRead(e.Name, e.DType, e.Shape, values));
                }
                FinishIntegrity(stored, withHeader, crc, Bad);
                return (tensors, metadata);
            }
        }
    }

    /// <summary>One tensor's header entry.</summary>
    internal sealed record Entry(string Name, string DType, long[] Shape, long Begin, long End);

    /// <summary>The tensors and the metadata of a parsed header, refusing duplicates and anything but the documented types.</summary>
    private static (List<Entry>, Dictionary<string, string>) ReadHeader(JsonElement root, Func<string, string> bad)
    {
        if (root.ValueKind != JsonValueKind.Object) throw new InvalidDataException(bad("its header is not a JSON object"));
        Dictionary<string, string>? metadata = null;
        var entries = new List<Entry>();
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var p in root.EnumerateObject())
        {
            if (p.Name == "__metadata__")
            {
                if (metadata is not null) throw new InvalidDataException(bad("it has two __metadata__ objects"));
                if (p.Value.ValueKind != JsonValueKind.Object) throw new InvalidDataException(bad("__metadata__ is not an object"));
                metadata = new Dictionary<string, string>(StringComparer.Ordinal);
                foreach (var kv in p.Value.EnumerateObject())
                {
                    if (kv.Value.ValueKind != JsonValueKind.String) throw new InvalidDataException(bad($"metadata '{kv.Name}' is not a string"));
                    if (!metadata.TryAdd(kv.Name, kv.Value.GetString()!)) throw new InvalidDataException(bad($"metadata '{kv.Name}' appears twice"));
                }
                continue;
            }
            // Which of two same-named tensors would win is an accident of offsets: refuse both.
            if (!names.Add(p.Name)) throw new InvalidDataException(bad($"tensor '{p.Name}' appears twice"));
            entries.Add(ReadEntry(p, bad));
        }
        return (entries, metadata ?? new Dictionary<string, string>(StringComparer.Ordinal));
    }

    /// <summary>
    /// The CRC a Kiln writer left, found before the data is read: over the header's content and the data (version 2), or
    /// the data alone (version 1). A file that says Kiln wrote it (<c>kiln.format</c>) must carry the one its version
    /// promises, so a bit flip cannot turn the check off; files from other tools have none. Returns the running CRC the
    /// data is added to, for <see cref="FinishIntegrity"/>.
    /// </summary>
    private static (string? Stored, bool WithHeader, uint Crc) StartIntegrity(List<Entry> entries, Dictionary<string, string> metadata, Func<string, string> bad)
    {
        if (metadata.ContainsKey("kiln.format"))
        {
            string? version = metadata.GetValueOrDefault("kiln.version");
            string? needed = version switch { "1" => DataCrcKey, "2" => CrcKey, _ => null };
            if (needed is null)
                throw new InvalidDataException(bad($"it says Kiln wrote it, with format version '{version}', but this Kiln reads versions 1 and 2"));
            if (!metadata.ContainsKey(needed))
                throw new InvalidDataException(bad($"a version {version} Kiln file carries '{needed}', and this one has none"));
        }
        if (metadata.TryGetValue(CrcKey, out string? stored))
        {
            var rest = new SortedDictionary<string, string>(metadata, StringComparer.Ordinal);
            rest.Remove(CrcKey);
            return (stored, true, Crc32C.Append(Crc32C.Start, HeaderBytes(entries, rest)));
        }
        return (metadata.GetValueOrDefault(DataCrcKey), false, Crc32C.Start);
    }

    /// <summary>Compares the CRC of everything read with the stored one (none stored: nothing to check).</summary>
    private static void FinishIntegrity(string? stored, bool withHeader, uint crc, Func<string, string> bad)
    {
        if (stored is null) return;
        string actual = Crc32C.Finish(crc).ToString("x8", CultureInfo.InvariantCulture);
        if (string.Equals(stored, actual, StringComparison.OrdinalIgnoreCase)) return;
        throw new InvalidDataException(withHeader
            ? bad($"the CRC-32C of its header and data is {actual} but the header recorded {stored}; the file is corrupt or was edited")
            : bad($"the data's CRC-32C is {actual} but the header recorded {stored}; the data is corrupt"));
    }

    /// <summary>
    /// What the version-2 CRC covers of the header: its meaning, not its JSON spelling. The
    /// tensors by data offset (name, dtype, shape, offsets), then the metadata by key without
    /// the CRC itself; strings as UTF-8 with a 4-byte length before them, numbers as 8 bytes,
    /// all little-endian, so that no two headers that mean different things give the same bytes.
    /// </summary>
    internal static byte[] HeaderBytes(IEnumerable<Entry> tensors, SortedDictionary<string, string> metadata)
    {
        var sorted = new List<Entry>(tensors);
        sorted.Sort((a, b) => a.Begin.CompareTo(b.Begin));
        using var buffer = new MemoryStream();
        using var w = new BinaryWriter(buffer, new UTF8Encoding(false, throwOnInvalidBytes: true));
        void Text(string s)
        {
            byte[] bytes = Encoding.UTF8.GetBytes(s);
            w.Write(bytes.Length);
            w.Write(bytes);
        }
        w.Write(sorted.Count);
        foreach (var e in sorted)
        {
            Text(e.Name);
            Text(e.DType);
            w.Write(e.Shape.Length);
            foreach (long d in e.Shape) w.Write(d);
            w.Write(e.Begin);
            w.Write(e.End);
        }
        w.Write(metadata.Count);
        foreach (var (k, v) in metadata)
        {
            Text(k);
            Text(v);
        }
        w.Flush();
        return buffer.ToArray();
    }

    private static Entry ReadEntry(JsonProperty p, Func<string, string> bad)
    {
        var v = p.Value;
        if (v.ValueKind != JsonValueKind.Object
            || !v.TryGetProperty("dtype", out var dtype) || dtype.ValueKind != JsonValueKind.String
            || !v.TryGetProperty("shape", out var shape) || shape.ValueKind != JsonValueKind.Array
            || !v.TryGetProperty("data_offsets", out var offsets) || offsets.ValueKind != JsonValueKind.Array || offsets.GetArrayLength() != 2)
            throw new InvalidDataException(bad($"tensor '{p.Name}' needs dtype, shape and two data_offsets"));
        string type = dtype.GetString()!;
        if (DTypeSize(type) == 0)
            throw new InvalidDataException(bad($"tensor '{p.Name}' has dtype {type}; Kiln reads F32, F64, F16 and BF16"));
        var dims = new long[shape.GetArrayLength()];
        int i = 0;
        // TryGetInt64 throws on a non-number ("784", null): look at the kind first.
        foreach (var d in shape.EnumerateArray())
            if (d.ValueKind != JsonValueKind.Number || !d.TryGetInt64(out dims[i++]) || dims[i - 1] < 0)
                throw new InvalidDataException(bad($"tensor '{p.Name}' has a shape entry that is not a count"));
        if (offsets[0].ValueKind != JsonValueKind.Number || offsets[1].ValueKind != JsonValueKind.Number
            || !offsets[0].TryGetInt64(out long begin) || !offsets[1].TryGetInt64(out long end) || begin < 0 || end < begin)
            throw new InvalidDataException(bad($"tensor '{p.Name}' has invalid data_offsets"));
        return new Entry(p.Name, type, dims, begin, end);
    }

    private static int DTypeSize(string dtype) => dtype switch
    {
        "F32" => 4,
        "F64" => 8,
        "F16" or "BF16" => 2,
        _ => 0,
    };

    /// <summary>r = the values <paramref name="bytes"/> hold as <paramref name="dtype"/>, widened to float.</summary>
    private static void ToFloats(ReadOnlySpan<byte> bytes, string dtype, Span<float> r)
    {
        switch (dtype)
        {
            case "F32":
                if (BitConverter.IsLittleEndian) bytes.CopyTo(MemoryMarshal.AsBytes(r));
                else for (int i = 0; i < r.Length; i++) r[i] = BinaryPrimitives.ReadSingleLittleEndian(bytes[(4 * i)..]);
                break;
            case "F64":
                for (int i = 0; i < r.Length; i++) r[i] = (float)BinaryPrimitives.ReadDoubleLittleEndian(bytes[(8 * i)..]);
                break;
            case "F16":
                for (int i = 0; i < r.Length; i++) r[i] = (float)BinaryPrimitives.ReadHalfLittleEndian(bytes[(2 * i)..]);
                break;
            default: // BF16: the top half of a float's bits
                for (int i = 0; i < r.Length; i++)
                    r[i] = BitConverter.Int32BitsToSingle(BinaryPrimitives.ReadUInt16LittleEndian(bytes[(2 * i)..]) << 16);
                break;
        }
    }

    private static ReadOnlySpan<byte> LittleEndianBytes(ReadOnlySpan<float> values, out byte[]? owned)
    {
        owned = null;
        if (BitConverter.IsLittleEndian) return MemoryMarshal.AsBytes(values);
        owned = new byte[values.Length * 4];
        for (int i = 0; i < values.Length; i++) BinaryPrimitives.WriteSingleLittleEndian(owned.AsSpan(4 * i), values[i]);
        return owned;
    }

    /// <summary>Shape as printed in messages: <c>(784, 300)</c>.</summary>
    internal static string Shape(IEnumerable<long> shape) => "(" + string.Join(", ", shape) + ")";
}
