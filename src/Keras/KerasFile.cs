using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.IO.Compression;
using System.Linq;
using PureHDF;
using PureHDF.VOL.Native;

namespace Kiln.Keras;

/// <summary>Which of Keras' two HDF5 weight layouts a file uses.</summary>
internal enum KerasLayout
{
    /// <summary><c>save_weights('x.h5')</c>, or <c>model.save('x.h5')</c> under <c>model_weights</c>: groups named by layer, <c>weight_names</c> attributes.</summary>
    Legacy,

    /// <summary>Keras 3's <c>.weights.h5</c> (and the weights inside a <c>.keras</c> archive): <c>layers/&lt;class key&gt;/vars/&lt;i&gt;</c>.</summary>
    Keras3,
}

/// <summary>One weight of a layer in the file: its name where the layout records one (<c>kernel</c>), its HDF5 path and shape.</summary>
internal sealed record FileVariable(string? Name, string Path, int[]? Shape, IH5Dataset Dataset);

/// <summary>
/// One layer of the file with weights. <paramref name="Key"/> is how the file addresses it: the
/// layer's name in the legacy layout, the class-numbered key (<c>conv2d_1</c>) under Keras 3's
/// <c>layers/</c>. <paramref name="Name"/> is the layer's name where the file records it (legacy
/// always; Keras 3 from 3.6 on, as the <c>name</c> attribute of each <c>vars</c> group).
/// <paramref name="Keyed"/> is false for a Keras 3 group outside <c>layers/</c> (a subclassed
/// model's attribute, or a metric's state), which only its name can relate to a layer.
/// </summary>
internal sealed record FileLayer(string Key, string? Name, string Path, IReadOnlyList<FileVariable> Variables, bool Keyed = true);

/// <summary>
/// A Keras HDF5 weights file, opened with PureHDF: its layout and its layers with weights, in the
/// file's order (legacy: <c>layer_names</c>, which is Keras' <c>model.layers</c>; Keras 3: the
/// groups' order). Datasets are read only when asked, after their shapes matched.
/// </summary>
internal sealed class KerasFile : IDisposable
{
    private readonly IDisposable _file;
    private readonly Stream? _archive;

    private KerasFile(IDisposable file, Stream? archive, KerasLayout layout, string origin, IReadOnlyList<FileLayer> layers)
    {
        _file = file;
        _archive = archive;
        Layout = layout;
        Origin = origin;
        Layers = layers;
    }

    public KerasLayout Layout { get; }

    /// <summary>What wrote the file, as far as it says (<c>written by Keras 2.15.0, tensorflow backend</c>).</summary>
    public string Origin { get; }

    public IReadOnlyList<FileLayer> Layers { get; }

    /// <summary>Opens <paramref name="path"/>: a <c>.h5</c>/<c>.weights.h5</c> file, or a <c>.keras</c> archive's <c>model.weights.h5</c>.</summary>
    /// <exception cref="InvalidDataException">Not a Keras weights file, truncated, or unreadable; the message names the file and says why.</exception>
    public static KerasFile Open(string path, Func<string, Exception> bad)
    {
        Stream? archiveEntry = null;
        NativeFile? h5 = null;
        try
        {
            if (path.EndsWith(".keras", StringComparison.OrdinalIgnoreCase))
            {
                archiveEntry = ArchiveWeights(path, bad);
                var head = new byte[(int)Math.Min(archiveEntry.Length, Hdf5Superblock.HeadLength)];
                archiveEntry.ReadExactly(head);
                archiveEntry.Position = 0;
                if (Hdf5Superblock.Check(head, archiveEntry.Length) is string why) throw bad($"its model.weights.h5: {why}");
                h5 = H5File.Open(archiveEntry, leaveOpen: true);
            }
            else
            {
                using (var stream = File.OpenRead(path))
                {
                    var head = new byte[(int)Math.Min(stream.Length, Hdf5Superblock.HeadLength)];
                    stream.ReadExactly(head);
                    if (Hdf5Superblock.Check(head, stream.Length) is string why)
                        throw bad(IsTensorFlowCheckpoint(path)
                            ? "it is a TensorFlow checkpoint (what Keras 2's save_weights writes to a name without .h5), not HDF5; save the weights again to a name ending in .h5"
                            : why);
                }
                h5 = H5File.OpenRead(path);
            }
            var (layout, origin, layers) = Read(h5, bad);
            return new KerasFile(h5, archiveEntry, layout, origin, layers);
        }
        catch
        {
            h5?.Dispose();
            archiveEntry?.Dispose();
            throw;
        }
    }

