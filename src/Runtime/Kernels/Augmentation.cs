using System;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using Kiln.Threading;

namespace Kiln.Kernels;

/// <summary>
/// Keras 3's image augmentations on NHWC batches. The <c>Random*</c> entry points draw each
/// sample's transform from the model's random stream in sample order on the calling thread (so a
/// seed fixes them, a training checkpoint resumes them, and the thread count never changes them),
/// then transform the samples split over the worker pool. The deterministic cores
/// (<see cref="Flip"/>, <see cref="Affine"/>, <see cref="Crop"/>, <see cref="CropAndResize"/>,
/// <see cref="AdjustContrast"/>) are public so tests can compare them with a naive reference.
/// Nothing is allocated per call once a batch size has been seen.
/// </summary>
public static unsafe class Augmentation
{
    /// <summary>Floats per sample of an affine transform: output (x, y) reads input (a0·x + a1·y + a2, b0·x + b1·y + b2), Keras' first six.</summary>
    public const int AffineFloats = 6;

    // ------------------------------------------------------------------ random entry points (training)

    /// <summary>Keras' RandomFlip: one coin per image (P = ½); HorizontalAndVertical flips both axes on the same coin, as Keras 3 does.</summary>
    public static void RandomFlip(ReadOnlySpan<float> x, Span<float> y, int n, int height, int width, int channels, FlipMode mode, ref Rng rng)
    {
        var job = Job.ForCurrentThread;
        var flips = job.Draws(n);
        for (int b = 0; b < n; b++) flips[b] = rng.NextFloat() < 0.5f ? 1f : 0f;
        Flip(x, y, n, height, width, channels, flips.AsSpan(0, n), mode);
    }

    /// <summary>Keras' RandomTranslation: dy = U(heightLower, heightUpper)·height, dx = U(widthLower, widthUpper)·width per image (drawn in that order); output (x, y) reads input (x − dx, y − dy).</summary>
    public static void RandomTranslation(ReadOnlySpan<float> x, Span<float> y, int n, int height, int width, int channels,
        float heightLower, float heightUpper, float widthLower, float widthUpper, FillMode fill, Interpolation interpolation, float fillValue, ref Rng rng)
    {
        var t = Job.ForCurrentThread.Draws(n * AffineFloats);
        for (int b = 0; b < n; b++)
        {
            float dy = rng.NextFloat(heightLower, heightUpper) * height;
            float dx = rng.NextFloat(widthLower, widthUpper) * width;
            SetAffine(t, b, 1, 0, -dx, 0, 1, -dy);
        }
        Affine(x, y, n, height, width, channels, t.AsSpan(0, n * AffineFloats), fill, interpolation, fillValue);
    }

    /// <summary>Keras' RandomRotation: θ = U(lower, upper)·2π per image, about the centre ((width − 1)/2, (height − 1)/2), positive counter-clockwise.</summary>
    public static void RandomRotation(ReadOnlySpan<float> x, Span<float> y, int n, int height, int width, int channels,
        float lower, float upper, FillMode fill, Interpolation interpolation, float fillValue, ref Rng rng)
    {
        var t = Job.ForCurrentThread.Draws(n * AffineFloats);
        for (int b = 0; b < n; b++)
        {
            float angle = rng.NextFloat(lower * 2 * MathF.PI, upper * 2 * MathF.PI);
            var (a0, a1, a2, b0, b1, b2) = RotationMatrix(angle, height, width);
            SetAffine(t, b, a0, a1, a2, b0, b1, b2);
        }
        Affine(x, y, n, height, width, channels, t.AsSpan(0, n * AffineFloats), fill, interpolation, fillValue);
    }

