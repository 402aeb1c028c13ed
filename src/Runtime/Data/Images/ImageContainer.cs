using System;
using System.Buffers.Binary;
using System.IO;

namespace Kiln;

/// <summary>The file formats <see cref="ImageLoader"/> decodes, told apart by their first bytes.</summary>
internal enum ImageFormat { Png, Jpeg, Bmp, Pnm }

/// <summary>What <see cref="ImageContainer.Check"/> read from a file's header.</summary>
internal readonly record struct ImageHeader(ImageFormat Format, int Width, int Height);

/// <summary>
/// Checks an image file's container before any decoder sees it: the format by its magic bytes,
/// the structure (PNG chunks, JPEG segments, BMP and PNM headers) against the file's length, and
/// the claimed size against the pixel limit and against what the file's bytes can encode. A
/// decoder then never allocates for a size the file cannot hold, and never runs off the end of
/// a truncated segment (StbImageSharp loops forever on one: see <see cref="ClampedMemoryStream"/>).
/// Every defect is an <see cref="InvalidDataException"/> naming the file.
/// </summary>
internal static class ImageContainer
{
    /// <summary>Deflate encodes at most 1032 output bytes per input byte (258-byte matches in 2 bits); a little slack for the zlib frame.</summary>
    private const long DeflateMaxRatio = 1032;

    /// <summary>A baseline or progressive JPEG spends at least one bit on each 8×8 block's DC value: at most 512 pixels a byte.</summary>
    private const long JpegMaxPixelsPerByte = 512;

    /// <summary>Scans a progressive JPEG may have; each one walks every block, so many tiny scans cost time out of all proportion to the file (libjpeg-turbo's djpeg limits them too).</summary>
    internal const int JpegMaxScans = 500;

    private static ReadOnlySpan<byte> PngSignature => [0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A];

    public static ImageHeader Check(string path, ReadOnlySpan<byte> file, long maxPixels)
    {
        ImageHeader header;
        if (file.StartsWith(PngSignature)) header = Png(path, file);
        else if (file.Length >= 3 && file[0] == 0xFF && file[1] == 0xD8 && file[2] == 0xFF) header = Jpeg(path, file);
        else if (file.Length >= 2 && file[0] == 'B' && file[1] == 'M') header = Bmp(path, file);
        else if (file.Length >= 2 && file[0] == 'P' && (file[1] == '5' || file[1] == '6')) header = Pnm.ReadHeader(path, file).Header;
        else
            throw new InvalidDataException($"{path}: not a PNG, JPEG, BMP or binary PPM/PGM file (its first bytes are {Hex(file)}).");
        long pixels = (long)header.Width * header.Height;
        if (pixels > maxPixels)
            throw new InvalidDataException(
                $"{path}: the {header.Format} header claims {header.Width}×{header.Height} = {pixels:N0} pixels, more than the limit of {maxPixels:N0} " +
                "(ImageFolderOptions.MaxImagePixels, like PIL's MAX_IMAGE_PIXELS); it may be a decompression bomb.");
        return header;
    }