    private static bool IsTensorFlowCheckpoint(string path)
    {
        string name = Path.GetFileName(path);
        return name.EndsWith(".index", StringComparison.Ordinal) || name.Contains(".data-0", StringComparison.Ordinal);
    }

    public void Dispose()
    {
        _file.Dispose();
        _archive?.Dispose();
    }

    /// <summary>
    /// The values of <paramref name="v"/> as float: float32 as stored, float64 rounded to the
    /// nearest float32 (as Keras assigns to a float32 variable), float16 widened exactly. Null,
    /// with <paramref name="problem"/> saying why, for any other type.
    /// </summary>
    public static float[]? Values(FileVariable v, int count, out string? problem)
    {
        problem = null;
        var type = v.Dataset.Type;
        if (type.Class != H5DataTypeClass.FloatingPoint || type.Size is not (2 or 4 or 8))
        {
            problem = $"'{v.Path}' holds {Describe(type)} values; Kiln reads float16, float32 and float64 weights";
            return null;
        }
        float[] values = type.Size switch
        {
            4 => v.Dataset.Read<float[]>(),
            8 => Array.ConvertAll(v.Dataset.Read<double[]>(), d => (float)d),
            _ => Array.ConvertAll(v.Dataset.Read<Half[]>(), h => (float)h),
        };
        if (values.Length != count)
        {
            problem = $"'{v.Path}' holds {values.Length} values where its shape says {count}";
            return null;
        }
        return values;
    }

    private static string Describe(IH5DataType type) => type.Class switch
    {
        H5DataTypeClass.FixedPoint => $"{type.Size * 8}-bit integer",
        H5DataTypeClass.FloatingPoint => $"{type.Size * 8}-bit floating-point",
        H5DataTypeClass.Opaque => $"opaque {type.Size}-byte (how bfloat16 is stored: cast the model to float32 in Keras before saving)",
        _ => type.Class.ToString(),
    };

    private static Stream ArchiveWeights(string path, Func<string, Exception> bad)
    {
        ZipArchive zip;
        try
        {
            zip = ZipFile.OpenRead(path);
        }
        catch (InvalidDataException e)
        {
            throw bad($"it is named .keras but is not a zip archive ({e.Message})");
        }
        using (zip)
        {
            var entry = zip.GetEntry("model.weights.h5")
                ?? throw bad("it is a .keras archive without model.weights.h5 (Keras 3 writes its weights there)");
            if (entry.Length > Array.MaxLength)
                throw bad($"its model.weights.h5 is {entry.Length} bytes, more than one array holds; extract it and load the .weights.h5 file");
            var copy = new MemoryStream((int)entry.Length);
            using (var s = entry.Open()) s.CopyTo(copy);
            copy.Position = 0;
            return copy;
        }
    }

