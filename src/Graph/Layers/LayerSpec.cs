using System;
using System.Collections.Generic;

namespace Kiln.Graph;

/// <summary>Where one typed field of a layer was written: the argument name the user wrote (for messages) and its span.</summary>
public sealed record ArgumentSite(string Field, string Written, SourceSpan? Location);

/// <summary>
/// A layer as the user wrote it, typed: one record per layer family (<see cref="DenseSpec"/>,
/// <see cref="ConvolutionSpec"/>, …) holds the arguments with their Keras defaults, the Keras
/// names, the shape rule, and the facts fusion and the emitter need. Passes read fields and match
/// on record types; nothing downstream looks an argument up by name. Value-equatable, so the
/// generator's pipeline caches.
/// </summary>
public abstract record LayerSpec
{
    public abstract LayerKind Kind { get; }

    /// <summary>Base name Keras gives a layer of this kind (snake case of its class): <c>dense</c>, <c>re_lu</c>.</summary>
    public abstract string BaseName { get; }

    /// <summary>The Keras class name shown in the summary's "Layer (type)" column.</summary>
    public virtual string KerasType => Kind.ToString();

    /// <summary>Which kind of kernel computes this layer (before fusion joins neighbours).</summary>
    public abstract KernelKind Kernel { get; }

    /// <summary>The activation this layer applies, as an argument (Dense, Conv2D) or as the layer itself.</summary>
    public virtual ActivationKind Activation => ActivationKind.Linear;

    /// <summary>The LeakyReLU slope when <see cref="Activation"/> is leaky, else 0.</summary>
    public virtual float Alpha => 0f;

    /// <summary>The shape rule: the output shape, weights and FLOPs for this input, or null after reporting why not.</summary>
    internal abstract LayerNode? Infer(LayerContext context);

    /// <summary>The display text of the attribute, e.g. <c>Dense(300, relu)</c>, for comments.</summary>
    public abstract string Describe(LayerNode node);

    /// <summary><c>From = "name"</c>: the layer this one reads instead of the attribute before it.</summary>
    public string? From { get; init; }

    /// <summary>The names of the layers this one reads; empty means the attribute written before it.</summary>
    public virtual EquatableArray<string> Reads => From is null ? EquatableArray<string>.Empty : EquatableArray.Of(From);

    /// <summary>Where the attribute is.</summary>
    public SourceSpan? Location { get; init; }

    /// <summary>The user's <c>Name = "..."</c>, if any.</summary>
    public string? UserName { get; init; }

    /// <summary>Where <c>Name = "..."</c> was written, for diagnostics about the name.</summary>
    public SourceSpan? UserNameLocation { get; init; }

    /// <summary>Keras' <c>trainable=</c>: false makes the weights state and runs BatchNormalization on its moving statistics.</summary>
    public bool Trainable { get; init; } = true;

    /// <summary>
    /// Frozen by the <c>[Use]</c> that inlined it (<c>Trainable = false</c> there), not by its own argument: a block's
    /// regularizers and <c>Synchronized</c> still act where the block learns, so KILN0162 and KILN0163 keep quiet here.
    /// </summary>
    public bool FrozenByUse { get; init; }

    /// <summary>Where each written argument is, by the field it sets.</summary>
    public EquatableArray<ArgumentSite> Sites { get; init; } = EquatableArray<ArgumentSite>.Empty;

    /// <summary>Where to point a diagnostic about one field: the argument if written, else the attribute.</summary>
    public SourceSpan? LocationOf(string field) => Site(field)?.Location ?? Location;

    /// <summary>The argument name the user wrote for a field (<c>kernelSize</c> or <c>kernelHeight</c>), for messages.</summary>
    public string WrittenName(string field, string fallback) => Site(field)?.Written ?? fallback;

    public bool IsWritten(string field) => Site(field) is not null;

    private ArgumentSite? Site(string field)
    {
        foreach (var s in Sites)
            if (s.Field == field) return s;
        return null;
    }
}

/// <summary>What a layer's shape rule works with: its place, its names, its input, and where to report.</summary>
internal sealed class LayerContext
{
    private readonly List<GraphDiagnostic> _diagnostics;

    private readonly IReadOnlyList<LayerNode?> _sources;

