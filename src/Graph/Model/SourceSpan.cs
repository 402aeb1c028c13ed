namespace Kiln.Graph;

/// <summary>
/// Where something was written: a file and a character span, plus line/column for humans.
/// Plain data so the Graph stays free of Roslyn; the generator turns it back into a Location.
/// </summary>
public sealed record SourceSpan(string FilePath, int Start, int Length, int Line, int Column, int EndLine, int EndColumn)
{
    /// <summary>1-based line, as an editor shows it.</summary>
    public int DisplayLine => Line + 1;

    public override string ToString() => $"{System.IO.Path.GetFileName(FilePath)}:{DisplayLine}";
}
