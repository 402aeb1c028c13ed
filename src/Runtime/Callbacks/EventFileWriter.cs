using System;
using System.Buffers.Binary;
using System.IO;
using System.Text;

namespace Kiln;

/// <summary>
/// Writes TensorBoard event files (<c>events.out.tfevents.*</c>): TFRecord framing (length,
/// masked CRC-32C of the length, the record, masked CRC-32C of the record) around
/// <c>tensorflow.Event</c> protocol buffers (tensorflow/core/util/event.proto): wall_time (1),
/// step (2), file_version (3), graph_def (4, a serialized GraphDef) and summary (5), whose
/// <c>Summary.Value</c>s carry a tag (1) and one of simple_value (2), image (4) or histo (5).
/// Writing a scalar encodes into a buffer the writer owns: no allocation.
/// </summary>
internal sealed class EventFileWriter : IDisposable
{
    // Event fields.
    private const int WallTimeField = 1, StepField = 2, FileVersionField = 3, GraphDefField = 4, SummaryField = 5;

    // Summary.value, and Summary.Value's fields.
    private const int ValueField = 1, TagField = 1, SimpleValueField = 2, ImageField = 4, HistogramField = 5;

    // Summary.Image's fields.
    private const int HeightField = 1, WidthField = 2, ColorspaceField = 3, EncodedImageField = 4;

    private static int s_counter;
    private readonly FileStream _stream;
    private readonly ProtobufWriter _event = new();

    public EventFileWriter(string directory)
    {
        Directory.CreateDirectory(directory);
        long seconds = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        string host = Environment.MachineName;
        int counter = System.Threading.Interlocked.Increment(ref s_counter);
        Path = System.IO.Path.Combine(directory, $"events.out.tfevents.{seconds}.{host}.{Environment.ProcessId}.{counter}.v2");
        _stream = new FileStream(Path, FileMode.Create, FileAccess.Write, FileShare.Read, 1 << 14);
        BeginEvent(0);
        _event.Bytes(FileVersionField, "brain.Event:2"u8);
        WriteRecord(_event.Written);
        Flush();
    }

    public string Path { get; }

    /// <summary>A tag encoded once as UTF-8, so writing it per batch allocates nothing.</summary>
    public static byte[] Tag(string tag) => Encoding.UTF8.GetBytes(tag);

    public void WriteScalar(ReadOnlySpan<byte> tag, float value, long step)
    {
        int summary = BeginValue(tag, step, out int entry);
        _event.Float(SimpleValueField, value);
        EndValue(summary, entry);
    }

    /// <summary>A histogram summary (TensorBoard's Histograms and Distributions tabs) of <paramref name="histogram"/>'s values.</summary>
    public void WriteHistogram(string tag, Histogram histogram, long step)
    {
        int summary = BeginValue(Tag(tag), step, out int entry);
        int histo = _event.BeginMessage(HistogramField);
        histogram.Encode(_event);
        _event.EndMessage(histo);
        EndValue(summary, entry);
    }

    /// <summary>An image summary (the Images tab): <paramref name="encoded"/> is a PNG of <paramref name="height"/> × <paramref name="width"/> pixels with <paramref name="channels"/> colour channels.</summary>
    public void WriteImage(string tag, int height, int width, int channels, ReadOnlySpan<byte> encoded, long step)
    {
        int summary = BeginValue(Tag(tag), step, out int entry);
        int image = _event.BeginMessage(ImageField);
        _event.Int64(HeightField, height);
        _event.Int64(WidthField, width);
        _event.Int64(ColorspaceField, channels);
        _event.Bytes(EncodedImageField, encoded);
        _event.EndMessage(image);
        EndValue(summary, entry);
    }

    /// <summary>The model's graph (the Graphs tab): <paramref name="graphDef"/> is a serialized <c>tensorflow.GraphDef</c>.</summary>
    public void WriteGraph(ReadOnlySpan<byte> graphDef)
    {
        BeginEvent(0);
        _event.Bytes(GraphDefField, graphDef);
        WriteRecord(_event.Written);
    }

    public void Flush() => _stream.Flush();

    public void Dispose() => _stream.Dispose();

    private void BeginEvent(long step)
    {
        _event.Clear();
        _event.Double(WallTimeField, (DateTime.UtcNow - DateTime.UnixEpoch).TotalSeconds);
        if (step != 0) _event.Int64(StepField, step); // proto3: a zero step is the absent field
    }

    private int BeginValue(ReadOnlySpan<byte> tag, long step, out int entry)
    {
        if (tag.Length > 512) throw new ArgumentException($"A TensorBoard tag of {tag.Length} bytes is too long.", nameof(tag));
        BeginEvent(step);
        int summary = _event.BeginMessage(SummaryField);
        entry = _event.BeginMessage(ValueField);
        _event.Bytes(TagField, tag);
        return summary;
    }

    private void EndValue(int summary, int entry)
    {
        _event.EndMessage(entry);
        _event.EndMessage(summary);
        WriteRecord(_event.Written);
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
}
