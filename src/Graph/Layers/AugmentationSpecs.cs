using System;
using System.Collections.Generic;

namespace Kiln.Graph;

/// <summary>Mirrors <c>Kiln.FlipMode</c> (same names and values).</summary>
public enum FlipModeKind
{
    Horizontal,
    Vertical,
    HorizontalAndVertical,
}

/// <summary>Mirrors <c>Kiln.FillMode</c> (same names and values): how points outside the input are filled.</summary>
public enum FillModeKind
{
    Reflect,
    Wrap,
    Constant,
    Nearest,
}

/// <summary>Mirrors <c>Kiln.Interpolation</c> (same names and values).</summary>
public enum InterpolationKind
{
    Nearest,
    Bilinear,
}

/// <summary>
/// Keras' image augmentation layers (<c>RandomFlip</c>, <c>RandomTranslation</c>, …): random per
/// sample in training, drawn from the model's random stream; a copy in inference (RandomCrop: a
/// centre crop). No weights. They must read an image and sit before every layer with trainable
/// weights (KILN0158), so backward never needs to pass through them for the weights.
/// </summary>
public abstract record AugmentationSpec : LayerSpec
{
    public override KernelKind Kernel => KernelKind.Augment;

    /// <summary>The rule every augmentation shares: an image input, nothing trainable before it.</summary>
    internal LayerNode? Check(LayerContext c)
    {
        var input = c.Input;
        if (input.Rank != 3)
        {
            string hint = input.Rank == 2
                ? $"declare [Sequential({input[0]}, {input[1]}, 1)] or put [Reshape({input[0]}, {input[1]}, 1)] before it"
                : "augment the images before anything flattens them: put it right after the input";
            return c.Fail(Descriptors.AugmentationNeedsImage, Location, c.Label, input, hint);
        }
        if (c.TrainableBefore() is { } trained)
            return c.Fail(Descriptors.AugmentationAfterWeights, Location, c.Label, trained);
        return Checked(c);
    }

    internal abstract LayerNode? Checked(LayerContext c);

    internal override LayerNode? Infer(LayerContext c) => Check(c);

    /// <summary>A Keras factor: one value f gives [−|f|, |f|], two values a range (sorted); each must be in [<paramref name="min"/>, <paramref name="max"/>].</summary>
    internal static (double Lower, double Upper) Range(Arguments a, string lowerField, string upperField, string single, string lower, string upper, double fallback, bool symmetric = true)
    {
        if (a.Take(lowerField, lower) is { } lo && a.Take(upperField, upper) is { } hi)
            return lo.Number <= hi.Number ? (lo.Number, hi.Number) : (hi.Number, lo.Number);
        if (a.Find(single) is { } f)
        {
            a.Sites.Add(new ArgumentSite(lowerField, f.Name, f.Location));
            a.Sites.Add(new ArgumentSite(upperField, f.Name, f.Location));
            return symmetric ? (-Math.Abs(f.Number), Math.Abs(f.Number)) : (Math.Max(-f.Number, 0), f.Number);
        }
        return (fallback, fallback);
    }

    /// <summary>KILN0152 unless <paramref name="value"/> is in [<paramref name="min"/>, <paramref name="max"/>].</summary>
    internal bool InRange(LayerContext c, string field, string what, double value, double min, double max, string meaning)
    {
        if (value >= min && value <= max) return true;
        c.Report(Descriptors.AugmentationFactor, LocationOf(field), c.Label, WrittenName(field, what), Names.Number(value),
            Names.Number(min), Names.Number(max), meaning);
        return false;
    }

    /// <summary>
    /// A factor range, both ends in [−1, 1] (KILN0152 otherwise). The upper end is checked first: for one
    /// written factor f it is |f|, the value the user wrote.
    /// </summary>
    internal bool FactorInRange(LayerContext c, string lowerField, string upperField, string what, double lower, double upper, string meaning) =>
        InRange(c, upperField, what, upper, -1, 1, meaning) && InRange(c, lowerField, what, lower, -1, 1, meaning);

