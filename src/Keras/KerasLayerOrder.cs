using System.Collections.Generic;
using System.Globalization;
using System.Text.RegularExpressions;

namespace Kiln.Keras;

/// <summary>
/// A Kiln model's layers as Keras would list them in <c>model.layers</c> for the same model, and
/// the keys Keras 3 gives them in a <c>.weights.h5</c> file.
/// </summary>
internal static partial class KerasLayerOrder
{
    /// <summary>
    /// keras/src/ops/function.py <c>map_graph</c>: layers by decreasing depth (the longest path to
    /// an output), ties broken by the order a depth-first walk from the outputs first reaches them.
    /// For a chain this is the declaration order; for a graph it can differ (a branch declared
    /// first may come later). An input no output reads comes first, as Keras adds it at depth 0.
    /// </summary>
    public static List<LayerInfo> Of(Model model)
    {
        var layers = model.Layers;
        var byName = new Dictionary<string, LayerInfo>(layers.Count);
        foreach (var l in layers) byName[l.Name] = l;
        var outputs = new List<string>();
        foreach (var o in model.Description.Outputs)
            if (byName.ContainsKey(o.Name)) outputs.Add(o.Name);
        if (outputs.Count == 0 && layers.Count > 0) outputs.Add(layers[^1].Name);

        var index = new Dictionary<string, int>();
        var finished = new List<string>(); // post-order: every layer after the layers it reads
        var done = new HashSet<string>();
        void Visit(string name)
        {
            if (!byName.TryGetValue(name, out var layer) || done.Contains(name)) return;
            index.TryAdd(name, index.Count);
            foreach (string inbound in layer.Inbound) Visit(inbound);
            done.Add(name);
            finished.Add(name);
        }
        foreach (string o in outputs) Visit(o);

        var depth = new Dictionary<string, int>();
        for (int i = finished.Count - 1; i >= 0; i--)
        {
            string name = finished[i];
            int d = depth.GetValueOrDefault(name);
            depth[name] = d;
            foreach (string inbound in byName[name].Inbound)
                if (byName.ContainsKey(inbound)) depth[inbound] = System.Math.Max(depth.GetValueOrDefault(inbound), d + 1);
        }

        var order = new List<LayerInfo>(layers.Count);
        foreach (var l in layers)
            if (index.ContainsKey(l.Name) || l.Kind == "InputLayer") order.Add(l);
        // Unreached inputs: depth 0, index -1, as map_graph adds them.
        order.Sort((a, b) =>
        {
            int da = depth.GetValueOrDefault(a.Name), db = depth.GetValueOrDefault(b.Name);
            return da != db ? db.CompareTo(da) : index.GetValueOrDefault(a.Name, -1).CompareTo(index.GetValueOrDefault(b.Name, -1));
        });
        return order;
    }

    /// <summary>
    /// keras/src/saving/saving_lib.py <c>_save_container_state</c>: each entry of
    /// <c>model.layers</c> is keyed by its class in snake case (<c>Conv2D</c> → <c>conv2d</c>,
    /// <c>ReLU</c> → <c>re_lu</c>), numbered per class in that order (<c>conv2d</c>,
    /// <c>conv2d_1</c>, ...), whatever the layer's name.
    /// </summary>
    public static Dictionary<string, string> Keras3Keys(IReadOnlyList<LayerInfo> kerasOrder)
    {
        var keys = new Dictionary<string, string>(kerasOrder.Count);
        var used = new Dictionary<string, int>();
        foreach (var l in kerasOrder)
        {
            string baseName = SnakeCase(l.Kind);
            if (used.TryGetValue(baseName, out int n))
            {
                used[baseName] = n + 1;
                keys[l.Name] = baseName + "_" + (n + 1).ToString(CultureInfo.InvariantCulture);
            }
            else
            {
                used[baseName] = 0;
                keys[l.Name] = baseName;
            }
        }
        return keys;
    }

    /// <summary>keras/src/utils/naming.py <c>to_snake_case</c>.</summary>
    public static string SnakeCase(string name)
    {
        name = NonWord().Replace(name, "");
        name = WordStart().Replace(name, "$1_$2");
        return LowerUpper().Replace(name, "$1_$2").ToLowerInvariant();
    }

    [GeneratedRegex(@"\W+")]
    private static partial Regex NonWord();

    [GeneratedRegex("(.)([A-Z][a-z]+)")]
    private static partial Regex WordStart();

    [GeneratedRegex("([a-z])([A-Z])")]
    private static partial Regex LowerUpper();
}
