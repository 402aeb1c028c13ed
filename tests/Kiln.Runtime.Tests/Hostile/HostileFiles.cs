using System;
using System.Buffers.Binary;
using System.IO;
using System.Threading;

namespace Kiln.Runtime.Tests.Hostile;

/// <summary>The small hostile files of issue 16, built byte by byte, and a guard that turns a hang into a failure.</summary>
internal static class HostileFiles
{
    /// <summary>11 bytes: SOI, then an APP0 that claims 16 bytes and ends after "JFIF\0". StbImageSharp 2.30.16 loops forever on it.</summary>
    public static readonly byte[] LoopingJpeg = [0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, (byte)'J', (byte)'F', (byte)'I', (byte)'F', 0x00];

    /// <summary>An uncompressed 24-bit BMP of <paramref name="dataBytes"/> pixel bytes whose header claims width × height.</summary>
    public static byte[] Bmp(int width, int height, int dataBytes)
    {
        var b = new byte[54 + dataBytes];
        b[0] = (byte)'B'; b[1] = (byte)'M';
        BinaryPrimitives.WriteInt32LittleEndian(b.AsSpan(2), b.Length);
        BinaryPrimitives.WriteInt32LittleEndian(b.AsSpan(10), 54);
        BinaryPrimitives.WriteInt32LittleEndian(b.AsSpan(14), 40);
        BinaryPrimitives.WriteInt32LittleEndian(b.AsSpan(18), width);
        BinaryPrimitives.WriteInt32LittleEndian(b.AsSpan(22), height);
        BinaryPrimitives.WriteInt16LittleEndian(b.AsSpan(26), 1);
        BinaryPrimitives.WriteInt16LittleEndian(b.AsSpan(28), 24);
        return b;
    }

    /// <summary>A PNG (8-bit grey) whose IHDR claims width × height, with one IDAT of <paramref name="idat"/> (CRCs left 0: nothing checks them first).</summary>
    public static byte[] Png(int width, int height, byte[] idat)
    {
        using var s = new MemoryStream();
        s.Write([0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A]);
        var ihdr = new byte[13];
        BinaryPrimitives.WriteInt32BigEndian(ihdr, width);
        BinaryPrimitives.WriteInt32BigEndian(ihdr.AsSpan(4), height);
        ihdr[8] = 8; // depth
        Chunk(s, "IHDR", ihdr);
        Chunk(s, "IDAT", idat);
        Chunk(s, "IEND", []);
        return s.ToArray();
    }

    private static void Chunk(Stream s, string type, byte[] data)
    {
        Span<byte> n = stackalloc byte[4];
        BinaryPrimitives.WriteInt32BigEndian(n, data.Length);
        s.Write(n);
        foreach (char c in type) s.WriteByte((byte)c);
        s.Write(data);
        s.Write([0, 0, 0, 0]);
    }

    /// <summary>Runs <paramref name="action"/> on its own thread and fails (leaving it behind) when it outlives <paramref name="seconds"/>: a hang must not hang the test run.</summary>
    public static Exception? Bounded(Action action, double seconds = 10)
    {
        Exception? error = null;
        var thread = new Thread(() =>
        {
            try { action(); }
            catch (Exception e) { error = e; }
        }) { IsBackground = true };
        thread.Start();
        Assert.True(thread.Join(TimeSpan.FromSeconds(seconds)), $"still running after {seconds} s: a hang");
        return error;
    }
}
