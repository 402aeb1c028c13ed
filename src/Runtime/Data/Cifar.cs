using System;
using System.Collections.Generic;
using System.IO;

namespace Kiln;

/// <summary>
/// CIFAR-10 from its binary version (<c>cifar-10-batches-bin</c>): five training batches
/// <c>data_batch_1.bin</c>..<c>data_batch_5.bin</c> of 10,000 images and <c>test_batch.bin</c>.
/// Each record is one label byte then 3,072 pixel bytes stored channels first (the 1,024 red
/// values row by row, then green, then blue). Images come out as raw values 0..255 in
/// <see cref="ChannelOrder.ChannelsLast"/> (32, 32, 3) by default, like Keras'
/// <c>cifar10.load_data()</c>; labels are float class indices 0..9.
/// </summary>
public static class Cifar10
{
    public const int Height = 32, Width = 32, Channels = 3, ImageBytes = Height * Width * Channels;

    public static readonly IReadOnlyList<string> ClassNames =
        ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"];

    private static readonly string[] TrainFiles = ["data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin", "data_batch_4.bin", "data_batch_5.bin"];
    private const string TestFile = "test_batch.bin";

    /// <summary>Reads the six batches from <paramref name="directory"/> (or its <c>cifar-10-batches-bin</c> subfolder).</summary>
    public static (Dataset Train, Dataset Test) Load(string directory, ChannelOrder order = ChannelOrder.ChannelsLast)
    {
        ArgumentNullException.ThrowIfNull(directory);
        string dir = CifarFiles.Locate(directory, "cifar-10-batches-bin", [.. TrainFiles, TestFile], "CIFAR-10");
        var train = CifarFiles.Read([.. Array.ConvertAll(TrainFiles, f => Path.Combine(dir, f))], 1, 0, 10, order);
        var test = CifarFiles.Read([Path.Combine(dir, TestFile)], 1, 0, 10, order);
        return (train, test);
    }

    /// <summary>One batch file (any number of records).</summary>
    public static Dataset ReadBatch(string path, ChannelOrder order = ChannelOrder.ChannelsLast) =>
        CifarFiles.Read([path ?? throw new ArgumentNullException(nameof(path))], 1, 0, 10, order);
}

/// <summary>Which of CIFAR-100's two labels to use, as Keras' <c>label_mode</c>.</summary>
public enum Cifar100Labels
{
    /// <summary>The 100 classes (Keras' default).</summary>
    Fine,

    /// <summary>The 20 superclasses.</summary>
    Coarse,
}

/// <summary>
/// CIFAR-100 from its binary version (<c>cifar-100-binary</c>): <c>train.bin</c> (50,000) and
/// <c>test.bin</c> (10,000); each record is a coarse label byte, a fine label byte and 3,072
/// channels-first pixel bytes. Same output layout as <see cref="Cifar10"/>.
/// </summary>
public static class Cifar100
{
    public static readonly IReadOnlyList<string> FineClassNames =
    [
        "apple", "aquarium_fish", "baby", "bear", "beaver", "bed", "bee", "beetle", "bicycle", "bottle",
        "bowl", "boy", "bridge", "bus", "butterfly", "camel", "can", "castle", "caterpillar", "cattle",
        "chair", "chimpanzee", "clock", "cloud", "cockroach", "couch", "crab", "crocodile", "cup", "dinosaur",
        "dolphin", "elephant", "flatfish", "forest", "fox", "girl", "hamster", "house", "kangaroo", "keyboard",
        "lamp", "lawn_mower", "leopard", "lion", "lizard", "lobster", "man", "maple_tree", "motorcycle", "mountain",
        "mouse", "mushroom", "oak_tree", "orange", "orchid", "otter", "palm_tree", "pear", "pickup_truck", "pine_tree",
        "plain", "plate", "poppy", "porcupine", "possum", "rabbit", "raccoon", "ray", "road", "rocket",
        "rose", "sea", "seal", "shark", "shrew", "skunk", "skyscraper", "snail", "snake", "spider",
        "squirrel", "streetcar", "sunflower", "sweet_pepper", "table", "tank", "telephone", "television", "tiger", "tractor",
        "train", "trout", "tulip", "turtle", "wardrobe", "whale", "willow_tree", "wolf", "woman", "worm",
    ];

    public static readonly IReadOnlyList<string> CoarseClassNames =
    [
        "aquatic_mammals", "fish", "flowers", "food_containers", "fruit_and_vegetables",
        "household_electrical_devices", "household_furniture", "insects", "large_carnivores", "large_man-made_outdoor_things",
        "large_natural_outdoor_scenes", "large_omnivores_and_herbivores", "medium_mammals", "non-insect_invertebrates", "people",
        "reptiles", "small_mammals", "trees", "vehicles_1", "vehicles_2",
    ];

