using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using Kiln.Graph;

namespace Kiln.Generator;

internal static partial class Emitter
{
    /// <summary>
    /// A layer's Keras <c>get_config()</c> as a dictionary initializer, e.g.
    /// <c>Config: new Dictionary&lt;string, object&gt; { ["filters"] = 32, ... }</c>; empty when it has none.
    /// </summary>
    private static string ConfigArgument(LayerNode layer)
    {
        var config = KerasConfig.Of(layer);
        if (config.Count == 0) return "";
        return ", Config: new global::System.Collections.Generic.Dictionary<string, object> { "
            + string.Join(", ", config.Select(kv => $"[\"{kv.Key}\"] = {ConfigValue(kv.Value)}")) + " }";
    }

    private static string ConfigValue(object value) => value switch
    {
        int i => i.ToString(CultureInfo.InvariantCulture),
        bool b => b ? "true" : "false",
        double d => DoubleLiteral(d),
        string s => "\"" + s + "\"",
        int[] ints => ArrayLiteral("int", ints.Select(i => i.ToString(CultureInfo.InvariantCulture))),
        double[] doubles => ArrayLiteral("double", doubles.Select(DoubleLiteral)),
        int[][] pairs => ArrayLiteral("int[]", pairs.Select(p => ConfigValue(p))),
        _ => throw new System.ArgumentException($"no literal for a {value.GetType().Name} in a layer config", nameof(value)),
    };

    /// <summary><c>new[] { 3, 3 }</c>; an empty one (Normalization's <c>Axis = new int[0]</c>) needs its type written.</summary>
    private static string ArrayLiteral(string elementType, IEnumerable<string> elements)
    {
        var items = elements.ToList();
        return items.Count == 0 ? $"global::System.Array.Empty<{elementType}>()" : "new[] { " + string.Join(", ", items) + " }";
    }

    /// <summary>A double literal that stays a double when boxed: <c>1.0</c>, not <c>1</c>.</summary>
    private static string DoubleLiteral(double d)
    {
        string s = d.ToString("R", CultureInfo.InvariantCulture);
        return s.IndexOfAny(new[] { '.', 'E', 'e' }) >= 0 ? s : s + ".0";
    }
}
