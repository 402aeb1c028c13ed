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
/// KILN0202 (the loss does not fit the output), KILN0203 (FromLogits on probabilities) and
/// KILN0204 (cross-entropy on logits), all reported at the [Loss]: change the loss, its
/// FromLogits, or the activation of the last layer when that is a [Dense] written on the same
/// class. Which of these fit is what the message recommends (Graph decided it from the shapes;
/// the fix only sees syntax).
/// </summary>
[ExportCodeFixProvider(LanguageNames.CSharp, Name = nameof(LossOutputCodeFix)), Shared]
public sealed class LossOutputCodeFix : CodeFixProvider
{
    public const string Mismatch = "KILN0202", ProbabilitiesWithFromLogits = "KILN0203", LogitsWithoutFromLogits = "KILN0204";

    /// <summary>Equivalence keys, one per kind of edit.</summary>
    public const string SoftmaxKey = "Kiln.OutputSoftmax", SigmoidKey = "Kiln.OutputSigmoid",
        BinaryKey = "Kiln.LossBinaryCrossentropy", SparseKey = "Kiln.LossSparseCategoricalCrossentropy",
        FromLogitsKey = "Kiln.FromLogits", NoFromLogitsKey = "Kiln.NoFromLogits";

    public override ImmutableArray<string> FixableDiagnosticIds => ImmutableArray.Create(Mismatch, ProbabilitiesWithFromLogits, LogitsWithoutFromLogits);

    // One [Loss] per output, each fixed by reading its own message: fixing all at once is rare.
    public override FixAllProvider? GetFixAllProvider() => null;

    public override async Task RegisterCodeFixesAsync(CodeFixContext context)
    {
        var root = await context.Document.GetSyntaxRootAsync(context.CancellationToken).ConfigureAwait(false);
        if (root is null) return;
        foreach (var diagnostic in context.Diagnostics)
        {
            if (root.FindNode(diagnostic.Location.SourceSpan, getInnermostNodeForTie: true).FirstAncestorOrSelf<AttributeSyntax>() is not { } loss
                || AttributeEdits.SimpleName(loss) != "Loss")
                continue;
            string message = diagnostic.GetMessage(System.Globalization.CultureInfo.InvariantCulture);
            var dense = OutputDense(loss);
            switch (diagnostic.Id)
            {
                case LogitsWithoutFromLogits:
                    AttributeEdits.Offer(context, diagnostic, "Set FromLogits = true", FromLogitsKey,
                        AttributeEdits.SetOrAdd(loss, AttributeEdits.Find(loss, "FromLogits", "fromLogits", -1), "true", "FromLogits = true"));
                    string wanted = message.Contains("Activation.Softmax") ? "Softmax" : "Sigmoid";
                    if (dense is not null)
                        RegisterActivation(context, diagnostic, dense, wanted);
                    break;
                case ProbabilitiesWithFromLogits:
                    if (AttributeEdits.Find(loss, "FromLogits", "fromLogits", -1) is { } fromLogits)
                        AttributeEdits.Offer(context, diagnostic, "Remove FromLogits = true", NoFromLogitsKey, AttributeEdits.Remove(loss, fromLogits));
                    break;
                case Mismatch:
                    // The message's advice, in the order it gives it.
                    if (message.Contains("use Activation.Softmax") && dense is not null) RegisterActivation(context, diagnostic, dense, "Softmax");
                    if (message.Contains("use Activation.Sigmoid") && dense is not null) RegisterActivation(context, diagnostic, dense, "Sigmoid");
                    if (message.Contains("with BinaryCrossentropy")) RegisterLoss(context, diagnostic, loss, "BinaryCrossentropy", BinaryKey);
                    if (message.Contains("use SparseCategoricalCrossentropy")) RegisterLoss(context, diagnostic, loss, "SparseCategoricalCrossentropy", SparseKey);
                    break;
            }
        }
    }

    /// <summary>The model's last layer when it is a [Dense] on the same class and the loss names no other output.</summary>
    private static AttributeSyntax? OutputDense(AttributeSyntax loss)
    {
        if (AttributeEdits.Find(loss, "Output", "output", -1) is not null) return null;
        if (loss.Parent?.Parent is not ClassDeclarationSyntax model) return null;
        var last = model.AttributeLists.SelectMany(l => l.Attributes)
            .LastOrDefault(a => AttributeEdits.SimpleName(a) is not ("Loss" or "Sequential"));
        return last is not null && AttributeEdits.SimpleName(last) == "Dense" ? last : null;
    }

    private static void RegisterActivation(CodeFixContext context, Diagnostic diagnostic, AttributeSyntax dense, string activation)
    {
        string value = AttributeEdits.Qualified(dense, "Activation") + "." + activation;
        AttributeEdits.Offer(context, diagnostic, $"Give the output [Dense] Activation.{activation}", activation == "Softmax" ? SoftmaxKey : SigmoidKey,
            AttributeEdits.SetOrAdd(dense, AttributeEdits.Find(dense, "Activation", "activation", 1), value, value));
    }

    private static void RegisterLoss(CodeFixContext context, Diagnostic diagnostic, AttributeSyntax loss, string kind, string key)
    {
        var argument = AttributeEdits.Find(loss, "Loss", "loss", 0);
        var change = argument?.Expression is MemberAccessExpressionSyntax member
            ? new TextChange(member.Name.Span, kind)
            : AttributeEdits.SetOrAdd(loss, argument, AttributeEdits.Qualified(loss, "Loss") + "." + kind, AttributeEdits.Qualified(loss, "Loss") + "." + kind);
        AttributeEdits.Offer(context, diagnostic, $"Use Loss.{kind}", key, change);
    }
}