    /// <summary>Reads <c>train.bin</c> and <c>test.bin</c> from <paramref name="directory"/> (or its <c>cifar-100-binary</c> subfolder).</summary>
    public static (Dataset Train, Dataset Test) Load(string directory, Cifar100Labels labels = Cifar100Labels.Fine, ChannelOrder order = ChannelOrder.ChannelsLast)
    {
        ArgumentNullException.ThrowIfNull(directory);
        string dir = CifarFiles.Locate(directory, "cifar-100-binary", ["train.bin", "test.bin"], "CIFAR-100");
        return (ReadFile(Path.Combine(dir, "train.bin"), labels, order), ReadFile(Path.Combine(dir, "test.bin"), labels, order));
    }

    public static Dataset ReadFile(string path, Cifar100Labels labels = Cifar100Labels.Fine, ChannelOrder order = ChannelOrder.ChannelsLast)
    {
        ArgumentNullException.ThrowIfNull(path);
        bool fine = labels == Cifar100Labels.Fine;
        return CifarFiles.Read([path], 2, fine ? 1 : 0, fine ? 100 : 20, order);
    }
}

/// <summary>The record reader both CIFAR formats share.</summary>
internal static class CifarFiles
{
    public static string Locate(string directory, string subfolder, string[] files, string what)
    {
        string nested = Path.Combine(directory, subfolder);
        string dir = !File.Exists(Path.Combine(directory, files[0])) && Directory.Exists(nested) ? nested : directory;
        var missing = Array.FindAll(files, f => !File.Exists(Path.Combine(dir, f)));
        if (missing.Length == 0) return dir;
        string where = Directory.Exists(dir) ? $"{dir} lacks {string.Join(", ", missing)}" : $"{dir} does not exist";
        throw new FileNotFoundException(
            $"{what} not found: {where}. Download the binary version ({subfolder}) and pass its folder with `--data DIR`.",
            Path.Combine(dir, missing[0]));
    }

    /// <summary>Reads records of <paramref name="labelBytes"/> label bytes + 3,072 pixels, keeping label byte <paramref name="labelAt"/>.</summary>
    public static Dataset Read(string[] paths, int labelBytes, int labelAt, int classes, ChannelOrder order)
    {
        int record = labelBytes + Cifar10.ImageBytes;
        var sizes = new long[paths.Length];
        long total = 0;
        for (int f = 0; f < paths.Length; f++)
        {
            var info = new FileInfo(paths[f]);
            if (!info.Exists) throw new FileNotFoundException($"{paths[f]}: no such file.", paths[f]);
            sizes[f] = info.Length;
            if (info.Length == 0 || info.Length % record != 0)
                throw new InvalidDataException(
                    $"{paths[f]}: {info.Length:N0} bytes is not a whole number of {record:N0}-byte records " +
                    $"({labelBytes} label byte{(labelBytes > 1 ? "s" : "")} + 3,072 pixels); the file is truncated or not a CIFAR binary batch.");
            total += info.Length / record;
        }
        if (total * Cifar10.ImageBytes > Array.MaxLength)
            throw new InvalidDataException($"{paths[0]}: {total:N0} images do not fit one array.");

        var features = new float[total * Cifar10.ImageBytes];
        var targets = new float[total];
        var buffer = new byte[record];
        const int plane = Cifar10.Height * Cifar10.Width;
        long n = 0;
        for (int f = 0; f < paths.Length; f++)
        {
            using var stream = new FileStream(paths[f], FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
            for (long r = 0; r < sizes[f] / record; r++, n++)
            {
                stream.ReadExactly(buffer);
                int label = buffer[labelAt];
                if (label >= classes)
                    throw new InvalidDataException($"{paths[f]}: record {r} has label {label}, but there are {classes} classes (0..{classes - 1}).");
                targets[n] = label;
                var pixels = buffer.AsSpan(labelBytes);
                var dst = features.AsSpan((int)(n * Cifar10.ImageBytes), Cifar10.ImageBytes);
                if (order == ChannelOrder.ChannelsFirst)
                    for (int i = 0; i < pixels.Length; i++) dst[i] = pixels[i];
                else
                    for (int c = 0; c < Cifar10.Channels; c++)
                        for (int i = 0; i < plane; i++) dst[i * Cifar10.Channels + c] = pixels[c * plane + i];
            }
        }
        int[] shape = order == ChannelOrder.ChannelsFirst ? [Cifar10.Channels, Cifar10.Height, Cifar10.Width] : [Cifar10.Height, Cifar10.Width, Cifar10.Channels];
        return new Dataset(features, targets, shape, 1);
    }
}