    /// <summary>Keras' RandomZoom: zy = 1 + U(heightLower, heightUpper), zx = 1 + U(widthLower, widthUpper) (or zy when <paramref name="keepAspect"/>), about the centre.</summary>
    public static void RandomZoom(ReadOnlySpan<float> x, Span<float> y, int n, int height, int width, int channels,
        float heightLower, float heightUpper, float widthLower, float widthUpper, bool keepAspect, FillMode fill, Interpolation interpolation, float fillValue, ref Rng rng)
    {
        var t = Job.ForCurrentThread.Draws(n * AffineFloats);
        for (int b = 0; b < n; b++)
        {
            float zy = rng.NextFloat(1 + heightLower, 1 + heightUpper);
            float zx = keepAspect ? zy : rng.NextFloat(1 + widthLower, 1 + widthUpper);
            var (a0, a1, a2, b0, b1, b2) = ZoomMatrix(zy, zx, height, width);
            SetAffine(t, b, a0, a1, a2, b0, b1, b2);
        }
        Affine(x, y, n, height, width, channels, t.AsSpan(0, n * AffineFloats), fill, interpolation, fillValue);
    }

    /// <summary>
    /// Keras' RandomCrop in training: when the image is larger in both dimensions, one window at
    /// (U{0..height − cropHeight}, U{0..width − cropWidth}) for the whole batch (Keras crops every image
    /// of a batch at the same place); otherwise <see cref="CenterCrop"/>, as Keras.
    /// </summary>
    public static void RandomCrop(ReadOnlySpan<float> x, Span<float> y, int n, int height, int width, int channels, int cropHeight, int cropWidth, ref Rng rng)
    {
        if (height > cropHeight && width > cropWidth)
        {
            int top = rng.NextInt(height - cropHeight + 1);
            int left = rng.NextInt(width - cropWidth + 1);
            Crop(x, y, n, height, width, channels, top, left, cropHeight, cropWidth);
        }
        else
        {
            CenterCrop(x, y, n, height, width, channels, cropHeight, cropWidth);
        }
    }

    /// <summary>
    /// Keras 3's RandomCrop in inference: the largest centred window with the target's aspect ratio
    /// (⌊width·cropHeight/cropWidth⌋ rows, ⌊height·cropWidth/cropHeight⌋ columns, each at most the image),
    /// resized bilinearly (half-pixel centres, no antialiasing) to (cropHeight, cropWidth) when its size differs.
    /// </summary>
    public static void CenterCrop(ReadOnlySpan<float> x, Span<float> y, int n, int height, int width, int channels, int cropHeight, int cropWidth)
    {
        var (top, left, rows, columns) = CenterWindow(height, width, cropHeight, cropWidth);
        if (rows == cropHeight && columns == cropWidth)
            Crop(x, y, n, height, width, channels, top, left, cropHeight, cropWidth);
        else
            CropAndResize(x, y, n, height, width, channels, top, left, rows, columns, cropHeight, cropWidth);
    }

    /// <summary>The window <see cref="CenterCrop"/> takes: its corner and size.</summary>
    public static (int Top, int Left, int Rows, int Columns) CenterWindow(int height, int width, int cropHeight, int cropWidth)
    {
        int rows = Math.Max(Math.Min(height, (int)((double)width * cropHeight / cropWidth)), 1);
        int columns = Math.Max(Math.Min(width, (int)((double)height * cropWidth / cropHeight)), 1);
        return ((height - rows) / 2, (width - columns) / 2, rows, columns);
    }

    /// <summary>Keras' RandomContrast: f = U(1 − lower, 1 + upper) per image; each channel (x − mean)·f + mean, clipped to [low, high].</summary>
    public static void RandomContrast(ReadOnlySpan<float> x, Span<float> y, int n, int height, int width, int channels,
        float lower, float upper, float low, float high, ref Rng rng)
    {
        var factors = Job.ForCurrentThread.Draws(n);
        for (int b = 0; b < n; b++) factors[b] = rng.NextFloat(1 - lower, 1 + upper);
        AdjustContrast(x, y, n, height, width, channels, factors.AsSpan(0, n), low, high);
    }

