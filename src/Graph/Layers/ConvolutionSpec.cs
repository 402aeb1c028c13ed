namespace Kiln.Graph;

/// <summary>
/// <c>[Conv2D]</c> and <c>[Conv2DTranspose]</c>: filters, a kh × kw window, strides, padding, an
/// activation and a bias, on channels-last images. Kernel layout (kh, kw, in, filters), or
/// (kh, kw, filters, in) for the transpose, as Keras stores them.
/// </summary>
public sealed record ConvolutionSpec(
    bool Transposed, int Filters, int KernelHeight, int KernelWidth,
    int StrideHeight = 1, int StrideWidth = 1, PaddingKind Padding = PaddingKind.Valid,
    ActivationKind Activation = ActivationKind.Linear, bool UseBias = true) : LayerSpec
{
    public override LayerKind Kind => Transposed ? LayerKind.Conv2DTranspose : LayerKind.Conv2D;
    public override string BaseName => Transposed ? "conv2d_transpose" : "conv2d";
    public override KernelKind Kernel => KernelKind.Linear;
    public override ActivationKind Activation { get; } = Activation;

    /// <summary>Where the third positional argument (Keras' strides) was written, for KILN0150; null when given by name or not at all.</summary>
    public SourceSpan? PositionalStrides { get; init; }

    /// <summary><c>KernelL1</c>, <c>KernelL2</c>, <c>BiasL1</c>, <c>BiasL2</c>: Keras' kernel and bias regularizers.</summary>
    public RegularizerSpec Regularizers { get; init; } = RegularizerSpec.None;

    /// <summary>
    /// Keras' <c>(filters, kernel_size, strides)</c>. <c>KernelHeight</c>/<c>KernelWidth</c> override
    /// one side of <c>kernelSize</c>; strides default to 1, <c>Strides</c> (or the positional
    /// <c>strides</c>) sets both, <c>StrideHeight</c>/<c>StrideWidth</c> override one.
    /// </summary>
    internal static ConvolutionSpec Read(bool transposed, Arguments a)
    {
        int kh = a.Take(nameof(KernelHeight), "KernelHeight", "kernelSize") is { } h ? (int)h.Number : 0;
        int kw = a.Take(nameof(KernelWidth), "KernelWidth", "kernelSize") is { } w ? (int)w.Number : 0;
        var (sh, sw) = WindowRules.Strides(a, nameof(StrideHeight), nameof(StrideWidth), fallbackHeight: 1, fallbackWidth: 1);
        return new ConvolutionSpec(transposed, a.Int(nameof(Filters), "filters", 0), kh, kw, sh, sw,
            (PaddingKind)a.Int(nameof(Padding), "Padding", 0), (ActivationKind)a.Int(nameof(Activation), "Activation", 0),
            a.Bool(nameof(UseBias), "UseBias", true))
        {
            PositionalStrides = a.ByPosition("strides")?.Location,
            Regularizers = RegularizerSpec.Read(a),
        };
    }

    internal override LayerNode? Infer(LayerContext c)
    {
        if (!c.NeedsImage()) return null;
        var input = c.Input;
        int h = input[0], w = input[1], channels = input[2];
        if (!c.AtLeast(nameof(KernelHeight), "kernelSize", KernelHeight) || !c.AtLeast(nameof(KernelWidth), "kernelSize", KernelWidth)) return null;
        if (!c.AtLeast(nameof(Filters), "filters", Filters)) return null;
        if (!WindowRules.StridesValid(c, nameof(StrideHeight), nameof(StrideWidth), StrideHeight, StrideWidth)) return null;
        CheckKerasReading(c);
        if (!Regularizers.Check(c, UseBias)) return null;

        Window window;
        Shape output;
        if (Transposed)
        {
            window = Window.ForTranspose(input, Filters, KernelHeight, KernelWidth, StrideHeight, StrideWidth, Padding);
            output = new Shape(window.InputHeight, window.InputWidth, Filters);
        }
        else
        {
            window = Window.Forward(input, Filters, KernelHeight, KernelWidth, StrideHeight, StrideWidth, Padding);
            if (!WindowRules.Fits(c, window, h, w, Padding)) return null;
            output = new Shape(window.OutputHeight, window.OutputWidth, Filters);
        }

        // Keras fans: receptive field × the kernel's last-but-one and last axes.
        var kernelShape = Transposed ? new Shape(KernelHeight, KernelWidth, Filters, channels) : new Shape(KernelHeight, KernelWidth, channels, Filters);
        int field = KernelHeight * KernelWidth;
        var kernel = Regularizers.Kernel(new WeightSpec("kernel", kernelShape, true, Initializer.GlorotUniform, field * kernelShape[2], field * kernelShape[3]));
        // Multiply-adds: every output of the forward convolution (for a transpose, its input) reads kh·kw·C values.
        long macs = Transposed
            ? (long)input[0] * input[1] * channels * field * Filters
            : (long)output[0] * output[1] * Filters * field * channels;
        long flops = 2 * macs + (UseBias ? output.Size : 0) + LayerContext.ActivationCost(Activation, output.Size);
        var weights = UseBias
            ? new[] { kernel, Regularizers.Bias(new WeightSpec("bias", new Shape(Filters), true, Initializer.Zeros)) }
            : new[] { kernel };
        return c.Node(output, flops, weights, window);
    }

    public override string Describe(LayerNode node) =>
        $"{Kind}({Filters}, {KernelHeight}x{KernelWidth}"
        + (StrideHeight * StrideWidth > 1 ? $", strides {StrideHeight}x{StrideWidth}" : "")
        + (Padding == PaddingKind.Same ? ", same" : "")
        + (Activation == ActivationKind.Linear ? "" : ", " + Names.Activation(Activation)) + ")";

    /// <summary>
    /// KILN0150 for a positional <c>strides</c> that the old (Keras 1, earlier Kiln) reading took as
    /// the kernel width: equal to the kernel (<c>[Conv2D(32, 3, 3)]</c>, once a 3×3 kernel) or
    /// larger (pixels skipped). A 1×1 kernel with stride 2 is a ResNet shortcut, so not warned;
    /// for a transpose, strides equal to the kernel are the usual upsampling.
    /// </summary>
    private void CheckKerasReading(LayerContext c)
    {
        if (PositionalStrides is not { } at || KernelHeight != KernelWidth || StrideHeight != StrideWidth) return;
        int k = KernelHeight, s = StrideHeight;
        string written = $"{Kind}({Filters}, {k}, {s})";
        if (Transposed ? s > k : s > 1 && k > 1 && s >= k)
            c.Report(Descriptors.KerasPositionalStrides, at, c.Label, written, "(filters, kernel_size, strides)", k, s,
                Transposed ? "so some output rows and columns get only the bias" : s == k ? "so the windows do not overlap" : "so pixels between the windows are never read",
                s == k ? $"a {k}x{k} window with stride 1" : $"a {k}x{s} window",
                s == k ? $"[{Kind}({Filters}, {k})]" : $"[{Kind}({Filters}, {k}, KernelWidth = {s})]");
    }
}
