using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;

namespace Kiln.Tests;

/// <summary>
/// A TensorBoard event-file reader written apart from Kiln's writer (linked into each test project):
/// TFRecord frames whose two masked CRC-32Cs are checked with a bit-at-a-time CRC, and a generic
/// protobuf walk (any field order, unknown fields skipped) that decodes Event, Summary.Value,
/// HistogramProto, Summary.Image and GraphDef field by field, from the field numbers of
/// TensorFlow's .proto files.
/// </summary>
internal static class EventFiles
{
    public sealed record Histo(double Min, double Max, double Num, double Sum, double SumSquares, double[] Limits, double[] Buckets);

    public sealed record Image(long Height, long Width, long Colorspace, byte[] Png);

    public sealed record Value(string Tag, float? Simple, Histo? Histogram, Image? Image);

    public sealed record Event(double WallTime, long Step, string? FileVersion, byte[]? GraphDef, List<Value> Values);

    public sealed record Node(string Name, string Op, List<string> Inputs, Dictionary<string, byte[]> Attributes)
    {
        /// <summary>The <c>_output_shapes</c> attribute's one shape (AttrValue.list (1) → shape (7) → dim (2) → size (1)).</summary>
        public long[] OutputShape()
        {
            var list = Assert.Single(Fields(Attributes["_output_shapes"]), f => f.Field == 1).Bytes!;
            var shape = Assert.Single(Fields(list), f => f.Field == 7).Bytes!;
            return Fields(shape).Where(f => f.Field == 2)
                .Select(d => (long)Fields(d.Bytes!).Where(x => x.Field == 1).Select(x => x.Number).DefaultIfEmpty(0UL).First()).ToArray();
        }

        /// <summary>An int attribute (AttrValue.i, field 3).</summary>
        public long Int(string key) => (long)Assert.Single(Fields(Attributes[key]), f => f.Field == 3).Number;

        /// <summary>A string attribute (AttrValue.s, field 2).</summary>
        public string String(string key) => Encoding.UTF8.GetString(Assert.Single(Fields(Attributes[key]), f => f.Field == 2).Bytes!);
    }

    /// <summary>Every record of the file, each frame's CRCs checked.</summary>
    public static List<Event> Read(string path)
    {
        byte[] b = File.ReadAllBytes(path);
        int p = 0;
        var events = new List<Event>();
        while (p < b.Length)
        {
            Assert.True(b.Length - p >= 12, $"{path}: a record header is cut at byte {p}");
            ulong length = BitConverter.ToUInt64(b, p);
            Assert.Equal(MaskedCrc(b.AsSpan(p, 8)), BitConverter.ToUInt32(b, p + 8));
            p += 12;
            Assert.True((ulong)(b.Length - p) >= length + 4, $"{path}: a record is cut at byte {p}");
            byte[] record = b.AsSpan(p, (int)length).ToArray();
            Assert.Equal(MaskedCrc(record), BitConverter.ToUInt32(b, p + (int)length));
            p += (int)length + 4;
            events.Add(DecodeEvent(record));
        }
        return events;
    }

    /// <summary>The values of every summary event, with the event's step.</summary>
    public static IEnumerable<(long Step, Value Value)> Values(IEnumerable<Event> events) =>
        events.SelectMany(e => e.Values.Select(v => (e.Step, v)));

    public static List<Node> Nodes(byte[] graphDef) =>
        Fields(graphDef).Where(f => f.Field == 1 && f.Wire == 2).Select(f =>
        {
            string name = "", op = "";
            var inputs = new List<string>();
            var attributes = new Dictionary<string, byte[]>();
            foreach (var (field, wire, _, bytes) in Fields(f.Bytes!))
            {
                if (field == 1 && wire == 2) name = Encoding.UTF8.GetString(bytes!);
                else if (field == 2 && wire == 2) op = Encoding.UTF8.GetString(bytes!);
                else if (field == 3 && wire == 2) inputs.Add(Encoding.UTF8.GetString(bytes!));
                else if (field == 5 && wire == 2)
                {
                    string key = "";
                    byte[] value = [];
                    foreach (var (ef, _, _, eb) in Fields(bytes!))
                    {
                        if (ef == 1) key = Encoding.UTF8.GetString(eb!);
                        if (ef == 2) value = eb!;
                    }
                    attributes.Add(key, value);
                }
            }
            return new Node(name, op, inputs, attributes);
        }).ToList();

    private static Event DecodeEvent(byte[] record)
    {
        double wall = 0;
        long step = 0;
        string? version = null;
        byte[]? graph = null;
        var values = new List<Value>();
        foreach (var (field, wire, number, bytes) in Fields(record))
        {
            if (field == 1 && wire == 1) wall = BitConverter.Int64BitsToDouble((long)number);
            else if (field == 2 && wire == 0) step = (long)number;
            else if (field == 3 && wire == 2) version = Encoding.UTF8.GetString(bytes!);
            else if (field == 4 && wire == 2) graph = bytes;
            else if (field == 5 && wire == 2)
                foreach (var (sf, sw, _, value) in Fields(bytes!))
                    if (sf == 1 && sw == 2) values.Add(DecodeValue(value!));
        }
        Assert.True(wall > 1.6e9, $"wall time {wall} is not a Unix time");
        return new Event(wall, step, version, graph, values);
    }