    /// <summary>
    /// The error a caller gets for asking the input gradient through an augmentation in training. Kiln
    /// defines none: the layers sit before every weight (KILN0158), so training never needs one, and
    /// a gradient through a random resampling (Keras/TF's own is an approximation) would be a silent
    /// trap for a composed model; this names the layer and says what to do instead.
    /// </summary>
    public static InvalidOperationException NoInputGradient(string layer, string type) => new(
        $"The input gradient was asked for through {type} '{layer}', a random augmentation, after a training forward pass; "
        + "Kiln defines no gradient through augmentation layers. Run the forward pass in inference mode (the layer is then a copy), "
        + "or augment the data in a model of its own before this one.");

    // ------------------------------------------------------------------ deterministic cores

    /// <summary>Flips sample b when flips[b] ≠ 0: left-right, top-bottom or both, by <paramref name="mode"/>; otherwise copies it.</summary>
    public static void Flip(ReadOnlySpan<float> x, Span<float> y, int n, int height, int width, int channels, ReadOnlySpan<float> flips, FlipMode mode)
    {
        int size = Check(x.Length, y.Length, n, height, width, channels, height, width);
        if (flips.Length < n) throw new ArgumentException($"{flips.Length} flip draws for {n} samples", nameof(flips));
        if (mode is < FlipMode.Horizontal or > FlipMode.HorizontalAndVertical) throw new ArgumentOutOfRangeException(nameof(mode), mode, "no such flip mode");
        var job = Job.ForCurrentThread;
        fixed (float* px = x, py = y, pf = flips)
        {
            job.Set(Op.Flip, px, py, n, height, width, channels, height, width);
            job.Params = pf;
            job.Mode = mode;
            Run(job, (long)n * size);
        }
    }

    /// <summary>
    /// Keras' <c>ops.image.affine_transform</c> with one transform per sample (<see cref="AffineFloats"/>
    /// floats each): output pixel (x, y) reads input point (a0·x + a1·y + a2, b0·x + b1·y + b2) in pixel
    /// indices. Bilinear blends the four neighbours, nearest takes the point rounded half away from zero;
    /// each neighbour outside the image is mapped by the fill mode (reflect, wrap, nearest) or reads
    /// <paramref name="fillValue"/> (constant), as Keras' <c>map_coordinates</c>.
    /// </summary>
    public static void Affine(ReadOnlySpan<float> x, Span<float> y, int n, int height, int width, int channels,
        ReadOnlySpan<float> transforms, FillMode fill, Interpolation interpolation, float fillValue)
    {
        int size = Check(x.Length, y.Length, n, height, width, channels, height, width);
        if (transforms.Length < n * AffineFloats) throw new ArgumentException($"{transforms.Length} transform values for {n} samples of {AffineFloats}", nameof(transforms));
        if (fill is < FillMode.Reflect or > FillMode.Nearest) throw new ArgumentOutOfRangeException(nameof(fill), fill, "no such fill mode");
        if (interpolation is not (Interpolation.Nearest or Interpolation.Bilinear)) throw new ArgumentOutOfRangeException(nameof(interpolation), interpolation, "no such interpolation");
        var job = Job.ForCurrentThread;
        fixed (float* px = x, py = y, pt = transforms)
        {
            job.Set(Op.Affine, px, py, n, height, width, channels, height, width);
            job.Params = pt;
            job.Fill = fill;
            job.Interpolation = interpolation;
            job.FillValue = fillValue;
            Run(job, (long)n * size * (interpolation == Interpolation.Bilinear ? 8 : 1));
        }
    }

    /// <summary>The (cropHeight, cropWidth) window at (top, left) of every sample.</summary>
    public static void Crop(ReadOnlySpan<float> x, Span<float> y, int n, int height, int width, int channels, int top, int left, int cropHeight, int cropWidth)
    {
        Check(x.Length, y.Length, n, height, width, channels, cropHeight, cropWidth);
        CheckWindow(height, width, top, left, cropHeight, cropWidth);
        var job = Job.ForCurrentThread;
        fixed (float* px = x, py = y)
        {
            job.Set(Op.Crop, px, py, n, height, width, channels, cropHeight, cropWidth);
            job.Top = top; job.Left = left;
            Run(job, (long)n * cropHeight * cropWidth * channels);
        }
    }

