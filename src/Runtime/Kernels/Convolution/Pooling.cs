using System;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using Kiln.Threading;

namespace Kiln.Kernels;

/// <summary>
/// Max and average pooling on NHWC batches (g.InputChannels == g.OutputChannels), vectorized over
/// channels and split over samples. Padded positions never take part: they never win a max and are
/// not counted in an average (TF/Keras 'same').
/// </summary>
public static unsafe class Pooling
{
    private enum Op { Max, MaxValues, Average, AverageBackward }

    /// <summary>y = window max; argmax[i] = flat index within the sample's input of the winner (first one on ties).</summary>
    public static void MaxForward(ReadOnlySpan<float> x, Span<float> y, Span<int> argmax, int n, in Conv2DGeometry g)
    {
        Check(x.Length, y.Length, n, g);
        CheckIndices(argmax.Length, n * g.OutputSize);
        fixed (float* px = x, py = y)
        fixed (int* pa = argmax)
            Run(Op.Max, px, py, pa, n, g);
    }

    /// <summary>
    /// y = window max without the argmax, for inference (nothing will run backward): the same values as
    /// the overload that saves it, the first of equal maxima kept, a NaN never replacing a number.
    /// </summary>
    public static void MaxForward(ReadOnlySpan<float> x, Span<float> y, int n, in Conv2DGeometry g)
    {
        Check(x.Length, y.Length, n, g);
        fixed (float* px = x, py = y)
            Run(Op.MaxValues, px, py, null, n, g);
    }

    /// <summary>
    /// The 2×2, stride-2, valid max pooling of a convolution's output: ⌊OH/2⌋ × ⌊OW/2⌋, what a
    /// convolution's <c>ForwardMaxPool2x2</c> writes (the pooling done as it stores its outputs).
    /// </summary>
    public static Conv2DGeometry TwoByTwoOver(in Conv2DGeometry conv) =>
        new(conv.OutputHeight, conv.OutputWidth, conv.OutputChannels, conv.OutputHeight / 2, conv.OutputWidth / 2, conv.OutputChannels, 2, 2, 2, 2, 0, 0);

    /// <summary>dx (overwritten) receives each dy at its window's argmax.</summary>
    public static void MaxBackward(ReadOnlySpan<float> dy, ReadOnlySpan<int> argmax, Span<float> dx, int n, in Conv2DGeometry g) =>
        MaxBackward(dy, default, argmax, dx, n, g, default(Identity));

    /// <summary>
    /// dx (overwritten) receives each dy·act'(y) at its window's argmax, y the pooled output: the
    /// backward of act(x) pooled, where x's activation was fused into the kernel before. At a window's
    /// winner that kernel's output is the pooled value, so its activation derivative is taken here at
    /// the pooled size and the kernel's own backward never reads its full-size output (Identity: y unused).
    /// </summary>
    public static void MaxBackward<TAct>(ReadOnlySpan<float> dy, ReadOnlySpan<float> y, ReadOnlySpan<int> argmax, Span<float> dx, int n, in Conv2DGeometry g, TAct activation)
        where TAct : struct, IActivation
    {
        Check(dx.Length, dy.Length, n, g);
        CheckIndices(argmax.Length, n * g.OutputSize);
        if (typeof(TAct) != typeof(Identity)) Activations.CheckLength(y.Length, checked(n * g.OutputSize), nameof(y));
        if (n == 0) return;
        fixed (float* pdy = dy, py = y, pdx = dx)
        fixed (int* pa = argmax)
        {
            var job = MaxBackwardJob<TAct>.ForCurrentThread;
            job.Dx = pdx; job.Dy = pdy; job.Y = py; job.Argmax = pa; job.G = g; job.N = n; job.Act = activation;
            try { WorkerPool.Shared.Run(job, PartsFor(n, g)); }
            finally { job.Dx = job.Dy = job.Y = null; job.Argmax = null; }
        }
    }

    /// <summary>y = mean over the real (non-padded) elements of each window.</summary>
    public static void AverageForward(ReadOnlySpan<float> x, Span<float> y, int n, in Conv2DGeometry g)
    {
        Check(x.Length, y.Length, n, g);
        fixed (float* px = x, py = y)
            Run(Op.Average, px, py, null, n, g);
    }

