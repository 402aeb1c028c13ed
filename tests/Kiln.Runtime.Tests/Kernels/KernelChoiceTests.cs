using System;
using System.Runtime.Intrinsics.X86;
using Kiln.Kernels;

namespace Kiln.Runtime.Tests.Kernels;

[Collection(KernelCollection.Name)]
public class KernelChoiceTests
{
    private static readonly CacheHierarchy Zen5Caches = new(48 << 10, 1 << 20, 32 << 20);
    private static readonly CacheHierarchy XeonCaches = new(48 << 10, 2 << 20, 260 << 20);

    // Parts as CPUID and the .NET runtime describe them (Vector512Accelerated is what the runtime reports
    // by default: false on Skylake-SP, which it knows to lower its clock).
    private static CpuProfile Zen5 => new(CpuVendor.Amd, 26, 2, true, true, true, true, Zen5Caches);
    private static CpuProfile Zen4 => new(CpuVendor.Amd, 25, 17, true, true, true, true, new CacheHierarchy(32 << 10, 1 << 20, 32 << 20));
    private static CpuProfile SapphireRapids => new(CpuVendor.Intel, 6, 143, true, true, true, true, XeonCaches);
    private static CpuProfile EmeraldRapids => new(CpuVendor.Intel, 6, 207, true, true, true, true, XeonCaches);
    private static CpuProfile SkylakeSp => new(CpuVendor.Intel, 6, 85, true, false, true, true, new CacheHierarchy(32 << 10, 1 << 20, 38 << 20));
    private static CpuProfile Zen3 => new(CpuVendor.Amd, 25, 1, false, false, true, true, new CacheHierarchy(32 << 10, 512 << 10, 32 << 20));
    private static CpuProfile Arm => new(CpuVendor.Unknown, 0, 0, false, false, false, false, CacheHierarchy.Typical);

    [Fact]
    public void PartsWithFullClockAvx512GetThe512BitKernels()
    {
        foreach (var cpu in new[] { Zen5, Zen4, SapphireRapids, EmeraldRapids })
        {
            var choice = KernelChoice.For(cpu);
            Assert.Equal(512, choice.VectorBits);
            Assert.Equal((8, 32), (choice.MR, choice.NR));
            Assert.DoesNotContain("not a known part", choice.Reason);
        }
    }

    [Fact]
    public void SkylakeSpPrefers256BitCodeEvenWhereTheRuntimeWouldRun512()
    {
        Assert.Equal(256, KernelChoice.For(SkylakeSp).VectorBits);
        // DOTNET_PreferredVectorBitWidth=512 makes the runtime report 512-bit vectors as accelerated; the
        // kernels still keep the clock (KILN_SIMD=avx512 is the way to measure the other path).
        var optedIn = SkylakeSp with { Vector512Accelerated = true };
        var choice = KernelChoice.For(optedIn);
        Assert.Equal(256, choice.VectorBits);
        Assert.Equal((6, 16), (choice.MR, choice.NR));
        Assert.Contains("lowers its clock", choice.Reason);
        Assert.Contains("Intel family 6 model 85", choice.Reason);
        Assert.Equal(512, KernelChoice.For(optedIn, "avx512").VectorBits);
    }

    [Fact]
    public void Avx2OnlyAndNonX86PartsFallBack()
    {
        var zen3 = KernelChoice.For(Zen3);
        Assert.Equal(256, zen3.VectorBits);
        Assert.Contains("no AVX-512", zen3.Reason);
        var arm = KernelChoice.For(Arm);
        Assert.Equal(0, arm.VectorBits);
        Assert.Contains("non-x86", arm.Reason);
        // AVX2 without FMA (a VM that hides FMA): the 6×16 kernel needs FMA, so scalar.
        Assert.Equal(0, KernelChoice.For(Zen3 with { Fma = false }).VectorBits);
    }

