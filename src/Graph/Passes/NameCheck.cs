using System.Collections.Generic;
using System.Globalization;

namespace Kiln.Graph;

/// <summary>
/// Checks the layers' <c>Name = "..."</c> values before anything uses them: each must be usable
/// (KILN0010) and every layer's final name, the user's or the automatic Keras one, unique
/// (KILN0009). The generated C# identifiers are derived from accepted names by
/// <see cref="Identifiers"/>, so any name that passes here compiles.
/// </summary>
/// <remarks>
/// The rule: 1 to <see cref="MaxLength"/> ASCII letters, digits, '_', '.' and '-'. Keras itself only
/// rejects '/', which separates the layer from its weight in tensor names (<c>dense/kernel</c>);
/// the narrower set is TensorFlow's scope-name alphabet, and keeps names safe in checkpoint
/// headers, C# string literals and comments. The length bound keeps every derived C# identifier
/// far below the compiler's 512-character limit. Names may not start with the prefix checkpoints
/// keep for optimizer state.
/// </remarks>
public static class NameCheck
{
    public const int MaxLength = 100;

    /// <summary>Tensor names with this prefix are optimizer state in a checkpoint (Kiln.Model's OptimizerStatePrefix).</summary>
    public const string ReservedPrefix = "optimizer.state.";

    public static void Run(ModelSpec spec, List<GraphDiagnostic> diagnostics)
    {
        var names = Names.Of(spec);

        var first = new Dictionary<string, int>(System.StringComparer.Ordinal);
        for (int i = 0; i < names.Length; i++)
        {
            var layer = spec.Layers[i];
            if (layer.UserName is { } userName && Problem(userName) is { } problem)
            {
                diagnostics.Add(GraphDiagnostic.Create(Descriptors.LayerNameNotUsable, layer.UserNameLocation ?? layer.Location,
                    Printable(userName), problem, MaxLength));
                continue;
            }
            if (!first.TryGetValue(names[i], out int earlier))
            {
                first[names[i]] = i;
                continue;
            }
            // Point at a Name argument: this layer's if it has one, else the earlier layer's (an automatic name cannot be pointed at).
            var other = spec.Layers[earlier];
            bool here = layer.UserName is not null;
            var at = here ? layer.UserNameLocation ?? layer.Location : other.UserNameLocation ?? other.Location;
            int automatic = layer.UserName is null ? i : other.UserName is null ? earlier : -1;
            string fix = automatic < 0
                ? "give one of them another Name"
                : $"give layer {(automatic == i ? earlier : i) + 1} another Name (unnamed layers get Keras' automatic names: {spec.Layers[automatic].BaseName}, {spec.Layers[automatic].BaseName}_1, ...)";
            diagnostics.Add(GraphDiagnostic.Create(Descriptors.DuplicateLayerName, at,
                Describe(spec, earlier, automatic == earlier), Describe(spec, i, automatic == i), names[i], fix));
        }
    }

    /// <summary>Why <paramref name="name"/> cannot be a layer name, completing "it ...", or null when it can.</summary>
    public static string? Problem(string name)
    {
        if (name.Length == 0) return "is empty";
        for (int i = 0; i < name.Length; i++)
        {
            char c = name[i];
            if (IsAllowed(c)) continue;
            if (c == '/') return "contains '/', which separates the layer from its weight in tensor names such as 'dense/kernel'";
            return "contains " + DescribeCharacter(name, i);
        }
        if (name.Length > MaxLength) return $"has {name.Length.ToString(CultureInfo.InvariantCulture)} characters";
        if (name.StartsWith(ReservedPrefix, System.StringComparison.Ordinal)) return $"starts with '{ReservedPrefix}', which checkpoints keep for optimizer state";
        return null;
    }

    public static bool IsAllowed(char c) =>
        c is >= 'a' and <= 'z' or >= 'A' and <= 'Z' or >= '0' and <= '9' or '_' or '.' or '-';

    private static string Describe(ModelSpec spec, int index, bool automatic) =>
        $"{(index + 1).ToString(CultureInfo.InvariantCulture)} ({spec.Layers[index].KerasType}{(automatic ? ", named automatically" : "")})";

    private static string DescribeCharacter(string name, int i)
    {
        char c = name[i];
        if (c == ' ') return "a space";
        if (c > ' ' && c < 0x7F) return $"'{c}'";
        int codePoint = char.IsHighSurrogate(c) && i + 1 < name.Length && char.IsLowSurrogate(name[i + 1]) ? char.ConvertToUtf32(c, name[i + 1]) : c;
        string u = "U+" + codePoint.ToString("X4", CultureInfo.InvariantCulture);
        return char.IsControl(c) || char.IsSurrogate(c) && codePoint == c || char.IsWhiteSpace(c)
            ? u
            : $"'{char.ConvertFromUtf32(codePoint)}' ({u})";
    }

    /// <summary>The name as a message can show it: control characters and lone surrogates as \uXXXX, long names cut.</summary>
    private static string Printable(string name)
    {
        var sb = new System.Text.StringBuilder();
        for (int i = 0; i < name.Length; i++)
        {
            if (sb.Length >= 60)
            {
                sb.Append("...");
                break;
            }
            char c = name[i];
            if (char.IsHighSurrogate(c) && i + 1 < name.Length && char.IsLowSurrogate(name[i + 1])) sb.Append(c).Append(name[++i]);
            else if (char.IsControl(c) || char.IsSurrogate(c)) sb.Append("\\u").Append(((int)c).ToString("X4", CultureInfo.InvariantCulture));
            else sb.Append(c);
        }
        return sb.ToString();
    }
}
