using System;
using System.IO;
using Kiln;
using StbImageWriteSharp;

namespace Kiln.Samples.ImageFolderClassifier;

/// <summary>
/// Draws a stand-in for Kaggle's dogs-vs-cats in the seed's layout: <c>train/</c> and
/// <c>validation/</c>, each with <c>cats/</c> (filled circles) and <c>dogs/</c> (filled
/// squares) of random size, position and colour on a noisy background, at random sizes around
/// the real photos' (so every image is resized), saved as JPEG, PNG and a few BMP.
/// </summary>
internal static class SyntheticPets
{
    public static void Write(string directory, int trainPerClass, int validationPerClass, int seed)
    {
        var rng = new Rng((ulong)(uint)seed);
        foreach (var (split, count) in new[] { ("train", trainPerClass), ("validation", validationPerClass) })
            foreach (string cls in new[] { "cats", "dogs" })
            {
                string folder = Path.Combine(directory, split, cls);
                Directory.CreateDirectory(folder);
                for (int i = 0; i < count; i++)
                {
                    int w = 80 + rng.NextInt(120), h = 80 + rng.NextInt(120);
                    var pixels = Draw(ref rng, w, h, circle: cls == "cats");
                    string ext = i % 10 == 9 ? ".bmp" : i % 2 == 0 ? ".jpg" : ".png";
                    using var file = File.Create(Path.Combine(folder, $"{cls[..^1]}.{i}{ext}"));
                    var writer = new ImageWriter();
                    if (ext == ".jpg") writer.WriteJpg(pixels, w, h, ColorComponents.RedGreenBlue, file, 90);
                    else if (ext == ".png") writer.WritePng(pixels, w, h, ColorComponents.RedGreenBlue, file);
                    else writer.WriteBmp(pixels, w, h, ColorComponents.RedGreenBlue, file);
                }
            }
    }

    private static byte[] Draw(ref Rng rng, int w, int h, bool circle)
    {
        var p = new byte[w * h * 3];
        Span<float> bg = [rng.NextFloat(0, 255), rng.NextFloat(0, 255), rng.NextFloat(0, 255)];
        Span<float> fg = stackalloc float[3];
        for (int c = 0; c < 3; c++) fg[c] = (bg[c] + 80 + rng.NextFloat(0, 95)) % 256; // always differs from the background
        float r = Math.Min(w, h) * rng.NextFloat(0.18f, 0.38f);
        float cx = rng.NextFloat(r, w - r), cy = rng.NextFloat(r, h - r);
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
            {
                float dx = x + 0.5f - cx, dy = y + 0.5f - cy;
                bool inside = circle ? dx * dx + dy * dy <= r * r : Math.Abs(dx) <= r * 0.89f && Math.Abs(dy) <= r * 0.89f; // equal areas
                var col = inside ? fg : bg;
                for (int c = 0; c < 3; c++)
                    p[(y * w + x) * 3 + c] = (byte)Math.Clamp(col[c] + 18 * rng.NextNormal(), 0, 255);
            }
        return p;
    }
}
