using System;
using System.Collections.Generic;
using System.ComponentModel;

namespace Kiln;

/// <summary>Each layer's output during one forward pass, for a caller that asks (Keras' <c>layer.output</c>).</summary>
public abstract partial class Model
{
    private ILayerOutputObserver? _observer;

    // Per layer whose output exists, the view layers (Flatten, Reshape) that show the same memory, views of views included; built on first use.
    private Dictionary<string, string[]>? _viewsOf;

    /// <summary>
    /// An inference forward pass (as <see cref="Forward(ReadOnlySpan{float}, int, bool)"/> with
    /// <c>training: false</c>) that hands <paramref name="observer"/> each layer's output as soon as
    /// its kernel has written it. Kiln fuses layers into kernels (the summary's Kernel column): a
    /// kernel's output is its last layer's, so the layers before it in the same kernel
    /// (<c>conv2d</c> and <c>batch_normalization</c> in a conv + BN + ReLU kernel) have no output of
    /// their own and are not reported; a view (Flatten, Reshape) is reported with the values of the
    /// layer it reads (a view of a [Sequential] model's declared input, with the input as given). Nothing changes in the model: it is the same pass <see cref="Predict(ReadOnlySpan{float}, int)"/> runs.
    /// </summary>
    public ReadOnlySpan<float> Forward(ReadOnlySpan<float> input, int n, ILayerOutputObserver observer)
    {
        ArgumentNullException.ThrowIfNull(observer);
        _viewsOf ??= ViewsOf(Description.Layers);
        _observer = observer;
        try
        {
            // Views of the declared input of a [Sequential] model (no layer of its own) show the input itself.
            // Its inbound name is Inputs[0]'s ("input", or "input_1" ... when a layer has that name), never a layer's.
            string declared = Description.Inputs[0].Name;
            if (!HasLayer(declared) && _viewsOf.TryGetValue(declared, out var views))
            {
                CheckBatch(n);
                CheckLength(nameof(input), input.Length, n, Description.InputShape, "input");
                foreach (string view in views) observer.OnLayerOutput(view, input);
            }
            return Forward(input, n, training: false);
        }
        finally
        {
            _observer = null;
        }
    }

    /// <summary>
    /// Whether the output of layer <paramref name="index"/> of <paramref name="layers"/> exists as its own tensor and
    /// <see cref="Forward(ReadOnlySpan{float}, int, ILayerOutputObserver)"/> reports it: the last
    /// layer of its kernel, or a view.
    /// </summary>
    internal static bool HasOwnOutput(IReadOnlyList<LayerInfo> layers, int index)
    {
        ArgumentNullException.ThrowIfNull(layers);
        var layer = layers[index];
        if (layer.Kernel is "view" or "") return true;
        for (int i = index + 1; i < layers.Count; i++)
            if (layers[i].Kernel == layer.Kernel) return false;
        return true;
    }

    /// <summary>Called by the generated forward pass after each kernel: hands its output to the caller that asked, if any.</summary>
    [EditorBrowsable(EditorBrowsableState.Never)]
    protected void Observe(string layer, ReadOnlySpan<float> output)
    {
        var observer = _observer;
        if (observer is null) return;
        observer.OnLayerOutput(layer, output);
        if (_viewsOf!.TryGetValue(layer, out var views))
            foreach (string view in views) observer.OnLayerOutput(view, output);
    }

    /// <summary>
    /// Whether a caller asked for layer outputs in this pass: the generated forward then writes every
    /// kernel's output, even one inference otherwise skips (a convolution's, when it does the max pooling after it in its store).
    /// </summary>
    [EditorBrowsable(EditorBrowsableState.Never)]
    protected bool Observing => _observer is not null;

    private bool HasLayer(string name)
    {
        foreach (var l in Description.Layers)
            if (l.Name == name) return true;
        return false;
    }

    private static Dictionary<string, string[]> ViewsOf(IReadOnlyList<LayerInfo> layers)
    {
        var byName = new Dictionary<string, LayerInfo>(StringComparer.Ordinal);
        foreach (var l in layers) byName[l.Name] = l;
        var views = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        foreach (var l in layers)
        {
            if (l.Kernel != "view" || l.Inbound.Length != 1) continue;
            // A view of a view shows the memory of the first layer up the chain that has its own.
            string source = l.Inbound[0];
            while (byName.TryGetValue(source, out var up) && up.Kernel == "view" && up.Inbound.Length == 1) source = up.Inbound[0];
            if (!views.TryGetValue(source, out var list)) views[source] = list = [];
            list.Add(l.Name);
        }
        var result = new Dictionary<string, string[]>(StringComparer.Ordinal);
        foreach (var (source, list) in views) result[source] = [.. list];
        return result;
    }
}
