using System.Collections.Generic;

namespace Kiln.Graph;

/// <summary>Shape inference and checks for the channels-last image layers and BatchNormalization.</summary>
internal static class ImageLayers
{
    public static LayerNode? Infer(int index, LayerSpec spec, string name, string label, Shape input, List<GraphDiagnostic> diagnostics)
    {
        string type = Names.KerasType(spec.Kind);
        if (input.Rank != 3)
        {
            string hint = input.Rank switch
            {
                1 => "put [Reshape(height, width, channels)] before it",
                2 => $"add a channel axis: declare [Sequential({input[0]}, {input[1]}, 1)] or put [Reshape({input[0]}, {input[1]}, 1)] before it",
                _ => "reshape the input to (height, width, channels)",
            };
            diagnostics.Add(GraphDiagnostic.Create(Descriptors.NeedsImage, spec.Location, label, input, hint));
            return null;
        }
        int h = input[0], w = input[1], c = input[2];

        bool Positive(string argument, int value, int minimum = 1)
        {
            if (value >= minimum) return true;
            diagnostics.Add(GraphDiagnostic.Create(Descriptors.ArgumentTooSmall, spec.LocationOf(argument), label, argument, value, minimum));
            return false;
        }

        switch (spec.Kind)
        {
            case LayerKind.GlobalAveragePooling2D:
            case LayerKind.GlobalMaxPooling2D:
                return new LayerNode(index, spec, name, type, input, new Shape(c), new WeightSpec[0], (long)h * w * c);

            case LayerKind.UpSampling2D:
            {
                int fh = spec.Int("sizeHeight", spec.Int("size", 2)), fw = spec.Int("sizeWidth", spec.Int("size", 2));
                if (!Positive(spec.Find("sizeHeight") is null ? "size" : "sizeHeight", fh) || !Positive(spec.Find("sizeWidth") is null ? "size" : "sizeWidth", fw)) return null;
                return new LayerNode(index, spec, name, type, input, new Shape(h * fh, w * fw, c), new WeightSpec[0], 0);
            }

            case LayerKind.ZeroPadding2D:
            {
                int p = spec.Int("padding", 1);
                int top = spec.Int("top", spec.Int("vertical", p)), bottom = spec.Int("bottom", spec.Int("vertical", p));
                int left = spec.Int("left", spec.Int("horizontal", p)), right = spec.Int("right", spec.Int("horizontal", p));
                foreach (var (arg, value) in new[] { ("top", top), ("bottom", bottom), ("left", left), ("right", right) })
                {
                    string written = spec.Find(arg) is not null ? arg : spec.Find(arg is "top" or "bottom" ? "vertical" : "horizontal") is not null
                        ? (arg is "top" or "bottom" ? "vertical" : "horizontal") : "padding";
                    if (!Positive(written, value, 0)) return null;
                }
                return new LayerNode(index, spec, name, type, input, new Shape(h + top + bottom, w + left + right, c), new WeightSpec[0], 0);
            }
        }

        // Convolutions and pooling: a window with strides and padding.
        bool conv = spec.Kind is LayerKind.Conv2D or LayerKind.Conv2DTranspose;
        string hName = conv ? "kernelHeight" : "poolHeight", wName = conv ? "kernelWidth" : "poolWidth", squareName = conv ? "kernelSize" : "poolSize";
        int kh = spec.Int(hName, spec.Int(squareName, 2)), kw = spec.Int(wName, spec.Int(squareName, 2));
        if (!Positive(spec.Find(hName) is null ? squareName : hName, kh) || !Positive(spec.Find(wName) is null ? squareName : wName, kw)) return null;
        int filters = conv ? spec.Int("filters") : c;
        if (conv && !Positive("filters", filters)) return null;
        // Keras: pooling strides default to the pool size, convolution strides to 1.
        int strides = spec.Int("Strides", conv ? 1 : 0);
        if (spec.Find("Strides") is not null && !Positive("Strides", strides)) return null;
        int sh = spec.Int("StrideHeight") > 0 ? spec.Int("StrideHeight") : strides > 0 ? strides : kh;
        int sw = spec.Int("StrideWidth") > 0 ? spec.Int("StrideWidth") : strides > 0 ? strides : kw;
        if (spec.Find("StrideHeight") is not null && !Positive("StrideHeight", spec.Int("StrideHeight"))) return null;
        if (spec.Find("StrideWidth") is not null && !Positive("StrideWidth", spec.Int("StrideWidth"))) return null;
        var padding = (PaddingKind)spec.Int("Padding");

        if (spec.Kind == LayerKind.Conv2DTranspose)
        {
            var t = Window.ForTranspose(input, filters, kh, kw, sh, sw, padding);
            var output = new Shape(t.InputHeight, t.InputWidth, filters);
            return ConvNode(index, spec, name, type, input, output, t, kh, kw, filters, c, transposed: true);
        }

        var window = Window.Forward(input, filters, kh, kw, sh, sw, padding);
        if (window.OutputHeight < 1 || window.OutputWidth < 1 || (padding == PaddingKind.Same && (kh > h + window.PadTop + window.PadBottom || kw > w + window.PadLeft + window.PadRight)))
        {
            diagnostics.Add(GraphDiagnostic.Create(Descriptors.WindowTooLarge, spec.Location, label, kh, kw, input,
                padding == PaddingKind.Same ? $" (padded {h + window.PadTop + window.PadBottom}x{w + window.PadLeft + window.PadRight})" : ""));
            return null;
        }
        var shape = new Shape(window.OutputHeight, window.OutputWidth, filters);
        if (conv) return ConvNode(index, spec, name, type, input, shape, window, kh, kw, filters, c, transposed: false);

        if (window.DroppedRows > 0 || window.DroppedColumns > 0)
            diagnostics.Add(GraphDiagnostic.Create(Descriptors.PoolingDropsPixels, spec.Location, label, input, kh, kw, sh, sw, window.DroppedRows, window.DroppedColumns));
        return new LayerNode(index, spec, name, type, input, shape, new WeightSpec[0], (long)shape.Size * kh * kw, window);
    }

