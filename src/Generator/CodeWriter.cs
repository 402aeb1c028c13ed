using System.Text;

namespace Kiln.Generator;

/// <summary>A StringBuilder that indents, so the emitter reads top to bottom like the code it writes.</summary>
internal sealed class CodeWriter
{
    private readonly StringBuilder _sb = new();
    private int _indent;

    public CodeWriter Line(string text = "")
    {
        if (text.Length > 0) _sb.Append(' ', _indent * 4).Append(text);
        _sb.Append('\n');
        return this;
    }

    public CodeWriter Comment(string text) => Line("// " + text);

    public CodeWriter Open(string text)
    {
        Line(text);
        Line("{");
        _indent++;
        return this;
    }

    /// <summary>A bare block: its locals (a group's folded weights) stay out of the method's scope, where a second group declares its own.</summary>
    public CodeWriter Block()
    {
        Line("{");
        _indent++;
        return this;
    }

    public CodeWriter Close(string suffix = "")
    {
        _indent--;
        return Line("}" + suffix);
    }

    public override string ToString() => _sb.ToString();
}
