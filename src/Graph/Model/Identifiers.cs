using System;
using System.Collections.Generic;
using System.Linq;
using System.Runtime.CompilerServices;

namespace Kiln.Graph;

/// <summary>
/// The C# identifier each layer goes by in the generated code, derived from its name (the
/// user's <c>Name</c> or Keras' automatic one) so that any name NameCheck accepts compiles.
/// </summary>
/// <remarks>
/// A layer's identifier is its name with every character other than an ASCII letter, digit or
/// '_' turned into '_', and '_' put before a leading digit: <c>dense_1</c> stays <c>dense_1</c>,
/// <c>block1.conv</c> becomes <c>block1_conv</c>. Everything the generated code names after a
/// layer is spelled from that identifier: arena buffers and their locals (<c>dense_1</c>,
/// <c>dense_1_logits</c>, <c>d_dense_1</c>, see <see cref="BufferSuffixes"/>), their offsets and
/// the weight offsets and windows (<c>Dense1At</c>, <c>Dense1Kernel</c>, <c>Conv2dWindow</c>, via
/// <see cref="Pascal"/>). When any of those would clash with a C# keyword, a name the generated
/// class already uses (<c>p</c>, <c>input</c>, <c>Summary</c>, the class itself, ...) or a name
/// derived from an earlier layer (<c>a.b</c> and <c>a_b</c>, <c>dense1</c> and <c>dense_1</c>), the
/// layer's identifier gets the first free suffix <c>_2</c>, <c>_3</c>, ... Layers in order, so the
/// Keras-named layers of a model without user names keep their names exactly.
/// </remarks>
public static class Identifiers
{
    /// <summary>What Lowering appends to a layer's identifier to name its buffers: output, pre-normalization values, BN statistics, folded weights, logits, dropout mask, argmax.</summary>
    public static readonly IReadOnlyList<string> BufferSuffixes = new[] { "", "_z", "_statistics", "_folded", "_logits", "_mask", "_argmax", "_winner", "_product", "_targets" };

    /// <summary>A tensor read by k layers may get k − 1 gradient parts, <c>d_x_part1</c> …, added up in backward.</summary>
    public const string PartSuffix = "_part";

    /// <summary>What Lowering puts before a buffer's name to name its gradient.</summary>
    public const string GradientPrefix = "d_";

    /// <summary>Buffers that belong to no layer.</summary>
    public static readonly IReadOnlyList<string> ModelBuffers = new[] { "input", "inputGradient", "savedInput", "outputs" };

    /// <summary>What the emitter appends to <see cref="Pascal"/> of a buffer name for its offset constant.</summary>
    public const string OffsetSuffix = "At";

    /// <summary>What the emitter appends to <see cref="Pascal"/> of a layer's identifier for its window constant.</summary>
    public const string WindowSuffix = "Window";

    /// <summary>C# keywords, contextual ones included (a local named <c>var</c> or <c>scoped</c> is legal but not worth the doubt).</summary>
    private static readonly string[] Keywords =
    {
        "abstract", "as", "base", "bool", "break", "byte", "case", "catch", "char", "checked", "class", "const", "continue",
        "decimal", "default", "delegate", "do", "double", "else", "enum", "event", "explicit", "extern", "false", "finally",
        "fixed", "float", "for", "foreach", "goto", "if", "implicit", "in", "int", "interface", "internal", "is", "lock", "long",
        "namespace", "new", "null", "object", "operator", "out", "override", "params", "private", "protected", "public",
        "readonly", "ref", "return", "sbyte", "sealed", "short", "sizeof", "stackalloc", "static", "string", "struct", "switch",
        "this", "throw", "true", "try", "typeof", "uint", "ulong", "unchecked", "unsafe", "ushort", "using", "virtual", "void",
        "volatile", "while", "__arglist", "__makeref", "__reftype", "__refvalue",
        "add", "alias", "allows", "and", "args", "ascending", "async", "await", "by", "descending", "dynamic", "equals", "extension",
        "field", "file", "from", "get", "global", "group", "init", "into", "join", "let", "managed", "nameof", "nint", "not",
        "notnull", "nuint", "on", "or", "orderby", "partial", "record", "remove", "required", "scoped", "select", "set",
        "unmanaged", "value", "var", "when", "where", "with", "yield",
    };

    /// <summary>
    /// Names the generated class declares or uses without qualification: parameters and locals
    /// of the emitted methods, its own members, members of Kiln.Model and object, and the types
    /// and aliases the emitted code names.
    /// </summary>
    private static readonly string[] Generated =
    {
        // Parameters and locals.
        "input", "n", "training", "targets", "gradient", "inputGradient", "fromOutputGradient", "inputGradientWanted",
        "batchStatistics", "p", "s", "rng", "foldedKernel", "foldedBias", "batchSize", "seed", "sampleWeights",
        // Members of the generated class.
        "Summary", "FlopsPerSample", "ArenaFloatsPerSample", "ArenaBytes", "Definition", "_batchStatistics",
        "ForwardCore", "LossCore", "BackwardCore", "OutputBuffer", "OutputGradientBuffer", "SetOutputLoss", "loss",
        // Kiln.Model and object.
        "Accuracy", "Arena", "ArenaFixed", "ArenaIndices", "ArenaSlice", "Backward", "BackwardFromOutputGradient", "BatchSize",
        "ComputeLoss", "CopyWeightsTo", "Description", "Dispose", "Evaluate", "Fit", "Forward", "Gradients", "History",
        "InputSize", "LoadCheckpoint", "LoadWeights", "Loss", "Output", "OutputGradient", "OutputSize", "Parameters", "Predict",
        "Random", "RestoreWeights", "SaveCheckpoint", "SaveWeights", "Seed", "State", "TrainOnBatch", "Trainable",
        "SampleWeights", "RegularizationLoss",
        "WeightGradient", "Equals", "GetHashCode", "GetType", "ToString", "MemberwiseClone", "Finalize",
        // Types, namespaces and aliases.
        "System", "Kiln", "Kernels", "Span", "ReadOnlySpan", "InvalidOperationException", "Model",
    };

