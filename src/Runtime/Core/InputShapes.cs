using System;

namespace Kiln;

/// <summary>
/// Whether data of one sample shape can feed an input of another, and, when not, a Keras-style
/// message (<c>expected shape (None, 32, 32, 3), found (None, 3, 32, 32)</c>) with the fix.
/// </summary>
internal static class InputShapes
{
    /// <summary>
    /// Equal shapes agree; so do shapes that differ by one trailing 1, which Keras adjusts too
    /// (Fashion-MNIST's (28, 28) into a (28, 28, 1) model), and a flat shape on either side when the
    /// sizes match: a flat array described only by its length claims no layout, and a flat input
    /// reads any sample in row-major order, as Flatten would, so no axis can be misread.
    /// </summary>
    public static bool Agree(int[] expected, int[] found)
    {
        if (Same(expected, found)) return true;
        if ((found.Length == 1 || expected.Length == 1) && ModelDescription.Product(found) == ModelDescription.Product(expected)) return true;
        return TrailingOne(expected, found) || TrailingOne(found, expected);
    }

    /// <summary>The message for data of shape <paramref name="found"/> given to input <paramref name="input"/> of <paramref name="model"/>.</summary>
    public static string Mismatch(ModelDescription model, InputInfo input, int[] found, string whose) =>
        $"{model.Name}: input '{input.Name}' expected shape (None, {Dataset.Shape(input.Shape)}), found (None, {Dataset.Shape(found)}) in {whose} samples" + Hint(input, found, model.Inputs.Count > 1);

    /// <summary>The message for shaped data given whole to a model with several inputs, whose rows pack them side by side.</summary>
    public static string Packed(ModelDescription model, int[] found, string whose)
    {
        var inputs = new string[model.Inputs.Count];
        for (int i = 0; i < inputs.Length; i++) inputs[i] = $"'{model.Inputs[i].Name}' ({Dataset.Shape(model.Inputs[i].Shape)})";
        return $"{model.Name} has {inputs.Length} inputs, {string.Join(", ", inputs)}, packed side by side in rows of shape (None, {Dataset.Shape(model.InputShape)}), " +
               $"but {whose} samples have shape (None, {Dataset.Shape(found)}); build the rows with Dataset.FromInputs, one array per input by name.";
    }

    private static string Hint(InputInfo input, int[] found, bool several)
    {
        int[] expected = input.Shape;
        if (expected.Length == 3 && found.Length == 3)
        {
            bool dataFirst = found[0] == expected[2] && found[1] == expected[0] && found[2] == expected[1];
            bool dataLast = found[0] == expected[1] && found[1] == expected[2] && found[2] == expected[0];
            if (dataFirst && !input.ChannelsFirst)
                return $": the data is channels first (channels, height, width) and the input channels last (height, width, channels); " +
                       $"convert the data once with ChannelLayout.ToChannelsLast, or declare the input channels first, [{(several ? "Input" : "Sequential")}({Dataset.Shape(found)}, DataFormat = DataFormat.ChannelsFirst)].";
            if (dataLast && input.ChannelsFirst)
                return $": the data is channels last (height, width, channels) and the input is declared DataFormat.ChannelsFirst; " +
                       $"convert the data with ChannelLayout.ToChannelsFirst, or drop DataFormat.ChannelsFirst and declare the input ({Dataset.Shape(found)}).";
        }
        if (IsPermutation(expected, found))
            return $": the same dimensions in another order; transpose the data to ({Dataset.Shape(expected)}), a reshape would scramble it.";
        int size = ModelDescription.Product(found);
        return size == input.Size
            ? $"; both hold {size} values per sample, but the layout differs: reshape the data deliberately to ({Dataset.Shape(expected)}) or give a flat sample shape ({size})."
            : $"; the input takes {input.Size} values per sample, the data has {size}.";
    }

    private static bool Same(int[] a, int[] b) => a.AsSpan().SequenceEqual(b);

    // a is b with one more trailing dimension of 1.
    private static bool TrailingOne(int[] a, int[] b) =>
        a.Length == b.Length + 1 && a[^1] == 1 && a.AsSpan(0, b.Length).SequenceEqual(b);

    private static bool IsPermutation(int[] a, int[] b)
    {
        if (a.Length != b.Length || a.Length < 2) return false;
        var x = (int[])a.Clone();
        var y = (int[])b.Clone();
        Array.Sort(x);
        Array.Sort(y);
        return Same(x, y);
    }
}
