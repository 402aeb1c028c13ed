using System;
using System.Collections.Generic;
using System.IO;
using System.Threading;
using System.Threading.Tasks;

namespace Kiln;

/// <summary>
/// A folder of images with one subfolder per class, Keras' <c>flow_from_directory</c>:
/// <code>
/// data/train/cats/cat.0.jpg
/// data/train/dogs/dog.0.jpg
/// </code>
/// Classes are the subfolder names sorted ordinally (or <see cref="ImageFolderOptions.Classes"/>
/// in the order given) and get indices 0, 1, … in that order (<see cref="ClassIndices"/>).
/// Each class folder is searched recursively; files are sorted by path. Files without an image
/// extension (<see cref="ImageLoader.Extensions"/>) are skipped and counted in
/// <see cref="NonImageFiles"/>; hidden folders (a name starting with '.') are ignored. Symbolic
/// links are followed, but each real folder is walked once, so a link back up the tree neither
/// loops nor counts an image twice. A file that does not decode (corrupt, truncated, over
/// <see cref="ImageFolderOptions.MaxImagePixels"/>, or a zero-length file, pipe or device)
/// stops loading with an error naming it, or, under <see cref="CorruptImagePolicy.Skip"/>, is
/// left out with one warning.
/// <para>
/// The folder is scanned once, on construction; images are decoded when read, by
/// <see cref="Batches"/> on background threads, by <see cref="ToDataset"/> all at once, or by any
/// <see cref="Pipeline"/> built on it.
/// </para>
/// </summary>
public sealed class ImageFolder : ISampleSource
{
    [ThreadStatic] private static byte[]? t_pixels;

    private readonly string[] _files;
    private readonly int[] _labels;
    private readonly byte[]?[]? _cache;
    private readonly int[] _corrupt; // 1 once a file failed to decode under the skip policy
    private readonly List<string> _corruptFiles = [];
    private readonly int _height, _width, _channels;

    public ImageFolder(string directory, ImageFolderOptions? options = null, Subset subset = Subset.All)
        : this(Scan(directory, options ?? new ImageFolderOptions()), subset) { }

    private ImageFolder(ScanResult scan, Subset subset)
    {
        var o = scan.Options;
        if (subset != Subset.All && o.ValidationSplit == 0)
            throw new ArgumentException($"Subset.{subset} needs ImageFolderOptions.ValidationSplit > 0 to say how much of each class to hold out.", nameof(subset));
        Directory = scan.Directory;
        Options = o;
        Subset = subset;
        ClassNames = scan.Classes;
        var indices = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int k = 0; k < scan.Classes.Length; k++) indices[scan.Classes[k]] = k;
        ClassIndices = indices;
        NonImageFiles = scan.NonImages;

