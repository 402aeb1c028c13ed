using System;
using System.Collections.Generic;
using System.Linq;

namespace Kiln.Keras;

/// <summary>
/// Pairs a Kiln model's layers and weights with a Keras file's and checks every shape, collecting
/// all problems instead of stopping at the first; reads the paired datasets only when the shapes
/// all matched. Nothing here writes to the model.
/// </summary>
internal sealed class KerasMatching
{
    // Keras' variable order within a layer: trainable (kernel, bias; gamma, beta), then the rest.
    private static readonly string[] KerasOrder = ["kernel", "bias", "gamma", "beta", "moving_mean", "moving_variance", "mean", "variance"];

    private readonly Model _model;
    private readonly KerasFile _file;
    private readonly string _modelName;
    private readonly List<LayerInfo> _order;

    public KerasMatching(Model model, KerasFile file)
    {
        _model = model;
        _file = file;
        _modelName = model.Description.Name;
        _order = KerasLayerOrder.Of(model);
    }

    /// <summary>What does not fit, one line each, naming the layer, the tensor and the file's path.</summary>
    public List<string> Problems { get; } = [];

    /// <summary>How layers were paired, when it was not simply by name (for the error message).</summary>
    public string? How { get; private set; }

    /// <summary>The model's tensors with the file's values, once <see cref="Read"/> ran on every pair.</summary>
    public List<(TensorInfo Info, float[] Values)> Loaded { get; } = [];

    private sealed record KilnLayer(string Name, string Kind, List<TensorInfo> Weights);

    /// <summary>Each of the model's tensors that gets a value, with the file's variable for it.</summary>
    public List<(TensorInfo Info, FileVariable Variable)> Pair(bool byName)
    {
        var kiln = KilnLayers();
        var kilnByName = kiln.ToDictionary(k => k.Name, StringComparer.Ordinal);
        // A Keras 3 group outside layers/ counts only when it names a layer of the model.
        var file = _file.Layers.Where(f => f.Keyed || f.Name is not null && kilnByName.ContainsKey(f.Name)).ToList();
        var layers = new List<(KilnLayer Kiln, FileLayer File)>();
        bool namesKnown = file.All(f => f.Name is not null);

        if (byName)
        {
            How = "byName: only layers named alike are loaded";
            if (!namesKnown)
            {
                Problems.Add("byName needs the layers' names, which this file does not record (Keras 3 before 3.6 keys a .weights.h5 by layer class only); load it with byName: false");
                return [];
            }
            foreach (var f in file)
                if (kilnByName.TryGetValue(f.Name!, out var k)) layers.Add((k, f));
            if (layers.Count == 0)
                Problems.Add($"no layer of the file ({List(file.Select(f => f.Name!))}) has the name of a layer of {_modelName} with weights ({List(kiln.Select(k => k.Name))})");
        }
        else if (namesKnown && kiln.Count == file.Count && file.All(f => kilnByName.ContainsKey(f.Name!)) && file.Select(f => f.Name).Distinct().Count() == file.Count)
        {
            foreach (var f in file) layers.Add((kilnByName[f.Name!], f));
        }
        else if (_file.Layout == KerasLayout.Keras3)
        {
            How = "layers paired by Keras 3's keys, numbered per layer class in Keras' model.layers order"
                + (namesKnown ? ", since the file's layer names are not the model's" : "");
            var keys = KerasLayerOrder.Keras3Keys(_order);
            var fileByKey = file.Where(f => f.Keyed).ToDictionary(f => f.Key, StringComparer.Ordinal);
            foreach (var k in kiln)
            {
                if (!keys.TryGetValue(k.Name, out string? key))
                    Problems.Add($"layer '{k.Name}' has weights but is not among {_modelName}'s layers, so its Keras 3 key is unknown");
                else if (fileByKey.Remove(key, out var f))
                    layers.Add((k, f));
                else
                    Problems.Add($"layer '{k.Name}' ({k.Kind}) has weights, but the file has no 'layers/{key}/vars', where Keras 3 keeps the weights of this {k.Kind} layer");
            }
            foreach (var f in fileByKey.Values)
                Problems.Add($"the file has weights at '{f.Path}/vars'{(f.Name is null ? "" : $" (layer '{f.Name}')")}, which match no layer of {_modelName}");
            var unnamed = _file.Layers.Where(f => !f.Keyed && f.Name is null).Select(f => f.Path + "/vars").ToList();
            if (Problems.Count > 0 && unnamed.Count > 0)
                Problems.Add($"the file also has weights outside layers/ ({List(unnamed)}): a subclassed Keras model keeps layers in its attributes there, and before Keras 3.6 records no layer names to pair them by; save the weights with Keras 3.6 or later, or from a Sequential or functional model");
        }
        else
        {
            How = "layers paired by position among those with weights, as Keras' load_weights pairs an .h5 file, since the file's layer names are not the model's";
            if (kiln.Count != file.Count)
                Problems.Add($"the file has {file.Count} layers with weights ({List(file.Select(f => f.Key))}), but {_modelName} has {kiln.Count} ({List(kiln.Select(k => k.Name))})");
            else
                for (int i = 0; i < kiln.Count; i++) layers.Add((kiln[i], file[i]));
        }

        var pairs = new List<(TensorInfo, FileVariable)>();
        foreach (var (k, f) in layers) PairVariables(k, f, pairs);
        return pairs;
    }

