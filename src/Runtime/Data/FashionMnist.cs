using System;
using System.Collections.Generic;
using System.IO;

namespace Kiln;

/// <summary>
/// Fashion-MNIST from its four IDX files (gzip or not): 60,000 training and 10,000 test images
/// of 28×28, raw pixel values 0..255 as floats (scale them with <see cref="StandardScaler"/> or
/// <see cref="Rescale"/>), labels as float class indices 0..9. Same layout as Keras'
/// <c>fashion_mnist.load_data()</c>.
/// </summary>
public static class FashionMnist
{
    public const string DefaultDirectory = "/usr/share/datasets/fashion-mnist";

    public static readonly IReadOnlyList<string> ClassNames =
        ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"];

    private static readonly string[] FileNames =
        ["train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"];

    public static (Dataset Train, Dataset Test) Load(string? directory = null)
    {
        directory ??= DefaultDirectory;
        var paths = new string[FileNames.Length];
        var missing = new List<string>();
        for (int i = 0; i < FileNames.Length; i++)
        {
            string gz = Path.Combine(directory, FileNames[i] + ".gz"), raw = Path.Combine(directory, FileNames[i]);
            paths[i] = File.Exists(gz) ? gz : File.Exists(raw) ? raw : "";
            if (paths[i].Length == 0) missing.Add(FileNames[i] + "[.gz]");
        }
        if (missing.Count > 0)
        {
            string where = Directory.Exists(directory) ? $"{directory} lacks {string.Join(", ", missing)}" : $"{directory} does not exist";
            throw new FileNotFoundException(
                $"Fashion-MNIST not found: {where}. Install it with `sudo apt-get install -y dataset-fashion-mnist`, " +
                $"or pass `--data DIR` with a folder holding {string.Join(", ", FileNames)} (each optionally .gz).",
                missing.Count == FileNames.Length ? directory : Path.Combine(directory, missing[0]));
        }
        return (Split(paths[0], paths[1], 60000), Split(paths[2], paths[3], 10000));
    }

    private static Dataset Split(string imagesPath, string labelsPath, int expectedCount)
    {
        var (imageShape, images) = Idx.ReadFloats(imagesPath, 3);
        var (labelShape, labels) = Idx.ReadFloats(labelsPath, 1);
        if (imageShape[1] != 28 || imageShape[2] != 28)
            throw new InvalidDataException($"{imagesPath}: images are {imageShape[1]}×{imageShape[2]}, Fashion-MNIST's are 28×28.");
        if (imageShape[0] != labelShape[0])
            throw new InvalidDataException($"{imagesPath} holds {imageShape[0]} images but {labelsPath} holds {labelShape[0]} labels.");
        // A subset is allowed (tests, quick runs); more than the real set means the wrong files.
        if (imageShape[0] > expectedCount)
            throw new InvalidDataException($"{imagesPath}: {imageShape[0]} images, more than Fashion-MNIST's {expectedCount}; is this the right file?");
        for (int i = 0; i < labels.Length; i++)
            if (labels[i] > 9)
                throw new InvalidDataException($"{labelsPath}: label {labels[i]} at index {i} is not a class 0..9.");
        return new Dataset(images, labels, [28, 28], 1);
    }
}
