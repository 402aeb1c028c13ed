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
/// KILN0155 (an input shape that looks channels first), reported at the [Sequential] or [Input]:
/// either the data is (channels, height, width), so the input says so with
/// <c>DataFormat = DataFormat.ChannelsFirst</c>, or the shape was written in the wrong order and is
/// rewritten channels last, (height, width, channels), for data converted with ChannelLayout.ToChannelsLast.
/// </summary>
[ExportCodeFixProvider(LanguageNames.CSharp, Name = nameof(ChannelsFirstCodeFix)), Shared]
public sealed class ChannelsFirstCodeFix : CodeFixProvider
{
    public const string LooksChannelsFirst = "KILN0155";

    /// <summary>Equivalence keys, one per kind of edit.</summary>
    public const string DataFormatKey = "Kiln.DataFormatChannelsFirst", ChannelsLastShapeKey = "Kiln.ChannelsLastShape";

    public override ImmutableArray<string> FixableDiagnosticIds => ImmutableArray.Create(LooksChannelsFirst);

    // A model has one [Sequential], or a few [Input]s that each need their own decision.
    public override FixAllProvider? GetFixAllProvider() => null;

    public override async Task RegisterCodeFixesAsync(CodeFixContext context)
    {
        var root = await context.Document.GetSyntaxRootAsync(context.CancellationToken).ConfigureAwait(false);
        if (root is null) return;
        foreach (var diagnostic in context.Diagnostics)
        {
            if (root.FindNode(diagnostic.Location.SourceSpan, getInnermostNodeForTie: true).FirstAncestorOrSelf<AttributeSyntax>() is not { } input
                || AttributeEdits.SimpleName(input) is not ("Sequential" or "Input")
                || AttributeEdits.Find(input, "DataFormat", "dataFormat", -1) is not null)
                continue;

            string value = AttributeEdits.Qualified(input, "DataFormat") + ".ChannelsFirst";
            AttributeEdits.Offer(context, diagnostic, "Declare the input channels first (DataFormat.ChannelsFirst)", DataFormatKey,
                AttributeEdits.SetOrAdd(input, null, value, "DataFormat = " + value));

            // The shape is the three positional numbers; (c, h, w) becomes (h, w, c).
            var dims = input.ArgumentList!.Arguments.Where(a => a.NameEquals is null && a.NameColon is null).ToList();
            if (dims.Count == 3)
            {
                string rotated = $"{dims[1].Expression}, {dims[2].Expression}, {dims[0].Expression}";
                AttributeEdits.Offer(context, diagnostic, $"Declare the shape channels last ({rotated})", ChannelsLastShapeKey,
                    new TextChange(TextSpan.FromBounds(dims[0].Span.Start, dims[2].Span.End), rotated));
            }
        }
    }
}
