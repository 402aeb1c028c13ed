using System;
using System.Globalization;
using System.IO;
using ScottPlot;

namespace Kiln;

/// <summary>
/// A <see cref="ConfusionMatrix"/> as a heat map, as scikit-learn's <c>ConfusionMatrixDisplay</c>
/// draws it: true classes down the left (the first at the top), predicted classes along the bottom,
/// each cell coloured by its count on the viridis colour map (a colour bar beside it) and labelled
/// with the count in the colour that stands out from the cell.
/// </summary>
public static class ConfusionMatrixPlot
{
    /// <summary>
    /// Draws <paramref name="matrix"/> and saves it as a PNG of <paramref name="width"/> ×
    /// <paramref name="height"/> pixels (by default sized for the number of classes), atomically.
    /// <paramref name="normalize"/> divides each row by its support, as scikit-learn's
    /// <c>normalize='true'</c>, so the diagonal reads as each class's recall.
    /// </summary>
    public static void SavePng(this ConfusionMatrix matrix, string path, int width = 0, int height = 0, bool normalize = false, string? title = null)
    {
        ArgumentNullException.ThrowIfNull(matrix);
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        (width, height) = Size(matrix, width, height);
        var plot = Create(matrix, normalize, title);
        byte[] png = plot.GetImageBytes(width, height, ScottPlot.ImageFormat.Png);
        // As checkpoints are written: a temporary file renamed over the target, never half a PNG.
        AtomicFile.Write(path, stream => stream.Write(png));
    }

    /// <summary>The default size: about 60 pixels a class, within 400 to 1600, plus room for the labels and the colour bar.</summary>
    internal static (int Width, int Height) Size(ConfusionMatrix matrix, int width, int height)
    {
        int side = Math.Clamp(60 * matrix.Classes, 300, 1400);
        if (width == 0) width = side + 220;
        if (height == 0) height = side + 140;
        if (width < 200 || height < 200)
            throw new ArgumentOutOfRangeException(nameof(width), $"A confusion matrix plot needs at least 200×200 pixels; got {width}×{height}.");
        return (width, height);
    }

    /// <summary>The cell value drawn for true class <paramref name="row"/>, predicted <paramref name="column"/>: the count, or its share of the row.</summary>
    internal static double Value(ConfusionMatrix matrix, int row, int column, bool normalize)
    {
        long count = matrix[row, column];
        if (!normalize) return count;
        long support = matrix.Support(row);
        return support == 0 ? 0 : (double)count / support;
    }

    /// <summary>Where the centre of cell (<paramref name="row"/>, <paramref name="column"/>) lies in plot coordinates: true class 0 at the top.</summary>
    internal static Coordinates CellCenter(ConfusionMatrix matrix, int row, int column) => new(column, matrix.Classes - 1 - row);

    /// <summary>The plot, not yet rendered (tests render it and ask where cells landed).</summary>
    internal static Plot Create(ConfusionMatrix matrix, bool normalize, string? title)
    {
        int classes = matrix.Classes;
        // Heatmap rows run from the top: row 0 of the array is drawn at the top of its rectangle.
        var values = new double[classes, classes];
        double max = 0;
        for (int i = 0; i < classes; i++)
            for (int j = 0; j < classes; j++)
                max = Math.Max(max, values[i, j] = Value(matrix, i, j, normalize));

        var plot = new Plot();
        var colormap = new ScottPlot.Colormaps.Viridis();
        var heatmap = plot.Add.Heatmap(values);
        heatmap.Colormap = colormap;
        heatmap.ManualRange = new ScottPlot.Range(0, max > 0 ? max : 1);
        heatmap.Rectangle = new CoordinateRect(-0.5, classes - 0.5, -0.5, classes - 0.5);
        var bar = plot.Add.ColorBar(heatmap);
        bar.Label = normalize ? "share of the true class" : "count";

        // scikit-learn's text colours: the colour map's top on dark cells, its bottom on light ones.
        Color dark = colormap.GetColor(0), light = colormap.GetColor(1);
        double middle = (max > 0 ? max : 1) / 2;
        float fontSize = (float)Math.Clamp(160.0 / classes, 8, 20);
        for (int i = 0; i < classes; i++)
            for (int j = 0; j < classes; j++)
            {
                double v = values[i, j];
                string text = normalize ? v.ToString("0.00", CultureInfo.InvariantCulture) : matrix[i, j].ToString(CultureInfo.InvariantCulture);
                var label = plot.Add.Text(text, CellCenter(matrix, i, j));
                label.LabelAlignment = Alignment.MiddleCenter;
                label.LabelFontSize = fontSize;
                label.LabelFontColor = v < middle ? light : dark;
            }

        var positions = new double[classes];
        var columnLabels = new string[classes];
        var rowLabels = new string[classes];
        for (int c = 0; c < classes; c++)
        {
            positions[c] = c;
            columnLabels[c] = matrix.Label(c);
            rowLabels[c] = matrix.Label(classes - 1 - c);
        }
        plot.Axes.Bottom.SetTicks(positions, columnLabels);
        plot.Axes.Left.SetTicks(positions, rowLabels);
        int longest = 0;
        for (int c = 0; c < classes; c++) longest = Math.Max(longest, columnLabels[c].Length);
        if (longest * classes > 60)
        {
            // Names that would overlap lean, as scikit-learn's xticks_rotation does, each starting at
            // its tick; the axis keeps room for the longest (ScottPlot does not measure rotated labels).
            var style = plot.Axes.Bottom.TickLabelStyle;
            style.Rotation = 45;
            style.Alignment = Alignment.MiddleLeft;
            float textWidth = longest * style.FontSize * 0.62f;
            plot.Axes.Bottom.MinimumSize = textWidth * 0.71f + style.FontSize + 2 * plot.Axes.Bottom.Label.FontSize;
        }
        plot.XLabel("Predicted label");
        plot.YLabel("True label");
        if (title is not null) plot.Title(title);
        plot.HideGrid();
        plot.Axes.SetLimits(-0.5, classes - 0.5, -0.5, classes - 0.5);
        return plot;
    }
}