    /// <summary>The node of a resampling augmentation (translation, rotation, zoom): bilinear reads four pixels with two weights each.</summary>
    internal static LayerNode Resampled(LayerContext c, InterpolationKind interpolation) =>
        c.Node(c.Input, (interpolation == InterpolationKind.Bilinear ? 8L : 1L) * c.Input.Size);

    internal static FillModeKind ReadFill(Arguments a) => a.Take("Fill", "FillMode") is { } f ? (FillModeKind)(int)f.Number : FillModeKind.Reflect;

    internal static InterpolationKind ReadInterpolation(Arguments a) =>
        a.Take("Interpolation", "Interpolation") is { } i ? (InterpolationKind)(int)i.Number : InterpolationKind.Bilinear;

    protected static string Sampling(FillModeKind fill, InterpolationKind interpolation, double fillValue) =>
        $"{interpolation.ToString().ToLowerInvariant()}, {fill.ToString().ToLowerInvariant()} fill" + (fill == FillModeKind.Constant ? " " + Names.Number(fillValue) : "");

    protected static string Factor(double lower, double upper) =>
        lower == -upper ? Names.Number(upper) : $"({Names.Number(lower)}, {Names.Number(upper)})";
}

/// <summary><c>[RandomFlip(mode)]</c>: each sample flipped left-right and/or top-bottom with probability ½.</summary>
public sealed record RandomFlipSpec(FlipModeKind Mode = FlipModeKind.HorizontalAndVertical) : AugmentationSpec
{
    public override LayerKind Kind => LayerKind.RandomFlip;
    public override string BaseName => "random_flip";

    /// <summary>Keras' spellings of the mode, for <c>[RandomFlip("horizontal")]</c>.</summary>
    public static readonly IReadOnlyDictionary<string, FlipModeKind> KerasModes = new Dictionary<string, FlipModeKind>
    {
        ["horizontal"] = FlipModeKind.Horizontal,
        ["vertical"] = FlipModeKind.Vertical,
        ["horizontal_and_vertical"] = FlipModeKind.HorizontalAndVertical,
    };

    /// <summary>The mode written as a Keras string that names no mode (KILN0153), else null.</summary>
    public string? UnknownMode { get; init; }

    internal static RandomFlipSpec Read(Arguments a)
    {
        if (a.Take(nameof(Mode), "mode") is not { } m) return new RandomFlipSpec();
        if (m.Text is null) return new RandomFlipSpec((FlipModeKind)(int)m.Number);
        return KerasModes.TryGetValue(m.Text, out var mode) ? new RandomFlipSpec(mode) : new RandomFlipSpec() { UnknownMode = m.Text };
    }

    internal override LayerNode? Checked(LayerContext c)
    {
        if (UnknownMode is not null)
            return c.Fail(Descriptors.AugmentationMode, LocationOf(nameof(Mode)), c.Label, UnknownMode);
        return c.Node(c.Input, 0);
    }

    public override string Describe(LayerNode node) => $"RandomFlip({Mode.ToString().ToLowerInvariant()})";
}

