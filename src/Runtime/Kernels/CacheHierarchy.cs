using System;
using System.Globalization;
using System.IO;
using System.Runtime.Intrinsics.X86;

namespace Kiln.Kernels;

/// <summary>
/// The data cache sizes the GEMM blocks are cut for (<see cref="GemmBlocking"/>): read once from
/// Linux's sysfs for cpu0, or where a container hides it from CPUID's cache descriptors, with common
/// x64 sizes for any level neither reports.
/// </summary>
public sealed class CacheHierarchy
{
    /// <summary>Used for levels the machine does not report: 32 KiB L1d, 512 KiB L2, 8 MiB L3.</summary>
    public static readonly CacheHierarchy Typical = new(32 << 10, 512 << 10, 8 << 20);

    public CacheHierarchy(long l1Data, long l2, long l3)
    {
        if (l1Data <= 0 || l2 <= 0 || l3 <= 0)
            throw new ArgumentOutOfRangeException(nameof(l1Data), $"cache sizes must be positive (L1d {l1Data}, L2 {l2}, L3 {l3})");
        L1Data = l1Data;
        L2 = l2;
        L3 = l3;
    }

    public long L1Data { get; }
    public long L2 { get; }
    public long L3 { get; }

    /// <summary>This machine's caches, detected once: sysfs, else CPUID, else <see cref="Typical"/>.</summary>
    public static CacheHierarchy Current { get; } = DetectCurrent();

    private const string SysfsCaches = "/sys/devices/system/cpu/cpu0/cache";

    private static CacheHierarchy DetectCurrent() =>
        Directory.Exists(SysfsCaches) ? Detect(SysfsCaches) : FromCpuid() ?? Typical;

    /// <summary>
    /// The data caches CPUID describes: the cache descriptor leaf (4 on Intel, 0x8000001D on AMD: one
    /// sub-leaf per cache, in the same format), else AMD's older size leaves 0x80000005/6, which some
    /// hypervisors fill while they zero the descriptors. Null when this is not x86 or neither says
    /// anything. Under a hypervisor these are the sizes it chooses to report, usually the host's.
    /// </summary>
    public static CacheHierarchy? FromCpuid()
    {
        if (!X86Base.IsSupported) return null;
        var (maxBasic, ebx0, ecx0, edx0) = X86Base.CpuId(0, 0);
        bool amd = CpuProfile.DecodeVendor(ebx0, edx0, ecx0) == CpuVendor.Amd;
        uint maxExtended = (uint)X86Base.CpuId(unchecked((int)0x80000000), 0).Eax;
        long l1 = 0, l2 = 0, l3 = 0;
        int leaf = amd ? unchecked((int)0x8000001D) : 4;
        if (amd ? maxExtended >= 0x8000001D : maxBasic >= 4)
        {
            for (int sub = 0; sub < 16; sub++)
            {
                var (eax, ebx, ecx, _) = X86Base.CpuId(leaf, sub);
                var (type, level, size) = DecodeCpuidCache(eax, ebx, ecx);
                if (type == 0) break;                     // no more caches
                if (type == 2) continue;                  // instruction cache
                if (level == 1) l1 = size;
                else if (level == 2) l2 = size;
                else if (level == 3) l3 = size;
            }
        }
        if (l1 == 0 && l2 == 0 && l3 == 0 && amd && maxExtended >= 0x80000006)
        {
            // L1d and L2 only: the L3 field counts the whole package (508 MiB on a 16-CCD EPYC whose
            // cores share 32 MiB each), so L3 keeps the typical size.
            var (_, _, l2Ecx, l3Edx) = X86Base.CpuId(unchecked((int)0x80000006), 0);
            (l1, l2, _) = DecodeAmdSizeLeaves(X86Base.CpuId(unchecked((int)0x80000005), 0).Ecx, l2Ecx, l3Edx);
        }
        if (l1 <= 0 && l2 <= 0 && l3 <= 0) return null;
        return new CacheHierarchy(l1 > 0 ? l1 : Typical.L1Data, l2 > 0 ? l2 : Typical.L2, l3 > 0 ? l3 : Typical.L3);
    }

    /// <summary>
    /// AMD's size leaves: L1d KiB in 0x80000005 ECX[31:24], L2 KiB in 0x80000006 ECX[31:16], L3 in
    /// 512 KiB units in 0x80000006 EDX[31:18].
    /// </summary>
    internal static (long L1Data, long L2, long L3) DecodeAmdSizeLeaves(int l1Ecx, int l2Ecx, int l3Edx) =>
        ((long)((uint)l1Ecx >> 24) << 10, (long)((uint)l2Ecx >> 16) << 10, (long)((uint)l3Edx >> 18) << 19);