    /// <summary>Reads one paired dataset into <see cref="Loaded"/>, or notes why it cannot be.</summary>
    public void Read(TensorInfo info, FileVariable variable)
    {
        try
        {
            var values = KerasFile.Values(variable, info.Length, out string? problem);
            if (problem is not null) Problems.Add($"tensor '{info.Name}': {problem}");
            else Loaded.Add((info, values!));
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            Problems.Add($"tensor '{info.Name}': '{variable.Path}' cannot be read ({e.GetType().Name}: {e.Message}); the file may be corrupt");
        }
    }

    private void PairVariables(KilnLayer k, FileLayer f, List<(TensorInfo, FileVariable)> pairs)
    {
        var vars = f.Variables.ToList();
        var expected = k.Weights;
        // Keras' Normalization keeps a scalar sample count beside mean and variance; Kiln's statistics are fixed.
        if (k.Kind == "Normalization" && vars.Count == expected.Count + 1 && vars[^1].Name is null or "count" && vars[^1].Shape is { Length: 0 })
            vars.RemoveAt(vars.Count - 1);

        var suffixes = expected.Select(Suffix).ToList();
        bool named = vars.All(v => v.Name is not null)
            && vars.Select(v => v.Name!).Distinct().Count() == vars.Count
            && vars.Count == expected.Count && vars.All(v => suffixes.Contains(v.Name!));
        if (!named && vars.Count != expected.Count)
        {
            string fileWeights = vars.All(v => v.Name is not null) ? List(vars.Select(v => v.Name!)) : string.Join(", ", vars.Select(v => v.Path));
            Problems.Add($"layer '{k.Name}' ({k.Kind}) has {Weights(expected.Count)} in {_modelName} ({List(suffixes)}) but {vars.Count} in the file at '{f.Path}' ({fileWeights}); does one use a bias, center or scale and the other not?");
            return;
        }
        for (int i = 0; i < expected.Count; i++)
        {
            var info = expected[i];
            var v = named ? vars.First(x => x.Name == suffixes[i]) : vars[i];
            if (v.Shape is null)
                Problems.Add($"tensor '{info.Name}': '{v.Path}' declares a shape too large to be a weight");
            else if (!v.Shape.AsSpan().SequenceEqual(info.Shape))
                Problems.Add($"tensor '{info.Name}' is {Shape(v.Shape)} in the file ('{v.Path}') but {Shape(info.Shape)} in {_modelName}");
            else
                pairs.Add((info, v));
        }
    }

    /// <summary>The model's layers with weights, in Keras' model.layers order, each with its tensors in Keras' variable order.</summary>
    private List<KilnLayer> KilnLayers()
    {
        var byLayer = new Dictionary<string, List<TensorInfo>>(StringComparer.Ordinal);
        var firstSeen = new List<string>();
        foreach (var t in _model.Description.Tensors)
        {
            string layer = LayerOf(t);
            if (!byLayer.TryGetValue(layer, out var list))
            {
                byLayer[layer] = list = [];
                firstSeen.Add(layer);
            }
            list.Add(t);
        }
        foreach (var list in byLayer.Values)
        {
            // A stable sort: Kiln lists trainable tensors before state, so unknown suffixes keep that order.
            var sorted = list.OrderBy(t => Rank(Suffix(t))).ToList();
            list.Clear();
            list.AddRange(sorted);
        }
        var layers = new List<KilnLayer>();
        var placed = new HashSet<string>(StringComparer.Ordinal);
        foreach (var l in _order)
            if (byLayer.TryGetValue(l.Name, out var weights) && placed.Add(l.Name)) layers.Add(new KilnLayer(l.Name, l.Kind, weights));
        // A description written by hand may list no layers: its tensors' order stands for Keras'.
        foreach (string name in firstSeen)
            if (placed.Add(name)) layers.Add(new KilnLayer(name, "layer", byLayer[name]));
        return layers;
    }

    private static int Rank(string suffix)
    {
        int i = Array.IndexOf(KerasOrder, suffix);
        return i < 0 ? KerasOrder.Length : i;
    }

    private static string LayerOf(TensorInfo t) => t.Name[..Math.Max(t.Name.LastIndexOf('/'), 0)];

    private static string Suffix(TensorInfo t) => t.Name[(t.Name.LastIndexOf('/') + 1)..];

    private static string List(IEnumerable<string> names)
    {
        var all = names.ToList();
        return all.Count <= 8 ? string.Join(", ", all) : string.Join(", ", all.Take(8)) + $", ... ({all.Count} in all)";
    }

    private static string Weights(int n) => n == 1 ? "1 weight" : $"{n} weights";

    private static string Shape(int[] shape) => "(" + string.Join(", ", shape) + ")";
}