/// <summary>
/// <c>[RandomTranslation(heightFactor, widthFactor)]</c>: each sample shifted by a fraction of its
/// height and width drawn uniformly from the factors' ranges (Keras: output pixel (x, y) reads input (x − dx, y − dy)).
/// </summary>
public sealed record RandomTranslationSpec(double HeightLower, double HeightUpper, double WidthLower, double WidthUpper,
    FillModeKind Fill = FillModeKind.Reflect, InterpolationKind Interpolation = InterpolationKind.Bilinear, double FillValue = 0) : AugmentationSpec
{
    public override LayerKind Kind => LayerKind.RandomTranslation;
    public override string BaseName => "random_translation";

    internal static RandomTranslationSpec Read(Arguments a)
    {
        var (hl, hu) = Range(a, nameof(HeightLower), nameof(HeightUpper), "heightFactor", "heightLower", "heightUpper", 0);
        var (wl, wu) = Range(a, nameof(WidthLower), nameof(WidthUpper), "widthFactor", "widthLower", "widthUpper", 0);
        return new(hl, hu, wl, wu, ReadFill(a), ReadInterpolation(a), a.Double(nameof(FillValue), "FillValue", 0));
    }

    internal override LayerNode? Checked(LayerContext c)
    {
        const string meaning = "a fraction of the height or width, negative shifting up or left";
        if (!FactorInRange(c, nameof(HeightLower), nameof(HeightUpper), "heightFactor", HeightLower, HeightUpper, meaning)
            || !FactorInRange(c, nameof(WidthLower), nameof(WidthUpper), "widthFactor", WidthLower, WidthUpper, meaning))
            return null;
        return Resampled(c, Interpolation);
    }

    public override string Describe(LayerNode node) =>
        $"RandomTranslation({Factor(HeightLower, HeightUpper)}, {Factor(WidthLower, WidthUpper)}; {Sampling(Fill, Interpolation, FillValue)})";
}

/// <summary>
/// <c>[RandomRotation(factor)]</c>: each sample rotated about its centre by an angle drawn from
/// factor × 2π (positive counter-clockwise), as Keras.
/// </summary>
public sealed record RandomRotationSpec(double Lower, double Upper,
    FillModeKind Fill = FillModeKind.Reflect, InterpolationKind Interpolation = InterpolationKind.Bilinear, double FillValue = 0) : AugmentationSpec
{
    public override LayerKind Kind => LayerKind.RandomRotation;
    public override string BaseName => "random_rotation";

    internal static RandomRotationSpec Read(Arguments a)
    {
        var (lo, hi) = Range(a, nameof(Lower), nameof(Upper), "factor", "lower", "upper", 0);
        return new(lo, hi, ReadFill(a), ReadInterpolation(a), a.Double(nameof(FillValue), "FillValue", 0));
    }

    internal override LayerNode? Checked(LayerContext c)
    {
        const string meaning = "a fraction of a full turn (2π), positive counter-clockwise";
        if (!FactorInRange(c, nameof(Lower), nameof(Upper), "factor", Lower, Upper, meaning)) return null;
        return Resampled(c, Interpolation);
    }

    public override string Describe(LayerNode node) => $"RandomRotation({Factor(Lower, Upper)}; {Sampling(Fill, Interpolation, FillValue)})";
}

/// <summary>
/// <c>[RandomZoom(heightFactor, widthFactor)]</c>: each sample scaled about its centre by 1 + a
/// draw from each factor's range (positive zooms out); with no width factor both axes share the height's draw.
/// </summary>
public sealed record RandomZoomSpec(double HeightLower, double HeightUpper, double WidthLower, double WidthUpper, bool KeepAspect,
    FillModeKind Fill = FillModeKind.Reflect, InterpolationKind Interpolation = InterpolationKind.Bilinear, double FillValue = 0) : AugmentationSpec
{
    public override LayerKind Kind => LayerKind.RandomZoom;
    public override string BaseName => "random_zoom";

    internal static RandomZoomSpec Read(Arguments a)
    {
        var (hl, hu) = Range(a, nameof(HeightLower), nameof(HeightUpper), "heightFactor", "heightLower", "heightUpper", 0);
        bool keep = a.Find("widthFactor") is null && a.Find("widthLower") is null;
        var (wl, wu) = keep ? (hl, hu) : Range(a, nameof(WidthLower), nameof(WidthUpper), "widthFactor", "widthLower", "widthUpper", 0);
        return new(hl, hu, wl, wu, keep, ReadFill(a), ReadInterpolation(a), a.Double(nameof(FillValue), "FillValue", 0));
    }

    internal override LayerNode? Checked(LayerContext c)
    {
        const string meaning = "a fraction of the size, positive zooming out";
        if (!FactorInRange(c, nameof(HeightLower), nameof(HeightUpper), "heightFactor", HeightLower, HeightUpper, meaning)
            || !FactorInRange(c, nameof(WidthLower), nameof(WidthUpper), "widthFactor", WidthLower, WidthUpper, meaning))
            return null;
        return Resampled(c, Interpolation);
    }

    public override string Describe(LayerNode node) =>
        $"RandomZoom({Factor(HeightLower, HeightUpper)}{(KeepAspect ? "" : ", " + Factor(WidthLower, WidthUpper))}; {Sampling(Fill, Interpolation, FillValue)})";
}