    /// <summary>dx (overwritten) = Σ over the windows containing it of dy / (real elements in that window).</summary>
    public static void AverageBackward(ReadOnlySpan<float> dy, Span<float> dx, int n, in Conv2DGeometry g)
    {
        Check(dx.Length, dy.Length, n, g);
        fixed (float* pdy = dy, pdx = dx)
            Run(Op.AverageBackward, pdx, pdy, null, n, g);
    }

    /// <summary>y[n×C] = mean over the positions (H·W) of x[n×positions×C].</summary>
    public static void GlobalAverageForward(ReadOnlySpan<float> x, Span<float> y, int n, int positions, int channels)
    {
        CheckGlobal(x.Length, y.Length, n, positions, channels, nameof(x), nameof(y));
        float inv = 1f / positions;
        fixed (float* px = x, py = y)
        {
            for (int b = 0; b < n; b++)
            {
                float* xs = px + (long)b * positions * channels, ys = py + (long)b * channels;
                new Span<float>(ys, channels).Clear();
                for (int p = 0; p < positions; p++) ConvCore.Add(xs + (long)p * channels, ys, channels);
                for (int c = 0; c < channels; c++) ys[c] *= inv;
            }
        }
    }

    /// <summary>dx (overwritten) = dy / positions at every position.</summary>
    public static void GlobalAverageBackward(ReadOnlySpan<float> dy, Span<float> dx, int n, int positions, int channels)
    {
        CheckGlobal(dx.Length, dy.Length, n, positions, channels, nameof(dx), nameof(dy));
        float inv = 1f / positions;
        fixed (float* pdy = dy, pdx = dx)
        {
            for (int b = 0; b < n; b++)
            {
                float* d = pdx + (long)b * positions * channels, s = pdy + (long)b * channels;
                for (int c = 0; c < channels; c++) d[c] = s[c] * inv;
                for (int p = 1; p < positions; p++) ConvCore.Copy(d, d + (long)p * channels, channels);
            }
        }
    }

    /// <summary>y[n×C] = max over positions; argmax[b·C + c] = p·C + c of the winner (first on ties).</summary>
    public static void GlobalMaxForward(ReadOnlySpan<float> x, Span<float> y, Span<int> argmax, int n, int positions, int channels)
    {
        CheckGlobal(x.Length, y.Length, n, positions, channels, nameof(x), nameof(y));
        CheckIndices(argmax.Length, n * channels);
        fixed (float* px = x, py = y)
        fixed (int* pa = argmax)
        {
            for (int b = 0; b < n; b++)
            {
                float* xs = px + (long)b * positions * channels, ys = py + (long)b * channels;
                int* a = pa + (long)b * channels;
                for (int c = 0; c < channels; c++) { ys[c] = xs[c]; a[c] = c; }
                for (int p = 1; p < positions; p++)
                {
                    float* row = xs + (long)p * channels;
                    for (int c = 0; c < channels; c++)
                        if (row[c] > ys[c]) { ys[c] = row[c]; a[c] = p * channels + c; }
                }
            }
        }
    }

    /// <summary>y[n×C] = max over positions without the argmax, for inference: the values of the overload that saves it.</summary>
    public static void GlobalMaxForward(ReadOnlySpan<float> x, Span<float> y, int n, int positions, int channels)
    {
        CheckGlobal(x.Length, y.Length, n, positions, channels, nameof(x), nameof(y));
        fixed (float* px = x, py = y)
        {
            for (int b = 0; b < n; b++)
            {
                float* xs = px + (long)b * positions * channels, ys = py + (long)b * channels;
                ConvCore.Copy(xs, ys, channels);
                for (int p = 1; p < positions; p++) KeepGreater(xs + (long)p * channels, ys, channels);
            }
        }
    }

    /// <summary>dx (overwritten) receives dy[b, c] at its argmax, zero elsewhere.</summary>
    public static void GlobalMaxBackward(ReadOnlySpan<float> dy, ReadOnlySpan<int> argmax, Span<float> dx, int n, int positions, int channels) =>
        GlobalMaxBackward(dy, default, argmax, dx, n, positions, channels, default(Identity));