    /// <summary>The (rows, columns) window at (top, left), resized to (outHeight, outWidth) as tf.image.resize's bilinear (half-pixel centres, no antialiasing).</summary>
    public static void CropAndResize(ReadOnlySpan<float> x, Span<float> y, int n, int height, int width, int channels,
        int top, int left, int rows, int columns, int outHeight, int outWidth)
    {
        Check(x.Length, y.Length, n, height, width, channels, outHeight, outWidth);
        CheckWindow(height, width, top, left, rows, columns);
        var job = Job.ForCurrentThread;
        fixed (float* px = x, py = y)
        {
            job.Set(Op.CropAndResize, px, py, n, height, width, channels, outHeight, outWidth);
            job.Top = top; job.Left = left; job.Rows = rows; job.Columns = columns;
            Run(job, 8L * n * outHeight * outWidth * channels);
        }
    }

    /// <summary>Per sample b and channel: (x − mean)·factors[b] + mean, clipped to [low, high]; the mean over the sample's pixels.</summary>
    public static void AdjustContrast(ReadOnlySpan<float> x, Span<float> y, int n, int height, int width, int channels, ReadOnlySpan<float> factors, float low, float high)
    {
        int size = Check(x.Length, y.Length, n, height, width, channels, height, width);
        if (factors.Length < n) throw new ArgumentException($"{factors.Length} contrast factors for {n} samples", nameof(factors));
        if (!(low < high)) throw new ArgumentException($"the value range [{low}, {high}] is empty", nameof(low));
        var job = Job.ForCurrentThread;
        fixed (float* px = x, py = y, pf = factors)
        {
            job.Set(Op.Contrast, px, py, n, height, width, channels, height, width);
            job.Params = pf;
            job.Low = low; job.High = high;
            Run(job, 4L * n * size);
        }
    }

    /// <summary>Keras' rotation transform for angle θ (radians) about ((width − 1)/2, (height − 1)/2).</summary>
    public static (float A0, float A1, float A2, float B0, float B1, float B2) RotationMatrix(float angle, int height, int width)
    {
        float cos = MathF.Cos(angle), sin = MathF.Sin(angle);
        float w1 = width - 1, h1 = height - 1;
        float xOffset = (w1 - (cos * w1 - sin * h1)) / 2;
        float yOffset = (h1 - (sin * w1 + cos * h1)) / 2;
        return (cos, -sin, xOffset, sin, cos, yOffset);
    }

    /// <summary>Keras' zoom transform: scale zx, zy about ((width − 1)/2, (height − 1)/2).</summary>
    public static (float A0, float A1, float A2, float B0, float B1, float B2) ZoomMatrix(float zoomHeight, float zoomWidth, int height, int width) =>
        (zoomWidth, 0, (width - 1f) / 2 * (1 - zoomWidth), 0, zoomHeight, (height - 1f) / 2 * (1 - zoomHeight));

    /// <summary>Where index <paramref name="i"/> of an axis of <paramref name="size"/> reads under <paramref name="fill"/>; −1 for the constant.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int FixIndex(int i, int size, FillMode fill)
    {
        if ((uint)i < (uint)size) return i;
        switch (fill)
        {
            case FillMode.Reflect:
            {
                // (d c b a | a b c d | d c b a): period 2·size, the second half mirrored.
                int period = 2 * size, r = i % period;
                if (r < 0) r += period;
                return r < size ? r : period - 1 - r;
            }
            case FillMode.Wrap:
            {
                int r = i % size;
                return r < 0 ? r + size : r;
            }
            case FillMode.Nearest:
                return i < 0 ? 0 : size - 1;
            default:
                return -1;
        }
    }

    // ------------------------------------------------------------------ per-sample work

    private enum Op { Flip, Affine, Crop, CropAndResize, Contrast }

    private static void SetAffine(float[] t, int b, float a0, float a1, float a2, float b0, float b1, float b2)
    {
        int o = b * AffineFloats;
        t[o] = a0; t[o + 1] = a1; t[o + 2] = a2; t[o + 3] = b0; t[o + 4] = b1; t[o + 5] = b2;
    }

