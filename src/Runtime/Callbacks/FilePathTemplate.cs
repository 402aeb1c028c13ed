using System;
using System.Collections.Generic;
using System.Globalization;
using System.Text;

namespace Kiln;

/// <summary>
/// Python's <c>str.format</c> as Keras' ModelCheckpoint uses it on file paths:
/// <c>"model_{epoch:02d}-{val_accuracy:.2f}.safetensors"</c> with <c>epoch</c> (1-based) and every
/// logged value. Specs: <c>[0][width][.precision][d|f|e|g|%]</c>; <c>{{</c> and <c>}}</c> are braces.
/// </summary>
internal static class FilePathTemplate
{
    public static string Format(string template, int epoch, Logs logs)
    {
        var sb = new StringBuilder(template.Length + 16);
        for (int i = 0; i < template.Length; i++)
        {
            char c = template[i];
            if (c == '{' && i + 1 < template.Length && template[i + 1] == '{') { sb.Append('{'); i++; continue; }
            if (c == '}' && i + 1 < template.Length && template[i + 1] == '}') { sb.Append('}'); i++; continue; }
            if (c == '}') throw new FormatException($"File path template '{template}' has a single '}}' at {i}; write '}}}}' for a brace.");
            if (c != '{') { sb.Append(c); continue; }
            int close = template.IndexOf('}', i);
            if (close < 0) throw new FormatException($"File path template '{template}' has an unclosed '{{' at {i}.");
            string field = template[(i + 1)..close];
            int colon = field.IndexOf(':');
            string name = colon < 0 ? field : field[..colon];
            string spec = colon < 0 ? "" : field[(colon + 1)..];
            double value;
            bool integer = false;
            if (name == "epoch") (value, integer) = (epoch, true);
            else if (!logs.TryGetValue(name, out value))
                throw new KeyNotFoundException($"File path template '{template}' uses '{{{name}}}', but the logs have epoch, {string.Join(", ", logs.Names)}.");
            sb.Append(Apply(value, integer, spec, template));
            i = close;
        }
        return sb.ToString();
    }

    private static string Apply(double value, bool integer, string spec, string template)
    {
        int p = 0;
        bool zero = p < spec.Length && spec[p] == '0';
        if (zero) p++;
        int width = 0;
        while (p < spec.Length && char.IsAsciiDigit(spec[p])) width = width * 10 + (spec[p++] - '0');
        int? precision = null;
        if (p < spec.Length && spec[p] == '.')
        {
            p++;
            int q = 0, start = p;
            while (p < spec.Length && char.IsAsciiDigit(spec[p])) q = q * 10 + (spec[p++] - '0');
            if (p == start) throw new FormatException($"File path template '{template}': '.' needs a precision in '{spec}'.");
            precision = q;
        }
        char type = p < spec.Length ? spec[p++] : '\0';
        if (p != spec.Length) throw new FormatException($"File path template '{template}': format spec '{spec}' is not [0][width][.precision][d|f|e|g|%].");
        var ic = CultureInfo.InvariantCulture;
        string text = type switch
        {
            'd' when value == Math.Floor(value) && double.IsFinite(value) => ((long)value).ToString(ic),
            'd' => throw new FormatException($"File path template '{template}': 'd' formats whole numbers, but the value is {value.ToString(ic)}; use 'f'."),
            'f' => value.ToString("F" + (precision ?? 6), ic),
            'e' => value.ToString((precision ?? 6) == 0 ? "0e+00" : "0." + new string('0', precision ?? 6) + "e+00", ic),
            '%' => (value * 100).ToString("F" + (precision ?? 6), ic) + "%",
            'g' => value.ToString("G" + (precision ?? 6), ic),
            '\0' when integer => ((long)value).ToString(ic),
            '\0' => precision is int q ? value.ToString("G" + q, ic) : value.ToString("R", ic),
            _ => throw new FormatException($"File path template '{template}': format type '{type}' is not one of d, f, e, g, %."),
        };
        if (text.Length < width)
        {
            bool negative = text.StartsWith('-');
            text = zero
                ? (negative ? "-" + text[1..].PadLeft(width - 1, '0') : text.PadLeft(width, '0'))
                : text.PadLeft(width);
        }
        return text;
    }
}
