using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;

namespace Kiln;

/// <summary>
/// The first layer's weights drawn as pictures of what each unit looks for, for TensorBoard's
/// Images tab: a Conv2D that reads the image input (directly or through preprocessing layers)
/// with 1 or 3 channels gives one tile per filter, (kernel height, kernel width) in grey or RGB;
/// a Dense that reads the flattened image input gives one tile per unit, shaped as the image.
/// The tiles of one tensor share one scale, symmetric around zero: 0 is mid grey (128), the
/// largest |w| is black (−) or white (+), so the filters of one picture compare by sign and
/// relative size. Small tiles are enlarged (nearest neighbour) to
/// about 24 pixels; tiles sit in a near-square grid with 2-pixel dark grey gaps.
/// </summary>
/// <remarks>
/// Keras 3 writes every weight as an image where its squeezed shape allows (a grey first Conv2D's
/// filters, a Dense kernel as one picture, a bias as a 1-pixel column) and only the first three
/// images of each; one grid per first-layer tensor keeps what is readable and shows every filter.
/// </remarks>
internal static class WeightImages
{
    /// <summary>Pixels between tiles, in <see cref="ImageGrid"/>'s dark grey background.</summary>
    public const int Gap = 2;

    /// <summary>One tensor drawn as tiles: tile k's value at (y, x, c) is element ((y·Width + x)·Channels + c)·Tiles + k.</summary>
    public sealed record Source(string Tensor, int Height, int Width, int Channels, int Tiles);

    /// <summary>The tensors of <paramref name="description"/> drawn as images: first-layer Conv2D kernels and Dense kernels over a flattened image.</summary>
    public static List<Source> Find(ModelDescription description)
    {
        var layers = description.Layers.ToDictionary(l => l.Name, StringComparer.Ordinal);
        var sources = new List<Source>();
        foreach (var layer in description.Layers)
        {
            var kernel = description.Tensors.FirstOrDefault(t => t.Name == layer.Name + "/kernel");
            if (kernel is null || layer.Inbound.Length != 1) continue;
            if (layer.Kind == "Conv2D" && kernel.Shape is [int kh, int kw, 1 or 3, int filters]
                && ImageInput(description, layers, layer.Inbound[0]) is not null)
                sources.Add(new Source(kernel.Name, kh, kw, kernel.Shape[2], filters));
            else if (layer.Kind == "Dense" && kernel.Shape is [int rows, int units]
                && layers.TryGetValue(layer.Inbound[0], out var flatten) && flatten.Kind == "Flatten" && flatten.Inbound.Length == 1
                && ImageInput(description, layers, flatten.Inbound[0]) is [int h, int w, int c] && c is 1 or 3 && h * w * c == rows)
                sources.Add(new Source(kernel.Name, h, w, c, units));
        }
        return sources;
    }

    /// <summary>Draws <paramref name="source"/>'s tiles from <paramref name="weights"/> and encodes them as a PNG (RGB).</summary>
    public static (byte[] Png, int Height, int Width) Draw(Source source, ReadOnlySpan<float> weights)
    {
        int tileSize = source.Height * source.Width * source.Channels;
        if (weights.Length != tileSize * source.Tiles)
            throw new ArgumentException($"{source.Tensor}: {weights.Length} weights do not make {source.Tiles} tiles of ({source.Height}, {source.Width}, {source.Channels}).", nameof(weights));
        // Tile-major copy: the kernel holds each pixel's values for all tiles side by side.
        var tiles = new float[weights.Length];
        float largest = 0;
        for (int i = 0; i < tileSize; i++)
            for (int k = 0; k < source.Tiles; k++)
            {
                float v = weights[i * source.Tiles + k];
                tiles[k * tileSize + i] = v;
                largest = MathF.Max(largest, MathF.Abs(v));
            }
        if (!(largest > 0) || !float.IsFinite(largest)) largest = 1; // all zero (or diverged): mid grey, not a division by zero
        int columns = (int)Math.Ceiling(Math.Sqrt(source.Tiles));
        int rows = (source.Tiles + columns - 1) / columns;
        int scale = Math.Max(1, 24 / Math.Max(source.Height, source.Width));
        var grid = new ImageGrid(source.Height, source.Width, source.Channels, rows, columns, scale: scale, gap: Gap);
        grid.Draw(0, tiles, -largest, largest);
        using var png = new MemoryStream();
        grid.WritePng(png);
        return (png.ToArray(), grid.PixelHeight, grid.PixelWidth);
    }

    /// <summary>
    /// The channels-last shape of the image a layer reads when <paramref name="source"/> is the model's
    /// input, an input layer, or reaches one through layers that keep its shape and add no weights a
    /// picture would skip (Rescaling, Normalization, random augmentation); otherwise null.
    /// </summary>
    private static int[]? ImageInput(ModelDescription description, Dictionary<string, LayerInfo> layers, string source)
    {
        for (int depth = 0; depth < layers.Count + 1; depth++)
        {
            if (!layers.TryGetValue(source, out var layer))
            {
                var input = description.Inputs[0];
                if (source != input.Name) return null;
                int[] s = input.Shape;
                if (input.ChannelsFirst && s.Length == 3) return [s[1], s[2], s[0]];
                return s.Length == 2 ? [s[0], s[1], 1] : s;
            }
            if (layer.Kind == "InputLayer") return layer.OutputShape.Length == 2 ? [layer.OutputShape[0], layer.OutputShape[1], 1] : layer.OutputShape;
            bool keepsImage = layer.Kind is "Rescaling" or "Normalization" || layer.Kind.StartsWith("Random", StringComparison.Ordinal);
            if (!keepsImage || layer.Inbound.Length != 1) return null;
            source = layer.Inbound[0];
        }
        return null;
    }
}
