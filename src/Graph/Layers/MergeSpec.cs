using System;
using System.Linq;

namespace Kiln.Graph;

public enum MergeKind
{
    Add,
    Subtract,
    Multiply,
    Average,
    Maximum,
    Concatenate,
}

/// <summary>
/// A merge: <c>[Add("a", "b")]</c>, <c>Subtract</c>, <c>Multiply</c>, <c>Average</c>, <c>Maximum</c>
/// (inputs of one shape, elementwise) or <c>[Concatenate("a", "b", Axis = -1)]</c> (inputs that agree
/// on every other axis). It reads exactly the layers it names, in order.
/// </summary>
public sealed record MergeSpec(MergeKind Operation, EquatableArray<string> Inputs, int Axis = -1) : LayerSpec
{
    public MergeSpec(MergeKind operation, params string[] inputs) : this(operation, new EquatableArray<string>(inputs)) { }

    /// <summary>Where each input name was written.</summary>
    public EquatableArray<SourceSpan> InputLocations { get; init; } = EquatableArray<SourceSpan>.Empty;

    public override LayerKind Kind => Operation switch
    {
        MergeKind.Add => LayerKind.Add,
        MergeKind.Subtract => LayerKind.Subtract,
        MergeKind.Multiply => LayerKind.Multiply,
        MergeKind.Average => LayerKind.Average,
        MergeKind.Maximum => LayerKind.Maximum,
        MergeKind.Concatenate => LayerKind.Concatenate,
        _ => throw new InvalidOperationException($"unknown merge {Operation}"),
    };

    public override string BaseName => Kind.ToString().ToLowerInvariant();
    public override KernelKind Kernel => KernelKind.Merge;
    public override EquatableArray<string> Reads => Inputs;

    /// <summary>Where the <paramref name="index"/>-th input name is written, else the attribute.</summary>
    public SourceSpan? LocationOfInput(int index) => index < InputLocations.Count ? InputLocations[index] : LocationOf(nameof(Inputs));

    internal static MergeSpec Read(MergeKind operation, Arguments a)
    {
        // Subtract names its two inputs as separate parameters; the others take params string[].
        if (operation == MergeKind.Subtract)
        {
            var first = a.Take(nameof(Inputs), "first");
            var second = a.Find("second");
            return new MergeSpec(operation, new EquatableArray<string>(new[] { first?.Text ?? "", second?.Text ?? "" }))
            {
                InputLocations = first?.Location is { } f && second?.Location is { } s ? EquatableArray.Of(f, s) : EquatableArray<SourceSpan>.Empty,
            };
        }
        var inputs = a.Take(nameof(Inputs), "inputs");
        return new MergeSpec(operation, inputs?.Texts ?? EquatableArray<string>.Empty, a.Int(nameof(Axis), "Axis", -1))
        {
            InputLocations = inputs?.ElementLocations ?? EquatableArray<SourceSpan>.Empty,
        };
    }

    internal override LayerNode? Infer(LayerContext c)
    {
        var shapes = c.Inputs;
        if (shapes.Count < 2 || Operation == MergeKind.Subtract && shapes.Count != 2)
            return c.Fail(Descriptors.MergeArity, LocationOf(nameof(Inputs)), c.Label, shapes.Count,
                Operation == MergeKind.Subtract ? "exactly two" : "at least two");
        if (Operation != MergeKind.Concatenate)
        {
            bool agree = true;
            for (int i = 1; i < shapes.Count; i++)
            {
                if (shapes[i].Equals(shapes[0])) continue;
                agree = false;
                // At the branch that disagrees, so the user sees where the shape came from.
                c.Report(Descriptors.MergeShapes, c.SourceLocation(i) ?? LocationOfInput(i), c.Label, Inputs[i], shapes[i], Inputs[0], shapes[0],
                    ShapeHint(shapes[0], shapes[i]));
            }
            if (!agree) return null;
            long flops = (long)(shapes.Count - 1) * shapes[0].Size + (Operation == MergeKind.Average ? shapes[0].Size : 0);
            return c.Node(shapes[0], flops);
        }

        int rank = shapes[0].Rank;
        // Keras counts the batch as axis 0; negative axes count from the end.
        int axis = Axis < 0 ? Axis + rank + 1 : Axis;
        if (axis < 1 || axis > rank)
            return c.Fail(Descriptors.ConcatenateAxis, LocationOf(nameof(Axis)), c.Label, Axis, shapes[0]);
        var dims = shapes[0].Dims;
        bool fits = true;
        for (int i = 1; i < shapes.Count; i++)
        {
            var s = shapes[i];
            bool same = s.Rank == rank && Enumerable.Range(0, rank).All(d => d == axis - 1 || s[d] == dims[d]);
            if (!same)
            {
                fits = false;
                c.Report(Descriptors.MergeShapes, c.SourceLocation(i) ?? LocationOfInput(i), c.Label, Inputs[i], s, Inputs[0], shapes[0],
                    $"Concatenate along axis {Axis} needs every other axis to agree");
                continue;
            }
            dims[axis - 1] += s[axis - 1];
        }
        return fits ? c.Node(new Shape(dims), 0) : null;
    }

    /// <summary>
    /// A concatenation as row copies: per sample, <c>Rows</c> rows of <c>Stride</c> output floats, to
    /// which input i gives <c>Widths[i]</c> floats starting at column <c>Offsets[i]</c>.
    /// </summary>
    public (int Rows, int[] Widths, int[] Offsets, int Stride) Blocks(LayerNode node)
    {
        var output = node.Output;
        int axis = (Axis < 0 ? Axis + output.Rank + 1 : Axis) - 1;
        int rows = 1, inner = 1;
        for (int d = 0; d < axis; d++) rows *= output[d];
        for (int d = axis + 1; d < output.Rank; d++) inner *= output[d];
        var widths = node.Inputs.Select(s => s[axis] * inner).ToArray();
        var offsets = new int[widths.Length];
        for (int i = 1; i < widths.Length; i++) offsets[i] = offsets[i - 1] + widths[i - 1];
        return (rows, widths, offsets, output[axis] * inner);
    }

    private static string ShapeHint(Shape expected, Shape actual) =>
        expected.Rank == 3 && actual.Rank == 3 && expected.Last != actual.Last
            ? "give the shortcut a projection, e.g. [Conv2D(filters, 1, Strides = s, From = ...)] so both branches have the same height, width and channels"
            : expected.Rank == 3 && actual.Rank == 3
                ? "the branches were downsampled differently; give the shortcut the same strides, e.g. a 1x1 [Conv2D] with Strides"
                : "both inputs need the same shape";

    public override string Describe(LayerNode node) =>
        $"{Kind}({string.Join(", ", Inputs)}{(Operation == MergeKind.Concatenate && Axis != -1 ? $", axis {Axis}" : "")})";
}
