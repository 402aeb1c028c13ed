using System.Collections.Generic;
using System.Collections.Immutable;
using System.Linq;
using Kiln.Graph;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Syntax;

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

    /// <summary>An attribute type's name as written in brackets: <c>Dense</c> for <c>DenseAttribute</c>.</summary>
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

internal static partial class ModelReader
{
    /// <summary>
    /// KILN0016 for a number no float holds; KILN0014 for an enum argument whose value no member names, e.g. <c>(Activation)9</c>: C#
    /// accepts the cast, and Kiln's passes would otherwise meet a kind they do not know.
    /// </summary>
    private static IEnumerable<GraphDiagnostic> UndefinedEnumValues(AttributeData data, AttributeSyntax syntax)
    {
        var written = syntax.ArgumentList?.Arguments.ToList() ?? new List<AttributeArgumentSyntax>();
        var positional = written.Where(a => a.NameEquals is null).ToList();
        var parameters = data.AttributeConstructor?.Parameters ?? ImmutableArray<IParameterSymbol>.Empty;
        for (int i = 0; i < data.ConstructorArguments.Length && i < parameters.Length; i++)
        {
            var at = positional.FirstOrDefault(a => a.NameColon?.Name.Identifier.ValueText == parameters[i].Name)
                ?? (i < positional.Count && positional[i].NameColon is null ? positional[i] : null);
            if (Undefined(data.ConstructorArguments[i], parameters[i].Name, at ?? (SyntaxNode)syntax) is { } d) yield return d;
        }
        foreach (var named in data.NamedArguments)
        {
            var at = written.FirstOrDefault(a => a.NameEquals?.Name.Identifier.ValueText == named.Key);
            if (Undefined(named.Value, named.Key, at ?? (SyntaxNode)syntax) is { } d) yield return d;
        }
    }

    private static GraphDiagnostic? Undefined(TypedConstant value, string argument, SyntaxNode at)
    {
        // Kiln computes in 32-bit floats: NaN, an infinity or a double beyond float's range would
        // only become garbage (or a float literal C# rejects) in the generated code.
        if (value.Kind == TypedConstantKind.Array && !value.IsNull)
            return value.Values.Select(v => Undefined(v, argument, at)).FirstOrDefault(d => d is not null);
        if (value.Value is double number && (double.IsNaN(number) || float.IsInfinity((float)number)))
            return GraphDiagnostic.Create(Descriptors.NotAFloat, Span(at.GetLocation()), argument,
                number.ToString("R", System.Globalization.CultureInfo.InvariantCulture));
        if (value.Kind != TypedConstantKind.Enum || value.Type is not INamedTypeSymbol type || value.Value is null) return null;
        var members = type.GetMembers().OfType<IFieldSymbol>().Where(f => f.HasConstantValue).ToList();
        if (members.Any(f => Equals(f.ConstantValue, value.Value))) return null;
        string names = string.Join(", ", members.Select(f => type.Name + "." + f.Name));
        return GraphDiagnostic.Create(Descriptors.UndefinedEnumValue, Span(at.GetLocation()), argument,
            System.Convert.ToString(value.Value, System.Globalization.CultureInfo.InvariantCulture) ?? "", type.Name, names);
    }
}
