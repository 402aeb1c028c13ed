namespace Kiln;

/// <summary>Which flips <see cref="RandomFlipAttribute"/> applies, as Keras' <c>mode=</c>.</summary>
public enum FlipMode
{
    /// <summary>Keras' <c>"horizontal"</c>: left-right.</summary>
    Horizontal,

    /// <summary>Keras' <c>"vertical"</c>: top-bottom.</summary>
    Vertical,

    /// <summary>
    /// Keras' <c>"horizontal_and_vertical"</c> (its default). Keras 3 draws one coin per image for
    /// both flips, so an image is either left as it is or flipped both ways (turned 180°); Kiln does the same.
    /// </summary>
    HorizontalAndVertical,
}

/// <summary>How the affine augmentations fill points that fall outside the input, as Keras' <c>fill_mode=</c>.</summary>
public enum FillMode
{
    /// <summary><c>(d c b a | a b c d | d c b a)</c>: reflected about the edge of the last pixel (Keras' default).</summary>
    Reflect,

    /// <summary><c>(a b c d | a b c d | a b c d)</c>: wrapped around to the opposite edge.</summary>
    Wrap,

    /// <summary><c>(k k k k | a b c d | k k k k)</c>: the constant <c>FillValue</c>.</summary>
    Constant,

    /// <summary><c>(a a a a | a b c d | d d d d)</c>: the nearest pixel.</summary>
    Nearest,
}

/// <summary>
/// The base of Keras' image augmentation layers: random per sample in training (<c>Fit</c>,
/// <c>TrainOnBatch</c>), drawn from the model's random stream, so a seed fixes them and a training
/// checkpoint resumes them exactly; in inference (<c>Predict</c>, <c>Evaluate</c>) a copy
/// (<see cref="RandomCropAttribute"/>: a centre crop). No weights. They read (height, width,
/// channels) images and go before every layer with trainable weights (KILN0158), usually right
/// after the input. Kernels: <see cref="Kernels.Augmentation"/>.
/// </summary>
public abstract class AugmentationAttribute : LayerAttribute
{
    private protected AugmentationAttribute() { }
}

/// <summary>The fill and interpolation arguments RandomTranslation, RandomRotation and RandomZoom share.</summary>
public abstract class AffineAugmentationAttribute : AugmentationAttribute
{
    private protected AffineAugmentationAttribute() { }

    /// <summary>Keras' <c>fill_mode=</c>; default <see cref="Kiln.FillMode.Reflect"/>.</summary>
    public FillMode FillMode { get; set; } = FillMode.Reflect;

    /// <summary>Keras' <c>fill_value=</c>: the value of points outside the input with <see cref="Kiln.FillMode.Constant"/>.</summary>
    public double FillValue { get; set; }

    /// <summary>Keras' <c>interpolation=</c>; default <see cref="Kiln.Interpolation.Bilinear"/>.</summary>
    public Interpolation Interpolation { get; set; } = Interpolation.Bilinear;
}

/// <summary>
/// Keras' <c>RandomFlip(mode="horizontal_and_vertical")</c>: each image flipped with probability ½.
/// <c>[RandomFlip(FlipMode.Horizontal)]</c> or Keras' spelling <c>[RandomFlip("horizontal")]</c>.
/// </summary>
public sealed class RandomFlipAttribute : AugmentationAttribute
{
    public RandomFlipAttribute() => Mode = FlipMode.HorizontalAndVertical;

    public RandomFlipAttribute(FlipMode mode) => Mode = mode;

    /// <summary>Keras' strings: <c>"horizontal"</c>, <c>"vertical"</c>, <c>"horizontal_and_vertical"</c> (KILN0153 for any other).</summary>
    public RandomFlipAttribute(string mode) => KerasMode = mode;

    public FlipMode Mode { get; }

    /// <summary>The mode as written in Keras' spelling, when given so.</summary>
    public string? KerasMode { get; }
}

