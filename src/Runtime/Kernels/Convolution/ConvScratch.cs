using System;
using System.Runtime.InteropServices;

namespace Kiln.Kernels;

/// <summary>
/// Per-thread native buffers for the convolution family (im2col chunks, indirection tables, padded
/// kernel columns, per-block partial sums) and for the GEMM's k-split partial products. Each slot grows to the largest request seen and is then
/// reused, so after the first step of a model nothing is allocated on any thread. Native memory is
/// 64-byte aligned, never moved and invisible to the GC.
/// </summary>
internal sealed unsafe class ConvScratch
{
    // 0: im2col chunks (or the in-place kernel gradient's zero-padded last dz columns), 1: gathered rows (or the tap blocks' input rows split by channel and stride phase), 2: the forward kernel packed in panels or rows (caller; the direct convolution's patch offsets too), 3: edge tile,
    // 4: per-block partial sums (caller), 5: per-channel parameters (caller),
    // 6-8: Winograd transformed inputs, products (workers), transformed kernels (caller, or each worker for a small one),
    // 9: a kernel rotated for a data gradient run as a forward convolution (caller: Winograd, direct), or Wᵀ packed for the scattering data gradient (caller),
    // 10: the direct convolution's zero-padded input band (workers),
    // 11: the unpooled output of a convolution + max pooling run as two kernels (caller; scalar path),
    // 12: the direct convolution's output band before its 2×2 max pooling (workers),
    // 13: a GEMM split by k blocks: its later blocks' partial products (caller; GemmSplitK),
    // 14: a Dense kernel as it was before a fused SGD step, read by the data gradient beside it (caller; DenseGradientPair).
    public const int Slots = 15;
    public const int PartialsSlot = 4;
    public const int ChannelSlot = 5;
    public const int FlippedKernelSlot = 9;
    public const int DirectBandSlot = 10;
    public const int PoolSourceSlot = 11;
    public const int DirectPooledBandSlot = 12;
    public const int SplitKPartialsSlot = 13;
    public const int DenseKernelCopySlot = 14;

    [ThreadStatic] private static ConvScratch? t_current;

    private readonly float*[] _floats = new float*[Slots];
    private readonly nint[] _floatCapacity = new nint[Slots];
    private float** _pointers;
    private nint _pointerCapacity;
    private float* _zeros;
    private nint _zeroCapacity;

    public static ConvScratch Current => t_current ??= new ConvScratch();

    /// <summary>Uninitialized floats in slot <paramref name="slot"/>; contents survive until the slot grows.</summary>
    public float* Floats(int slot, long count)
    {
        if (count > _floatCapacity[slot])
        {
            if (_floats[slot] != null) NativeMemory.AlignedFree(_floats[slot]);
            _floats[slot] = null;
            _floatCapacity[slot] = 0;
            _floats[slot] = (float*)Allocate(count * sizeof(float));
            _floatCapacity[slot] = (nint)count;
        }
        return _floats[slot];
    }

    public float** Pointers(long count)
    {
        if (count > _pointerCapacity)
        {
            if (_pointers != null) NativeMemory.AlignedFree(_pointers);
            _pointers = null;
            _pointerCapacity = 0;
            _pointers = (float**)Allocate(count * sizeof(float*));
            _pointerCapacity = (nint)count;
        }
        return _pointers;
    }

    /// <summary>At least <paramref name="count"/> zeros that nobody writes: the padding taps of the indirect kernel read them.</summary>
    public float* Zeros(long count)
    {
        if (count > _zeroCapacity)
        {
            if (_zeros != null) NativeMemory.AlignedFree(_zeros);
            _zeros = null;
            _zeroCapacity = 0;
            _zeros = (float*)Allocate(count * sizeof(float));
            NativeMemory.Clear(_zeros, (nuint)(count * sizeof(float)));
            _zeroCapacity = (nint)count;
        }
        return _zeros;
    }

    private static void* Allocate(long bytes)
    {
        // Rounded up to whole 64-byte lines so vector tails never touch another allocation.
        nuint size = (nuint)((Math.Max(bytes, 1) + 63) & ~63L);
        void* p = NativeMemory.AlignedAlloc(size, 64);
        if (p == null) throw new OutOfMemoryException($"convolution scratch of {bytes} bytes");
        return p;
    }
}