    private static (KerasLayout, string, IReadOnlyList<FileLayer>) Read(NativeFile h5, Func<string, Exception> bad)
    {
        // Keras 2 model.save('x.h5') nests the weights under model_weights, beside model_config and optimizer_weights.
        IH5Group root = h5;
        string prefix = "/";
        if (h5.LinkExists("model_weights"))
        {
            root = h5.Group("model_weights");
            prefix = "/model_weights/";
        }
        if (HasChunkedAttribute(root, "layer_names"))
            return ReadLegacy(root, prefix, bad);
        // Keras 2.13's own .weights.h5 called the layer list _layer_checkpoint_dependencies.
        string? list = new[] { "layers", "_layer_checkpoint_dependencies" }.FirstOrDefault(h5.LinkExists);
        var all = list is null ? [] : ReadKeras3(h5.Group(list), "/" + list + "/", bad);
        // A subclassed model also saves the layers it holds in attributes under the attribute's
        // name, where only the layer name Keras 3.6+ records relates them to the model's layers.
        foreach (var child in h5.Children())
            if (child is IH5Group group && child.Name != list && child.Name is not ("optimizer" or "vars"))
                CollectVars(group, "/" + child.Name, all);
        if (list is null && all.Count == 0)
            throw bad("it is HDF5 but not a Keras weights file: it has neither a 'layer_names' attribute (Keras 2 save_weights / model.save to .h5) nor a 'layers' group (Keras 3 .weights.h5)");
        return (KerasLayout.Keras3, "Keras 3 .weights.h5 layout", all);
    }

    /// <summary>Every <c>vars</c> group with variables under <paramref name="group"/>, with the layer name Keras 3.6+ records on it.</summary>
    private static void CollectVars(IH5Group group, string path, List<FileLayer> into)
    {
        foreach (var child in group.Children())
        {
            if (child is not IH5Group sub) continue;
            if (child.Name == "vars")
            {
                var variables = Variables(sub, path, null);
                if (variables is { Count: > 0 }) into.Add(new FileLayer(path.TrimStart('/'), StringAttribute(sub, "name"), path, variables, Keyed: false));
            }
            else
            {
                CollectVars(sub, path + "/" + child.Name, into);
            }
        }
    }

    private static (KerasLayout, string, IReadOnlyList<FileLayer>) ReadLegacy(IH5Group root, string prefix, Func<string, Exception> bad)
    {
        string version = StringAttribute(root, "keras_version") ?? "1";
        string? backend = StringAttribute(root, "backend");
        string origin = $"written by Keras {version}" + (backend is null ? "" : $", {backend} backend");
        var layers = new List<FileLayer>();
        foreach (string name in ChunkedStrings(root, "layer_names", prefix, bad))
        {
            string path = prefix + name;
            if (!root.LinkExists(name)) throw bad($"'layer_names' lists '{name}', but the file has no group '{path}'");
            var group = root.Group(name);
            var variables = new List<FileVariable>();
            foreach (string weight in ChunkedStrings(group, "weight_names", path, bad))
            {
                string at = path + "/" + weight;
                if (!group.LinkExists(weight)) throw bad($"layer '{name}' lists weight '{weight}', but the file has no dataset '{at}'");
                var dataset = group.Dataset(weight);
                variables.Add(new FileVariable(WeightName(weight), at, Shape(dataset), dataset));
            }
            if (variables.Count > 0) layers.Add(new FileLayer(name, name, path, variables));
        }
        return (KerasLayout.Legacy, origin, layers);
    }

    private static List<FileLayer> ReadKeras3(IH5Group layersGroup, string prefix, Func<string, Exception> bad)
    {
        var layers = new List<FileLayer>();
        foreach (var child in layersGroup.Children())
        {
            if (child is not IH5Group group) continue;
            string path = prefix + child.Name;
            // A model nested as a layer keeps its own layers/... below; Kiln models have no nesting.
            if (group.LinkExists("layers"))
                throw bad($"'{path}' is a model nested inside the model; Kiln reads flat models only (rebuild it without the nesting in Keras, or save the inner model's weights)");
            if (!group.LinkExists("vars")) continue;
            var vars = group.Group("vars");
            var variables = Variables(vars, path, bad)!;
            if (variables.Count > 0) layers.Add(new FileLayer(child.Name, StringAttribute(vars, "name"), path, variables));
        }
        return layers;
    }