    private static readonly ConditionalWeakTable<LayerNode, string> Assigned = new();

    /// <summary>
    /// Gives every layer of <paramref name="graph"/> its identifier (see the remarks on this class)
    /// and returns them by layer name; <see cref="Of"/> answers for the same layers afterwards.
    /// Layer names must be unique (NameCheck reports duplicates before anything is lowered).
    /// </summary>
    public static IReadOnlyDictionary<string, string> Assign(ModelGraph graph)
    {
        var used = new HashSet<string>(Keywords.Concat(Generated), StringComparer.Ordinal) { graph.Spec.ClassName };
        foreach (var buffer in ModelBuffers)
        {
            foreach (var name in new[] { buffer, GradientPrefix + buffer })
            {
                used.Add(name);
                used.Add(Pascal(name) + OffsetSuffix);
            }
        }
        var candidates = graph.Layers.Select(l => Sanitize(l.Name)).ToArray();
        var preferred = new HashSet<string>(candidates, StringComparer.Ordinal);
        var byName = new Dictionary<string, string>(StringComparer.Ordinal);
        for (int i = 0; i < candidates.Length; i++)
        {
            var layer = graph.Layers[i];
            if (byName.ContainsKey(layer.Name))
                throw new InvalidOperationException($"two layers of '{graph.Spec.ClassName}' are named '{layer.Name}'; layer names must be unique (NameCheck reports this as KILN0009)");
            string id = candidates[i];
            int parts = graph.Readers(layer);
            var derived = Derived(id, layer, parts);
            for (int k = 2; !Free(derived, used); k++)
            {
                id = candidates[i] + "_" + k.ToString(System.Globalization.CultureInfo.InvariantCulture);
                // A suffixed identifier leaves the plain ones of later layers alone.
                derived = preferred.Contains(id) ? null : Derived(id, layer, parts);
            }
            used.UnionWith(derived!);
            byName[layer.Name] = id;
            lock (Assigned)
            {
                Assigned.Remove(layer);
                Assigned.Add(layer, id);
            }
        }
        return byName;
    }

    /// <summary>The identifier <see cref="Assign"/> gave <paramref name="layer"/>.</summary>
    public static string Of(LayerNode layer) =>
        Assigned.TryGetValue(layer, out var id) ? id
            : throw new InvalidOperationException($"layer '{layer.Name}' has no identifier yet; Identifiers.Assign(graph) runs in Lowering, before anything emits code");

    /// <summary>
    /// <c>dense_1</c> → <c>Dense1</c>, <c>moving_mean</c> → <c>MovingMean</c>: each part between
    /// '_', '/', '.' or '-' capitalized. '_' goes before a result that would not start an identifier.
    /// </summary>
    public static string Pascal(string name)
    {
        string s = string.Concat(name.Split('_', '/', '.', '-').Where(p => p.Length > 0).Select(p => char.ToUpperInvariant(p[0]) + p.Substring(1)));
        return s.Length > 0 && (char.IsLetter(s[0]) || s[0] == '_') ? s : "_" + s;
    }

    /// <summary>The name with every character but an ASCII letter, digit or '_' as '_', '_' before a leading digit, and "layer" before a name without letters or digits.</summary>
    public static string Sanitize(string name)
    {
        var chars = name.Select(c => c is >= 'a' and <= 'z' or >= 'A' and <= 'Z' or >= '0' and <= '9' ? c : '_').ToArray();
        var s = new string(chars);
        if (!chars.Any(c => c != '_')) return "layer" + s;
        return s[0] is >= '0' and <= '9' ? "_" + s : s;
    }

    /// <summary>Every name the generated code spells from a layer identified as <paramref name="id"/>.</summary>
    private static List<string> Derived(string id, LayerNode layer, int parts)
    {
        var names = new List<string>();
        var suffixes = BufferSuffixes.Concat(Enumerable.Range(1, parts).Select(k => PartSuffix + k.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        foreach (var suffix in suffixes)
        {
            foreach (var local in new[] { id + suffix, GradientPrefix + id + suffix })
            {
                names.Add(local);
                names.Add(Pascal(local) + OffsetSuffix);
            }
        }
        string member = Pascal(id);
        foreach (var w in layer.Weights) names.Add(member + Pascal(w.Suffix));
        names.Add(member + WindowSuffix);
        return names;
    }

    private static bool Free(List<string>? names, HashSet<string> used) =>
        names is not null && !names.Any(used.Contains) && names.Distinct(StringComparer.Ordinal).Count() == names.Count;
}