    private static Value DecodeValue(byte[] m)
    {
        string tag = "";
        float? simple = null;
        Histo? histo = null;
        Image? image = null;
        foreach (var (field, wire, number, bytes) in Fields(m))
        {
            if (field == 1 && wire == 2) tag = Encoding.UTF8.GetString(bytes!);
            else if (field == 2 && wire == 5) simple = BitConverter.Int32BitsToSingle((int)number);
            else if (field == 4 && wire == 2) image = DecodeImage(bytes!);
            else if (field == 5 && wire == 2) histo = DecodeHisto(bytes!);
        }
        return new Value(tag, simple, histo, image);
    }

    /// <summary>A HistogramProto's fields.</summary>
    public static Histo DecodeHisto(byte[] m)
    {
        var d = new double[6];
        var limits = new List<double>();
        var buckets = new List<double>();
        foreach (var (field, wire, number, bytes) in Fields(m))
        {
            if (field is >= 1 and <= 5 && wire == 1) d[field] = BitConverter.Int64BitsToDouble((long)number);
            else if (field is 6 or 7 && wire == 2) // packed doubles
            {
                Assert.Equal(0, bytes!.Length % 8);
                for (int i = 0; i < bytes.Length; i += 8) (field == 6 ? limits : buckets).Add(BitConverter.ToDouble(bytes, i));
            }
            else if (field is 6 or 7 && wire == 1) (field == 6 ? limits : buckets).Add(BitConverter.Int64BitsToDouble((long)number));
        }
        return new Histo(d[1], d[2], d[3], d[4], d[5], [.. limits], [.. buckets]);
    }

    private static Image DecodeImage(byte[] m)
    {
        long height = 0, width = 0, colorspace = 0;
        byte[] png = [];
        foreach (var (field, wire, number, bytes) in Fields(m))
        {
            if (field == 1 && wire == 0) height = (long)number;
            else if (field == 2 && wire == 0) width = (long)number;
            else if (field == 3 && wire == 0) colorspace = (long)number;
            else if (field == 4 && wire == 2) png = bytes!;
        }
        return new Image(height, width, colorspace, png);
    }

    /// <summary>
    /// The naive reference of what TensorFlow's histogram writes for <paramref name="values"/>
    /// (tensorflow/core/lib/histogram/histogram.cc): limits ±1e-12·1.1^k below 1e20, 0 and ±DBL_MAX;
    /// each value counted in the first limit above it, by linear scan; runs of empty buckets merged
    /// into one that ends at the run's last limit; sums accumulated in double, in order.
    /// </summary>
    public static Histo Reference(ReadOnlySpan<float> values)
    {
        var positive = new List<double>();
        for (double v = 1e-12; v < 1e20; v *= 1.1) positive.Add(v);
        positive.Add(double.MaxValue);
        var limits = positive.Select(x => -x).Reverse().Append(0.0).Concat(positive).ToArray();
        var counts = new double[limits.Length];
        double min = double.MaxValue, max = -double.MaxValue, sum = 0, squares = 0;
        foreach (float f in values)
        {
            double v = f;
            int i = 0;
            while (!(limits[i] > v)) i++;
            counts[i]++;
            min = Math.Min(min, v);
            max = Math.Max(max, v);
            sum += v;
            squares += v * v;
        }
        var outLimits = new List<double>();
        var outCounts = new List<double>();
        for (int i = 0; i < limits.Length; i++)
        {
            if (counts[i] == 0 && outCounts.Count > 0 && outCounts[^1] == 0)
            {
                outLimits[^1] = limits[i];
                continue;
            }
            outLimits.Add(limits[i]);
            outCounts.Add(counts[i]);
        }
        return new Histo(min, max, values.Length, sum, squares, [.. outLimits], [.. outCounts]);
    }

    public static IEnumerable<(int Field, int Wire, ulong Number, byte[]? Bytes)> Fields(byte[] m)
    {
        int p = 0;
        while (p < m.Length)
        {
            ulong key = Varint(m, ref p);
            int field = (int)(key >> 3), wire = (int)(key & 7);
            Assert.True(field > 0, $"field number 0 at byte {p}");
            switch (wire)
            {
                case 0: yield return (field, wire, Varint(m, ref p), null); break;
                case 1: yield return (field, wire, BitConverter.ToUInt64(m, p), null); p += 8; break;
                case 5: yield return (field, wire, BitConverter.ToUInt32(m, p), null); p += 4; break;
                case 2:
                    int len = checked((int)Varint(m, ref p));
                    Assert.True(p + len <= m.Length, $"a length-delimited field of {len} bytes runs past the message's end");
                    yield return (field, wire, 0, m[p..(p + len)]);
                    p += len;
                    break;
                default: throw new InvalidDataException($"wire type {wire}");
            }
        }
    }

    private static ulong Varint(byte[] m, ref int p)
    {
        ulong v = 0;
        for (int shift = 0; ; shift += 7)
        {
            byte x = m[p++];
            v |= (ulong)(x & 0x7F) << shift;
            if (x < 0x80) return v;
        }
    }

    private static uint MaskedCrc(ReadOnlySpan<byte> data)
    {
        uint crc = 0xFFFFFFFF;
        foreach (byte x in data)
        {
            crc ^= x;
            for (int k = 0; k < 8; k++) crc = (crc >> 1) ^ (0x82F63B78u & (0u - (crc & 1)));
        }
        crc = ~crc;
        return ((crc >> 15) | (crc << 17)) + 0xA282EAD8u;
    }
}