    /// <summary>
    /// One cache from a CPUID cache sub-leaf: type (0 none, 1 data, 2 instruction, 3 unified), level,
    /// and size = ways × partitions × line size × sets, each stored minus one.
    /// </summary>
    internal static (int Type, int Level, long Size) DecodeCpuidCache(int eax, int ebx, int ecx)
    {
        int type = eax & 0x1F, level = (eax >> 5) & 0x7;
        long line = (ebx & 0xFFF) + 1L, partitions = ((ebx >> 12) & 0x3FF) + 1L, ways = ((uint)ebx >> 22) + 1L;
        long sets = (uint)ecx + 1L;
        return (type, level, ways * partitions * line * sets);
    }

    /// <summary>Reads index*/level, type and size under a sysfs cache directory; missing levels keep <see cref="Typical"/>'s size.</summary>
    public static CacheHierarchy Detect(string directory)
    {
        long l1 = Typical.L1Data, l2 = Typical.L2, l3 = Typical.L3;
        try
        {
            if (!Directory.Exists(directory)) return Typical;
            foreach (string index in Directory.GetDirectories(directory, "index*"))
            {
                string type = File.ReadAllText(Path.Combine(index, "type")).Trim();
                if (type == "Instruction") continue;
                int level = int.Parse(File.ReadAllText(Path.Combine(index, "level")).Trim(), CultureInfo.InvariantCulture);
                long size = ParseSize(File.ReadAllText(Path.Combine(index, "size")).Trim());
                if (size <= 0) continue;
                if (level == 1) l1 = size;
                else if (level == 2) l2 = size;
                else if (level == 3) l3 = size;
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or OverflowException)
        {
            // A sysfs that cannot be read (containers, other kernels) leaves the typical sizes.
            return Typical;
        }
        return new CacheHierarchy(l1, l2, l3);
    }

    /// <summary>"48K", "1024K", "32M" or a plain byte count, as sysfs writes sizes.</summary>
    internal static long ParseSize(string text)
    {
        if (text.Length == 0) return 0;
        long unit = char.ToUpperInvariant(text[text.Length - 1]) switch { 'K' => 1L << 10, 'M' => 1L << 20, 'G' => 1L << 30, _ => 1 };
        string digits = unit == 1 ? text : text.Substring(0, text.Length - 1);
        return long.Parse(digits, NumberStyles.None, CultureInfo.InvariantCulture) * unit;
    }

    public override string ToString() => $"L1d {L1Data >> 10} KiB, L2 {L2 >> 10} KiB, L3 {L3 >> 20} MiB";
}

/// <summary>
/// BLIS block sizes from the cache sizes: a KC × NR packed panel of B fills about two thirds of L1d
/// (the micro-kernel streams it once per A sliver), an MC × KC block of A about 3/16 of L2 (room
/// for B's panels and C's tiles beside it), a KC × NC block of B about 1/16 of L3 (shared by the cores).
/// On this project's Zen 5 machines (48 KiB, 1 MiB, 32 MiB) with the 512-bit kernel (NR 32) that is
/// KC 256, MC 192, NC 2048; on Zen 4 (32 KiB, 1 MiB, 32 MiB) KC 168, MC 288, NC 3104; on Zen 3
/// (32 KiB, 512 KiB, 32 MiB) with the 256-bit one (NR 16), KC 336, MC 72, NC 1536. A deeper KC is fewer
/// passes over C and fewer kernel calls per FLOP: sized for NR 32 on the 256-bit path (KC 168), sgemm
/// 1024³ and 2048³ ran 4–10% slower on Zen 3.
/// </summary>
public readonly record struct GemmBlocking(int KC, int MC, int NC)
{
    /// <summary>The blocks for <paramref name="caches"/> and a micro-kernel <paramref name="nr"/> columns wide (16 for the 256-bit kernel, 32 for the 512-bit one).</summary>
    public static GemmBlocking For(CacheHierarchy caches, int nr)
    {
        if (nr is < 1 or > GemmScratch.MaxNR) throw new ArgumentOutOfRangeException(nameof(nr), nr, $"a micro-kernel is 1 to {GemmScratch.MaxNR} columns wide");
        int kc = Clamp(caches.L1Data * 2 / 3 / (nr * sizeof(float)), 8, 64, 512);
        int mc = Clamp(caches.L2 * 3 / 16 / ((long)kc * sizeof(float)), 24, 48, 960);  // 24: a multiple of both MRs (8 and 6)
        int nc = Clamp(caches.L3 / 16 / ((long)kc * sizeof(float)), GemmScratch.MaxNR, 256, 8192);
        return new GemmBlocking(kc, mc, nc);
    }

    private static int Clamp(long value, int multiple, int min, int max) => (int)Math.Clamp(value / multiple * multiple, min, max);
}
