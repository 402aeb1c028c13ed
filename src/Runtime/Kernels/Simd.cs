using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Kiln.Kernels;

/// <summary>Which vector width the kernels use; one switch so tests can force every path.</summary>
internal static class Simd
{
    /// <summary>
    /// 512, 256 or 0 (scalar): the widest path the kernels take. Starts at this machine's
    /// <see cref="KernelChoice"/>; tests set it to force a path. 512 runs the 512-bit kernels on any
    /// processor: where it lacks AVX-512 (tests, and <c>KILN_SIMD=avx512-software</c>; no choice from the
    /// processor alone picks it there) the .NET runtime carries their Vector512 code out in software,
    /// slowly but with the same per-lane arithmetic, so a machine without AVX-512 still checks the
    /// kernels that parts with it run. 256 takes the 256-bit path where the hardware has it.
    /// </summary>
    internal static int MaxBits = KernelChoice.Current.VectorBits;

    private static readonly bool s_has256 = Vector256.IsHardwareAccelerated && Fma.IsSupported;

    public static bool Use512 => MaxBits >= 512;

    public static bool Use256 => !Use512 && MaxBits >= 256 && s_has256;

    /// <summary>
    /// True where code written once in 16-lane <see cref="Vector512{T}"/> runs vectorized: natively on the
    /// 512-bit path, and on the 256-bit path as two 256-bit halves per operation, which is how the .NET
    /// runtime carries out Vector512 without AVX-512 (on a part with AVX-512 that the choice keeps at 256
    /// bits, e.g. Skylake-SP, these loops do run in zmm registers). For elementwise passes and transforms,
    /// whose few live vectors fit in registers either way; the micro-kernels keep a shape per width.
    /// </summary>
    public static bool Use16Lanes => Use512 || Use256;
}
