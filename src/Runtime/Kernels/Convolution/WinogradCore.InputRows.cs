using System.Runtime.CompilerServices;

namespace Kiln.Kernels;

/// <summary>
/// The 6-point input transform (F(4×4, 3×3), F(2×2, 5×5)) two rows of Bᵀ·d·B at a time, in <see cref="ILanes{TSelf}"/>
/// registers: the 256-bit path's form, where 16 ymm registers hold neither the register form's 24 shared terms nor,
/// without AVX-512, its Vector512 values (the runtime carries those out in halves through memory). Rows 1 and 2 of Bᵀ·d
/// share the terms a and b of <see cref="Input6"/>, rows 3 and 4 share e and f, and rows 0 and 5 take three pixels each:
/// a pair is made down each of the patch's six columns, then each row times B is stored. Twelve vectors live, 36 stores
/// per tile, the pixels read three times (loads are the cheap side). Against the scratch form with AVX-512 off on Zen 5:
/// the CIFAR net's step 1.054, 1.027 at 2 threads and 1.019 at 1 (paired, stop 57); one row at a time, 0.99–1.01 of this.
/// The operations per lane are the other forms' (<see cref="Input6"/>, <see cref="MiddleTerms"/>, <see cref="TopTerm"/>,
/// <see cref="BottomTerm"/>), so the same bits.
/// </summary>
internal static unsafe partial class WinogradCore
{
    /// <summary>
    /// <see cref="InputTransform6(float*, in Conv2DGeometry, int, int, long, long, long, int, float*, float*, float**, System.Runtime.Intrinsics.Vector512{float}*, bool)"/>
    /// in <typeparamref name="TV"/>'s registers, planes as rows of channels.
    /// </summary>
    private static void InputTransform6InRows<TV>(float* x, in Conv2DGeometry g, int tile, int tileCols, long tilesPerSample, long plane, long t0,
        int count, float* v, float* zeros, float** rows, bool prefetch) where TV : struct, ILanes<TV>
    {
        int c = g.InputChannels;
        for (int r = 0; r < count; r++)
        {
            PatchRows(x, g, tile, 6, t0 + r, tileCols, tilesPerSample, zeros, rows);
            if (prefetch) PrefetchNextRows(x, g, tile, 6, t0 + r, tileCols, tilesPerSample);
            float* o = v + (nint)r * c;
            InputRowPair<TV, InputRows12>(rows, c, o, plane);
            InputRowPair<TV, InputRows34>(rows, c, o, plane);
            InputRowPair<TV, InputRows05>(rows, c, o, plane);
        }
    }

    // A method per pair of rows: one tile's three pairs inlined into one method would pass the JIT's limit of
    // locals (512) and leave the vector helpers as calls, as the pooled output transform's two rows of windows did.
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static void InputRowPair<TV, TPair>(float** rows, int c, float* o, long plane)
        where TV : struct, ILanes<TV> where TPair : struct, IInputRowPair
    {
        float* first = o + 6 * TPair.First * plane, second = o + 6 * TPair.Second * plane;
        for (int cc = 0; cc < c; cc += TV.Count)
        {
            TPair.Terms<TV>(rows, 0, cc, out var p0, out var q0);
            TPair.Terms<TV>(rows, 1, cc, out var p1, out var q1);
            TPair.Terms<TV>(rows, 2, cc, out var p2, out var q2);
            TPair.Terms<TV>(rows, 3, cc, out var p3, out var q3);
            TPair.Terms<TV>(rows, 4, cc, out var p4, out var q4);
            TPair.Terms<TV>(rows, 5, cc, out var p5, out var q5);
            InputRowTimesB(first + cc, plane, p0, p1, p2, p3, p4, p5);
            InputRowTimesB(second + cc, plane, q0, q1, q2, q3, q4, q5);
        }
    }

    /// <summary>One row of Bᵀ·d times B, stored at <paramref name="at"/> in six planes <paramref name="plane"/> floats apart.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void InputRowTimesB<TV>(float* at, long plane, TV t0, TV t1, TV t2, TV t3, TV t4, TV t5) where TV : struct, ILanes<TV>
    {
        Input6(t0, t1, t2, t3, t4, t5, out var e0, out var e1, out var e2, out var e3, out var e4, out var e5);
        TV.Store(e0, at);
        TV.Store(e1, at + plane);
        TV.Store(e2, at + 2 * plane);
        TV.Store(e3, at + 3 * plane);
        TV.Store(e4, at + 4 * plane);
        TV.Store(e5, at + 5 * plane);
    }

    /// <summary>Which two rows of Bᵀ·d an <see cref="InputRowPair{TV, TPair}"/> makes, and their terms down patch column j.</summary>
    private interface IInputRowPair
    {
        static abstract int First { get; }

        static abstract int Second { get; }

        static abstract void Terms<TV>(float** rows, int j, int cc, out TV first, out TV second) where TV : struct, ILanes<TV>;
    }

    /// <summary>Rows 1 and 2: a ± b (<see cref="MiddleTerms"/>), a = d4 − 4d2 and b = d3 − 4d1.</summary>
    private readonly struct InputRows12 : IInputRowPair
    {
        public static int First => 1;

        public static int Second => 2;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Terms<TV>(float** rows, int j, int cc, out TV first, out TV second) where TV : struct, ILanes<TV>
        {
            var a = TV.MultiplyAdd(-4f, TV.Load(rows[12 + j] + cc), TV.Load(rows[24 + j] + cc));
            var b = TV.MultiplyAdd(-4f, TV.Load(rows[6 + j] + cc), TV.Load(rows[18 + j] + cc));
            first = a + b;
            second = a - b;
        }
    }

    /// <summary>Rows 3 and 4: e ± f (<see cref="MiddleTerms"/>), e = d4 − d2 and f = 2(d3 − d1), doubled by an addition.</summary>
    private readonly struct InputRows34 : IInputRowPair
    {
        public static int First => 3;

        public static int Second => 4;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Terms<TV>(float** rows, int j, int cc, out TV first, out TV second) where TV : struct, ILanes<TV>
        {
            var e = TV.Load(rows[24 + j] + cc) - TV.Load(rows[12 + j] + cc);
            var f = TV.Load(rows[18 + j] + cc) - TV.Load(rows[6 + j] + cc);
            f += f;
            first = e + f;
            second = e - f;
        }
    }

    /// <summary>Rows 0 and 5: 4d0 − 5d2 + d4 and 4d1 − 5d3 + d5, as <see cref="TopTerm"/> and <see cref="BottomTerm"/> make them.</summary>
    private readonly struct InputRows05 : IInputRowPair
    {
        public static int First => 0;

        public static int Second => 5;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Terms<TV>(float** rows, int j, int cc, out TV first, out TV second) where TV : struct, ILanes<TV>
        {
            var d2 = TV.Load(rows[12 + j] + cc);
            var a = TV.MultiplyAdd(-4f, d2, TV.Load(rows[24 + j] + cc));
            first = TV.MultiplyAdd(4f, TV.Load(rows[j] + cc), a - d2);
            var d3 = TV.Load(rows[18 + j] + cc);
            var b = TV.MultiplyAdd(-4f, TV.Load(rows[6 + j] + cc), d3);
            second = TV.MultiplyAdd(-4f, d3, TV.Load(rows[30 + j] + cc) - b);
        }
    }
}
