using System;
using System.Collections.Generic;
using System.IO;
using ScottPlot;

namespace Kiln;

/// <summary>Learning curves from a <see cref="History"/>, as the seeds draw them with <c>pd.DataFrame(history.history).plot()</c>.</summary>
public static class HistoryPlot
{
    /// <summary>
    /// Draws every metric of <paramref name="history"/> against the epoch (pandas' index, from 0)
    /// as one line each, in History order (loss, accuracy, val_loss, val_accuracy), with a legend
    /// and a grid, and saves it as a PNG, atomically. <paramref name="yLimits"/> fixes the value
    /// axis, as the seeds' <c>plt.gca().set_ylim(0, 1)</c>. The seconds Fit waited for data
    /// (<c>data_wait</c>, <c>val_data_wait</c>) are timings, not learning curves, and are left out.
    /// </summary>
    public static void Plot(this History history, string path, int width = 800, int height = 500,
        string? title = null, (double Min, double Max)? yLimits = null)
    {
        ArgumentNullException.ThrowIfNull(history);
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        if (width < 100 || height < 100)
            throw new ArgumentOutOfRangeException(nameof(width), $"A plot needs at least 100×100 pixels; got {width}×{height}.");
        if (history.Epochs == 0)
            throw new InvalidOperationException("The history has no epochs to plot.");

        var plot = new Plot();
        // matplotlib's default colour cycle, so the figure reads like the seeds'.
        Color[] colors = [Color.FromHex("#1f77b4"), Color.FromHex("#ff7f0e"), Color.FromHex("#2ca02c"), Color.FromHex("#d62728"),
            Color.FromHex("#9467bd"), Color.FromHex("#8c564b"), Color.FromHex("#e377c2"), Color.FromHex("#7f7f7f")];
        var epochs = new double[history.Epochs];
        for (int e = 0; e < epochs.Length; e++) epochs[e] = e;
        int i = 0;
        foreach (string name in history.Names)
        {
            if (name is Model.DataWaitName or "val_" + Model.DataWaitName) continue;
            IReadOnlyList<double> values = history[name];
            var ys = new double[values.Count];
            for (int e = 0; e < ys.Length; e++) ys[e] = double.IsFinite(values[e]) ? values[e] : double.NaN;
            var line = plot.Add.Scatter(epochs, ys, colors[i++ % colors.Length]);
            line.LegendText = name;
            line.LineWidth = 2;
            line.MarkerSize = epochs.Length <= 30 ? 5 : 0;
        }
        plot.XLabel("epoch");
        if (title is not null) plot.Title(title);
        // Learning curves fall from the top left and rise to the top right: the middle right is usually free.
        plot.ShowLegend(Alignment.MiddleRight);
        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericAutomatic { IntegerTicksOnly = true };
        plot.Grid.MajorLineColor = Color.FromHex("#000000").WithAlpha(0.15);
        if (yLimits is { } y) plot.Axes.SetLimitsY(y.Min, y.Max);

        byte[] png = plot.GetImageBytes(width, height, ScottPlot.ImageFormat.Png);
        // As checkpoints are written: a temporary file renamed over the target, never half a PNG.
        AtomicFile.Write(path, stream => stream.Write(png));
    }
}
