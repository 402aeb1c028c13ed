using System.Collections.Generic;
using System.Linq;
using Kiln.Graph;
using Microsoft.CodeAnalysis;

namespace Kiln.Generator;

internal static partial class ModelReader
{
    /// <summary>
    /// KILN0011 for an attribute that derives from Kiln's LayerAttribute but is none of Kiln's
    /// layers (a user subclass): the reader maps layers by type name, so it would otherwise be
    /// left out of the model without a word.
    /// </summary>
    private static GraphDiagnostic? UnknownLayer(INamedTypeSymbol type, string modelName, SourceSpan location)
    {
        if (IsKiln(type) && (LayerAttributes.ContainsKey(type.Name) || type.Name == "UseAttribute")) return null;
        if (!DerivesFromLayerAttribute(type)) return null;
        string name = Strip(type.Name);
        var near = LayerAttributes.Keys.Select(Strip).Where(k => Near(k, name)).OrderBy(k => k, System.StringComparer.Ordinal).ToList();
        string hint = near.Count == 0 ? "" : "; did you mean " + string.Join(" or ", near.Select(k => "[" + k + "]")) + "?";
        return GraphDiagnostic.Create(Descriptors.UnknownLayerAttribute, location, name, modelName, hint);
    }

    private static bool DerivesFromLayerAttribute(INamedTypeSymbol type)
    {
        for (var t = type.BaseType; t is not null; t = t.BaseType)
            if (t.Name == "LayerAttribute" && IsKiln(t)) return true;
        return false;
    }

    private static string Strip(string typeName) =>
        typeName.EndsWith("Attribute", System.StringComparison.Ordinal) ? typeName.Substring(0, typeName.Length - "Attribute".Length) : typeName;

    /// <summary>Same letters ignoring case, or at most two edits apart (Conv2d, Dence, MaxPool2D is too far).</summary>
    private static bool Near(string known, string written)
    {
        string a = known.ToLowerInvariant(), b = written.ToLowerInvariant();
        if (a == b) return true;
        if (System.Math.Abs(a.Length - b.Length) > 2) return false;
        var row = Enumerable.Range(0, b.Length + 1).ToArray();
        for (int i = 1; i <= a.Length; i++)
        {
            int diagonal = row[0];
            row[0] = i;
            for (int j = 1; j <= b.Length; j++)
            {
                int above = row[j];
                row[j] = System.Math.Min(System.Math.Min(row[j] + 1, row[j - 1] + 1), diagonal + (a[i - 1] == b[j - 1] ? 0 : 1));
                diagonal = above;
            }
        }
        return row[b.Length] <= 2;
    }
}