    private static void Run(Job job, long work)
    {
        if (job.N == 0) return;
        try { WorkerPool.Shared.Run(job, ConvCore.PartsFor(work, job.N)); }
        finally { job.X = job.Y = job.Params = null; }
    }

    private sealed class Job : ParallelJob
    {
        [ThreadStatic] private static Job? t_instance;
        public static Job ForCurrentThread => t_instance ??= new Job();

        private float[] _draws = Array.Empty<float>();

        /// <summary>This thread's draw buffer, grown only when a larger batch arrives (so steady training allocates nothing).</summary>
        public float[] Draws(int count)
        {
            if (_draws.Length < count) _draws = new float[count];
            return _draws;
        }

        public Op Operation;
        public float* X, Y, Params;
        public int N, H, W, C, OutH, OutW, Top, Left, Rows, Columns;
        public FlipMode Mode;
        public FillMode Fill;
        public Interpolation Interpolation;
        public float FillValue, Low, High;

        public void Set(Op op, float* x, float* y, int n, int h, int w, int c, int outH, int outW)
        {
            Operation = op; X = x; Y = y; N = n; H = h; W = w; C = c; OutH = outH; OutW = outW;
        }

        public override void Execute(int part, int parts)
        {
            int b0 = (int)((long)part * N / parts), b1 = (int)((long)(part + 1) * N / parts);
            long inSize = (long)H * W * C, outSize = (long)OutH * OutW * C;
            for (int b = b0; b < b1; b++)
            {
                float* x = X + b * inSize, y = Y + b * outSize;
                switch (Operation)
                {
                    case Op.Flip: FlipSample(x, y, Params[b] != 0, Mode); break;
                    case Op.Affine: AffineSample(x, y, Params + (long)b * AffineFloats); break;
                    case Op.Crop: CropSample(x, y); break;
                    case Op.CropAndResize: ResizeSample(x, y); break;
                    default: ContrastSample(x, y, Params[b]); break;
                }
            }
        }

        private void FlipSample(float* x, float* y, bool flip, FlipMode mode)
        {
            int rowFloats = W * C;
            bool horizontal = flip && mode != FlipMode.Vertical, vertical = flip && mode != FlipMode.Horizontal;
            for (int r = 0; r < H; r++)
            {
                float* from = x + (long)(vertical ? H - 1 - r : r) * rowFloats, to = y + (long)r * rowFloats;
                if (!horizontal)
                {
                    new ReadOnlySpan<float>(from, rowFloats).CopyTo(new Span<float>(to, rowFloats));
                    continue;
                }
                if (C == 1)
                {
                    new ReadOnlySpan<float>(from, rowFloats).CopyTo(new Span<float>(to, rowFloats));
                    new Span<float>(to, rowFloats).Reverse();
                    continue;
                }
                for (int col = 0; col < W; col++)
                    new ReadOnlySpan<float>(from + (long)(W - 1 - col) * C, C).CopyTo(new Span<float>(to + (long)col * C, C));
            }
        }

        private void AffineSample(float* x, float* y, float* t)
        {
            float a0 = t[0], a1 = t[1], a2 = t[2], b0 = t[3], b1 = t[4], b2 = t[5];
            bool bilinear = Interpolation == Interpolation.Bilinear;
            for (int oy = 0; oy < H; oy++)
                for (int ox = 0; ox < W; ox++)
                {
                    float sx = a0 * ox + a1 * oy + a2, sy = b0 * ox + b1 * oy + b2;
                    float* o = y + ((long)oy * W + ox) * C;
                    if (!bilinear)
                    {
                        int ix = FixIndex(Round(sx), W, Fill), iy = FixIndex(Round(sy), H, Fill);
                        if (ix < 0 || iy < 0) new Span<float>(o, C).Fill(FillValue);
                        else new ReadOnlySpan<float>(x + ((long)iy * W + ix) * C, C).CopyTo(new Span<float>(o, C));
                        continue;
                    }
                    float fx = MathF.Floor(sx), fy = MathF.Floor(sy);
                    float wx = sx - fx, wy = sy - fy;
                    int x0 = Clamp(fx), y0 = Clamp(fy);
                    int c0 = FixIndex(x0, W, Fill), c1 = FixIndex(x0 + 1, W, Fill);
                    int r0 = FixIndex(y0, H, Fill), r1 = FixIndex(y0 + 1, H, Fill);
                    Blend(x, o, r0, c0, r1, c1, (1 - wy) * (1 - wx), (1 - wy) * wx, wy * (1 - wx), wy * wx);
                }
        }

