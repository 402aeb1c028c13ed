using System;

namespace Kiln.Kernels;

/// <summary>
/// The kernels' shape on one processor: which vector width every vectorized kernel takes (and so
/// which GEMM micro-kernel: 8×32 in 512-bit registers, 6×16 in 256-bit registers, or the scalar
/// loop) and the GEMM cache blocks. A pure function of a <see cref="CpuProfile"/>, so the choice for
/// any processor can be tested without one; <see cref="Current"/> is this machine's.
/// </summary>
/// <param name="VectorBits">512, 256 or 0 (scalar).</param>
/// <param name="Blocking">The GEMM cache blocks (the same for every micro-kernel: they hold whole tiles of both).</param>
/// <param name="Reason">Why, in a sentence (printed by the benchmarks beside their figures).</param>
public readonly record struct KernelChoice(int VectorBits, GemmBlocking Blocking, string Reason)
{
    /// <summary>
    /// Forces a path for every process that reads it: <c>avx512</c>, <c>avx256</c> or <c>scalar</c>
    /// (unset or empty: chosen from the processor). For benchmarks and tests; a path the processor
    /// cannot run is an error at the first kernel call, not a silent fallback. <c>avx512-software</c>
    /// runs the 512-bit kernels on any processor, in software where it lacks AVX-512 (several times
    /// slower): for checking on such a machine what AVX-512 machines run, e.g. the whole test suite.
    /// </summary>
    public const string EnvironmentVariable = "KILN_SIMD";

    /// <summary>
    /// Overrides the GEMM cache blocks for every process that reads it: <c>KC,MC,NC</c> (e.g.
    /// <c>256,192,2048</c>), for tuning on a new machine without a rebuild. KC must be a multiple of 8,
    /// MC of 24 (both micro-kernels' rows), NC of 32 (both micro-kernels' columns).
    /// </summary>
    public const string BlockingVariable = "KILN_GEMM_BLOCKING";

    /// <summary><see cref="EnvironmentVariable"/>'s value for the 512-bit path on any processor (<see cref="Simd.MaxBits"/>).</summary>
    internal const string Software512 = "avx512-software";

    /// <summary>This machine's choice, made once (honouring <see cref="EnvironmentVariable"/> and <see cref="BlockingVariable"/>).</summary>
    public static KernelChoice Current { get; } = For(CpuProfile.Current, Environment.GetEnvironmentVariable(EnvironmentVariable),
        Environment.GetEnvironmentVariable(BlockingVariable));

    /// <summary>GEMM micro-kernel rows for this width (the scalar loop has no tile).</summary>
    public int MR => VectorBits switch { 512 => MicroKernel512.MR, 256 => MicroKernel256.MR, _ => 1 };

    /// <summary>GEMM micro-kernel columns for this width.</summary>
    public int NR => VectorBits switch { 512 => MicroKernel512.NR, 256 => MicroKernel256.NR, _ => 1 };

    /// <summary>
    /// The choice for <paramref name="cpu"/>; <paramref name="forced"/> and <paramref name="blocks"/> are
    /// <see cref="EnvironmentVariable"/>'s and <see cref="BlockingVariable"/>'s values, if any.
    /// </summary>
    /// <exception cref="ArgumentException">
    /// <paramref name="forced"/> is not a known path or names one the processor cannot run, or
    /// <paramref name="blocks"/> is not three valid block sizes.
    /// </exception>
    public static KernelChoice For(CpuProfile cpu, string? forced = null, string? blocks = null)
    {
        ArgumentNullException.ThrowIfNull(cpu);
        var choice = ForPath(cpu, forced);
        if (string.IsNullOrWhiteSpace(blocks)) return choice;
        return choice with { Blocking = ParseBlocking(blocks), Reason = choice.Reason + $"; blocks from {BlockingVariable}" };
    }

    internal static GemmBlocking ParseBlocking(string text)
    {
        string[] parts = text.Split(',', StringSplitOptions.TrimEntries);
        var v = new int[3];
        bool ok = parts.Length == 3;
        for (int i = 0; ok && i < 3; i++)
            ok = int.TryParse(parts[i], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out v[i]);
        if (!ok || v[0] < 8 || v[0] % 8 != 0 || v[0] > 4096 || v[1] < 24 || v[1] % 24 != 0 || v[1] > 9600
            || v[2] < GemmScratch.MaxNR || v[2] % GemmScratch.MaxNR != 0 || v[2] > 65536)
            throw new ArgumentException($"{BlockingVariable}='{text}' is not KC,MC,NC with KC a multiple of 8 (8–4096), MC of 24 (24–9600) and NC of 32 (32–65536)", nameof(text));
        return new GemmBlocking(v[0], v[1], v[2]);
    }

    private static KernelChoice ForPath(CpuProfile cpu, string? forced)
    {
        // The blocks follow the path: KC is as deep as the path's micro-kernel panel of B lets it be.
        KernelChoice Choice(int bits, string reason) =>
            new(bits, GemmBlocking.For(cpu.Caches, bits == 256 ? MicroKernel256.NR : MicroKernel512.NR), reason);
        bool can256 = cpu.Avx2 && cpu.Fma;
        if (!string.IsNullOrWhiteSpace(forced))
        {
            string path = forced.Trim().ToLowerInvariant();
            if (path == Software512)
                return Choice(512, cpu.Avx512F
                    ? $"forced by {EnvironmentVariable}={path}: AVX-512 is here, so natively"
                    : $"forced by {EnvironmentVariable}={path}: the 512-bit kernels in software (no AVX-512 here; slow, for checking them)");
            int bits = path switch { "avx512" => 512, "avx256" => 256, "scalar" => 0, _ => -1 };
            if (bits < 0)
                throw new ArgumentException($"{EnvironmentVariable}='{forced}' is not a kernel path: use avx512, avx256, scalar or {Software512}, or leave it unset", nameof(forced));
            if ((bits == 512 && !cpu.Avx512F) || (bits == 256 && !can256))
                throw new ArgumentException($"{EnvironmentVariable}={path} but this processor ({cpu}) cannot run that path", nameof(forced));
            return Choice(bits, $"forced by {EnvironmentVariable}={path}");
        }

        if (cpu.Avx512F && LowersClockUnder512BitCode(cpu))
            return can256
                ? Choice(256, $"{Name(cpu)} lowers its clock under heavy 512-bit code: 256-bit vectors")
                : Choice(0, $"{Name(cpu)} without AVX2 and FMA: scalar");
        if (cpu.Avx512F && cpu.Vector512Accelerated)
            return Choice(512, $"{Name(cpu)}: AVX-512 at full clock{(IsKnown512(cpu) ? "" : " (not a known part: the .NET runtime's judgement)")}");
        if (can256)
            return Choice(256, cpu.Avx512F
                ? $"{Name(cpu)}: the .NET runtime does not prefer 512-bit vectors here: 256-bit vectors"
                : $"{Name(cpu)}: AVX2 and FMA, no AVX-512: 256-bit vectors");
        return Choice(0, $"{Name(cpu)}: no AVX2 with FMA: scalar");
    }

    /// <summary>
    /// Intel's first AVX-512 servers (family 6 model 85: Skylake-SP, Cascade Lake, Cooper Lake) drop to a
    /// lower frequency licence while 512-bit FMAs run, which costs the code around the kernels as well;
    /// Ice Lake-SP onwards and AMD's Zen 4 and Zen 5 keep their clock.
    /// </summary>
    internal static bool LowersClockUnder512BitCode(CpuProfile cpu) => cpu.Vendor == CpuVendor.Intel && cpu.Family == 6 && cpu.Model == 85;

    /// <summary>Parts with AVX-512 that were looked at (measured: Emerald Rapids, Zen 4, Zen 5): Ice Lake-SP, Sapphire, Emerald and Granite Rapids, Zen 4, Zen 5.</summary>
    internal static bool IsKnown512(CpuProfile cpu) => cpu.Vendor switch
    {
        CpuVendor.Intel => cpu.Family == 6 && cpu.Model is 106 or 108 or 143 or 207 or 173 or 174,
        CpuVendor.Amd => cpu.Family is 0x19 or 0x1A,
        _ => false,
    };

    private static string Name(CpuProfile cpu) => cpu.Vendor switch
    {
        CpuVendor.Intel or CpuVendor.Amd => $"{cpu.Vendor} family {cpu.Family} model {cpu.Model}",
        CpuVendor.Other => $"x86 family {cpu.Family} model {cpu.Model}",
        _ => "a non-x86 processor",
    };

    /// <summary>e.g. "512-bit (GEMM 8×32), KC 256 MC 192 NC 2048: AMD family 26 model 2: AVX-512 at full clock".</summary>
    public override string ToString()
    {
        string kernel = VectorBits == 0 ? "scalar" : $"{VectorBits}-bit (GEMM {MR}×{NR})";
        return $"{kernel}, KC {Blocking.KC} MC {Blocking.MC} NC {Blocking.NC}: {Reason}";
    }
}