    [Fact]
    public void UnknownPartsFollowTheRuntime()
    {
        // A future Intel part with AVX-512 that the runtime accelerates: 512, marked as not a known part.
        var future = EmeraldRapids with { Model = 250 };
        var choice = KernelChoice.For(future);
        Assert.Equal(512, choice.VectorBits);
        Assert.Contains("not a known part", choice.Reason);
        // The runtime told not to prefer 512-bit vectors (DOTNET_PreferredVectorBitWidth=256): 256.
        Assert.Equal(256, KernelChoice.For(Zen5 with { Vector512Accelerated = false }).VectorBits);
    }

    [Fact]
    public void BlockingFollowsTheCaches()
    {
        Assert.Equal(new GemmBlocking(256, 192, 2048), KernelChoice.For(Zen5).Blocking);
        // Zen 4 (Genoa, as its VM reports it): the 32 KiB L1d holds a shallower B panel (stop 54's run header).
        Assert.Equal(new GemmBlocking(168, 288, 3104), KernelChoice.For(Zen4).Blocking);
        // Emerald Rapids' 2 MiB L2 holds an A block twice as tall.
        Assert.Equal(new GemmBlocking(256, 384, 8192), KernelChoice.For(EmeraldRapids).Blocking);
        // The 256-bit paths' panels of B are half as wide, so their k blocks go twice as deep: Zen 3,
        // and Skylake-SP, which keeps to 256 bits. A forced path gets the blocks of the path.
        Assert.Equal(new GemmBlocking(336, 72, 1536), KernelChoice.For(Zen3).Blocking);
        Assert.Equal(GemmBlocking.For(SkylakeSp.Caches, 16), KernelChoice.For(SkylakeSp).Blocking);
        Assert.Equal(GemmBlocking.For(Zen5.Caches, 16), KernelChoice.For(Zen5, "avx256").Blocking);
        Assert.Equal(GemmBlocking.For(Zen5.Caches, 32), KernelChoice.For(Zen5, "scalar").Blocking);
    }

    [Theory]
    [InlineData("avx512", 512)]
    [InlineData("AVX256", 256)]
    [InlineData(" scalar ", 0)]
    [InlineData("avx512-software", 512)]
    [InlineData("", 512)]
    [InlineData(null, 512)]
    public void TheEnvironmentVariableForcesAPath(string? value, int bits)
    {
        var choice = KernelChoice.For(Zen5, value);
        Assert.Equal(bits, choice.VectorBits);
        if (!string.IsNullOrWhiteSpace(value)) Assert.StartsWith("forced by KILN_SIMD=", choice.Reason);
    }

    [Fact]
    public void AForcedPathTheProcessorCannotRunOrATypoIsAnError()
    {
        var ex = Assert.Throws<ArgumentException>(() => KernelChoice.For(Zen3, "avx512"));
        Assert.Contains("KILN_SIMD=avx512", ex.Message);
        Assert.Contains("cannot run", ex.Message);
        ex = Assert.Throws<ArgumentException>(() => KernelChoice.For(Arm, "avx256"));
        Assert.Contains("cannot run", ex.Message);
        ex = Assert.Throws<ArgumentException>(() => KernelChoice.For(Zen5, "avx2"));
        Assert.Contains("'avx2' is not a kernel path", ex.Message);
        Assert.Equal(0, KernelChoice.For(Arm, "scalar").VectorBits);
        // The software 512-bit path is the one way to take the 512-bit kernels without AVX-512.
        var software = KernelChoice.For(Zen3, "avx512-software");
        Assert.Equal((512, 8, 32), (software.VectorBits, software.MR, software.NR));
        Assert.Contains("in software", software.Reason);
        Assert.Contains("natively", KernelChoice.For(Zen5, "avx512-software").Reason);
    }