/// <summary>
/// <c>[RandomCrop(height, width)]</c>: in training a (height, width) window at one random place for
/// the whole batch (Keras); in inference the largest centred window of that aspect ratio, resized.
/// </summary>
public sealed record RandomCropSpec(int Height, int Width) : AugmentationSpec
{
    public override LayerKind Kind => LayerKind.RandomCrop;
    public override string BaseName => "random_crop";

    internal static RandomCropSpec Read(Arguments a) => new(a.Int(nameof(Height), "height", 0), a.Int(nameof(Width), "width", 0));

    internal override LayerNode? Checked(LayerContext c)
    {
        if (!c.AtLeast(nameof(Height), "height", Height) || !c.AtLeast(nameof(Width), "width", Width)) return null;
        var i = c.Input;
        if (Height > i[0] || Width > i[1])
            return c.Fail(Descriptors.CropLargerThanInput, Height > i[0] ? LocationOf(nameof(Height)) : LocationOf(nameof(Width)),
                c.Label, Height, Width, i[0], i[1]);
        var output = new Shape(Height, Width, i[2]);
        return c.Node(output, output.Size);
    }

    public override string Describe(LayerNode node) => $"RandomCrop({Height}, {Width})";
}

/// <summary>
/// <c>[RandomContrast(factor)]</c>: per sample, each channel becomes (x − mean)·f + mean with f drawn
/// from [1 − lower, 1 + upper], clipped to the value range (Keras' default [0, 255]).
/// </summary>
public sealed record RandomContrastSpec(double Lower, double Upper, double ValueRangeLow = 0, double ValueRangeHigh = 255) : AugmentationSpec
{
    public override LayerKind Kind => LayerKind.RandomContrast;
    public override string BaseName => "random_contrast";

    internal static RandomContrastSpec Read(Arguments a)
    {
        // Keras parses a single factor f with bounds (0, 1) as (max(−f, 0), f) = (0, f): the contrast factor is drawn from [1, 1 + f].
        var (lo, hi) = Range(a, nameof(Lower), nameof(Upper), "factor", "lower", "upper", 0, symmetric: false);
        return new(lo, hi, a.Double(nameof(ValueRangeLow), "ValueRangeLow", 0), a.Double(nameof(ValueRangeHigh), "ValueRangeHigh", 255));
    }

    internal override LayerNode? Checked(LayerContext c)
    {
        const string meaning = "the contrast factor is drawn from [1 − lower, 1 + upper]";
        if (!InRange(c, nameof(Upper), "factor", Upper, 0, 1, meaning) || !InRange(c, nameof(Lower), "factor", Lower, 0, 1, meaning)) return null;
        if (!(ValueRangeLow < ValueRangeHigh))
            return c.Fail(Descriptors.ContrastValueRange, IsWritten(nameof(ValueRangeHigh)) ? LocationOf(nameof(ValueRangeHigh)) : LocationOf(nameof(ValueRangeLow)),
                c.Label, Names.Number(ValueRangeLow), Names.Number(ValueRangeHigh));
        var i = c.Input;
        return c.Node(i, 4L * i.Size);
    }

    public override string Describe(LayerNode node) =>
        $"RandomContrast([{Names.Number(1 - Lower)}, {Names.Number(1 + Upper)}], clipped to [{Names.Number(ValueRangeLow)}, {Names.Number(ValueRangeHigh)}])";
}
