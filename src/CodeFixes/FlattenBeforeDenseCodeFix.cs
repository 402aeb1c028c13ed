using System.Collections.Immutable;
using System.Composition;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CodeActions;
using Microsoft.CodeAnalysis.CodeFixes;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Text;

namespace Kiln.CodeFixes;

/// <summary>
/// KILN0101, a Dense layer on an input that is not flat (most often right after a convolution
/// or pooling layer): insert <c>[Flatten]</c>, or for an image <c>[GlobalAveragePooling2D]</c>,
/// as a new attribute right before the Dense, written the way the user wrote the Dense (its own
/// line with the same indentation, or beside it on the same line, or inside the same list).
/// </summary>
[ExportCodeFixProvider(LanguageNames.CSharp, Name = nameof(FlattenBeforeDenseCodeFix)), Shared]
public sealed class FlattenBeforeDenseCodeFix : CodeFixProvider
{
    public const string DiagnosticId = "KILN0101";

    /// <summary>Equivalence keys of the two actions (one per layer inserted).</summary>
    public const string FlattenKey = "Kiln.InsertFlatten";
    public const string GlobalAveragePoolingKey = "Kiln.InsertGlobalAveragePooling2D";

    public override ImmutableArray<string> FixableDiagnosticIds => ImmutableArray.Create(DiagnosticId);

    // Each fix inserts one line before one attribute; fixing several at once is rare (one per model).
    public override FixAllProvider? GetFixAllProvider() => null;

    public override async Task RegisterCodeFixesAsync(CodeFixContext context)
    {
        var root = await context.Document.GetSyntaxRootAsync(context.CancellationToken).ConfigureAwait(false);
        if (root is null) return;
        foreach (var diagnostic in context.Diagnostics.Where(d => d.Id == DiagnosticId))
        {
            var attribute = root.FindNode(diagnostic.Location.SourceSpan.IsEmpty ? context.Span : diagnostic.Location.SourceSpan, getInnermostNodeForTie: true)
                .FirstAncestorOrSelf<AttributeSyntax>();
            if (attribute?.Parent is not AttributeListSyntax) continue;

            // The message names the layers that fix this input: Flatten always, GlobalAveragePooling2D for images.
            string message = diagnostic.GetMessage(System.Globalization.CultureInfo.InvariantCulture);
            Register(context, diagnostic, attribute, "Flatten", FlattenKey);
            if (message.Contains("[GlobalAveragePooling2D]"))
                Register(context, diagnostic, attribute, "GlobalAveragePooling2D", GlobalAveragePoolingKey);
        }
    }

    private static void Register(CodeFixContext context, Diagnostic diagnostic, AttributeSyntax dense, string layer, string key) =>
        context.RegisterCodeFix(
            CodeAction.Create($"Insert [{layer}] before the Dense layer",
                cancellationToken => InsertBeforeAsync(context.Document, dense.Span, layer, cancellationToken),
                key),
            diagnostic);

    /// <summary>The document with <c>[layer]</c> inserted before the attribute at <paramref name="denseSpan"/>.</summary>
    public static async Task<Document> InsertBeforeAsync(Document document, TextSpan denseSpan, string layer, CancellationToken cancellationToken)
    {
        var root = await document.GetSyntaxRootAsync(cancellationToken).ConfigureAwait(false);
        var text = await document.GetTextAsync(cancellationToken).ConfigureAwait(false);
        if (root?.FindNode(denseSpan, getInnermostNodeForTie: true).FirstAncestorOrSelf<AttributeSyntax>() is not { Parent: AttributeListSyntax list } dense)
            return document;

        // Written as Kiln.Dense or global::Kiln.Dense: qualify the new layer the same way.
        string name = dense.Name switch
        {
            QualifiedNameSyntax q => q.Left + "." + layer,
            AliasQualifiedNameSyntax a => a.Alias + "::" + layer,
            _ => layer,
        };

        TextChange change;
        if (list.Attributes.Count > 1 || list.Target is not null)
        {
            // [Conv2D(8, 3), Dense(10)]: a new element of the same list, right before the Dense.
            change = new TextChange(new TextSpan(dense.SpanStart, 0), name + ", ");
        }
        else
        {
            var line = text.Lines.GetLineFromPosition(list.SpanStart);
            string before = text.ToString(TextSpan.FromBounds(line.Start, list.SpanStart));
            if (before.Trim().Length == 0)
            {
                // [Dense(10)] on its own line: a line of its own above it, indented the same.
                string newline = line.EndIncludingLineBreak > line.End ? text.ToString(TextSpan.FromBounds(line.End, line.EndIncludingLineBreak)) : "\n";
                change = new TextChange(new TextSpan(line.Start, 0), before + "[" + name + "]" + newline);
            }
            else
            {
                // [Conv2D(8, 3)] [Dense(10)] on one line: beside it, on the same line.
                change = new TextChange(new TextSpan(list.SpanStart, 0), "[" + name + "] ");
            }
        }
        return document.WithText(text.WithChanges(change));
    }
}