        // Keras' split: the first ValidationSplit fraction of each class's sorted files validates.
        var files = new List<string>();
        var labels = new List<int>();
        for (int k = 0; k < scan.Files.Length; k++)
        {
            var list = scan.Files[k];
            int cut = (int)(o.ValidationSplit * list.Count);
            int start = subset == Subset.Training ? cut : 0;
            int stop = subset == Subset.Validation ? cut : list.Count;
            for (int i = start; i < stop; i++)
            {
                files.Add(list[i]);
                labels.Add(k);
            }
        }
        _files = [.. files];
        _labels = [.. labels];
        (_height, _width) = o.TargetSize;
        _channels = ImageLoader.Channels(o.ColorMode);
        SampleShape = [_height, _width, _channels];
        SampleSize = checked(_height * _width * _channels);
        TargetSize = o.ClassMode == ClassMode.Categorical ? Math.Max(1, ClassNames.Count) : 1;
        _cache = o.CacheImages ? new byte[]?[_files.Length] : null;
        _corrupt = new int[_files.Length];
    }

    /// <summary>Keras' <c>validation_split</c> + <c>subset</c>: the training and validation parts of one folder, scanned once.</summary>
    public static (ImageFolder Training, ImageFolder Validation) Split(string directory, ImageFolderOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (!(options.ValidationSplit > 0 && options.ValidationSplit < 1))
            throw new ArgumentOutOfRangeException(nameof(options), options.ValidationSplit, "Split needs 0 < ValidationSplit < 1.");
        var scan = Scan(directory, options);
        return (new ImageFolder(scan, Subset.Training), new ImageFolder(scan, Subset.Validation));
    }

    public string Directory { get; }
    public ImageFolderOptions Options { get; }
    public Subset Subset { get; }

    /// <summary>Class names in label order (Keras' <c>class_indices</c> keys, sorted).</summary>
    public IReadOnlyList<string> ClassNames { get; }

    /// <summary>Class name → label index, Keras' <c>class_indices</c>.</summary>
    public IReadOnlyDictionary<string, int> ClassIndices { get; }

    /// <summary>Full paths of the images, in label-then-path order (Keras' <c>filepaths</c>).</summary>
    public IReadOnlyList<string> Files => _files;

    /// <summary>Class index of each of <see cref="Files"/> (Keras' <c>classes</c>).</summary>
    public IReadOnlyList<int> Labels => _labels;

    /// <summary>Files in the class folders that were skipped for not having an image extension.</summary>
    public IReadOnlyList<string> NonImageFiles { get; }

    /// <summary>Files that failed to decode and were skipped so far (under <see cref="CorruptImagePolicy.Skip"/>).</summary>
    public IReadOnlyList<string> CorruptFiles
    {
        get { lock (_corruptFiles) return [.. _corruptFiles]; }
    }

    public int Count => _files.Length;
    public int[] SampleShape { get; }
    public int SampleSize { get; }
    public int TargetSize { get; }

    /// <summary>Keras' line: "Found 2000 images belonging to 2 classes."</summary>
    public override string ToString() =>
        $"Found {Count} images belonging to {ClassNames.Count} classes." + (NonImageFiles.Count > 0 ? $" Skipped {NonImageFiles.Count} non-image file(s)." : "");

    public bool TryRead(int index, Span<float> features, Span<float> targets)
    {
        if ((uint)index >= (uint)_files.Length)
            throw new ArgumentOutOfRangeException(nameof(index), index, $"{Directory} has {_files.Length} images.");
        if (features.Length != SampleSize || targets.Length != TargetSize)
            throw new ArgumentException($"An image sample is {SampleSize} features and {TargetSize} target(s); got spans of {features.Length} and {targets.Length}.");
        if (Volatile.Read(ref _corrupt[index]) != 0) return false;
        ReadOnlySpan<byte> pixels;
        byte[]? cached = _cache is null ? null : Volatile.Read(ref _cache[index]);
        if (cached is not null) pixels = cached;
        else
        {
            if (t_pixels is null || t_pixels.Length < SampleSize) t_pixels = new byte[SampleSize];
            var buffer = t_pixels.AsSpan(0, SampleSize);
            try
            {
                ImageLoader.LoadBytes(_files[index], buffer, _height, _width, Options.ColorMode, Options.Interpolation, Options.MaxImagePixels);
            }
            catch (InvalidDataException e) when (Options.OnCorruptImage == CorruptImagePolicy.Skip)
            {
                MarkCorrupt(index, e.Message);
                return false;
            }
            catch (InvalidDataException e)
            {
                throw new InvalidDataException(
                    $"{e.Message} Remove it, or set OnCorruptImage = CorruptImagePolicy.Skip to leave such files out with a warning.", e);
            }
            if (_cache is not null) Volatile.Write(ref _cache[index], buffer.ToArray());
            pixels = buffer;
        }
        ImageLoader.ToFloats(pixels, features, (float)Options.Rescale);
        WriteTarget(_labels[index], targets);
        return true;
    }

    /// <summary>
    /// Shuffled (when <see cref="ImageFolderOptions.Shuffle"/>) batches of
    /// <see cref="ImageFolderOptions.BatchSize"/>, decoded by <see cref="ImageFolderOptions.Threads"/>
    /// background threads <see cref="ImageFolderOptions.PrefetchBatches"/> batches ahead. Dispose it when done.
    /// </summary>
    public PrefetchPipeline Batches()
    {
        var p = Pipeline.From(this);
        if (Options.Shuffle) p = p.Shuffle(Math.Max(1, Count), Options.Seed);
        return p.Batch(Options.BatchSize).Prefetch(Options.PrefetchBatches, Options.Threads);
    }

    /// <summary>Decodes every image into one in-memory dataset (on <see cref="ImageFolderOptions.Threads"/> threads), in <see cref="Files"/> order.</summary>
    public Dataset ToDataset()
    {
        long total = (long)Count * SampleSize;
        if (total > Array.MaxLength)
            throw new InvalidOperationException(
                $"{Directory}: {Count} images of {_height}×{_width}×{_channels} are {total:N0} floats, more than one array holds; stream them with Batches() instead.");
        var features = new float[total];
        var targets = new float[(long)Count * TargetSize];
        var ok = new bool[Count];
        try
        {
            Parallel.For(0, Count, new ParallelOptions { MaxDegreeOfParallelism = Options.Threads }, i =>
                ok[i] = TryRead(i, features.AsSpan(i * SampleSize, SampleSize), targets.AsSpan(i * TargetSize, TargetSize)));
        }
        catch (AggregateException e) when (e.InnerExceptions.Count > 0)
        {
            // The same error Batches() gives: the first file's, not a wrapper around it.
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(e.InnerExceptions[0]).Throw();
        }
        int kept = 0;
        for (int i = 0; i < Count; i++)
        {
            if (!ok[i]) continue;
            if (kept != i)
            {
                features.AsSpan(i * SampleSize, SampleSize).CopyTo(features.AsSpan(kept * SampleSize));
                targets.AsSpan(i * TargetSize, TargetSize).CopyTo(targets.AsSpan(kept * TargetSize));
            }
            kept++;
        }
        if (kept < Count)
        {
            features = features[..(kept * SampleSize)];
            targets = targets[..(kept * TargetSize)];
        }
        return new Dataset(features, targets, SampleShape, TargetSize);
    }

    private void WriteTarget(int label, Span<float> targets)
    {
        if (Options.ClassMode == ClassMode.Categorical)
        {
            targets.Clear();
            targets[label] = 1f;
        }
        else targets[0] = label;
    }

    private void MarkCorrupt(int index, string reason)
    {
        if (Interlocked.Exchange(ref _corrupt[index], 1) != 0) return;
        lock (_corruptFiles)
        {
            _corruptFiles.Add(_files[index]);
            (Options.Warnings ?? Console.Error).WriteLine($"Warning: skipped a corrupt image: {reason}");
        }
    }

    private sealed record ScanResult(string Directory, ImageFolderOptions Options, string[] Classes, List<string>[] Files, string[] NonImages);

    private static ScanResult Scan(string directory, ImageFolderOptions o)
    {
        ArgumentNullException.ThrowIfNull(directory);
        ArgumentNullException.ThrowIfNull(o);
        CheckOptions(o);
        if (!System.IO.Directory.Exists(directory))
            throw new DirectoryNotFoundException($"{directory}: no such folder. An image folder holds one subfolder per class (e.g. {Path.Combine(directory, "cats")}, {Path.Combine(directory, "dogs")}).");
        string[] classes;
        if (o.Classes is not null)
        {
            classes = [.. o.Classes];
            foreach (string c in classes)
                if (!System.IO.Directory.Exists(Path.Combine(directory, c)))
                    throw new DirectoryNotFoundException($"{Path.Combine(directory, c)}: class '{c}' was asked for, but there is no such subfolder.");
        }
        else
        {
            var names = new List<string>();
            foreach (string d in System.IO.Directory.EnumerateDirectories(directory))
            {
                string name = Path.GetFileName(d);
                if (!name.StartsWith('.')) names.Add(name);
            }
            names.Sort(StringComparer.Ordinal);
            classes = [.. names];
        }
        if (classes.Length == 0)
        {
            bool loose = false;
            foreach (string f in System.IO.Directory.EnumerateFiles(directory))
                if (ImageLoader.HasImageExtension(f)) { loose = true; break; }
            throw new InvalidDataException(loose
                ? $"{directory}: the images lie directly in the folder, but each class needs its own subfolder ({Path.Combine(directory, "<class>", "image.jpg")})."
                : $"{directory}: no class subfolders; an image folder holds one subfolder per class.");
        }
        if (o.ClassMode == ClassMode.Binary && classes.Length != 2)
            throw new InvalidDataException($"{directory}: ClassMode.Binary needs exactly 2 classes, but there are {classes.Length} ({string.Join(", ", classes)}).");

        var files = new List<string>[classes.Length];
        var nonImages = new List<string>();
        // Real paths of the folders walked so far: a symbolic link back up the tree (or to a
        // folder already read) is walked once, not forever, and no image is counted twice.
        var visited = new HashSet<string>(StringComparer.Ordinal);
        for (int k = 0; k < classes.Length; k++)
        {
            files[k] = [];
            CollectFiles(Path.Combine(directory, classes[k]), files[k], nonImages, visited);
        }
        return new ScanResult(directory, o, classes, files, [.. nonImages]);
    }

    // Keras walks each class folder recursively, folders by path and files by name.
    private static void CollectFiles(string folder, List<string> images, List<string> others, HashSet<string> visited)
    {
        if (!visited.Add(RealPath.Of(folder))) return;
        var names = new List<string>(System.IO.Directory.EnumerateFiles(folder));
        names.Sort(StringComparer.Ordinal);
        foreach (string f in names)
            (ImageLoader.HasImageExtension(f) ? images : others).Add(f);
        var subfolders = new List<string>(System.IO.Directory.EnumerateDirectories(folder));
        subfolders.Sort(StringComparer.Ordinal);
        foreach (string d in subfolders)
            if (!Path.GetFileName(d).StartsWith('.')) CollectFiles(d, images, others, visited);
    }

    private static void CheckOptions(ImageFolderOptions o)
    {
        if (o.TargetSize.Height <= 0 || o.TargetSize.Width <= 0)
            throw new ArgumentOutOfRangeException(nameof(o), o.TargetSize, "TargetSize must be positive in both dimensions.");
        if ((long)o.TargetSize.Height * o.TargetSize.Width * ImageLoader.Channels(o.ColorMode) > Array.MaxLength)
            throw new ArgumentOutOfRangeException(nameof(o), o.TargetSize, "TargetSize is too large: one image of it would not fit one array.");
        if (o.MaxImagePixels <= 0) throw new ArgumentOutOfRangeException(nameof(o), o.MaxImagePixels, "MaxImagePixels must be positive.");
        if (o.BatchSize <= 0) throw new ArgumentOutOfRangeException(nameof(o), o.BatchSize, "BatchSize must be positive.");
        if (o.Threads <= 0) throw new ArgumentOutOfRangeException(nameof(o), o.Threads, "Threads must be at least 1.");
        if (o.PrefetchBatches <= 0) throw new ArgumentOutOfRangeException(nameof(o), o.PrefetchBatches, "PrefetchBatches must be at least 1.");
        if (!(o.ValidationSplit >= 0 && o.ValidationSplit < 1)) throw new ArgumentOutOfRangeException(nameof(o), o.ValidationSplit, "ValidationSplit must be in [0, 1).");
        if (!float.IsFinite((float)o.Rescale)) throw new ArgumentOutOfRangeException(nameof(o), o.Rescale, "Rescale must be finite.");
    }
}