    /// <summary>dx (overwritten) receives dy[b, c]·act'(y[b, c]) at its argmax, zero elsewhere: as <see cref="MaxBackward{TAct}"/>, for the global max.</summary>
    public static void GlobalMaxBackward<TAct>(ReadOnlySpan<float> dy, ReadOnlySpan<float> y, ReadOnlySpan<int> argmax, Span<float> dx, int n, int positions, int channels, TAct activation)
        where TAct : struct, IActivation
    {
        CheckGlobal(dx.Length, dy.Length, n, positions, channels, nameof(dx), nameof(dy));
        CheckIndices(argmax.Length, n * channels);
        bool identity = typeof(TAct) == typeof(Identity);
        if (!identity) Activations.CheckLength(y.Length, checked(n * channels), nameof(y));
        int perSample = positions * channels;
        dx.Slice(0, n * perSample).Clear();
        for (int b = 0; b < n; b++)
            for (int c = 0; c < channels; c++)
            {
                int i = argmax[b * channels + c];
                if ((uint)i >= (uint)perSample) throw new ArgumentException($"argmax {i} is outside a sample of {perSample} values", nameof(argmax));
                float d = dy[b * channels + c];
                dx[b * perSample + i] += identity ? d : d * activation.DerivativeFromOutput(y[b * channels + c]);
            }
    }

    private static void Run(Op op, float* x, float* y, int* argmax, int n, in Conv2DGeometry g)
    {
        if (n == 0) return;
        var job = PoolJob.ForCurrentThread;
        job.Operation = op; job.X = x; job.Y = y; job.Argmax = argmax; job.G = g; job.N = n;
        try { WorkerPool.Shared.Run(job, PartsFor(n, g)); }
        finally { job.X = job.Y = null; job.Argmax = null; }
    }

    /// <summary>Samples split over the workers once a pass visits about 64 K window elements (<see cref="Streams.PartsFor"/>).</summary>
    internal static int PartsFor(int n, in Conv2DGeometry g) => Streams.PartsFor((long)n * g.OutputSize * g.KernelHeight * g.KernelWidth, n);

    private sealed class PoolJob : ParallelJob
    {
        [ThreadStatic] private static PoolJob? t_instance;
        public static PoolJob ForCurrentThread => t_instance ??= new PoolJob();

        public Op Operation;
        // X is the input side (x or dx), Y the output side (y or dy).
        public float* X, Y;
        public int* Argmax;
        public Conv2DGeometry G;
        public int N;

        public override void Execute(int part, int parts)
        {
            int b0 = (int)((long)part * N / parts), b1 = (int)((long)(part + 1) * N / parts);
            for (int b = b0; b < b1; b++)
            {
                float* xs = X + (long)b * G.InputSize, ys = Y + (long)b * G.OutputSize;
                int* a = Argmax == null ? null : Argmax + (long)b * G.OutputSize;
                switch (Operation)
                {
                    case Op.Max: MaxSample(xs, ys, a, G, default(RawTaps)); break;
                    case Op.MaxValues: MaxValuesSample(xs, ys, G); break;
                    case Op.Average: AverageSample(xs, ys, G); break;
                    default: AverageBackwardSample(xs, ys, G); break;
                }
            }
        }
    }

    /// <summary>The window's real rows [i0, i1) and columns [j0, j1) relative to its corner (ih0, iw0).</summary>
    internal static void Window(in Conv2DGeometry g, int oy, int ox, out int ih0, out int iw0, out int i0, out int i1, out int j0, out int j1)
    {
        ih0 = oy * g.StrideHeight - g.PadTop;
        iw0 = ox * g.StrideWidth - g.PadLeft;
        i0 = Math.Max(0, -ih0);
        i1 = Math.Min(g.KernelHeight, g.InputHeight - ih0);
        j0 = Math.Max(0, -iw0);
        j1 = Math.Min(g.KernelWidth, g.InputWidth - iw0);
    }

    /// <summary>What a max pooling compares at each input position: 16 channels from <c>ch</c> at <c>p</c>, or one.</summary>
    internal interface ITaps
    {
        Vector512<float> Vector(float* p, int ch);
        float Scalar(float* p, int ch);
    }