        /// <summary>o = w00·x[r0, c0] + w01·x[r0, c1] + w10·x[r1, c0] + w11·x[r1, c1] over the channels; an index of −1 reads the fill value.</summary>
        private void Blend(float* x, float* o, int r0, int c0, int r1, int c1, float w00, float w01, float w10, float w11)
        {
            float constant = 0;
            float* p00 = Pixel(x, r0, c0, w00, ref constant), p01 = Pixel(x, r0, c1, w01, ref constant);
            float* p10 = Pixel(x, r1, c0, w10, ref constant), p11 = Pixel(x, r1, c1, w11, ref constant);
            int ch = 0;
            if (Vector256.IsHardwareAccelerated && C >= 8)
            {
                var v00 = Vector256.Create(p00 == null ? 0 : w00);
                var v01 = Vector256.Create(p01 == null ? 0 : w01);
                var v10 = Vector256.Create(p10 == null ? 0 : w10);
                var v11 = Vector256.Create(p11 == null ? 0 : w11);
                var vc = Vector256.Create(constant);
                for (; ch + 8 <= C; ch += 8)
                {
                    var sum = vc;
                    if (p00 != null) sum += v00 * Vector256.Load(p00 + ch);
                    if (p01 != null) sum += v01 * Vector256.Load(p01 + ch);
                    if (p10 != null) sum += v10 * Vector256.Load(p10 + ch);
                    if (p11 != null) sum += v11 * Vector256.Load(p11 + ch);
                    sum.Store(o + ch);
                }
            }
            for (; ch < C; ch++)
            {
                float sum = constant;
                if (p00 != null) sum += w00 * p00[ch];
                if (p01 != null) sum += w01 * p01[ch];
                if (p10 != null) sum += w10 * p10[ch];
                if (p11 != null) sum += w11 * p11[ch];
                o[ch] = sum;
            }
        }

        /// <summary>The pixel at (r, c), or null when either index is outside (the fill value's weight goes into <paramref name="constant"/>).</summary>
        private float* Pixel(float* x, int r, int c, float weight, ref float constant)
        {
            if (r >= 0 && c >= 0) return x + ((long)r * W + c) * C;
            constant += weight * FillValue;
            return null;
        }

        private void CropSample(float* x, float* y)
        {
            int rowFloats = OutW * C;
            for (int r = 0; r < OutH; r++)
                new ReadOnlySpan<float>(x + ((long)(Top + r) * W + Left) * C, rowFloats).CopyTo(new Span<float>(y + (long)r * rowFloats, rowFloats));
        }

        private void ResizeSample(float* x, float* y)
        {
            float scaleY = (float)Rows / OutH, scaleX = (float)Columns / OutW;
            for (int oy = 0; oy < OutH; oy++)
            {
                float sy = (oy + 0.5f) * scaleY - 0.5f, fy = MathF.Floor(sy), wy = sy - fy;
                int r0 = Top + Math.Max((int)fy, 0), r1 = Top + Math.Min((int)fy + 1, Rows - 1);
                for (int ox = 0; ox < OutW; ox++)
                {
                    float sx = (ox + 0.5f) * scaleX - 0.5f, fx = MathF.Floor(sx), wx = sx - fx;
                    int c0 = Left + Math.Max((int)fx, 0), c1 = Left + Math.Min((int)fx + 1, Columns - 1);
                    float* o = y + ((long)oy * OutW + ox) * C;
                    float* p00 = x + ((long)r0 * W + c0) * C, p01 = x + ((long)r0 * W + c1) * C;
                    float* p10 = x + ((long)r1 * W + c0) * C, p11 = x + ((long)r1 * W + c1) * C;
                    for (int ch = 0; ch < C; ch++)
                    {
                        float top = p00[ch] + (p01[ch] - p00[ch]) * wx;
                        float bottom = p10[ch] + (p11[ch] - p10[ch]) * wx;
                        o[ch] = top + (bottom - top) * wy;
                    }
                }
            }
        }

