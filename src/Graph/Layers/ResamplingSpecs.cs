namespace Kiln.Graph;

/// <summary><c>[UpSampling2D(size)]</c>: nearest-neighbour upsampling by repeating rows and columns.</summary>
public sealed record UpSampling2DSpec(int SizeHeight = 2, int SizeWidth = 2) : LayerSpec
{
    public override LayerKind Kind => LayerKind.UpSampling2D;
    public override string BaseName => "up_sampling2d";
    public override KernelKind Kernel => KernelKind.Resample;

    internal static UpSampling2DSpec Read(Arguments a) => new(
        a.Take(nameof(SizeHeight), "sizeHeight", "size") is { } h ? (int)h.Number : 2,
        a.Take(nameof(SizeWidth), "sizeWidth", "size") is { } w ? (int)w.Number : 2);

    internal override LayerNode? Infer(LayerContext c)
    {
        if (!c.NeedsImage()) return null;
        if (!c.AtLeast(nameof(SizeHeight), "size", SizeHeight) || !c.AtLeast(nameof(SizeWidth), "size", SizeWidth)) return null;
        var i = c.Input;
        return c.Node(new Shape(Shape.Dim((long)i[0] * SizeHeight), Shape.Dim((long)i[1] * SizeWidth), i[2]), 0);
    }

    public override string Describe(LayerNode node) => "UpSampling2D";
}

/// <summary><c>[ZeroPadding2D]</c>: rows and columns of zeros around each image.</summary>
public sealed record ZeroPadding2DSpec(int Top = 1, int Bottom = 1, int Left = 1, int Right = 1) : LayerSpec
{
    public override LayerKind Kind => LayerKind.ZeroPadding2D;
    public override string BaseName => "zero_padding2d";
    public override KernelKind Kernel => KernelKind.Resample;

    /// <summary>The attribute's three forms: (padding), (vertical, horizontal), (top, bottom, left, right).</summary>
    internal static ZeroPadding2DSpec Read(Arguments a) => new(
        Side(a, nameof(Top), "top", "vertical"), Side(a, nameof(Bottom), "bottom", "vertical"),
        Side(a, nameof(Left), "left", "horizontal"), Side(a, nameof(Right), "right", "horizontal"));

    private static int Side(Arguments a, string field, string side, string axis) =>
        a.Take(field, side, axis, "padding") is { } written ? (int)written.Number : 1;

    internal override LayerNode? Infer(LayerContext c)
    {
        if (!c.NeedsImage()) return null;
        if (!c.AtLeast(nameof(Top), "padding", Top, 0) || !c.AtLeast(nameof(Bottom), "padding", Bottom, 0)
            || !c.AtLeast(nameof(Left), "padding", Left, 0) || !c.AtLeast(nameof(Right), "padding", Right, 0)) return null;
        var i = c.Input;
        return c.Node(new Shape(Shape.Dim((long)i[0] + Top + Bottom), Shape.Dim((long)i[1] + Left + Right), i[2]), 0);
    }

    public override string Describe(LayerNode node) => "ZeroPadding2D";
}
