namespace Kiln.Generator;

/// <summary>
/// Where each diagnostic is explained: its section of docs/diagnostics.md, whose headings are
/// the IDs (<c>## KILN0101</c>, anchor <c>#kiln0101</c>). The repository has no public URL yet,
/// so the link is the document's path in the repository and package; publishing the docs
/// means changing <see cref="Document"/> to their https address, here only.
/// </summary>
internal static class HelpLinks
{
    public const string Document = "docs/diagnostics.md";

    /// <summary>e.g. <c>docs/diagnostics.md#kiln0101</c>.</summary>
    public static string For(string id) => Document + "#" + id.ToLowerInvariant();
}