    /// <summary>
    /// A <c>vars</c> group's variables in index order (0, 1, 2, ...: trainable, then the others).
    /// A group that does not hold them so is an error when <paramref name="bad"/> is given, else null.
    /// </summary>
    private static List<FileVariable>? Variables(IH5Group vars, string path, Func<string, Exception>? bad)
    {
        var indexed = new SortedDictionary<int, FileVariable>();
        foreach (var v in vars.Children())
        {
            if (!int.TryParse(v.Name, NumberStyles.None, CultureInfo.InvariantCulture, out int i) || v is not IH5Dataset dataset)
                return bad is null ? null : throw bad($"'{path}/vars/{v.Name}' is not a variable (Keras 3 names them 0, 1, 2, ...)");
            indexed[i] = new FileVariable(null, $"{path}/vars/{v.Name}", Shape(dataset), dataset);
        }
        int expected = 0;
        foreach (int i in indexed.Keys)
            if (i != expected++)
                return bad is null ? null : throw bad($"'{path}/vars' has no variable {expected - 1} before {i}");
        return indexed.Values.ToList();
    }

    /// <summary>'dense/kernel:0' (Keras 2) or 'dense/kernel' (Keras 3's legacy writer) → 'kernel'.</summary>
    private static string WeightName(string weight)
    {
        string last = weight[(weight.LastIndexOf('/') + 1)..];
        int colon = last.LastIndexOf(':');
        return colon > 0 && int.TryParse(last.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out _) ? last[..colon] : last;
    }

    private static int[]? Shape(IH5Dataset dataset)
    {
        var dims = dataset.Space.Dimensions;
        var shape = new int[dims.Length];
        long count = 1;
        for (int i = 0; i < dims.Length; i++)
        {
            if (dims[i] > int.MaxValue) return null;
            shape[i] = (int)dims[i];
            count *= shape[i];
            if (count > int.MaxValue) return null;
        }
        return shape;
    }

    private static bool HasChunkedAttribute(IH5Object o, string name) => o.AttributeExists(name) || o.AttributeExists(name + "0");

    /// <summary>
    /// A list of strings as Keras stores it (load_attributes_from_hdf5_group): one attribute, or,
    /// when it would pass HDF5's 64 KB header limit, <c>name0</c>, <c>name1</c>, ... An empty list is
    /// written as an empty float64 array (numpy's <c>asarray([])</c>).
    /// </summary>
    private static List<string> ChunkedStrings(IH5Object o, string name, string path, Func<string, Exception> bad)
    {
        var list = new List<string>();
        if (o.AttributeExists(name))
        {
            list.AddRange(Strings(o.Attribute(name), path, bad));
            return list;
        }
        for (int i = 0; o.AttributeExists(name + i.ToString(CultureInfo.InvariantCulture)); i++)
            list.AddRange(Strings(o.Attribute(name + i.ToString(CultureInfo.InvariantCulture)), path, bad));
        return list;
    }

    private static string[] Strings(IH5Attribute a, string path, Func<string, Exception> bad)
    {
        if (a.Space.Dimensions.Length == 1 && a.Space.Dimensions[0] == 0) return [];
        if (a.Type.Class is not (H5DataTypeClass.String or H5DataTypeClass.VariableLength))
            throw bad($"attribute '{a.Name}' of '{path}' holds {a.Type.Class} values, not names");
        return a.Space.Dimensions.Length == 0 ? [a.Read<string>()] : a.Read<string[]>();
    }

    private static string? StringAttribute(IH5Object o, string name)
    {
        if (!o.AttributeExists(name)) return null;
        var a = o.Attribute(name);
        if (a.Type.Class is not (H5DataTypeClass.String or H5DataTypeClass.VariableLength)) return null;
        return a.Space.Dimensions.Length == 0 ? a.Read<string>() : a.Read<string[]>().FirstOrDefault();
    }
}