    private static ImageHeader Png(string path, ReadOnlySpan<byte> file)
    {
        string Bad(string why) => $"{path}: corrupt PNG: {why}.";
        // Signature, then IHDR: length 13, type, 13 bytes, CRC.
        if (file.Length < 8 + 12 + 13)
            throw new InvalidDataException(Bad($"{file.Length} bytes is too short for the signature and the IHDR chunk"));
        if (BinaryPrimitives.ReadUInt32BigEndian(file[8..]) != 13 || !file.Slice(12, 4).SequenceEqual("IHDR"u8))
            throw new InvalidDataException(Bad("the first chunk is not a 13-byte IHDR"));
        uint width = BinaryPrimitives.ReadUInt32BigEndian(file[16..]);
        uint height = BinaryPrimitives.ReadUInt32BigEndian(file[20..]);
        byte depth = file[24], colour = file[25];
        if (width == 0 || height == 0 || width > int.MaxValue || height > int.MaxValue)
            throw new InvalidDataException(Bad($"IHDR size {width}×{height} is outside 1..2³¹−1"));
        int channels = colour switch { 0 => 1, 2 => 3, 3 => 1, 4 => 2, 6 => 4, _ => 0 };
        bool depthOk = colour switch
        {
            0 => depth is 1 or 2 or 4 or 8 or 16,
            3 => depth is 1 or 2 or 4 or 8,
            2 or 4 or 6 => depth is 8 or 16,
            _ => false,
        };
        if (channels == 0 || !depthOk)
            throw new InvalidDataException(Bad($"IHDR colour type {colour} with bit depth {depth} is not a PNG pixel format"));

        long idat = 0;
        int pos = 8;
        bool end = false;
        while (pos <= file.Length - 8)
        {
            uint length = BinaryPrimitives.ReadUInt32BigEndian(file[pos..]);
            var type = file.Slice(pos + 4, 4);
            if (length > int.MaxValue || pos + 12L + length > file.Length)
                throw new InvalidDataException(Bad($"chunk '{Ascii(type)}' at byte {pos} claims {length:N0} bytes, past the end of the {file.Length:N0}-byte file (truncated?)"));
            if (type.SequenceEqual("IDAT"u8)) idat += length;
            if (type.SequenceEqual("IEND"u8)) { end = true; break; }
            pos += 12 + (int)length;
        }
        if (idat == 0)
            throw new InvalidDataException(Bad(end ? "no IDAT chunk holds pixel data" : "the file ends before any IDAT chunk (truncated?)"));
        // Each row is a filter byte plus its packed samples; deflate cannot shrink that below 1/1032.
        long rowBytes = 1 + ((long)width * channels * depth + 7) / 8;
        long raw = rowBytes * height;
        if (raw > DeflateMaxRatio * idat + 1024)
            throw new InvalidDataException(Bad($"{width}×{height} pixels need {raw:N0} bytes, but {idat:N0} bytes of compressed data can hold at most {DeflateMaxRatio * idat:N0}"));
        return new ImageHeader(ImageFormat.Png, (int)width, (int)height);
    }

    private static ImageHeader Jpeg(string path, ReadOnlySpan<byte> file)
    {
        string Bad(string why) => $"{path}: corrupt JPEG: {why}.";
        int pos = 2, width = 0, height = 0, scans = 0;
        while (pos < file.Length)
        {
            if (file[pos] != 0xFF)
                throw new InvalidDataException(Bad($"byte {pos} should start a marker (0xFF) but is 0x{file[pos]:x2}"));
            while (pos < file.Length && file[pos] == 0xFF) pos++; // fill bytes
            if (pos == file.Length) break;
            byte marker = file[pos++];
            if (marker == 0xD9) break; // EOI
            if (marker is 0x01 or (>= 0xD0 and <= 0xD7)) continue; // TEM, RSTn: no payload
            if (marker is 0xD8 or 0x00)
                throw new InvalidDataException(Bad($"unexpected marker 0xFF{marker:x2} at byte {pos - 2}"));
            if (pos + 2 > file.Length)
                throw new InvalidDataException(Bad($"the file ends inside the length of segment 0xFF{marker:x2} (truncated?)"));
            int length = BinaryPrimitives.ReadUInt16BigEndian(file[pos..]);
            if (length < 2 || pos + length > file.Length)
                throw new InvalidDataException(Bad($"segment 0xFF{marker:x2} at byte {pos - 2} claims {length} bytes but {file.Length - pos} remain (truncated?)"));
            var segment = file.Slice(pos + 2, length - 2);
            pos += length;
            if (marker is >= 0xC0 and <= 0xCF and not 0xC4 and not 0xC8 and not 0xCC)
            {
                if (marker is not (0xC0 or 0xC1 or 0xC2))
                    throw new InvalidDataException(Bad($"frame type 0xFF{marker:x2} (lossless, hierarchical or arithmetic-coded) is not supported; only baseline and progressive Huffman JPEGs are"));
                if (width != 0)
                    throw new InvalidDataException(Bad("it has two frame headers"));
                if (segment.Length < 6)
                    throw new InvalidDataException(Bad("the frame header is too short"));
                height = BinaryPrimitives.ReadUInt16BigEndian(segment[1..]);
                width = BinaryPrimitives.ReadUInt16BigEndian(segment[3..]);
                int components = segment[5];
                if (width == 0 || height == 0)
                    throw new InvalidDataException(Bad($"the frame header's size is {width}×{height}"));
                if (components is not (1 or 3 or 4) || segment.Length < 6 + 3 * components)
                    throw new InvalidDataException(Bad($"the frame header declares {components} components"));
            }
            else if (marker == 0xDA)
            {
                if (width == 0)
                    throw new InvalidDataException(Bad("a scan comes before the frame header"));
                if (++scans > JpegMaxScans)
                    throw new InvalidDataException(Bad($"it has more than {JpegMaxScans} scans"));
                // Entropy-coded data runs to the next marker that is neither a stuffed 0xFF00 nor a restart.
                while (pos < file.Length - 1 && !(file[pos] == 0xFF && file[pos + 1] != 0x00 && file[pos + 1] is not (>= 0xD0 and <= 0xD7)))
                    pos++;
                if (pos >= file.Length - 1) break; // truncated data: the decoder pads it, as libjpeg does
            }
        }
        if (width == 0)
            throw new InvalidDataException(Bad("no frame header (SOF) gives the image size"));
        if (scans == 0)
            throw new InvalidDataException(Bad("no scan holds pixel data"));
        if ((long)width * height > JpegMaxPixelsPerByte * file.Length)
            throw new InvalidDataException(Bad($"{width}×{height} pixels cannot be coded in {file.Length:N0} bytes"));
        return new ImageHeader(ImageFormat.Jpeg, width, height);
    }