    [Fact]
    public void TheBlockingVariableOverridesTheBlocksAndRejectsBadOnes()
    {
        var choice = KernelChoice.For(EmeraldRapids, null, " 320, 240 ,4096");
        Assert.Equal(new GemmBlocking(320, 240, 4096), choice.Blocking);
        Assert.Equal(512, choice.VectorBits);
        Assert.EndsWith("blocks from KILN_GEMM_BLOCKING", choice.Reason);
        Assert.Equal(KernelChoice.For(EmeraldRapids).Blocking, KernelChoice.For(EmeraldRapids, null, "").Blocking);
        foreach (string bad in new[] { "256,192", "256,190,2048", "250,192,2048", "256,192,2000", "256,192,2048,1", "-8,24,32", "a,b,c", "0,0,0" })
        {
            var ex = Assert.Throws<ArgumentException>(() => KernelChoice.For(EmeraldRapids, null, bad));
            Assert.Contains($"KILN_GEMM_BLOCKING='{bad}'", ex.Message);
        }
    }

    [Fact]
    public void CpuidSignaturesDecodeToTheManualsFamilyAndModel()
    {
        Assert.Equal((6, 85), CpuProfile.DecodeSignature(0x00050654));   // Skylake-SP
        Assert.Equal((6, 143), CpuProfile.DecodeSignature(0x000806F8));  // Sapphire Rapids
        Assert.Equal((6, 207), CpuProfile.DecodeSignature(0x000C06F2));  // Emerald Rapids
        Assert.Equal((25, 17), CpuProfile.DecodeSignature(0x00A10F11));  // Zen 4 (Genoa)
        Assert.Equal((26, 2), CpuProfile.DecodeSignature(0x00B00F21));   // Zen 5 (Turin)
        Assert.Equal((5, 2), CpuProfile.DecodeSignature(0x00010521));    // family 5: the extended model is not added
    }

    [Fact]
    public void CpuidVendorStringsDecode()
    {
        static int Word(string four) => BitConverter.ToInt32(System.Text.Encoding.ASCII.GetBytes(four));
        Assert.Equal(CpuVendor.Intel, CpuProfile.DecodeVendor(Word("Genu"), Word("ineI"), Word("ntel")));
        Assert.Equal(CpuVendor.Amd, CpuProfile.DecodeVendor(Word("Auth"), Word("enti"), Word("cAMD")));
        Assert.Equal(CpuVendor.Other, CpuProfile.DecodeVendor(Word("Hygo"), Word("nGen"), Word("uine")));
    }

    [Fact]
    public void ThisMachinesProfileAgreesWithTheRuntimeAndItsChoiceRuns()
    {
        var cpu = CpuProfile.Current;
        Assert.Equal(Avx512F.IsSupported, cpu.Avx512F);
        Assert.Equal(Avx2.IsSupported, cpu.Avx2);
        Assert.Equal(X86Base.IsSupported, cpu.Vendor != CpuVendor.Unknown);
        var choice = KernelChoice.Current;
        if (choice.VectorBits == 512) Assert.True(cpu.Avx512F || choice.Reason.Contains(KernelChoice.Software512));
        if (choice.VectorBits == 256) Assert.True(cpu.Avx2 && cpu.Fma);
        Assert.Equal(choice.Blocking, GemmBlocking.For(cpu.Caches, choice.VectorBits == 256 ? 16 : 32));
    }

    [Fact]
    public void ForcingAPathInTestsRunsThatPathOnThisMachine()
    {
        // The kernel tests' 512-bit cases ran the 256-bit kernels on parts without AVX-512 until the
        // software 512-bit path (Simd.MaxBits) made them test what AVX-512 machines run.
        using (new KernelSwitches(512, 1)) Assert.True(Simd.Use512 && !Simd.Use256 && Simd.Use16Lanes);
        if (Avx2.IsSupported && Fma.IsSupported)
            using (new KernelSwitches(256, 1)) Assert.True(!Simd.Use512 && Simd.Use256 && Simd.Use16Lanes);
        using (new KernelSwitches(0, 1)) Assert.False(Simd.Use512 || Simd.Use256 || Simd.Use16Lanes);
        // Unforced, the choice's path (512 bits without AVX-512 only under KILN_SIMD=avx512-software).
        Assert.Equal(KernelChoice.Current.VectorBits == 512, Simd.Use512);
    }
}
