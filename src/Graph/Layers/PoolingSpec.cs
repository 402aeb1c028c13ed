namespace Kiln.Graph;

/// <summary><c>[MaxPooling2D]</c> and <c>[AveragePooling2D]</c>: a window, strides (default: the pool size, as Keras) and padding.</summary>
public sealed record PoolingSpec(bool Max, int PoolHeight = 2, int PoolWidth = 2, int StrideHeight = 2, int StrideWidth = 2,
    PaddingKind Padding = PaddingKind.Valid) : LayerSpec
{
    public override LayerKind Kind => Max ? LayerKind.MaxPooling2D : LayerKind.AveragePooling2D;
    public override string BaseName => Max ? "max_pooling2d" : "average_pooling2d";
    public override KernelKind Kernel => KernelKind.Pool;

    /// <summary>Where the second positional argument (Keras' strides) was written, for KILN0150; null when given by name or not at all.</summary>
    public SourceSpan? PositionalStrides { get; init; }

    /// <summary>
    /// Keras' <c>(pool_size, strides)</c>. <c>PoolHeight</c>/<c>PoolWidth</c> override one side of
    /// <c>poolSize</c>; strides default to the window. A <c>strides</c> of 0 (the attribute's
    /// "not given") is the window too.
    /// </summary>
    internal static PoolingSpec Read(bool max, Arguments a)
    {
        int ph = a.Take(nameof(PoolHeight), "PoolHeight", "poolSize") is { } h ? (int)h.Number : 2;
        int pw = a.Take(nameof(PoolWidth), "PoolWidth", "poolSize") is { } w ? (int)w.Number : 2;
        var (sh, sw) = WindowRules.Strides(a, nameof(StrideHeight), nameof(StrideWidth), fallbackHeight: ph, fallbackWidth: pw);
        return new PoolingSpec(max, ph, pw, sh, sw, (PaddingKind)a.Int(nameof(Padding), "Padding", 0))
        {
            PositionalStrides = a.ByPosition("strides")?.Location,
        };
    }

    internal override LayerNode? Infer(LayerContext c)
    {
        if (!c.NeedsImage()) return null;
        var input = c.Input;
        if (!c.AtLeast(nameof(PoolHeight), "poolSize", PoolHeight) || !c.AtLeast(nameof(PoolWidth), "poolSize", PoolWidth)) return null;
        if (!WindowRules.StridesValid(c, nameof(StrideHeight), nameof(StrideWidth), StrideHeight, StrideWidth)) return null;
        // KILN0150: strides past the window, e.g. [MaxPooling2D(2, 3)], once a 2x3 window, now skips pixels.
        if (PositionalStrides is { } at && PoolHeight == PoolWidth && StrideHeight == StrideWidth && StrideHeight > PoolHeight)
            c.Report(Descriptors.KerasPositionalStrides, at, c.Label, $"{Kind}({PoolHeight}, {StrideHeight})", "(pool_size, strides)", PoolHeight, StrideHeight,
                "so pixels between the windows are never read", $"a {PoolHeight}x{StrideHeight} window", $"[{Kind}({PoolHeight}, PoolWidth = {StrideHeight})]");
        var window = Window.Forward(input, input[2], PoolHeight, PoolWidth, StrideHeight, StrideWidth, Padding);
        if (!WindowRules.Fits(c, window, input[0], input[1], Padding)) return null;
        var output = new Shape(window.OutputHeight, window.OutputWidth, input[2]);
        if (window.DroppedRows > 0 || window.DroppedColumns > 0)
            c.Report(Descriptors.PoolingDropsPixels, Location, c.Label, input, PoolHeight, PoolWidth, StrideHeight, StrideWidth, window.DroppedRows, window.DroppedColumns);
        return c.Node(output, (long)output.Size * PoolHeight * PoolWidth, System.Array.Empty<WeightSpec>(), window);
    }

    public override string Describe(LayerNode node) =>
        $"{Kind}({PoolHeight}x{PoolWidth}"
        + (StrideHeight != PoolHeight || StrideWidth != PoolWidth ? $", strides {StrideHeight}x{StrideWidth}" : "")
        + (Padding == PaddingKind.Same ? ", same" : "") + ")";
}

/// <summary><c>[GlobalAveragePooling2D]</c> and <c>[GlobalMaxPooling2D]</c>: (h, w, c) → (c).</summary>
public sealed record GlobalPoolingSpec(bool Max) : LayerSpec
{
    public override LayerKind Kind => Max ? LayerKind.GlobalMaxPooling2D : LayerKind.GlobalAveragePooling2D;
    public override string BaseName => Max ? "global_max_pooling2d" : "global_average_pooling2d";
    public override KernelKind Kernel => KernelKind.Pool;

    internal override LayerNode? Infer(LayerContext c) =>
        c.NeedsImage() ? c.Node(new Shape(c.Input[2]), (long)c.Input[0] * c.Input[1] * c.Input[2]) : null;

    public override string Describe(LayerNode node) => Kind.ToString();
}