    private static ImageHeader Bmp(string path, ReadOnlySpan<byte> file)
    {
        string Bad(string why) => $"{path}: corrupt BMP: {why}.";
        if (file.Length < 14 + 12)
            throw new InvalidDataException(Bad($"{file.Length} bytes is too short for the BMP headers"));
        uint offset = BinaryPrimitives.ReadUInt32LittleEndian(file[10..]);
        uint headerSize = BinaryPrimitives.ReadUInt32LittleEndian(file[14..]);
        if (headerSize is not (12 or 40 or 56 or 108 or 124) || 14 + headerSize > file.Length)
            throw new InvalidDataException(Bad($"info header size {headerSize} is not one of 12, 40, 56, 108, 124, or runs past the end"));
        long width, height;
        int bits;
        uint compression = 0;
        if (headerSize == 12)
        {
            width = BinaryPrimitives.ReadUInt16LittleEndian(file[18..]);
            height = BinaryPrimitives.ReadUInt16LittleEndian(file[20..]);
            bits = BinaryPrimitives.ReadUInt16LittleEndian(file[24..]);
        }
        else
        {
            width = BinaryPrimitives.ReadInt32LittleEndian(file[18..]);
            height = Math.Abs((long)BinaryPrimitives.ReadInt32LittleEndian(file[22..])); // negative: top-down rows
            bits = BinaryPrimitives.ReadUInt16LittleEndian(file[28..]);
            compression = BinaryPrimitives.ReadUInt32LittleEndian(file[30..]);
        }
        if (width <= 0 || height <= 0 || width > int.MaxValue || height > int.MaxValue)
            throw new InvalidDataException(Bad($"size {width}×{height}"));
        if (bits is not (1 or 4 or 8 or 16 or 24 or 32))
            throw new InvalidDataException(Bad($"{bits} bits per pixel"));
        if (compression is not (0 or 3))
            throw new InvalidDataException(Bad($"compression {compression} (RLE or embedded JPEG/PNG) is not supported; only uncompressed BMPs are"));
        // Uncompressed rows are padded to 4 bytes; all of them must be in the file.
        long stride = (width * bits + 31) / 32 * 4;
        if (offset < 14 + headerSize || offset + stride * height > file.Length)
            throw new InvalidDataException(Bad($"{width}×{height} pixels at {bits} bits need {stride * height:N0} bytes from byte {offset}, but the file has {file.Length:N0} (truncated?)"));
        return new ImageHeader(ImageFormat.Bmp, (int)width, (int)height);
    }

    private static string Hex(ReadOnlySpan<byte> bytes) =>
        bytes.IsEmpty ? "none" : Convert.ToHexString(bytes[..Math.Min(8, bytes.Length)]);

    private static string Ascii(ReadOnlySpan<byte> bytes)
    {
        Span<char> c = stackalloc char[bytes.Length];
        for (int i = 0; i < bytes.Length; i++) c[i] = bytes[i] is >= 0x20 and < 0x7F ? (char)bytes[i] : '?';
        return new string(c);
    }
}
