using System;
using Kiln.Kernels;
using Kiln.Threading;
using static Kiln.Kernels.Augmentation;

namespace Kiln.Runtime.Tests.Kernels;

/// <summary>
/// The augmentation kernels against a naive scalar reference written from Keras 3's formulas
/// (keras/src/layers/preprocessing/image_preprocessing/*.py and the backends' affine_transform /
/// map_coordinates / resize), fill modes and interpolation at the borders included.
/// </summary>
[Collection(KernelCollection.Name)]
public class AugmentationTests
{
    // ------------------------------------------------------------------ the naive reference

    /// <summary>Keras' index fixers (keras/src/backend/*/image.py), written as Keras writes them.</summary>
    private static int KerasFix(int i, int size, FillMode fill)
    {
        static int Mod(int a, int m) => ((a % m) + m) % m;
        static int Mirror(int index, int n)
        {
            int s = n - 1;
            return Math.Abs(Mod(index + s, 2 * s) - s);
        }
        return fill switch
        {
            FillMode.Reflect => size == 1 ? 0 : FloorDiv(Mirror(2 * i + 1, 2 * size + 1) - 1, 2),
            FillMode.Wrap => Mod(i, size),
            FillMode.Nearest => Math.Clamp(i, 0, size - 1),
            _ => i >= 0 && i < size ? i : -1,
        };
    }

    private static int FloorDiv(int a, int b) => (int)Math.Floor((double)a / b);

    /// <summary>map_coordinates with order 0 or 1 at one point of one channel.</summary>
    private static float Sample(float[] x, int b, int h, int w, int c, int ch, float sx, float sy, FillMode fill, Interpolation interpolation, float fillValue)
    {
        float Read(int r, int col)
        {
            int rr = KerasFix(r, h, fill), cc = KerasFix(col, w, fill);
            return rr < 0 || cc < 0 ? fillValue : x[((b * h + rr) * w + cc) * c + ch];
        }
        if (interpolation == Interpolation.Nearest)
            return Read((int)MathF.Round(sy, MidpointRounding.AwayFromZero), (int)MathF.Round(sx, MidpointRounding.AwayFromZero));
        int x0 = (int)MathF.Floor(sx), y0 = (int)MathF.Floor(sy);
        float wx = sx - x0, wy = sy - y0;
        return (1 - wy) * (1 - wx) * Read(y0, x0) + (1 - wy) * wx * Read(y0, x0 + 1) + wy * (1 - wx) * Read(y0 + 1, x0) + wy * wx * Read(y0 + 1, x0 + 1);
    }

    /// <summary>Keras' affine_transform: output (x, y) reads ((a0 x + a1 y + a2), (b0 x + b1 y + b2)).</summary>
    private static float[] ReferenceAffine(float[] x, int n, int h, int w, int c, float[] t, FillMode fill, Interpolation interpolation, float fillValue)
    {
        var y = new float[x.Length];
        for (int b = 0; b < n; b++)
            for (int oy = 0; oy < h; oy++)
                for (int ox = 0; ox < w; ox++)
                {
                    float sx = t[b * 6] * ox + t[b * 6 + 1] * oy + t[b * 6 + 2];
                    float sy = t[b * 6 + 3] * ox + t[b * 6 + 4] * oy + t[b * 6 + 5];
                    for (int ch = 0; ch < c; ch++)
                        y[((b * h + oy) * w + ox) * c + ch] = Sample(x, b, h, w, c, ch, sx, sy, fill, interpolation, fillValue);
                }
        return y;
    }

