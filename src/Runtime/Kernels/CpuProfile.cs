using System;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Kiln.Kernels;

/// <summary>Who designed the processor, from CPUID's vendor string.</summary>
public enum CpuVendor
{
    /// <summary>Not an x86 processor, or CPUID could not be read.</summary>
    Unknown,
    /// <summary>"GenuineIntel".</summary>
    Intel,
    /// <summary>"AuthenticAMD".</summary>
    Amd,
    /// <summary>Another x86 vendor string (Hygon, Zhaoxin, a hypervisor's).</summary>
    Other,
}

/// <summary>
/// The facts about this processor that the kernels choose their shape from (<see cref="KernelChoice.For"/>):
/// vendor, family and model as Intel's and AMD's manuals number them (family 6 model 143 is Sapphire
/// Rapids, family 26 is Zen 5), the vector instruction sets, and the data caches.
/// </summary>
/// <param name="Vendor">The CPUID vendor.</param>
/// <param name="Family">The display family (base family, plus the extended family when the base is 15).</param>
/// <param name="Model">The display model (base model, plus the extended model above it for families 6 and 15).</param>
/// <param name="Avx512F">The CPU and the OS run AVX-512 Foundation instructions.</param>
/// <param name="Vector512Accelerated">
/// The .NET runtime reports 512-bit vectors as accelerated. It does not on Intel parts it knows to lower
/// their clock under 512-bit code (Skylake-SP to Cooper Lake), nor under DOTNET_PreferredVectorBitWidth=256.
/// </param>
/// <param name="Avx2">AVX2 is usable.</param>
/// <param name="Fma">FMA3 is usable.</param>
/// <param name="Caches">The data cache sizes.</param>
public sealed record CpuProfile(CpuVendor Vendor, int Family, int Model, bool Avx512F, bool Vector512Accelerated, bool Avx2, bool Fma,
    CacheHierarchy Caches)
{
    /// <summary>This machine, detected once.</summary>
    public static CpuProfile Current { get; } = Detect(CacheHierarchy.Current);

    /// <summary>Reads CPUID (on x86) and the runtime's instruction-set flags; <paramref name="caches"/> as given.</summary>
    public static CpuProfile Detect(CacheHierarchy caches)
    {
        ArgumentNullException.ThrowIfNull(caches);
        CpuVendor vendor = CpuVendor.Unknown;
        int family = 0, model = 0;
        if (X86Base.IsSupported)
        {
            var (_, ebx, ecx, edx) = X86Base.CpuId(0, 0);
            vendor = DecodeVendor(ebx, edx, ecx);
            (family, model) = DecodeSignature(X86Base.CpuId(1, 0).Eax);
        }
        return new CpuProfile(vendor, family, model, System.Runtime.Intrinsics.X86.Avx512F.IsSupported, Vector512.IsHardwareAccelerated,
            System.Runtime.Intrinsics.X86.Avx2.IsSupported, System.Runtime.Intrinsics.X86.Fma.IsSupported, caches);
    }

    /// <summary>The vendor from CPUID leaf 0's twelve characters, stored in EBX, EDX, ECX in that order.</summary>
    internal static CpuVendor DecodeVendor(int ebx, int edx, int ecx)
    {
        Span<byte> text = stackalloc byte[12];
        BitConverter.TryWriteBytes(text, ebx);
        BitConverter.TryWriteBytes(text[4..], edx);
        BitConverter.TryWriteBytes(text[8..], ecx);
        if (text.SequenceEqual("GenuineIntel"u8)) return CpuVendor.Intel;
        if (text.SequenceEqual("AuthenticAMD"u8)) return CpuVendor.Amd;
        return CpuVendor.Other;
    }

    /// <summary>Display family and model from CPUID leaf 1's EAX, as both vendors' manuals define them.</summary>
    internal static (int Family, int Model) DecodeSignature(int eax)
    {
        int baseFamily = (eax >> 8) & 0xF, baseModel = (eax >> 4) & 0xF;
        int extFamily = (eax >> 20) & 0xFF, extModel = (eax >> 16) & 0xF;
        int family = baseFamily == 0xF ? baseFamily + extFamily : baseFamily;
        int model = baseFamily is 0x6 or 0xF ? (extModel << 4) + baseModel : baseModel;
        return (family, model);
    }

    /// <summary>e.g. "Intel family 6 model 207, AVX-512 (runtime: accelerated), AVX2, FMA; L1d 48 KiB, L2 2048 KiB, L3 260 MiB".</summary>
    public override string ToString()
    {
        string isa = Avx512F ? $"AVX-512 (runtime: {(Vector512Accelerated ? "accelerated" : "not preferred")})" : "no AVX-512";
        if (Avx2) isa += ", AVX2";
        if (Fma) isa += ", FMA";
        return $"{Vendor} family {Family} model {Model}, {isa}; {Caches}";
    }
}
