using System.Globalization;

namespace Kiln.Graph;

/// <summary>What the windowed layers (convolutions, poolings) share: reading strides, and checking them and the window.</summary>
internal static class WindowRules
{
    /// <summary>
    /// <c>StrideHeight</c>/<c>StrideWidth</c> when written, else <c>Strides</c>, else the fallback. A
    /// non-positive <c>Strides</c> wins, so the shape rule reports it at that argument first.
    /// </summary>
    public static (int Height, int Width) Strides(Arguments a, string heightField, string widthField, int fallbackHeight, int fallbackWidth)
    {
        var both = a.Find("Strides");
        if (both is not null && both.Number < 1)
        {
            a.Take(heightField, "Strides");
            a.Take(widthField, "Strides");
            return ((int)both.Number, (int)both.Number);
        }
        int height = a.Take(heightField, "StrideHeight", "Strides") is { } h ? (int)h.Number : fallbackHeight;
        int width = a.Take(widthField, "StrideWidth", "Strides") is { } w ? (int)w.Number : fallbackWidth;
        return (height, width);
    }

    public static bool StridesValid(LayerContext c, string heightField, string widthField, int height, int width) =>
        c.AtLeast(heightField, "Strides", height) && c.AtLeast(widthField, "Strides", width);

    /// <summary>
    /// The window has at least one output position, with same padding fits the padded input, and holds at
    /// most int.MaxValue values (the kernels index a window's kh·kw·C values with an int; a same-padded
    /// window can be far larger than its input, e.g. [AveragePooling2D(100000, Padding = Padding.Same)],
    /// which failed when the model was constructed): KILN0107 otherwise.
    /// </summary>
    public static bool Fits(LayerContext c, Window window, int height, int width, PaddingKind padding)
    {
        int paddedHeight = height + window.PadTop + window.PadBottom, paddedWidth = width + window.PadLeft + window.PadRight;
        string padded = padding == PaddingKind.Same ? $" (padded {paddedHeight}x{paddedWidth})" : "";
        long values = (long)window.KernelHeight * window.KernelWidth * c.Input.Last;
        if (window.OutputHeight >= 1 && window.OutputWidth >= 1
            && !(padding == PaddingKind.Same && (window.KernelHeight > paddedHeight || window.KernelWidth > paddedWidth)))
        {
            if (values <= int.MaxValue) return true;
            padded += $", {values.ToString("N0", CultureInfo.InvariantCulture)} values in one window, more than Kiln's kernels index";
        }
        c.Report(Descriptors.WindowTooLarge, c.Spec.Location, c.Label, window.KernelHeight, window.KernelWidth, c.Input, padded);
        return false;
    }
}