/// <summary>
/// Keras' <c>RandomTranslation(height_factor, width_factor, fill_mode="reflect", interpolation="bilinear")</c>:
/// each image shifted by a fraction of its height and width, drawn uniformly per image. One value f
/// means [−f, f]; the four-value form gives the ranges, as Keras' tuples:
/// <c>[RandomTranslation(-0.2, 0.3, -0.1, 0.1)]</c> = <c>height_factor=(-0.2, 0.3), width_factor=(-0.1, 0.1)</c>.
/// Positive shifts move the content down and right.
/// </summary>
public sealed class RandomTranslationAttribute : AffineAugmentationAttribute
{
    public RandomTranslationAttribute(double heightFactor, double widthFactor)
    {
        HeightFactor = heightFactor;
        WidthFactor = widthFactor;
    }

    public RandomTranslationAttribute(double heightLower, double heightUpper, double widthLower, double widthUpper)
    {
        HeightFactor = heightUpper;
        WidthFactor = widthUpper;
    }

    public double HeightFactor { get; }

    public double WidthFactor { get; }
}

/// <summary>
/// Keras' <c>RandomRotation(factor, fill_mode="reflect", interpolation="bilinear")</c>: each image
/// rotated about its centre by factor × 2π, drawn uniformly per image, positive counter-clockwise.
/// <c>[RandomRotation(0.1)]</c> turns by up to ±36°; <c>[RandomRotation(-0.05, 0.1)]</c> gives the range.
/// </summary>
public sealed class RandomRotationAttribute : AffineAugmentationAttribute
{
    public RandomRotationAttribute(double factor) => Factor = factor;

    public RandomRotationAttribute(double lower, double upper) => Factor = upper;

    public double Factor { get; }
}

/// <summary>
/// Keras' <c>RandomZoom(height_factor, width_factor=None, fill_mode="reflect", interpolation="bilinear")</c>:
/// each image scaled about its centre; a draw z from the factor's range shows 1 + z times the image's
/// extent (positive zooms out, negative in). With one factor both axes share one draw (the aspect ratio
/// is kept); <c>[RandomZoom(0.2, 0.3)]</c> draws height and width apart; the four-value form gives both ranges.
/// </summary>
public sealed class RandomZoomAttribute : AffineAugmentationAttribute
{
    public RandomZoomAttribute(double heightFactor) => HeightFactor = heightFactor;

    public RandomZoomAttribute(double heightFactor, double widthFactor)
    {
        HeightFactor = heightFactor;
        WidthFactor = widthFactor;
    }

    public RandomZoomAttribute(double heightLower, double heightUpper, double widthLower, double widthUpper)
    {
        HeightFactor = heightUpper;
        WidthFactor = widthUpper;
    }

    public double HeightFactor { get; }

    public double? WidthFactor { get; }
}

/// <summary>
/// Keras' <c>RandomCrop(height, width)</c>: in training a (height, width) window at one random place,
/// the same for the whole batch (as Keras); in inference, and in training when the image is not larger
/// in both dimensions, the largest centred window with the target's aspect ratio, resized bilinearly
/// to (height, width) (Keras 3). The output is (height, width, channels).
/// </summary>
public sealed class RandomCropAttribute : AugmentationAttribute
{
    public RandomCropAttribute(int height, int width)
    {
        Height = height;
        Width = width;
    }

    public int Height { get; }

    public int Width { get; }
}

/// <summary>
/// Keras' <c>RandomContrast(factor, value_range=(0, 255))</c>: per image and channel,
/// <c>(x − mean)·f + mean</c> with f drawn per image from [1 − lower, 1 + upper], clipped to the
/// value range. As Keras 3 parses it, one value f gives [1, 1 + f] (the contrast only rises); the
/// two-value form <c>[RandomContrast(0.2, 0.2)]</c> gives [0.8, 1.2].
/// </summary>
public sealed class RandomContrastAttribute : AugmentationAttribute
{
    public RandomContrastAttribute(double factor) => Factor = factor;

    public RandomContrastAttribute(double lower, double upper) => Factor = upper;

    public double Factor { get; }

    /// <summary>Keras' <c>value_range[0]</c>: the lowest pixel value (outputs are clipped to it); default 0.</summary>
    public double ValueRangeLow { get; set; }

    /// <summary>Keras' <c>value_range[1]</c>: the highest pixel value; default 255 (1 after <c>[Rescaling(1 / 255.0)]</c>).</summary>
    public double ValueRangeHigh { get; set; } = 255;
}