        private void ContrastSample(float* x, float* y, float factor)
        {
            int pixels = H * W;
            if (C > MaxStackChannels)
            {
                // Wide tensors: one channel at a time, strided, so no buffer is needed.
                for (int ch = 0; ch < C; ch++)
                {
                    double sum = 0;
                    for (int p = 0; p < pixels; p++) sum += x[(long)p * C + ch];
                    float m = (float)(sum / pixels);
                    for (int p = 0; p < pixels; p++) y[(long)p * C + ch] = Math.Clamp((x[(long)p * C + ch] - m) * factor + m, Low, High);
                }
                return;
            }
            // The channel means in double over the pixels, then the map in one pass.
            Span<double> sums = stackalloc double[C];
            sums.Clear();
            for (int p = 0; p < pixels; p++)
            {
                float* px = x + (long)p * C;
                for (int ch = 0; ch < C; ch++) sums[ch] += px[ch];
            }
            Span<float> means = stackalloc float[C];
            for (int ch = 0; ch < C; ch++) means[ch] = (float)(sums[ch] / pixels);
            if (C == 1)
            {
                float m = means[0];
                int i = 0;
                if (Vector256.IsHardwareAccelerated)
                {
                    var vm = Vector256.Create(m);
                    var vf = Vector256.Create(factor);
                    var lo = Vector256.Create(Low);
                    var hi = Vector256.Create(High);
                    for (; i + 8 <= pixels; i += 8)
                        Vector256.Min(Vector256.Max((Vector256.Load(x + i) - vm) * vf + vm, lo), hi).Store(y + i);
                }
                for (; i < pixels; i++) y[i] = Math.Clamp((x[i] - m) * factor + m, Low, High);
                return;
            }
            for (int p = 0; p < pixels; p++)
            {
                float* px = x + (long)p * C, py = y + (long)p * C;
                for (int ch = 0; ch < C; ch++) py[ch] = Math.Clamp((px[ch] - means[ch]) * factor + means[ch], Low, High);
            }
        }

        private const int MaxStackChannels = 256;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int Round(float v) => Clamp(MathF.Round(v, MidpointRounding.AwayFromZero));

    /// <summary>A float coordinate as an int, held far outside any image but away from overflow (fill modes map it back).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int Clamp(float v) => v < -(1 << 24) ? -(1 << 24) : v > (1 << 24) ? 1 << 24 : (int)v;

    private static int Check(int xLength, int yLength, int n, int height, int width, int channels, int outHeight, int outWidth)
    {
        if (n < 0 || height < 1 || width < 1 || channels < 1 || outHeight < 1 || outWidth < 1)
            throw new ArgumentOutOfRangeException(nameof(n), $"bad geometry: {n} samples of {height}×{width}×{channels} into {outHeight}×{outWidth}");
        long inSize = (long)height * width * channels, outSize = (long)outHeight * outWidth * channels;
        if (xLength < n * inSize) throw new ArgumentException($"x holds {xLength} values, fewer than {n} samples of {height}×{width}×{channels}", "x");
        if (yLength < n * outSize) throw new ArgumentException($"y holds {yLength} values, fewer than {n} samples of {outHeight}×{outWidth}×{channels}", "y");
        return (int)inSize;
    }

    private static void CheckWindow(int height, int width, int top, int left, int rows, int columns)
    {
        if (top < 0 || left < 0 || rows < 1 || columns < 1 || top + rows > height || left + columns > width)
            throw new ArgumentOutOfRangeException(nameof(top), $"the {rows}×{columns} window at ({top}, {left}) is not inside the {height}×{width} image");
    }
}