    /// <summary>The input as it is.</summary>
    private readonly struct RawTaps : ITaps
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public Vector512<float> Vector(float* p, int ch) => Vector512.Load(p);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public float Scalar(float* p, int ch) => *p;
    }

    /// <summary>One sample's window maxima and their flat indices within the sample's input, as <see cref="MaxForward(ReadOnlySpan{float}, Span{float}, Span{int}, int, in Conv2DGeometry)"/> gives them.</summary>
    internal static void MaxSample(float* x, float* y, int* argmax, in Conv2DGeometry g) => MaxSample(x, y, argmax, g, default(RawTaps));

    /// <summary>
    /// One sample's window maxima of the taps' values and their flat indices within the sample's input:
    /// a later tap wins only when greater, so the first of equal maxima stays and a NaN never wins.
    /// BatchNorm's pooled training pass (<see cref="BatchNorm.ForwardTrainingMaxPool"/>) runs it over the
    /// normalized, activated input, so both give the same indices by construction.
    /// </summary>
    internal static void MaxSample<TTaps>(float* x, float* y, int* argmax, in Conv2DGeometry g, TTaps taps) where TTaps : struct, ITaps
    {
        int c = g.InputChannels, w = g.InputWidth;
        var lane = Vector512.Create(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
        for (int oy = 0; oy < g.OutputHeight; oy++)
            for (int ox = 0; ox < g.OutputWidth; ox++)
            {
                Window(g, oy, ox, out int ih0, out int iw0, out int i0, out int i1, out int j0, out int j1);
                float* yo = y + ((nint)oy * g.OutputWidth + ox) * c;
                int* ao = argmax + ((nint)oy * g.OutputWidth + ox) * c;
                int first = ((ih0 + i0) * w + iw0 + j0) * c;
                int ch = 0;
                if (Simd.Use16Lanes)
                {
                    for (; ch + 16 <= c; ch += 16)
                    {
                        var best = taps.Vector(x + first + ch, ch);
                        var idx = Vector512.Create(first + ch) + lane;
                        for (int i = i0; i < i1; i++)
                            for (int j = j0; j < j1; j++)
                            {
                                int at = ((ih0 + i) * w + iw0 + j) * c + ch;
                                KeepGreater(taps.Vector(x + at, ch), Vector512.Create(at) + lane, ref best, ref idx);
                            }
                        Vector512.Store(best, yo + ch);
                        Vector512.Store(idx, ao + ch);
                    }
                }
                for (; ch < c; ch++)
                {
                    float best = taps.Scalar(x + first + ch, ch);
                    int idx = first + ch;
                    for (int i = i0; i < i1; i++)
                        for (int j = j0; j < j1; j++)
                        {
                            int at = ((ih0 + i) * w + iw0 + j) * c + ch;
                            float v = taps.Scalar(x + at, ch);
                            if (v > best) { best = v; idx = at; }
                        }
                    yo[ch] = best;
                    ao[ch] = idx;
                }
            }
    }

    /// <summary>
    /// MaxSample without the indices: per vector of channels the running max stays in a register over
    /// the window, with the argmax kernel's comparison (ties keep the earlier value, −0 before +0; a NaN
    /// never wins), so the outputs are the same bits.
    /// </summary>
    internal static void MaxValuesSample(float* x, float* y, in Conv2DGeometry g)
    {
        if (IsWhole2x2(g))
        {
            MaxValues2x2Sample(x, y, g);
            return;
        }
        int c = g.InputChannels, w = g.InputWidth;
        for (int oy = 0; oy < g.OutputHeight; oy++)
            for (int ox = 0; ox < g.OutputWidth; ox++)
            {
                Window(g, oy, ox, out int ih0, out int iw0, out int i0, out int i1, out int j0, out int j1);
                float* yo = y + ((nint)oy * g.OutputWidth + ox) * c;
                // The window's first real tap, then its rows: tap (i, j) of channel ch is at rows[i·w·c + j·c + ch].
                float* first = x + ((nint)(ih0 + i0) * w + iw0 + j0) * c;
                nint rowStride = (nint)w * c;
                int rows = i1 - i0, cols = j1 - j0;
                int ch = 0;
                if (Simd.Use512)
                {
                    for (; ch + 16 <= c; ch += 16)
                    {
                        Vector512<float> best = Vector512.Load(first + ch);
                        for (int i = 0; i < rows; i++)
                        {
                            float* at = first + i * rowStride + ch;
                            for (int j = i == 0 ? 1 : 0; j < cols; j++)
                            {
                                Vector512<float> v = Vector512.Load(at + (nint)j * c);
                                best = KeepGreater(v, best);
                            }
                        }
                        Vector512.Store(best, yo + ch);
                    }
                }
                if (Simd.Use512 || Simd.Use256)
                {
                    for (; ch + 8 <= c; ch += 8)
                    {
                        Vector256<float> best = Vector256.Load(first + ch);
                        for (int i = 0; i < rows; i++)
                        {
                            float* at = first + i * rowStride + ch;
                            for (int j = i == 0 ? 1 : 0; j < cols; j++)
                            {
                                Vector256<float> v = Vector256.Load(at + (nint)j * c);
                                best = KeepGreater(v, best);
                            }
                        }
                        Vector256.Store(best, yo + ch);
                    }
                }
                for (; ch < c; ch++)
                {
                    float best = first[ch];
                    for (int i = 0; i < rows; i++)
                        for (int j = i == 0 ? 1 : 0; j < cols; j++)
                        {
                            float v = first[i * rowStride + (nint)j * c + ch];
                            if (v > best) best = v;
                        }
                    yo[ch] = best;
                }
            }
    }

    /// <summary>2×2 windows at stride 2, unpadded, every one inside the input: the common pooling, and what a convolution's pooled store asks for.</summary>
    private static bool IsWhole2x2(in Conv2DGeometry g) =>
        g.KernelHeight == 2 && g.KernelWidth == 2 && g.StrideHeight == 2 && g.StrideWidth == 2 && g.PadTop == 0 && g.PadLeft == 0
        && 2 * g.OutputHeight <= g.InputHeight && 2 * g.OutputWidth <= g.InputWidth;

    /// <summary>
    /// MaxValuesSample for <see cref="IsWhole2x2"/> windows without the general window walk: per output,
    /// its four taps in the same order (top left, top right, bottom left, bottom right) and comparison,
    /// so the same bits at a fraction of the time (it was 7% of the Fashion CNN's inference pass).
    /// </summary>
    private static void MaxValues2x2Sample(float* x, float* y, in Conv2DGeometry g)
    {
        int c = g.InputChannels;
        nint right = c, down = (nint)g.InputWidth * c;
        for (int oy = 0; oy < g.OutputHeight; oy++)
        {
            float* row = x + 2 * oy * down;
            float* yo = y + (nint)oy * g.OutputWidth * c;
            for (int ox = 0; ox < g.OutputWidth; ox++, row += 2 * right, yo += c)
            {
                int ch = 0;
                if (Simd.Use512)
                {
                    for (; ch + 16 <= c; ch += 16)
                    {
                        float* p = row + ch;
                        var best = Vector512.Load(p);
                        var v = Vector512.Load(p + right);
                        best = KeepGreater(v, best);
                        v = Vector512.Load(p + down);
                        best = KeepGreater(v, best);
                        v = Vector512.Load(p + down + right);
                        best = KeepGreater(v, best);
                        Vector512.Store(best, yo + ch);
                    }
                }
                if (Simd.Use512 || Simd.Use256)
                {
                    for (; ch + 8 <= c; ch += 8)
                    {
                        float* p = row + ch;
                        var best = Vector256.Load(p);
                        var v = Vector256.Load(p + right);
                        best = KeepGreater(v, best);
                        v = Vector256.Load(p + down);
                        best = KeepGreater(v, best);
                        v = Vector256.Load(p + down + right);
                        best = KeepGreater(v, best);
                        Vector256.Store(best, yo + ch);
                    }
                }
                for (; ch < c; ch++)
                {
                    float* p = row + ch;
                    float best = p[0];
                    if (p[right] > best) best = p[right];
                    if (p[down] > best) best = p[down];
                    if (p[down + right] > best) best = p[down + right];
                    yo[ch] = best;
                }
            }
        }
    }

    /// <summary>
    /// Max pooling's comparison, 16 lanes: a later value replaces the best only when greater, so ties keep the
    /// earlier value (−0 before +0) and a NaN never wins (Vector512.Max would differ on both). The value-only
    /// pooling here and the pooling stores of WinogradCore and DirectCore compare through it, in the window's
    /// row-major order, so the fused kernels give the same bits as a convolution followed by this pooling.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector512<float> KeepGreater(Vector512<float> v, Vector512<float> best) =>
        Vector512.ConditionalSelect(Vector512.GreaterThan(v, best), v, best);

    /// <summary>Max pooling's comparison, 8 lanes: see the 16-lane overload.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector256<float> KeepGreater(Vector256<float> v, Vector256<float> best) =>
        Vector256.ConditionalSelect(Vector256.GreaterThan(v, best), v, best);

    /// <summary>
    /// A 2×2 window's max of act(value), the four values in the window's order (top left, top right, bottom left,
    /// bottom right) under <see cref="KeepGreater(Vector512{float}, Vector512{float})"/>; for an activation that
    /// commutes with it (<see cref="IActivation.CommutesWithMax"/>) the max comes first and act is applied once, the same bits.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector512<float> WindowMax<TAct>(TAct act, Vector512<float> first, Vector512<float> second, Vector512<float> third, Vector512<float> fourth)
        where TAct : struct, IActivation =>
        WindowMax(act, new Lanes16(first), new Lanes16(second), new Lanes16(third), new Lanes16(fourth)).V;

    /// <summary><see cref="WindowMax{TAct}(TAct, Vector512{float}, Vector512{float}, Vector512{float}, Vector512{float})"/> at <typeparamref name="TV"/>'s width.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static TV WindowMax<TV, TAct>(TAct act, TV first, TV second, TV third, TV fourth)
        where TV : struct, ILanes<TV> where TAct : struct, IActivation
    {
        if (TAct.CommutesWithMax) return TV.KeepGreater(fourth, TV.KeepGreater(third, TV.KeepGreater(second, first))).Apply(act);
        return TV.KeepGreater(fourth.Apply(act), TV.KeepGreater(third.Apply(act), TV.KeepGreater(second.Apply(act), first.Apply(act))));
    }

    /// <summary>The same comparison, 16 lanes, keeping the winner's index too: where v replaces best, <paramref name="at"/> replaces <paramref name="winner"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void KeepGreater(Vector512<float> v, Vector512<int> at, ref Vector512<float> best, ref Vector512<int> winner)
    {
        var more = Vector512.GreaterThan(v, best);
        best = Vector512.ConditionalSelect(more, v, best);
        winner = Vector512.ConditionalSelect(more.AsInt32(), at, winner);
    }

    /// <summary>The same comparison, 8 lanes, keeping the winner's index too: see the 16-lane overload.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void KeepGreater(Vector256<float> v, Vector256<int> at, ref Vector256<float> best, ref Vector256<int> winner)
    {
        var more = Vector256.GreaterThan(v, best);
        best = Vector256.ConditionalSelect(more, v, best);
        winner = Vector256.ConditionalSelect(more.AsInt32(), at, winner);
    }

    /// <summary>
    /// best[i] = v[i] where v[i] > best[i]: the argmax kernels' comparison, so ties keep the earlier
    /// value (−0 before +0) and a NaN never wins (Vector.Max would differ on both).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void KeepGreater(float* v, float* best, int count)
    {
        int i = 0;
        if (Simd.Use512)
        {
            for (; i + 16 <= count; i += 16)
            {
                Vector512<float> a = Vector512.Load(v + i), b = Vector512.Load(best + i);
                Vector512.Store(KeepGreater(a, b), best + i);
            }
        }
        if (Simd.Use512 || Simd.Use256)
        {
            for (; i + 8 <= count; i += 8)
            {
                Vector256<float> a = Vector256.Load(v + i), b = Vector256.Load(best + i);
                Vector256.Store(KeepGreater(a, b), best + i);
            }
        }
        for (; i < count; i++)
            if (v[i] > best[i]) best[i] = v[i];
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Scatter(float* dx, int at, int size, float gradient)
    {
        if ((uint)at >= (uint)size) throw new ArgumentException($"argmax {at} is outside a sample of {size} values", "argmax");
        dx[at] += gradient;
    }

    /// <summary>
    /// One sample per iteration. Windows that tile the input (strides = window, the usual 2×2 pooling)
    /// write each input's gradient once, eight channels at a time: dy·act'(y) where the input won,
    /// 0 elsewhere, so no clearing pass and no read-modify-write. Overlapping windows clear dx and
    /// add each dy (times act'(y) unless Identity) at its winner.
    /// </summary>
    private sealed class MaxBackwardJob<TAct> : ParallelJob where TAct : struct, IActivation
    {
        [ThreadStatic] private static MaxBackwardJob<TAct>? t_instance;
        public static MaxBackwardJob<TAct> ForCurrentThread => t_instance ??= new MaxBackwardJob<TAct>();

        public float* Dx, Dy, Y;
        public int* Argmax;
        public Conv2DGeometry G;
        public int N;
        public TAct Act;

        public override void Execute(int part, int parts)
        {
            int size = G.InputSize, outputs = G.OutputSize;
            bool tiles = G.StrideHeight == G.KernelHeight && G.StrideWidth == G.KernelWidth && G.InputChannels >= 8 && Simd.Use16Lanes;
            for (long b = (long)part * N / parts, b1 = (long)(part + 1) * N / parts; b < b1; b++)
            {
                float* dx = Dx + b * size, dy = Dy + b * outputs, y = Y + b * outputs;
                int* argmax = Argmax + b * outputs;
                if (tiles)
                {
                    TileSample(dx, dy, y, argmax);
                    continue;
                }
                new Span<float>(dx, size).Clear();
                int i = 0;
                // The derivative eight at a time: a scalar ReLU mask is a branch the winners' signs make unpredictable.
                if (typeof(TAct) != typeof(Identity) && Simd.Use16Lanes)
                    for (; i + 8 <= outputs; i += 8)
                    {
                        var g = Gradient8(dy, y, i);
                        for (int k = 0; k < 8; k++) Scatter(dx, argmax[i + k], size, g.GetElement(k));
                    }
                for (; i < outputs; i++) Scatter(dx, argmax[i], size, Gradient(dy, y, i));
            }
        }

        private void TileSample(float* dx, float* dy, float* y, int* argmax)
        {
            ref readonly Conv2DGeometry g = ref G;
            int c = g.InputChannels, w = g.InputWidth;
            // Valid pooling of an odd size leaves the last rows or columns in no window: their gradient is 0.
            if (g.OutputHeight * g.StrideHeight - g.PadTop < g.InputHeight || g.OutputWidth * g.StrideWidth - g.PadLeft < g.InputWidth)
                new Span<float>(dx, g.InputSize).Clear();
            var lane = Vector256.Create(0, 1, 2, 3, 4, 5, 6, 7);
            for (int oy = 0; oy < g.OutputHeight; oy++)
                for (int ox = 0; ox < g.OutputWidth; ox++)
                {
                    Window(g, oy, ox, out int ih0, out int iw0, out int i0, out int i1, out int j0, out int j1);
                    int o = (oy * g.OutputWidth + ox) * c, ch = 0;
                    for (; ch + 8 <= c; ch += 8)
                    {
                        var gradient = Gradient8(dy, y, o + ch);
                        var winner = Vector256.Load(argmax + o + ch);
                        var found = Vector256<int>.Zero;
                        for (int i = i0; i < i1; i++)
                            for (int j = j0; j < j1; j++)
                            {
                                int at = ((ih0 + i) * w + iw0 + j) * c + ch;
                                var won = Vector256.Equals(winner, Vector256.Create(at) + lane);
                                found |= won;
                                Vector256.Store(won.AsSingle() & gradient, dx + at);
                            }
                        if (found != Vector256<int>.AllBitsSet) throw OutsideWindow(argmax + o + ch, 8);
                    }
                    for (; ch < c; ch++)
                    {
                        float gradient = Gradient(dy, y, o + ch);
                        bool found = false;
                        for (int i = i0; i < i1; i++)
                            for (int j = j0; j < j1; j++)
                            {
                                int at = ((ih0 + i) * w + iw0 + j) * c + ch;
                                bool won = argmax[o + ch] == at;
                                found |= won;
                                dx[at] = won ? gradient : 0f;
                            }
                        if (!found) throw OutsideWindow(argmax + o + ch, 1);
                    }
                }
        }

        /// <summary>dy[i]·act'(y[i]); y is not read for Identity (it may be null then).</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private float Gradient(float* dy, float* y, int i) =>
            typeof(TAct) == typeof(Identity) ? dy[i] : dy[i] * Act.DerivativeFromOutput(y[i]);

        /// <summary><see cref="Gradient"/> for the eight outputs from <paramref name="i"/>.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private Vector256<float> Gradient8(float* dy, float* y, int i) =>
            typeof(TAct) == typeof(Identity) ? Vector256.Load(dy + i) : Vector256.Load(dy + i) * Act.DerivativeFromOutput(Vector256.Load(y + i));

        private static ArgumentException OutsideWindow(int* argmax, int count)
        {
            var indices = new int[count];
            for (int k = 0; k < count; k++) indices[k] = argmax[k];
            return new ArgumentException($"an argmax among [{string.Join(", ", indices)}] is not an input of its window (argmax comes from MaxForward with the same geometry)", "argmax");
        }
    }

    private static void AverageSample(float* x, float* y, in Conv2DGeometry g)
    {
        int c = g.InputChannels, w = g.InputWidth;
        for (int oy = 0; oy < g.OutputHeight; oy++)
            for (int ox = 0; ox < g.OutputWidth; ox++)
            {
                Window(g, oy, ox, out int ih0, out int iw0, out int i0, out int i1, out int j0, out int j1);
                float* yo = y + ((nint)oy * g.OutputWidth + ox) * c;
                new Span<float>(yo, c).Clear();
                for (int i = i0; i < i1; i++)
                    for (int j = j0; j < j1; j++)
                        ConvCore.Add(x + ((nint)(ih0 + i) * w + iw0 + j) * c, yo, c);
                float inv = 1f / ((i1 - i0) * (j1 - j0));
                Activations.Scale(yo, inv, c);
            }
    }

    private static void AverageBackwardSample(float* dx, float* dy, in Conv2DGeometry g)
    {
        int c = g.InputChannels, w = g.InputWidth;
        new Span<float>(dx, g.InputSize).Clear();
        float* share = ConvScratch.Current.Floats(3, c);
        for (int oy = 0; oy < g.OutputHeight; oy++)
            for (int ox = 0; ox < g.OutputWidth; ox++)
            {
                Window(g, oy, ox, out int ih0, out int iw0, out int i0, out int i1, out int j0, out int j1);
                ConvCore.Copy(dy + ((nint)oy * g.OutputWidth + ox) * c, share, c);
                Activations.Scale(share, 1f / ((i1 - i0) * (j1 - j0)), c);
                for (int i = i0; i < i1; i++)
                    for (int j = j0; j < j1; j++)
                        ConvCore.Add(share, dx + ((nint)(ih0 + i) * w + iw0 + j) * c, c);
            }
    }

    private static void Check(int inputLength, int outputLength, int n, in Conv2DGeometry g)
    {
        Conv2D.CheckBatch(n);
        if (g.InputChannels != g.OutputChannels)
            throw new ArgumentException($"pooling keeps the channels, but the geometry maps {g.InputChannels} to {g.OutputChannels}", nameof(g));
        Activations.CheckLength(inputLength, checked(n * g.InputSize), "x");
        Activations.CheckLength(outputLength, checked(n * g.OutputSize), "y");
    }

    private static void CheckIndices(int length, int needed)
    {
        if (length < needed) throw new ArgumentException($"argmax has {length} entries but {needed} are needed", "argmax");
    }

    private static void CheckGlobal(int imageLength, int vectorLength, int n, int positions, int channels, string imageName, string vectorName)
    {
        Conv2D.CheckBatch(n);
        if (positions < 1 || channels < 1) throw new ArgumentException($"positions ({positions}) and channels ({channels}) must be positive");
        Activations.CheckLength(imageLength, checked(n * positions * channels), imageName);
        Activations.CheckLength(vectorLength, checked(n * channels), vectorName);
    }
}
