using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Kiln.Kernels;

/// <summary>Which vector width the kernels use; one switch so tests can force every fallback.</summary>
internal static class Simd
{
    /// <summary>Test hook: 512, 256 or 0 (scalar) caps the vector width the kernels may use.</summary>
    internal static int MaxBits = 512;

    public static bool Use512 => MaxBits >= 512 && Vector512.IsHardwareAccelerated;

    public static bool Use256 => !Use512 && MaxBits >= 256 && Vector256.IsHardwareAccelerated && Fma.IsSupported;
}
