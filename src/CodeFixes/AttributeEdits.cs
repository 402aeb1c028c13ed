using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CodeActions;
using Microsoft.CodeAnalysis.CodeFixes;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Text;

namespace Kiln.CodeFixes;

/// <summary>Text edits of one attribute's arguments, written the way the user wrote the rest (qualified names, spacing).</summary>
internal static class AttributeEdits
{
    /// <summary>The attribute's simple name without <c>Attribute</c>: <c>Dense</c> for <c>[Kiln.DenseAttribute(...)]</c>.</summary>
    public static string SimpleName(AttributeSyntax attribute)
    {
        string name = attribute.Name switch
        {
            QualifiedNameSyntax q => q.Right.Identifier.ValueText,
            AliasQualifiedNameSyntax a => a.Name.Identifier.ValueText,
            SimpleNameSyntax s => s.Identifier.ValueText,
            _ => attribute.Name.ToString(),
        };
        return name.EndsWith("Attribute", System.StringComparison.Ordinal) ? name.Substring(0, name.Length - "Attribute".Length) : name;
    }

    /// <summary><paramref name="type"/> qualified as the attribute's name is: <c>Kiln.Activation</c> beside <c>[Kiln.Dense]</c>.</summary>
    public static string Qualified(AttributeSyntax attribute, string type) => attribute.Name switch
    {
        QualifiedNameSyntax q => q.Left + "." + type,
        AliasQualifiedNameSyntax a => a.Alias + "::" + type,
        _ => type,
    };

    /// <summary>The argument written by name (<c>Activation = x</c> or <c>activation: x</c>), else the positional one at <paramref name="position"/>.</summary>
    public static AttributeArgumentSyntax? Find(AttributeSyntax attribute, string property, string parameter, int position)
    {
        var arguments = attribute.ArgumentList?.Arguments;
        if (arguments is null) return null;
        var byName = arguments.Value.FirstOrDefault(a => a.NameEquals?.Name.Identifier.ValueText == property || a.NameColon?.Name.Identifier.ValueText == parameter);
        if (byName is not null) return byName;
        var positional = arguments.Value.Where(a => a.NameEquals is null && a.NameColon is null).ToList();
        return position >= 0 && position < positional.Count ? positional[position] : null;
    }

    /// <summary>Replaces the value of <paramref name="existing"/>, or adds <c>, text</c> after the last positional argument (or at the end).</summary>
    public static TextChange SetOrAdd(AttributeSyntax attribute, AttributeArgumentSyntax? existing, string value, string added)
    {
        if (existing is not null)
            return new TextChange(existing.Expression.Span, value);
        var arguments = attribute.ArgumentList?.Arguments;
        if (arguments is null || arguments.Value.Count == 0)
            return attribute.ArgumentList is null
                ? new TextChange(new TextSpan(attribute.Name.Span.End, 0), "(" + added + ")")
                : new TextChange(new TextSpan(attribute.ArgumentList.OpenParenToken.Span.End, 0), added);
        // A positional argument must come before named ones.
        var lastPositional = arguments.Value.LastOrDefault(a => a.NameEquals is null);
        if (lastPositional is not null && !added.Contains(" = "))
            return new TextChange(new TextSpan(lastPositional.Span.End, 0), ", " + added);
        return new TextChange(new TextSpan(arguments.Value.Last().Span.End, 0), ", " + added);
    }

    /// <summary>Removes <paramref name="argument"/> with the comma before it (or after it, when it is first).</summary>
    public static TextChange Remove(AttributeSyntax attribute, AttributeArgumentSyntax argument)
    {
        var arguments = attribute.ArgumentList!.Arguments;
        int index = arguments.IndexOf(argument);
        var span = index > 0
            ? TextSpan.FromBounds(arguments[index - 1].Span.End, argument.Span.End)
            : arguments.Count > 1 ? TextSpan.FromBounds(argument.SpanStart, arguments[1].SpanStart) : argument.Span;
        return new TextChange(span, "");
    }

    /// <summary>Offers <paramref name="change"/> to the document as the fix <paramref name="title"/> of <paramref name="diagnostic"/>.</summary>
    public static void Offer(CodeFixContext context, Diagnostic diagnostic, string title, string key, TextChange change) =>
        context.RegisterCodeFix(CodeAction.Create(title, cancellationToken => Apply(context.Document, change, cancellationToken), key), diagnostic);

    private static async Task<Document> Apply(Document document, TextChange change, CancellationToken cancellationToken)
    {
        var text = await document.GetTextAsync(cancellationToken).ConfigureAwait(false);
        return document.WithText(text.WithChanges(change));
    }
}
