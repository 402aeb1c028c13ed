using System;
using System.IO;

namespace Kiln;

/// <summary>
/// Binary PGM (<c>P5</c>, grey) and PPM (<c>P6</c>, RGB) files, which StbImageSharp does not read:
/// an ASCII header (magic, width, height, maxval, with <c>#</c> comments), one whitespace byte,
/// then the samples, one byte each when maxval &lt; 256, else two (big-endian), scaled to 0..255
/// as PIL does.
/// </summary>
internal static class Pnm
{
    public static (ImageHeader Header, int DataStart, int MaxValue, int Channels) ReadHeader(string path, ReadOnlySpan<byte> file)
    {
        int channels = file[1] == '5' ? 1 : 3;
        string kind = channels == 1 ? "PGM" : "PPM";
        string Bad(string why) => $"{path}: corrupt {kind}: {why}.";
        int pos = 2;
        long width = Number(file, ref pos, "width");
        long height = Number(file, ref pos, "height");
        long maxValue = Number(file, ref pos, "maxval");
        if (pos >= file.Length || !IsSpace(file[pos]))
            throw new InvalidDataException(Bad("the header does not end with a whitespace byte before the samples"));
        pos++;
        if (width is < 1 or > int.MaxValue || height is < 1 or > int.MaxValue)
            throw new InvalidDataException(Bad($"size {width}×{height}"));
        if (maxValue is < 1 or > 65535)
            throw new InvalidDataException(Bad($"maxval {maxValue} is outside 1..65535"));
        long bytes = width * height * channels * (maxValue < 256 ? 1 : 2);
        if (bytes > file.Length - pos)
            throw new InvalidDataException(Bad($"{width}×{height} pixels need {bytes:N0} sample bytes, but the file has {file.Length - pos:N0} after its header (truncated?)"));
        return (new ImageHeader(ImageFormat.Pnm, (int)width, (int)height), pos, (int)maxValue, channels);

        long Number(ReadOnlySpan<byte> f, ref int p, string what)
        {
            // Whitespace and comments ('#' to the end of the line) may come before each number.
            while (p < f.Length && (IsSpace(f[p]) || f[p] == '#'))
                if (f[p] == '#') { while (p < f.Length && f[p] != '\n' && f[p] != '\r') p++; }
                else p++;
            long value = 0;
            int start = p;
            while (p < f.Length && f[p] is >= (byte)'0' and <= (byte)'9' && p - start < 10)
                value = value * 10 + (f[p++] - '0');
            if (p == start || (p < f.Length && !IsSpace(f[p]) && f[p] != '#'))
                throw new InvalidDataException(Bad($"the header's {what} is not a number"));
            return value;
        }
    }

    /// <summary>Decodes to interleaved bytes with <paramref name="outChannels"/> (3 or 4) channels: grey replicated, alpha 255.</summary>
    public static byte[] Decode(string path, ReadOnlySpan<byte> file, int outChannels)
    {
        var (header, start, maxValue, channels) = ReadHeader(path, file);
        int n = header.Width * header.Height;
        var pixels = new byte[checked(n * outChannels)];
        var data = file[start..];
        bool wide = maxValue > 255;
        for (int i = 0; i < n; i++)
        {
            for (int c = 0; c < 3; c++)
            {
                int s = channels == 1 ? i : 3 * i + c;
                int v = wide ? data[2 * s] << 8 | data[2 * s + 1] : data[s];
                pixels[i * outChannels + c] = (byte)((Math.Min(v, maxValue) * 255 + maxValue / 2) / maxValue);
            }
            if (outChannels == 4) pixels[i * 4 + 3] = 255;
        }
        return pixels;
    }

    private static bool IsSpace(byte b) => b is (byte)' ' or (byte)'\t' or (byte)'\n' or (byte)'\r' or 0x0B or 0x0C;
}
