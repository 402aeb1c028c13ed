using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Kiln.Kernels;

/// <summary>
/// One vector of float lanes at a width chosen by a type argument, so that a transform written once runs 16 lanes
/// in zmm registers (<see cref="Lanes16"/>) or 8 in ymm registers (<see cref="Lanes8"/>). Without AVX-512 the
/// runtime carries Vector512 code out two 256-bit halves at a time through memory, which costs a transform that keeps
/// a dozen vectors live: with F(4×4, 3×3)'s output transform in 8-lane registers instead of its 16-lane scratch form,
/// the 256-bit path (AVX-512 off on Zen 5) ran the CIFAR net's step 1.034× and the Fashion CNN's 1.025× faster, paired
/// (stop 56). The operations map one to one onto Vector512's and Vector256's, so each lane gets the same arithmetic at
/// either width, and the same bits.
/// </summary>
internal unsafe interface ILanes<TSelf> where TSelf : struct, ILanes<TSelf>
{
    /// <summary>Floats in one vector.</summary>
    static abstract int Count { get; }

    static abstract TSelf Load(float* p);

    static abstract void Store(TSelf v, float* p);

    static abstract TSelf operator +(TSelf a, TSelf b);

    static abstract TSelf operator -(TSelf a, TSelf b);

    /// <summary>a·b + c, fused (one rounding).</summary>
    static abstract TSelf MultiplyAdd(float a, TSelf b, TSelf c);

    /// <summary>*a·b + c, fused: the broadcast read from memory (a float passed by value went through a register first).</summary>
    static abstract TSelf MultiplyAdd(float* a, TSelf b, TSelf c);

    /// <summary>a·b + c lane by lane, fused (one rounding).</summary>
    static abstract TSelf MultiplyAdd(TSelf a, TSelf b, TSelf c);

    static abstract TSelf operator *(TSelf a, float b);

    /// <summary>act(v) at this width.</summary>
    TSelf Apply<TAct>(TAct act) where TAct : struct, IActivation;

    /// <summary>Max pooling's comparison at this width (<see cref="Pooling.KeepGreater(System.Runtime.Intrinsics.Vector512{float}, System.Runtime.Intrinsics.Vector512{float})"/>).</summary>
    static abstract TSelf KeepGreater(TSelf v, TSelf best);

    /// <summary>
    /// A mask of the first <paramref name="count"/> lanes, for <see cref="LoadMasked"/> and <see cref="StoreMasked"/>; the
    /// kernels that mask a row's last partial vector take theirs from here (<c>Lanes16.FirstLanes(n).V</c>).
    /// </summary>
    static abstract TSelf FirstLanes(int count);

    /// <summary>The lanes under <paramref name="mask"/>, 0 in the others, which are not read (no fault past a buffer's end): a masked load (AVX-512, or AVX's at 8 lanes).</summary>
    static abstract TSelf LoadMasked(float* p, TSelf mask);

    /// <summary>Stores the lanes under <paramref name="mask"/>; the floats of the others are not touched.</summary>
    static abstract void StoreMasked(TSelf v, float* p, TSelf mask);
}

/// <summary>16 float lanes: a zmm register where the JIT has AVX-512.</summary>
internal readonly unsafe struct Lanes16(Vector512<float> v) : ILanes<Lanes16>
{
    public readonly Vector512<float> V = v;

    public static int Count => 16;

    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lanes16 Load(float* p) => new(Vector512.Load(p));

    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void Store(Lanes16 v, float* p) => Vector512.Store(v.V, p);

    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lanes16 operator +(Lanes16 a, Lanes16 b) => new(a.V + b.V);

    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lanes16 operator -(Lanes16 a, Lanes16 b) => new(a.V - b.V);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes16 MultiplyAdd(float a, Lanes16 b, Lanes16 c) => new(Vector512.FusedMultiplyAdd(Vector512.Create(a), b.V, c.V));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes16 MultiplyAdd(float* a, Lanes16 b, Lanes16 c) => new(Vector512.FusedMultiplyAdd(Vector512.Create(*a), b.V, c.V));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes16 MultiplyAdd(Lanes16 a, Lanes16 b, Lanes16 c) => new(Vector512.FusedMultiplyAdd(a.V, b.V, c.V));

    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lanes16 operator *(Lanes16 a, float b) => new(a.V * b);

    [MethodImpl(MethodImplOptions.AggressiveInlining)] public Lanes16 Apply<TAct>(TAct act) where TAct : struct, IActivation => new(act.Apply(V));

    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lanes16 KeepGreater(Lanes16 v, Lanes16 best) => new(Pooling.KeepGreater(v.V, best.V));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes16 FirstLanes(int count) => new(Vector512.LessThan(Vector512<int>.Indices, Vector512.Create(count)).AsSingle());

    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lanes16 LoadMasked(float* p, Lanes16 mask) => new(Avx512F.MaskLoad(p, mask.V, Vector512<float>.Zero));

    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void StoreMasked(Lanes16 v, float* p, Lanes16 mask) => Avx512F.MaskStore(p, mask.V, v.V);
}

/// <summary>8 float lanes: a ymm register.</summary>
internal readonly unsafe struct Lanes8(Vector256<float> v) : ILanes<Lanes8>
{
    public readonly Vector256<float> V = v;

    public static int Count => 8;

    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lanes8 Load(float* p) => new(Vector256.Load(p));

    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void Store(Lanes8 v, float* p) => Vector256.Store(v.V, p);

    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lanes8 operator +(Lanes8 a, Lanes8 b) => new(a.V + b.V);

    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lanes8 operator -(Lanes8 a, Lanes8 b) => new(a.V - b.V);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes8 MultiplyAdd(float a, Lanes8 b, Lanes8 c) => new(Vector256.FusedMultiplyAdd(Vector256.Create(a), b.V, c.V));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes8 MultiplyAdd(float* a, Lanes8 b, Lanes8 c) => new(Vector256.FusedMultiplyAdd(Vector256.Create(*a), b.V, c.V));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes8 MultiplyAdd(Lanes8 a, Lanes8 b, Lanes8 c) => new(Vector256.FusedMultiplyAdd(a.V, b.V, c.V));

    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lanes8 operator *(Lanes8 a, float b) => new(a.V * b);

    [MethodImpl(MethodImplOptions.AggressiveInlining)] public Lanes8 Apply<TAct>(TAct act) where TAct : struct, IActivation => new(act.Apply(V));

    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lanes8 KeepGreater(Lanes8 v, Lanes8 best) => new(Pooling.KeepGreater(v.V, best.V));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes8 FirstLanes(int count) => new(Vector256.LessThan(Vector256<int>.Indices, Vector256.Create(count)).AsSingle());

    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lanes8 LoadMasked(float* p, Lanes8 mask) => new(Avx.MaskLoad(p, mask.V));

    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void StoreMasked(Lanes8 v, float* p, Lanes8 mask) => Avx.MaskStore(p, mask.V, v.V);
}
