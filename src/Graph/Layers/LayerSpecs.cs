using System;
using System.Collections.Generic;

namespace Kiln.Graph;

/// <summary>
/// Turns one attribute's arguments (as the generator read them: positional by parameter name,
/// then named properties) into its typed spec, once. The only place that knows argument names.
/// </summary>
public static class LayerSpecs
{
    public static LayerSpec Create(LayerKind kind, IReadOnlyList<Argument> arguments, SourceSpan? location)
    {
        var a = new Arguments(arguments);
        LayerSpec spec = kind switch
        {
            LayerKind.Flatten => new FlattenSpec(),
            LayerKind.Dense => DenseSpec.Read(a),
            LayerKind.Relu or LayerKind.LeakyRelu or LayerKind.Sigmoid or LayerKind.Tanh or LayerKind.Softmax => ActivationSpec.Read(kind, a),
            LayerKind.Dropout => DropoutSpec.Read(a),
            LayerKind.Reshape => ReshapeSpec.Read(a),
            LayerKind.Rescaling => RescalingSpec.Read(a),
            LayerKind.Normalization => NormalizationSpec.Read(a),
            LayerKind.Conv2D or LayerKind.Conv2DTranspose => ConvolutionSpec.Read(kind == LayerKind.Conv2DTranspose, a),
            LayerKind.MaxPooling2D or LayerKind.AveragePooling2D => PoolingSpec.Read(kind == LayerKind.MaxPooling2D, a),
            LayerKind.GlobalAveragePooling2D or LayerKind.GlobalMaxPooling2D => new GlobalPoolingSpec(kind == LayerKind.GlobalMaxPooling2D),
            LayerKind.BatchNormalization => BatchNormalizationSpec.Read(a),
            LayerKind.UpSampling2D => UpSampling2DSpec.Read(a),
            LayerKind.ZeroPadding2D => ZeroPadding2DSpec.Read(a),
            LayerKind.Add => MergeSpec.Read(MergeKind.Add, a),
            LayerKind.Subtract => MergeSpec.Read(MergeKind.Subtract, a),
            LayerKind.Multiply => MergeSpec.Read(MergeKind.Multiply, a),
            LayerKind.Average => MergeSpec.Read(MergeKind.Average, a),
            LayerKind.Maximum => MergeSpec.Read(MergeKind.Maximum, a),
            LayerKind.Concatenate => MergeSpec.Read(MergeKind.Concatenate, a),
            LayerKind.Input => InputSpec.Read(a),
            LayerKind.RandomFlip => RandomFlipSpec.Read(a),
            LayerKind.RandomTranslation => RandomTranslationSpec.Read(a),
            LayerKind.RandomRotation => RandomRotationSpec.Read(a),
            LayerKind.RandomZoom => RandomZoomSpec.Read(a),
            LayerKind.RandomCrop => RandomCropSpec.Read(a),
            LayerKind.RandomContrast => RandomContrastSpec.Read(a),
            _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "no spec for this layer kind"),
        };
        return spec with
        {
            Location = location,
            Trainable = a.Bool("Trainable", "Trainable", true),
            From = a.Take(nameof(LayerSpec.From), "From")?.Text,
            Sites = new EquatableArray<ArgumentSite>(a.Sites.ToArray()),
        };
    }
}

/// <summary>
/// Reads arguments by the name the attribute declares (case-insensitively: a positional
/// <c>activation</c> and a named <c>Activation</c> are the same argument) and records, for each
/// typed field, which argument set it and where.
/// </summary>
internal sealed class Arguments
{
    private readonly IReadOnlyList<Argument> _arguments;

    public Arguments(IReadOnlyList<Argument> arguments) => _arguments = arguments;

    public List<ArgumentSite> Sites { get; } = new();

    public Argument? Find(string name)
    {
        foreach (var a in _arguments)
            if (string.Equals(a.Name, name, StringComparison.OrdinalIgnoreCase)) return a;
        return null;
    }

    /// <summary>The first of <paramref name="names"/> that was written, recorded as the site of <paramref name="field"/>.</summary>
    public Argument? Take(string field, params string[] names)
    {
        foreach (var name in names)
        {
            if (Find(name) is not { } a) continue;
            Sites.Add(new ArgumentSite(field, a.Name, a.Location));
            return a;
        }
        return null;
    }

    /// <summary>Constructor parameter <paramref name="parameter"/> (exact case, so not the property of the same name) when written by position.</summary>
    public Argument? ByPosition(string parameter)
    {
        foreach (var a in _arguments)
            if (a.Positional && a.Name == parameter) return a;
        return null;
    }

    public int Int(string field, string name, int fallback) => Take(field, name) is { } a ? (int)a.Number : fallback;

    public double Double(string field, string name, double fallback) => Take(field, name) is { } a ? a.Number : fallback;

    public bool Bool(string field, string name, bool fallback) => Take(field, name) is { } a ? a.Number != 0 : fallback;

    public EquatableArray<int>? Ints(string field, string name) => Take(field, name) is { } a ? a.Ints : null;

    public EquatableArray<double>? Numbers(string field, string name) => Take(field, name) is { } a ? a.Numbers : null;
}