    public LayerContext(int index, LayerSpec spec, string name, IReadOnlyList<LayerNode?> sources, IReadOnlyList<Shape> inputs, List<GraphDiagnostic> diagnostics)
    {
        Index = index;
        Spec = spec;
        Name = name;
        _sources = sources;
        Inputs = inputs;
        _diagnostics = diagnostics;
    }

    public int Index { get; }
    public LayerSpec Spec { get; }
    public string Name { get; }

    /// <summary>The shapes this layer reads, one per source; a merge has several.</summary>
    public IReadOnlyList<Shape> Inputs { get; }

    /// <summary>The (first) input shape.</summary>
    public Shape Input => Inputs.Count > 0 ? Inputs[0] : throw new System.InvalidOperationException($"{Label} reads no tensor");

    /// <summary>The attribute that produced input <paramref name="index"/>; null for the model's input.</summary>
    public SourceSpan? SourceLocation(int index) => _sources[index]?.Spec.Location;

    /// <summary>How messages name the layer: <c>Dense 'dense_1'</c>.</summary>
    public string Label => $"{Spec.KerasType} '{Name}'";

    public LayerNode Node(Shape output, long flops, IReadOnlyList<WeightSpec> weights, Window? window = null) =>
        new(Index, Spec, Name, _sources, Inputs, output, weights, flops, window);

    public LayerNode Node(Shape output, long flops) => Node(output, flops, Array.Empty<WeightSpec>());

    public void Report(DiagnosticDescriptor descriptor, SourceSpan? location, params object[] args) =>
        _diagnostics.Add(GraphDiagnostic.Create(descriptor, location, args));

    /// <summary>Reports and returns null, so a shape rule can <c>return context.Fail(...)</c>.</summary>
    public LayerNode? Fail(DiagnosticDescriptor descriptor, SourceSpan? location, params object[] args)
    {
        Report(descriptor, location, args);
        return null;
    }

    /// <summary>True when <paramref name="value"/> ≥ <paramref name="minimum"/>; otherwise reports KILN0108 at the argument that set the field.</summary>
    public bool AtLeast(string field, string fallbackName, int value, int minimum = 1)
    {
        if (value >= minimum) return true;
        Report(Descriptors.ArgumentTooSmall, Spec.LocationOf(field), Label, Spec.WrittenName(field, fallbackName), value, minimum);
        return false;
    }

    /// <summary>True for a (height, width, channels) input; otherwise reports KILN0109 with the fix for the rank at hand.</summary>
    public bool NeedsImage()
    {
        if (Input.Rank == 3) return true;
        string hint = Input.Rank switch
        {
            1 => "put [Reshape(height, width, channels)] before it",
            2 => $"add a channel axis: declare [Sequential({Input[0]}, {Input[1]}, 1)] or put [Reshape({Input[0]}, {Input[1]}, 1)] before it",
            _ => "reshape the input to (height, width, channels)",
        };
        Report(Descriptors.NeedsImage, Spec.Location, Label, Input, hint);
        return false;
    }

    /// <summary>How messages name the nearest layer upstream with trainable weights (<c>Conv2D 'conv2d'</c>), or null when there is none.</summary>
    public string? TrainableBefore()
    {
        var seen = new HashSet<LayerNode>();
        var pending = new Stack<LayerNode>();
        foreach (var s in _sources)
            if (s is not null) pending.Push(s);
        while (pending.Count > 0)
        {
            var node = pending.Pop();
            if (!seen.Add(node)) continue;
            if (node.TrainableCount > 0) return $"{node.Spec.KerasType} '{node.Name}'";
            foreach (var s in node.Sources)
                if (s is not null) pending.Push(s);
        }
        return null;
    }

    /// <summary>Elementwise cost of an activation on <paramref name="size"/> values: 1 per element for max-like ones, a few for exp-based ones.</summary>
    public static long ActivationCost(ActivationKind a, long size) => a switch
    {
        ActivationKind.Linear => 0,
        ActivationKind.Relu or ActivationKind.LeakyRelu => size,
        ActivationKind.Sigmoid or ActivationKind.Tanh or ActivationKind.Softmax => 4L * size,
        _ => throw new ArgumentOutOfRangeException(nameof(a), a, "unknown activation"),
    };
}