    private static void AssertClose(float[] expected, float[] actual, float tolerance = 2e-5f)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - actual[i]) <= tolerance * (1 + Math.Abs(expected[i])), $"[{i}]: expected {expected[i]:R}, got {actual[i]:R}");
    }

    private static float[] Image(int n, int h, int w, int c, ulong seed) => TestData.Random(n * h * w * c, seed, 0, 10);

    // ------------------------------------------------------------------ fill modes

    [Fact]
    public void FillModesExtendTheImageAsKerasDocuments()
    {
        // a b c d = 0 1 2 3, four indices either side.
        int[] Extend(FillMode fill) { var r = new int[12]; for (int i = -4; i < 8; i++) r[i + 4] = FixIndex(i, 4, fill); return r; }
        Assert.Equal(new[] { 3, 2, 1, 0, 0, 1, 2, 3, 3, 2, 1, 0 }, Extend(FillMode.Reflect));  // (d c b a | a b c d | d c b a)
        Assert.Equal(new[] { 0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3 }, Extend(FillMode.Wrap));     // (a b c d | a b c d | a b c d)
        Assert.Equal(new[] { 0, 0, 0, 0, 0, 1, 2, 3, 3, 3, 3, 3 }, Extend(FillMode.Nearest));  // (a a a a | a b c d | d d d d)
        Assert.Equal(new[] { -1, -1, -1, -1, 0, 1, 2, 3, -1, -1, -1, -1 }, Extend(FillMode.Constant));
        foreach (var fill in new[] { FillMode.Reflect, FillMode.Wrap, FillMode.Nearest, FillMode.Constant })
            foreach (int size in new[] { 1, 2, 5 })
                for (int i = -23; i < 23; i++)
                    Assert.Equal(KerasFix(i, size, fill), FixIndex(i, size, fill));
    }

    public static TheoryData<FillMode, Interpolation, int> Samplings()
    {
        var data = new TheoryData<FillMode, Interpolation, int>();
        foreach (var fill in new[] { FillMode.Reflect, FillMode.Wrap, FillMode.Constant, FillMode.Nearest })
            foreach (var interpolation in new[] { Interpolation.Bilinear, Interpolation.Nearest })
                foreach (int channels in new[] { 1, 3, 11 })
                    data.Add(fill, interpolation, channels);
        return data;
    }

    [Theory]
    [MemberData(nameof(Samplings))]
    public void AffineMatchesKerasMapCoordinatesIncludingTheBorders(FillMode fill, Interpolation interpolation, int channels)
    {
        const int n = 5, h = 7, w = 6;
        var x = Image(n, h, w, channels, 3);
        var (r0, r1, r2, r3, r4, r5) = RotationMatrix(0.7f, h, w);
        var (z0, z1, z2, z3, z4, z5) = ZoomMatrix(1.6f, 0.45f, h, w);
        float[] t =
        {
            1, 0, 2.5f, 0, 1, -3.25f,          // a translation half off the image
            r0, r1, r2, r3, r4, r5,            // a rotation: corners read outside
            z0, z1, z2, z3, z4, z5,            // zoom out in height, in in width
            1, 0, -17.3f, 0, 1, 13.6f,         // far outside: several periods of reflect and wrap
            0.3f, 1.2f, -0.5f, -0.8f, 0.4f, 0.5f, // a shear
        };
        var expected = ReferenceAffine(x, n, h, w, channels, t, fill, interpolation, -1.5f);
        foreach (int threads in new[] { 1, 4 })
            foreach (int bits in new[] { 128, 512 })
            {
                using var _ = new KernelSwitches(bits, threads);
                var y = new float[x.Length];
                Affine(x, y, n, h, w, channels, t, fill, interpolation, -1.5f);
                AssertClose(expected, y);
            }
    }

    [Fact]
    public void IdentityTransformIsACopy()
    {
        var x = Image(2, 4, 5, 3, 9);
        var y = new float[x.Length];
        Affine(x, y, 2, 4, 5, 3, new float[] { 1, 0, 0, 0, 1, 0, 1, 0, 0, 0, 1, 0 }, FillMode.Constant, Interpolation.Bilinear, 7);
        Assert.Equal(x, y);
    }

    // ------------------------------------------------------------------ the random layers, draw by draw

    [Fact]
    public void RandomTranslationShiftsByKerasFractionsOfTheSize()
    {
        const int n = 6, h = 6, w = 5, c = 2;
        var x = Image(n, h, w, c, 4);
        var rng = new Rng(5);
        var copy = rng;
        var y = new float[x.Length];
        RandomTranslation(x, y, n, h, w, c, -0.2f, 0.3f, -0.5f, 0.1f, FillMode.Reflect, Interpolation.Bilinear, 0, ref rng);
        var t = new float[n * 6];
        for (int b = 0; b < n; b++)
        {
            float dy = copy.NextFloat(-0.2f, 0.3f) * h, dx = copy.NextFloat(-0.5f, 0.1f) * w;
            Assert.InRange(dy, -0.2f * h, 0.3f * h);
            Array.Copy(new[] { 1, 0, -dx, 0, 1, -dy }, 0, t, b * 6, 6);
        }
        AssertClose(ReferenceAffine(x, n, h, w, c, t, FillMode.Reflect, Interpolation.Bilinear, 0), y);
        Assert.Equal(copy.State, rng.State);
    }

    [Fact]
    public void AWholePixelTranslationMovesTheContent()
    {
        // Keras: a positive height factor shifts the image down. Factor 0.25 of 4 rows is exactly one row.
        var x = new float[4 * 3];
        for (int i = 0; i < x.Length; i++) x[i] = i;
        var y = new float[x.Length];
        var rng = new Rng(1);
        RandomTranslation(x, y, 1, 4, 3, 1, 0.25f, 0.25f, 0, 0, FillMode.Constant, Interpolation.Bilinear, -1, ref rng);
        Assert.Equal(new float[] { -1, -1, -1, 0, 1, 2, 3, 4, 5, 6, 7, 8 }, y);
    }

    [Fact]
    public void RandomRotationTurnsAboutTheCentreByAFractionOfTwoPi()
    {
        const int n = 4, h = 5, w = 7, c = 3;
        var x = Image(n, h, w, c, 6);
        var rng = new Rng(8);
        var copy = rng;
        var y = new float[x.Length];
        RandomRotation(x, y, n, h, w, c, -0.1f, 0.25f, FillMode.Wrap, Interpolation.Nearest, 0, ref rng);
        var t = new float[n * 6];
        for (int b = 0; b < n; b++)
        {
            float angle = copy.NextFloat(-0.1f * 2 * MathF.PI, 0.25f * 2 * MathF.PI);
            float cos = MathF.Cos(angle), sin = MathF.Sin(angle);
            // Keras: [cos, −sin, x_offset, sin, cos, y_offset] with the offsets keeping ((w−1)/2, (h−1)/2) fixed.
            float xo = ((w - 1) - (cos * (w - 1) - sin * (h - 1))) / 2, yo = ((h - 1) - (sin * (w - 1) + cos * (h - 1))) / 2;
            Array.Copy(new[] { cos, -sin, xo, sin, cos, yo }, 0, t, b * 6, 6);
        }
        AssertClose(ReferenceAffine(x, n, h, w, c, t, FillMode.Wrap, Interpolation.Nearest, 0), y);

        // A quarter turn of a square image is an exact permutation: counter-clockwise, as Keras says.
        var square = new float[9];
        for (int i = 0; i < 9; i++) square[i] = i;
        var turned = new float[9];
        var quarter = new Rng(2);
        RandomRotation(square, turned, 1, 3, 3, 1, 0.25f, 0.25f, FillMode.Constant, Interpolation.Nearest, 0, ref quarter);
        Assert.Equal(new float[] { 2, 5, 8, 1, 4, 7, 0, 3, 6 }, turned);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void RandomZoomScalesAboutTheCentre(bool keepAspect)
    {
        const int n = 5, h = 6, w = 8, c = 2;
        var x = Image(n, h, w, c, 10);
        var rng = new Rng(11);
        var copy = rng;
        var y = new float[x.Length];
        RandomZoom(x, y, n, h, w, c, -0.4f, 0.2f, -0.1f, 0.5f, keepAspect, FillMode.Nearest, Interpolation.Bilinear, 0, ref rng);
        var t = new float[n * 6];
        for (int b = 0; b < n; b++)
        {
            float zy = copy.NextFloat(0.6f, 1.2f), zx = keepAspect ? zy : copy.NextFloat(0.9f, 1.5f);
            Array.Copy(new[] { zx, 0, (w - 1) / 2f * (1 - zx), 0, zy, (h - 1) / 2f * (1 - zy) }, 0, t, b * 6, 6);
        }
        AssertClose(ReferenceAffine(x, n, h, w, c, t, FillMode.Nearest, Interpolation.Bilinear, 0), y);
    }

    [Theory]
    [InlineData(FlipMode.Horizontal)]
    [InlineData(FlipMode.Vertical)]
    [InlineData(FlipMode.HorizontalAndVertical)]
    public void RandomFlipFlipsHalfTheImagesOnOneCoinEach(FlipMode mode)
    {
        const int n = 64, h = 3, w = 4;
        foreach (int c in new[] { 1, 3 })
        {
            var x = Image(n, h, w, c, 12);
            var rng = new Rng(13);
            var copy = rng;
            var y = new float[x.Length];
            RandomFlip(x, y, n, h, w, c, mode, ref rng);
            int flipped = 0;
            for (int b = 0; b < n; b++)
            {
                bool flip = copy.NextFloat() < 0.5f;
                flipped += flip ? 1 : 0;
                for (int r = 0; r < h; r++)
                    for (int col = 0; col < w; col++)
                        for (int ch = 0; ch < c; ch++)
                        {
                            // Keras 3: horizontal_and_vertical flips both axes on the same draw.
                            int sr = flip && mode != FlipMode.Horizontal ? h - 1 - r : r;
                            int sc = flip && mode != FlipMode.Vertical ? w - 1 - col : col;
                            Assert.Equal(x[((b * h + sr) * w + sc) * c + ch], y[((b * h + r) * w + col) * c + ch]);
                        }
            }
            Assert.InRange(flipped, 16, 48);
        }
    }

    [Fact]
    public void RandomCropTakesOneWindowForTheBatchInTraining()
    {
        const int n = 3, h = 9, w = 8, c = 2;
        var x = Image(n, h, w, c, 14);
        var rng = new Rng(15);
        var copy = rng;
        var y = new float[n * 5 * 4 * c];
        RandomCrop(x, y, n, h, w, c, 5, 4, ref rng);
        int top = copy.NextInt(h - 5 + 1), left = copy.NextInt(w - 4 + 1);
        for (int b = 0; b < n; b++)
            for (int r = 0; r < 5; r++)
                for (int col = 0; col < 4; col++)
                    for (int ch = 0; ch < c; ch++)
                        Assert.Equal(x[((b * h + top + r) * w + left + col) * c + ch], y[((b * 5 + r) * 4 + col) * c + ch]);
    }

    /// <summary>tf.image.resize bilinear (half_pixel_centers) of one channel, per TF's formula.</summary>
    private static float[] ReferenceResize(float[] x, int n, int h, int w, int c, int top, int left, int rows, int columns, int oh, int ow)
    {
        var y = new float[n * oh * ow * c];
        for (int b = 0; b < n; b++)
            for (int oy = 0; oy < oh; oy++)
                for (int ox = 0; ox < ow; ox++)
                    for (int ch = 0; ch < c; ch++)
                    {
                        double iy = (oy + 0.5) * rows / oh - 0.5, ix = (ox + 0.5) * columns / ow - 0.5;
                        int ty = Math.Max((int)Math.Floor(iy), 0), by = Math.Min((int)Math.Ceiling(iy), rows - 1);
                        int lx = Math.Max((int)Math.Floor(ix), 0), rx = Math.Min((int)Math.Ceiling(ix), columns - 1);
                        double fy = iy - Math.Floor(iy), fx = ix - Math.Floor(ix);
                        float P(int r, int col) => x[((b * h + top + r) * w + left + col) * c + ch];
                        double t = P(ty, lx) + (P(ty, rx) - P(ty, lx)) * fx, bo = P(by, lx) + (P(by, rx) - P(by, lx)) * fx;
                        y[((b * oh + oy) * ow + ox) * c + ch] = (float)(t + (bo - t) * fy);
                    }
        return y;
    }

    [Theory]
    [InlineData(9, 8, 5, 4)]   // rows ⌊8·5/4⌋ = 10 → 9, columns ⌊9·4/5⌋ = 7: the centred 9×7 window resized to 5×4
    [InlineData(28, 28, 24, 24)] // Keras 3 resizes the whole image in inference, it does not centre-crop 24×24
    [InlineData(10, 6, 10, 3)] // rows = ⌊6·10/3⌋ = 20 → 10, columns = ⌊10·3/10⌋ = 3: a plain centred crop
    [InlineData(6, 6, 6, 6)]
    public void InferenceTakesTheLargestCentredWindowOfTheTargetAspectAndResizesIt(int h, int w, int ch, int cw)
    {
        const int n = 2, c = 3;
        var x = Image(n, h, w, c, 16);
        var y = new float[n * ch * cw * c];
        CenterCrop(x, y, n, h, w, c, ch, cw);
        int rows = Math.Max(Math.Min(h, (int)((float)w * ch / cw)), 1), columns = Math.Max(Math.Min(w, (int)((float)h * cw / ch)), 1);
        int top = (h - rows) / 2, left = (w - columns) / 2;
        Assert.Equal((top, left, rows, columns), CenterWindow(h, w, ch, cw));
        AssertClose(ReferenceResize(x, n, h, w, c, top, left, rows, columns, ch, cw), y);
        if (rows == ch && columns == cw)
            for (int i = 0; i < y.Length; i++) Assert.Equal(ReferenceResize(x, n, h, w, c, top, left, rows, columns, ch, cw)[i], y[i]);

        // Training with an image not larger in both dimensions falls back to the same window (Keras).
        var rng = new Rng(3);
        var trained = new float[y.Length];
        RandomCrop(x, trained, n, h, w, c, ch, cw, ref rng);
        if (h == ch || w == cw) Assert.Equal(y, trained);
    }

    [Fact]
    public void RandomContrastScalesAboutEachChannelsMeanAndClips()
    {
        const int n = 4, h = 5, w = 6;
        foreach (int c in new[] { 1, 3 })
        {
            var x = TestData.Random(n * h * w * c, 17, 0, 1);
            var rng = new Rng(18);
            var copy = rng;
            var y = new float[x.Length];
            RandomContrast(x, y, n, h, w, c, 0.3f, 0.9f, 0.1f, 0.9f, ref rng);
            for (int b = 0; b < n; b++)
            {
                float f = copy.NextFloat(0.7f, 1.9f);
                for (int ch = 0; ch < c; ch++)
                {
                    double sum = 0;
                    for (int p = 0; p < h * w; p++) sum += x[(b * h * w + p) * c + ch];
                    float mean = (float)(sum / (h * w));
                    for (int p = 0; p < h * w; p++)
                    {
                        int i = (b * h * w + p) * c + ch;
                        float expected = Math.Clamp((x[i] - mean) * f + mean, 0.1f, 0.9f);
                        Assert.True(Math.Abs(expected - y[i]) <= 1e-6f, $"sample {b} channel {ch} pixel {p}: {expected} vs {y[i]}");
                    }
                }
            }
        }
    }

    // ------------------------------------------------------------------ threads and allocation

    [Fact]
    public void DrawsDoNotDependOnTheThreadCount()
    {
        const int n = 40, h = 16, w = 16, c = 3;
        var x = Image(n, h, w, c, 19);
        float[] Run(int threads)
        {
            using var _ = new KernelSwitches(512, threads);
            var rng = new Rng(20);
            var a = new float[x.Length];
            var b = new float[x.Length];
            RandomRotation(x, a, n, h, w, c, -0.3f, 0.3f, FillMode.Reflect, Interpolation.Bilinear, 0, ref rng);
            RandomContrast(a, b, n, h, w, c, 0.2f, 0.2f, 0, 10, ref rng);
            return b;
        }
        Assert.Equal(Run(1), Run(4));
    }

    [Fact]
    public void AStepOfEveryAugmentationAllocatesNothingOnAnyThread()
    {
        using var _ = new KernelSwitches(512, 4);
        const int n = 64, h = 28, w = 28, c = 1;
        var x = Image(n, h, w, c, 21);
        var a = new float[x.Length];
        var crop = new float[n * 24 * 24 * c];
        var rng = new Rng(22);
        void Step()
        {
            RandomFlip(x, a, n, h, w, c, FlipMode.Horizontal, ref rng);
            RandomTranslation(a, x, n, h, w, c, -0.1f, 0.1f, -0.1f, 0.1f, FillMode.Reflect, Interpolation.Bilinear, 0, ref rng);
            RandomRotation(x, a, n, h, w, c, -0.05f, 0.05f, FillMode.Constant, Interpolation.Nearest, 0, ref rng);
            RandomZoom(a, x, n, h, w, c, -0.1f, 0.1f, -0.1f, 0.1f, true, FillMode.Wrap, Interpolation.Bilinear, 0, ref rng);
            RandomContrast(x, a, n, h, w, c, 0.1f, 0.1f, -100, 100, ref rng);
            RandomCrop(a, crop, n, h, w, c, 24, 24, ref rng);
            CenterCrop(a, crop, n, h, w, c, 24, 24);
        }
        WarmUp.Run(Step, calls: 20);
        var (allocated, workers) = WarmUp.Allocations(() => { for (int i = 0; i < 5; i++) Step(); });
        Assert.Equal(0, allocated);
        Assert.Equal(0, workers);
    }

    [Fact]
    public void BadArgumentsAreClearErrors()
    {
        var x = new float[2 * 4 * 4];
        var y = new float[2 * 4 * 4];
        var e = Assert.Throws<ArgumentException>(() => Affine(x, y, 2, 4, 4, 1, new float[6], FillMode.Reflect, Interpolation.Bilinear, 0));
        Assert.Contains("transform", e.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => Crop(x, y, 2, 4, 4, 1, 1, 1, 4, 4));
        Assert.Throws<ArgumentException>(() => AdjustContrast(x, y, 2, 4, 4, 1, new float[2], 1, 1));
        var error = NoInputGradient("random_flip", "RandomFlip");
        Assert.Contains("RandomFlip 'random_flip'", error.Message);
    }
}