    private static LayerNode ConvNode(int index, LayerSpec spec, string name, string type, Shape input, Shape output, Window window,
        int kh, int kw, int filters, int channels, bool transposed)
    {
        bool useBias = spec.Bool("UseBias", true);
        // Keras fans: receptive field × the kernel's last-but-one and last axes.
        var kernelShape = transposed ? new Shape(kh, kw, filters, channels) : new Shape(kh, kw, channels, filters);
        var kernel = new WeightSpec("kernel", kernelShape, true, Initializer.GlorotUniform, kh * kw * kernelShape[2], kh * kw * kernelShape[3]);
        // Multiply-adds: every output of the forward convolution (for a transpose, its input) reads kh·kw·C values.
        long macs = transposed
            ? (long)input[0] * input[1] * channels * kh * kw * filters
            : (long)output[0] * output[1] * filters * kh * kw * channels;
        long flops = 2 * macs + (useBias ? output.Size : 0) + ShapeInference.ActivationCost((ActivationKind)spec.Int("activation"), output.Size);
        var weights = useBias
            ? new[] { kernel, new WeightSpec("bias", new Shape(filters), true, Initializer.Zeros) }
            : new[] { kernel };
        return new LayerNode(index, spec, name, type, input, output, weights, flops, window);
    }

    public static LayerNode? BatchNormalization(int index, LayerSpec spec, string name, string label, Shape input, List<GraphDiagnostic> diagnostics)
    {
        double momentum = spec.Double("Momentum", 0.99), epsilon = spec.Double("Epsilon", 1e-3);
        if (!(momentum >= 0 && momentum <= 1))
        {
            diagnostics.Add(GraphDiagnostic.Create(Descriptors.BatchNormArgument, spec.LocationOf("Momentum"), label, "Momentum", Names.Number(momentum),
                "it weighs the old moving statistics and must be in [0, 1] (Keras' default is 0.99)"));
            return null;
        }
        if (!(epsilon > 0))
        {
            diagnostics.Add(GraphDiagnostic.Create(Descriptors.BatchNormArgument, spec.LocationOf("Epsilon"), label, "Epsilon", epsilon.ToString("G", System.Globalization.CultureInfo.InvariantCulture),
                "it keeps the division finite and must be positive (Keras' default is 0.001)"));
            return null;
        }
        int c = input.Last;
        var weights = new List<WeightSpec>();
        if (spec.Bool("Scale", true)) weights.Add(new WeightSpec("gamma", new Shape(c), true, Initializer.Ones));
        if (spec.Bool("Center", true)) weights.Add(new WeightSpec("beta", new Shape(c), true, Initializer.Zeros));
        weights.Add(new WeightSpec("moving_mean", new Shape(c), false, Initializer.Zeros));
        weights.Add(new WeightSpec("moving_variance", new Shape(c), false, Initializer.Ones));
        // Subtract, multiply, add per value in training-mode normalization.
        return new LayerNode(index, spec, name, Names.KerasType(spec.Kind), input, input, weights, 4L * input.Size);
    }
}
