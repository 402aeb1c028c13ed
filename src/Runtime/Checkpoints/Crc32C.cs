using System;
using System.Buffers.Binary;
using System.Runtime.Intrinsics.X86;
using ArmCrc = System.Runtime.Intrinsics.Arm.Crc32;

namespace Kiln;

/// <summary>
/// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), the checksum of TFRecord framing and of
/// Kiln's checkpoint data. Uses the CPU's CRC32 instruction where there is one, else a table.
/// </summary>
internal static class Crc32C
{
    private const uint Polynomial = 0x82F63B78;
    private static readonly uint[] Table = BuildTable();

    public static uint Compute(ReadOnlySpan<byte> data) => Finish(Append(Start, data));

    public const uint Start = 0xFFFFFFFF;

    public static uint Finish(uint state) => ~state;

    /// <summary>Continues a running CRC (begin with <see cref="Start"/>, end with <see cref="Finish"/>).</summary>
    public static uint Append(uint crc, ReadOnlySpan<byte> data)
    {
        if (Sse42.X64.IsSupported)
        {
            ulong c = crc;
            while (data.Length >= 8)
            {
                c = Sse42.X64.Crc32(c, BinaryPrimitives.ReadUInt64LittleEndian(data));
                data = data[8..];
            }
            crc = (uint)c;
            foreach (byte b in data) crc = Sse42.Crc32(crc, b);
            return crc;
        }
        if (ArmCrc.Arm64.IsSupported)
        {
            while (data.Length >= 8)
            {
                crc = ArmCrc.Arm64.ComputeCrc32C(crc, BinaryPrimitives.ReadUInt64LittleEndian(data));
                data = data[8..];
            }
            foreach (byte b in data) crc = ArmCrc.ComputeCrc32C(crc, b);
            return crc;
        }
        return AppendTable(crc, data);
    }

    internal static uint AppendTable(uint crc, ReadOnlySpan<byte> data)
    {
        foreach (byte b in data) crc = Table[(crc ^ b) & 0xFF] ^ (crc >> 8);
        return crc;
    }

    /// <summary>TFRecord's masking, so a CRC stored next to data that holds CRCs is not confused with them.</summary>
    public static uint Mask(uint crc) => ((crc >> 15) | (crc << 17)) + 0xA282EAD8;

    private static uint[] BuildTable()
    {
        var t = new uint[256];
        for (uint i = 0; i < 256; i++)
        {
            uint c = i;
            for (int k = 0; k < 8; k++) c = (c & 1) != 0 ? (c >> 1) ^ Polynomial : c >> 1;
            t[i] = c;
        }
        return t;
    }
}
