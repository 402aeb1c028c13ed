using System;
using System.Collections.Generic;
using System.IO;

namespace Kiln;

/// <summary>Channels an image is loaded with (Keras' <c>color_mode</c>).</summary>
public enum ColorMode
{
    /// <summary>3 channels; grey images are replicated and alpha is dropped, as PIL's <c>convert('RGB')</c>.</summary>
    Rgb,

    /// <summary>1 channel, PIL's luma <c>L = (19595·R + 38470·G + 7471·B + 2¹⁵) >> 16</c>.</summary>
    Grayscale,

    /// <summary>4 channels; images without alpha get 255.</summary>
    Rgba,
}

/// <summary>How labels are given (Keras' <c>class_mode</c>).</summary>
public enum ClassMode
{
    /// <summary>One-hot vectors, one value per class (Keras' default).</summary>
    Categorical,

    /// <summary>The class index as one float.</summary>
    Sparse,

    /// <summary>0 or 1 as one float; needs exactly two classes.</summary>
    Binary,
}

/// <summary>Resampling used to bring an image to the target size.</summary>
public enum Interpolation
{
    /// <summary>PIL's NEAREST, what Keras' <c>flow_from_directory</c> uses by default: source pixel ⌊(x + ½)·in/out⌋.</summary>
    Nearest,

    /// <summary>tf.image.resize's bilinear (half-pixel centres, no antialiasing), as <c>image_dataset_from_directory</c>; rounded to bytes.</summary>
    Bilinear,
}

/// <summary>What to do with a file that has an image extension but does not decode.</summary>
public enum CorruptImagePolicy
{
    /// <summary>Stop with an <see cref="InvalidDataException"/> naming the file (the default).</summary>
    Throw,

    /// <summary>Leave the sample out of its batch and write a warning naming the file, once.</summary>
    Skip,
}

/// <summary>Which part of a folder split by <see cref="ImageFolderOptions.ValidationSplit"/> to load (Keras' <c>subset</c>).</summary>
public enum Subset
{
    /// <summary>Every image (the split is ignored).</summary>
    All,

    /// <summary>All but the first <c>ValidationSplit</c> fraction of each class's sorted files.</summary>
    Training,

    /// <summary>The first <c>ValidationSplit</c> fraction of each class's sorted files.</summary>
    Validation,
}

/// <summary>
/// Options of <see cref="ImageFolder"/>; the defaults are Keras' <c>flow_from_directory</c>
/// (256×256, RGB, categorical, nearest, batches of 32, shuffled), with a fixed seed (0) so
/// that runs repeat.
/// </summary>
public sealed record ImageFolderOptions
{
    /// <summary>Every image is resized to this (height, width), as Keras' <c>target_size</c>.</summary>
    public (int Height, int Width) TargetSize { get; init; } = (256, 256);

    public ColorMode ColorMode { get; init; } = ColorMode.Rgb;
    public ClassMode ClassMode { get; init; } = ClassMode.Categorical;
    public Interpolation Interpolation { get; init; } = Interpolation.Nearest;

    /// <summary>
    /// Multiplies every pixel value 0..255, Keras' <c>ImageDataGenerator(rescale=1./255)</c>; 1 keeps raw
    /// values. double, so <c>Rescale = 1 / 255.0</c> compiles; the pixels are scaled in float.
    /// </summary>
    public double Rescale { get; init; } = 1;

    /// <summary>Class subfolders to use, in label order; null takes every subfolder, sorted by name.</summary>
    public IReadOnlyList<string>? Classes { get; init; }

    /// <summary>Fraction of each class held out for <see cref="Subset.Validation"/> (Keras' <c>validation_split</c>).</summary>
    public double ValidationSplit { get; init; }

    public int BatchSize { get; init; } = 32;

    /// <summary>Shuffle the training order every pass (Keras' <c>shuffle=True</c>).</summary>
    public bool Shuffle { get; init; } = true;

    public int Seed { get; init; }

    /// <summary>Threads that decode and resize in the background for <see cref="ImageFolder.Batches"/>.</summary>
    public int Threads { get; init; } = 2;

    /// <summary>Batches decoded ahead of the one being trained on.</summary>
    public int PrefetchBatches { get; init; } = 2;

    /// <summary>Keep each resized image in memory (as bytes) after its first load, so later passes skip the file and the decoder.</summary>
    public bool CacheImages { get; init; }

    public CorruptImagePolicy OnCorruptImage { get; init; } = CorruptImagePolicy.Throw;

    /// <summary>
    /// Largest width × height a file may claim, PIL's <c>Image.MAX_IMAGE_PIXELS</c> (default
    /// 89,478,485): a larger one is refused from its header, before decoding, as a corrupt image
    /// (a decompression bomb is a small file that claims a huge image).
    /// </summary>
    public long MaxImagePixels { get; init; } = ImageLoader.DefaultMaxImagePixels;

    /// <summary>Where skipped-file warnings go; null writes them to the standard error.</summary>
    public TextWriter? Warnings { get; init; }
}
