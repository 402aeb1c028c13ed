using System;
using System.Collections.Generic;

namespace Kiln;

/// <summary>
/// TensorBoard's activation histograms: runs the model once on the probe batch and writes a
/// histogram of each wanted layer's output as its kernel hands it over, tagged <c>layer/activations</c>.
/// The tags and the set of layers are fixed when training begins; a histogram epoch allocates
/// only the event records.
/// </summary>
internal sealed class ActivationRecorder : ILayerOutputObserver
{
    private readonly Dictionary<string, string> _tags = new(StringComparer.Ordinal);
    private EventFileWriter? _writer;
    private Histogram? _histogram;
    private long _step;

    public ActivationRecorder(ModelDescription model, IReadOnlyList<string>? layers)
    {
        var all = model.Layers;
        if (all.Count == 0)
            throw new InvalidOperationException($"{model.Name} has no layer list (a model written by hand), so TensorBoard has no layer outputs to draw; turn activation histograms off.");
        var index = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int i = 0; i < all.Count; i++) index[all[i].Name] = i;
        if (layers is null)
        {
            for (int i = 0; i < all.Count; i++)
                if (Model.HasOwnOutput(all, i)) _tags[all[i].Name] = all[i].Name + "/activations";
            return;
        }
        foreach (string name in layers)
        {
            if (!index.TryGetValue(name, out int i))
                throw new ArgumentException($"TensorBoard: {model.Name} has no layer named '{name}'; its layers are {string.Join(", ", Names(all))}.", "activationLayers");
            if (!Model.HasOwnOutput(all, i))
                throw new ArgumentException(
                    $"TensorBoard: {model.Name}'s layer '{name}' runs fused inside kernel {all[i].Kernel} ({string.Join(" + ", KernelLayers(all, all[i].Kernel))}), so its output never exists on its own; ask for '{LastOf(all, all[i].Kernel)}', that kernel's output.",
                    "activationLayers");
            _tags[name] = name + "/activations";
        }
    }

    /// <summary>The layers drawn, in the model's order.</summary>
    public IEnumerable<string> Layers => _tags.Keys;

    public void Write(Model model, ProbeBatch probe, EventFileWriter writer, Histogram histogram, long step)
    {
        (_writer, _histogram, _step) = (writer, histogram, step);
        try
        {
            model.Forward(probe.Features.AsSpan(0, probe.Count * model.InputSize), probe.Count, this);
        }
        finally
        {
            (_writer, _histogram) = (null, null);
        }
    }

    void ILayerOutputObserver.OnLayerOutput(string layer, ReadOnlySpan<float> output)
    {
        if (_writer is null || !_tags.TryGetValue(layer, out string? tag)) return;
        _histogram!.Clear();
        _histogram.Add(output, tag);
        _writer.WriteHistogram(tag, _histogram, _step);
    }

    private static IEnumerable<string> Names(IReadOnlyList<LayerInfo> layers)
    {
        foreach (var l in layers) yield return "'" + l.Name + "'";
    }

    private static IEnumerable<string> KernelLayers(IReadOnlyList<LayerInfo> layers, string kernel)
    {
        foreach (var l in layers)
            if (l.Kernel == kernel) yield return l.Name;
    }

    private static string LastOf(IReadOnlyList<LayerInfo> layers, string kernel)
    {
        string last = "";
        foreach (var l in layers)
            if (l.Kernel == kernel) last = l.Name;
        return last;
    }
}
