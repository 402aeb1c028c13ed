using System;
using System.Collections.Generic;
using System.Linq;

namespace Kiln;

internal sealed partial class OnnxGraphBuilder
{
    private void Dense(LayerInfo layer)
    {
        var x = InLayout(Input(layer), Layout.ChannelsLast);
        if (x.Shape.Length != 1)
            throw new NotSupportedException($"ONNX export: Dense '{layer.Name}' reads a ({string.Join(", ", x.Shape)}) value per sample; only one vector per sample exports.");
        int inputs = x.Shape[0], units = Config<int>(layer, "units");
        // Keras' kernel is (inputs, units): Gemm's B as it stands.
        var kernel = Weight(layer, "kernel").ToArray();
        float[]? bias = ConfigOr(layer, "use_bias", true) ? Weight(layer, "bias").ToArray() : null;
        string activation = Config<string>(layer, "activation");
        var result = layer; // the layer whose value this computes: the BatchNormalization after it, when folded
        if (FoldableBatchNorm(layer, activation) is { } bn)
        {
            var (scale, shift) = BatchNormAffine(bn, units);
            for (int i = 0; i < inputs; i++)
                for (int u = 0; u < units; u++) kernel[i * units + u] *= scale[u];
            bias = FoldedBias(bias, scale, shift);
            _folded.Add(bn.Name);
            result = bn;
        }
        var inputsOfGemm = new List<string> { x.Name, Initializer(layer.Name + "/kernel", new long[] { inputs, units }, kernel) };
        if (bias is not null) inputsOfGemm.Add(Initializer(layer.Name + "/bias", new long[] { units }, bias));
        string y = activation == "linear" ? ResultName(result, Layout.ChannelsLast) : Fresh(layer.Name + "/linear");
        Node("Gemm", y, inputsOfGemm, new[] { y });
        var value = new Value(y, Layout.ChannelsLast, new[] { units });
        Define(result, ApplyActivation(result, value, activation).Name, Layout.ChannelsLast);
    }

    private void Convolution(LayerInfo layer, bool transposed)
    {
        var x = InLayout(Input(layer), Layout.ChannelsFirst);
        if (!x.IsImage)
            throw new NotSupportedException($"ONNX export: {layer.Kind} '{layer.Name}' reads a ({string.Join(", ", x.Shape)}) value per sample, not an image.");
        int filters = Config<int>(layer, "filters");
        var k = Config<int[]>(layer, "kernel_size");
        var s = Config<int[]>(layer, "strides");
        bool same = Config<string>(layer, "padding") == "same";
        string activation = Config<string>(layer, "activation");
        int channels = x.Shape[2];
        var output = layer.OutputShape;

        // Keras: (kh, kw, in, filters), or (kh, kw, filters, in) transposed. ONNX: Conv W is (filters, in, kh, kw),
        // ConvTranspose W is (in, filters, kh, kw): both are the Keras kernel with its axes reversed pairwise (3, 2, 0, 1).
        var keras = Weight(layer, "kernel");
        int a = transposed ? filters : channels, b = transposed ? channels : filters;
        var kernel = new float[keras.Length];
        for (int i = 0; i < k[0]; i++)
            for (int j = 0; j < k[1]; j++)
                for (int p = 0; p < a; p++)
                    for (int q = 0; q < b; q++)
                        kernel[((q * a + p) * k[0] + i) * k[1] + j] = keras[((i * k[1] + j) * a + p) * b + q];
        float[]? bias = ConfigOr(layer, "use_bias", true) ? Weight(layer, "bias").ToArray() : null;
        var result = layer; // the layer whose value this computes: the BatchNormalization after it, when folded
        if (FoldableBatchNorm(layer, activation) is { } bn)
        {
            var (scale, shift) = BatchNormAffine(bn, filters);
            int perFilter = k[0] * k[1] * channels;
            for (int i = 0; i < kernel.Length; i++)
            {
                // Output channel: axis 0 of Conv's W, axis 1 of ConvTranspose's.
                int f = transposed ? i / (k[0] * k[1]) % filters : i / perFilter;
                kernel[i] *= scale[f];
            }
            bias = FoldedBias(bias, scale, shift);
            _folded.Add(bn.Name);
            result = bn;
        }

        var attributes = new List<Onnx.AttributeProto>
        {
            Ints("kernel_shape", k[0], k[1]),
            Ints("strides", s[0], s[1]),
        };
        if (!transposed)
        {
            var (top, bottom) = Pads(x.Shape[0], output[0], k[0], s[0], same);
            var (left, right) = Pads(x.Shape[1], output[1], k[1], s[1], same);
            attributes.Add(Ints("pads", top, left, bottom, right));
        }
        else
        {
            // The transpose of the forward convolution from this layer's output back to its input:
            // the same pads; what the pads leave uncovered at the bottom/right is output_padding.
            var (top, bottom) = Pads(output[0], x.Shape[0], k[0], s[0], same);
            var (left, right) = Pads(output[1], x.Shape[1], k[1], s[1], same);
            long extraRows = output[0] - ((x.Shape[0] - 1L) * s[0] + k[0] - top - bottom);
            long extraColumns = output[1] - ((x.Shape[1] - 1L) * s[1] + k[1] - left - right);
            attributes.Add(Ints("pads", top, left, bottom, right));
            if (extraRows != 0 || extraColumns != 0) attributes.Add(Ints("output_padding", extraRows, extraColumns));
        }
        long[] shape = transposed ? new long[] { channels, filters, k[0], k[1] } : new long[] { filters, channels, k[0], k[1] };
        var inputs = new List<string> { x.Name, Initializer(layer.Name + "/kernel", shape, kernel) };
        if (bias is not null) inputs.Add(Initializer(layer.Name + "/bias", new long[] { filters }, bias));
        string y = activation == "linear" ? ResultName(result, Layout.ChannelsFirst) : Fresh(layer.Name + "/linear");
        Node(transposed ? "ConvTranspose" : "Conv", y, inputs, new[] { y }, attributes.ToArray());
        var value = new Value(y, Layout.ChannelsFirst, layer.OutputShape);
        Define(result, ApplyActivation(result, value, activation).Name, Layout.ChannelsFirst);
    }

    /// <summary>
    /// TensorFlow's padding of one spatial axis: none for valid; for same, the total that lets
    /// <paramref name="output"/> windows cover <paramref name="input"/>, the odd one at the end.
    /// </summary>
    private static (long Begin, long End) Pads(int input, int output, int kernel, int stride, bool same)
    {
        if (!same) return (0, 0);
        long total = Math.Max((output - 1L) * stride + kernel - input, 0);
        return (total / 2, total - total / 2);
    }

    private void Pooling(LayerInfo layer, string op)
    {
        var x = InLayout(Input(layer), Layout.ChannelsFirst);
        var p = Config<int[]>(layer, "pool_size");
        var s = Config<int[]>(layer, "strides");
        bool same = Config<string>(layer, "padding") == "same";
        string y = ResultName(layer, Layout.ChannelsFirst);
        // The padding is stated by auto_pad (SAME_UPPER is TensorFlow's 'same'; AveragePool's count_include_pad stays 0, so
        // padded cells are not counted), not explicit pads: ONNX Runtime folds a zero Pad (ZeroPadding2D) into a following
        // pool's explicit pads, which for a MaxPool loses the zeros that beat a window of negative values, and for an
        // AveragePool whose pad reaches its window makes a node it then refuses to run. It leaves a pool with auto_pad alone.
        Node(op, y, new[] { x.Name }, new[] { y }, Ints("kernel_shape", p[0], p[1]), Ints("strides", s[0], s[1]), String("auto_pad", same ? "SAME_UPPER" : "VALID"));
        Define(layer, y, Layout.ChannelsFirst);
    }

    private void GlobalPooling(LayerInfo layer, string op)
    {
        var x = InLayout(Input(layer), Layout.ChannelsFirst);
        string pooled = Fresh(layer.Name + "/pooled");
        Node(op, pooled, new[] { x.Name }, new[] { pooled });
        // (batch, C, 1, 1) → (batch, C), Keras' keepdims=False.
        string y = ResultName(layer, Layout.ChannelsLast);
        Node("Flatten", y, new[] { pooled }, new[] { y }, Int("axis", 1));
        Define(layer, y, Layout.ChannelsLast);
    }

    private void BatchNormalization(LayerInfo layer)
    {
        var input = Input(layer);
        int channels = layer.OutputShape[^1];
        double epsilon = Config<double>(layer, "epsilon");
        string gamma = ConfigOr(layer, "scale", true)
            ? Initializer(layer.Name + "/gamma", new long[] { channels }, Weight(layer, "gamma").ToArray())
            : Initializer(layer.Name + "/gamma", new long[] { channels }, Enumerable.Repeat(1f, channels).ToArray());
        string beta = ConfigOr(layer, "center", true)
            ? Initializer(layer.Name + "/beta", new long[] { channels }, Weight(layer, "beta").ToArray())
            : Initializer(layer.Name + "/beta", new long[] { channels }, new float[channels]);
        string mean = Initializer(layer.Name + "/moving_mean", new long[] { channels }, Weight(layer, "moving_mean").ToArray());
        string variance = Initializer(layer.Name + "/moving_variance", new long[] { channels }, Weight(layer, "moving_variance").ToArray());

        // ONNX normalizes axis 1: an image goes channels first, a vector already has it there, any
        // other rank is transposed so the last axis comes second, and back.
        int rank = input.Shape.Length;
        Value x = input.IsImage ? InLayout(input, Layout.ChannelsFirst) : input;
        long[]? perm = null;
        if (rank >= 2 && !input.IsImage)
        {
            perm = new long[rank + 1];
            perm[0] = 0;
            perm[1] = rank;
            for (int d = 1; d < rank; d++) perm[d + 1] = d;
            string moved = Fresh(layer.Name + "/channels_second");
            Node("Transpose", moved, new[] { x.Name }, new[] { moved }, Ints("perm", perm));
            x = x with { Name = moved };
        }
        var layout = x.Layout;
        string y = perm is null ? ResultName(layer, layout) : Fresh(layer.Name + "/normalized");
        Node("BatchNormalization", y, new[] { x.Name, gamma, beta, mean, variance }, new[] { y }, Float("epsilon", (float)epsilon));
        if (perm is not null)
        {
            var back = new long[perm.Length];
            for (int d = 0; d < perm.Length; d++) back[perm[d]] = d;
            string restored = ResultName(layer, Layout.ChannelsLast);
            Node("Transpose", restored, new[] { y }, new[] { restored }, Ints("perm", back));
            y = restored;
        }
        Define(layer, y, layout);
    }

    private void Flatten(LayerInfo layer)
    {
        // Kiln flattens channels last: (h, w, c) → h·w·c in that order.
        var x = InLayout(Input(layer), Layout.ChannelsLast);
        string y = ResultName(layer, Layout.ChannelsLast);
        Node("Flatten", y, new[] { x.Name }, new[] { y }, Int("axis", 1));
        Define(layer, y, Layout.ChannelsLast);
    }

    private void Reshape(LayerInfo layer)
    {
        var x = InLayout(Input(layer), Layout.ChannelsLast);
        var target = new long[layer.OutputShape.Length + 1];
        target[0] = 0; // 0 copies the batch dimension from the input
        for (int d = 0; d < layer.OutputShape.Length; d++) target[d + 1] = layer.OutputShape[d];
        string shape = Initializer(layer.Name + "/shape", new long[] { target.Length }, target);
        string y = ResultName(layer, Layout.ChannelsLast);
        Node("Reshape", y, new[] { x.Name, shape }, new[] { y });
        Define(layer, y, Layout.ChannelsLast);
    }

    private void Activation(LayerInfo layer, string activation)
    {
        var x = Input(layer);
        string y = ResultName(layer, x.Layout);
        Define(layer, ActivationNode(layer, x, activation, y).Name, x.Layout);
    }

    /// <summary>A Dense or Conv2D <c>activation</c>: a node after the linear one, writing the layer's name.</summary>
    private Value ApplyActivation(LayerInfo layer, Value linear, string activation) =>
        activation == "linear" ? linear : ActivationNode(layer, linear, activation, ResultName(layer, linear.Layout));

    private Value ActivationNode(LayerInfo layer, Value x, string activation, string y)
    {
        switch (activation)
        {
            case "linear": Node("Identity", y, new[] { x.Name }, new[] { y }); break;
            case "relu": Node("Relu", y, new[] { x.Name }, new[] { y }); break;
            case "sigmoid": Node("Sigmoid", y, new[] { x.Name }, new[] { y }); break;
            case "tanh": Node("Tanh", y, new[] { x.Name }, new[] { y }); break;
            case "leaky_relu":
                Node("LeakyRelu", y, new[] { x.Name }, new[] { y }, Float("alpha", (float)ConfigOr(layer, "negative_slope", 0.3)));
                break;
            case "softmax": Node("Softmax", y, new[] { x.Name }, new[] { y }, Int("axis", ChannelAxis(x))); break;
            default:
                throw new NotSupportedException($"ONNX export: layer '{layer.Name}' ({layer.Kind}) uses activation '{activation}', which has no ONNX translation.");
        }
        return x with { Name = y };
    }

    private void Rescaling(LayerInfo layer)
    {
        var x = Input(layer);
        float scale = (float)Config<double>(layer, "scale"), offset = (float)ConfigOr(layer, "offset", 0.0);
        string scaled = offset == 0 ? ResultName(layer, x.Layout) : Fresh(layer.Name + "/scaled");
        Node("Mul", scaled, new[] { x.Name, Initializer(layer.Name + "/scale", Array.Empty<long>(), new[] { scale }) }, new[] { scaled });
        string y = scaled;
        if (offset != 0)
        {
            y = ResultName(layer, x.Layout);
            Node("Add", y, new[] { scaled, Initializer(layer.Name + "/offset", Array.Empty<long>(), new[] { offset }) }, new[] { y });
        }
        Define(layer, y, x.Layout);
    }

    private void Normalization(LayerInfo layer)
    {
        var x = InLayout(Input(layer), Layout.ChannelsLast);
        var mean = Weight(layer, "mean");
        var variance = Weight(layer, "variance");
        // The statistics cover a trailing run of axes: shaped as those axes, they broadcast over the rest.
        var shape = new List<long>();
        long count = 1;
        for (int axis = x.Shape.Length - 1; axis >= 0 && count < mean.Length; axis--)
        {
            shape.Insert(0, x.Shape[axis]);
            count *= x.Shape[axis];
        }
        if (count != mean.Length)
            throw new NotSupportedException($"ONNX export: Normalization '{layer.Name}' holds {mean.Length} statistics, which match no trailing axes of ({string.Join(", ", x.Shape)}).");
        // Keras: y = (x − mean) / max(√variance, 1e-7), or mean + x · max(√variance, 1e-7) inverted.
        var deviation = new float[variance.Length];
        for (int i = 0; i < deviation.Length; i++) deviation[i] = MathF.Max(MathF.Sqrt(variance[i]), 1e-7f);
        string m = Initializer(layer.Name + "/mean", shape.ToArray(), mean.ToArray());
        string d = Initializer(layer.Name + "/deviation", shape.ToArray(), deviation);
        string middle = Fresh(layer.Name + "/partial");
        string y = ResultName(layer, Layout.ChannelsLast);
        if (ConfigOr(layer, "invert", false))
        {
            Node("Mul", middle, new[] { x.Name, d }, new[] { middle });
            Node("Add", y, new[] { middle, m }, new[] { y });
        }
        else
        {
            Node("Sub", middle, new[] { x.Name, m }, new[] { middle });
            Node("Div", y, new[] { middle, d }, new[] { y });
        }
        Define(layer, y, Layout.ChannelsLast);
    }

    private void UpSampling(LayerInfo layer)
    {
        var x = InLayout(Input(layer), Layout.ChannelsFirst);
        var size = Config<int[]>(layer, "size");
        string scales = Initializer(layer.Name + "/scales", new long[] { 4 }, new[] { 1f, 1f, size[0], size[1] });
        string y = ResultName(layer, Layout.ChannelsFirst);
        // Nearest with asymmetric coordinates and floor: output row i reads input row ⌊i / size⌋, Keras' repeat.
        Node("Resize", y, new[] { x.Name, "", scales }, new[] { y },
            String("mode", "nearest"), String("coordinate_transformation_mode", "asymmetric"), String("nearest_mode", "floor"));
        Define(layer, y, Layout.ChannelsFirst);
    }

    /// <summary>
    /// RandomCrop as Predict runs it (<see cref="Kernels.Augmentation.CenterCrop"/>): the largest centred
    /// window with the target's aspect ratio, a Slice; when that window is not already the target's size,
    /// resized to it bilinearly with half-pixel centres and no antialiasing (Resize, linear, half_pixel),
    /// which runs channels first as UpSampling's does.
    /// </summary>
    private void CenterCrop(LayerInfo layer)
    {
        var input = Input(layer);
        if (!input.IsImage)
            throw new NotSupportedException($"ONNX export: RandomCrop '{layer.Name}' reads a ({string.Join(", ", input.Shape)}) value per sample, not an image.");
        int height = input.Shape[0], width = input.Shape[1];
        int cropHeight = Config<int>(layer, "height"), cropWidth = Config<int>(layer, "width");
        var (top, left, rows, columns) = Kernels.Augmentation.CenterWindow(height, width, cropHeight, cropWidth);
        bool resize = rows != cropHeight || columns != cropWidth;
        if (!resize && rows == height && columns == width)
        {
            _values[layer.Name] = input; // the target is the whole image: a copy
            return;
        }
        var x = resize ? InLayout(input, Layout.ChannelsFirst) : input;
        string y = ResultName(layer, x.Layout);
        string window = x.Name;
        if (rows != height || columns != width)
        {
            long rowAxis = x.Layout == Layout.ChannelsFirst ? 2 : 1;
            window = resize ? Fresh(layer.Name + "/window") : y;
            string starts = Initializer(layer.Name + "/starts", new long[] { 2 }, new long[] { top, left });
            string ends = Initializer(layer.Name + "/ends", new long[] { 2 }, new long[] { top + rows, left + columns });
            string axes = Initializer(layer.Name + "/axes", new long[] { 2 }, new long[] { rowAxis, rowAxis + 1 });
            Node("Slice", window, new[] { x.Name, starts, ends, axes }, new[] { window });
        }
        if (resize)
        {
            // Resize's sizes name every axis: the batch and channels from the tensor's shape, then the target.
            string batchAndChannels = Fresh(layer.Name + "/batch_and_channels");
            Node("Shape", batchAndChannels, new[] { window }, new[] { batchAndChannels }, Int("end", 2));
            string target = Initializer(layer.Name + "/target", new long[] { 2 }, new long[] { cropHeight, cropWidth });
            string sizes = Fresh(layer.Name + "/sizes");
            Node("Concat", sizes, new[] { batchAndChannels, target }, new[] { sizes }, Int("axis", 0));
            Node("Resize", y, new[] { window, "", "", sizes }, new[] { y },
                String("mode", "linear"), String("coordinate_transformation_mode", "half_pixel"));
        }
        Define(layer, y, x.Layout);
    }

    private void ZeroPadding(LayerInfo layer)
    {
        var x = Input(layer);
        var p = Config<int[][]>(layer, "padding");
        long top = p[0][0], bottom = p[0][1], left = p[1][0], right = p[1][1];
        long[] pads = x.Layout == Layout.ChannelsFirst
            ? new[] { 0, 0, top, left, 0, 0, bottom, right }
            : new[] { 0, top, left, 0, 0, bottom, right, 0 };
        string padsName = Initializer(layer.Name + "/pads", new long[] { 8 }, pads);
        string y = ResultName(layer, x.Layout);
        Node("Pad", y, new[] { x.Name, padsName }, new[] { y }, String("mode", "constant"));
        Define(layer, y, x.Layout);
    }

    /// <summary>The inputs of a merge, all in the first one's layout.</summary>
    private List<Value> MergeInputs(LayerInfo layer)
    {
        var first = Input(layer, 0);
        var inputs = new List<Value> { first };
        for (int i = 1; i < layer.Inbound.Length; i++) inputs.Add(InLayout(Input(layer, i), first.Layout));
        return inputs;
    }

    private void Merge(LayerInfo layer, string op)
    {
        var inputs = MergeInputs(layer);
        var layout = inputs[0].Layout;
        string y = ResultName(layer, layout);
        if (op == "Mul" && inputs.Count > 2)
        {
            // Mul takes two operands: a chain, left to right.
            string acc = inputs[0].Name;
            for (int i = 1; i < inputs.Count; i++)
            {
                string next = i == inputs.Count - 1 ? y : Fresh($"{layer.Name}/product_{i}");
                Node("Mul", next, new[] { acc, inputs[i].Name }, new[] { next });
                acc = next;
            }
        }
        else
        {
            Node(op, y, inputs.Select(v => v.Name), new[] { y });
        }
        Define(layer, y, layout);
    }

    private void Concatenate(LayerInfo layer)
    {
        var inputs = MergeInputs(layer);
        long axis = OnnxAxis(inputs[0], Config<int>(layer, "axis"));
        string y = ResultName(layer, inputs[0].Layout);
        Node("Concat", y, inputs.Select(v => v.Name), new[] { y }, Int("axis", axis));
        Define(layer, y, inputs[0].Layout);
    }

    /// <summary>
    /// The BatchNormalization that can fold into <paramref name="producer"/> when folding is on: its only
    /// reader, after no activation, and not itself a model output.
    /// </summary>
    private LayerInfo? FoldableBatchNorm(LayerInfo producer, string activation)
    {
        if (!_options.FoldBatchNormalization || activation != "linear" || _outputLayers.Contains(producer.Name)) return null;
        if (!_readers.TryGetValue(producer.Name, out var readers) || readers.Count != 1) return null;
        var bn = readers[0];
        return bn.Kind == "BatchNormalization" && bn.Inbound.Length == 1 ? bn : null;
    }

    /// <summary>Inference BatchNormalization as y = x · scale + shift per channel.</summary>
    private (float[] Scale, float[] Shift) BatchNormAffine(LayerInfo bn, int channels)
    {
        double epsilon = Config<double>(bn, "epsilon");
        var gamma = ConfigOr(bn, "scale", true) ? Weight(bn, "gamma").ToArray() : Enumerable.Repeat(1f, channels).ToArray();
        var beta = ConfigOr(bn, "center", true) ? Weight(bn, "beta").ToArray() : new float[channels];
        var mean = Weight(bn, "moving_mean");
        var variance = Weight(bn, "moving_variance");
        var scale = new float[channels];
        var shift = new float[channels];
        for (int c = 0; c < channels; c++)
        {
            double factor = gamma[c] / Math.Sqrt(variance[c] + epsilon);
            scale[c] = (float)factor;
            shift[c] = (float)(beta[c] - mean[c] * factor);
        }
        return (scale, shift);
    }

    private static float[] FoldedBias(float[]? bias, float[] scale, float[] shift)
    {
        var folded = new float[scale.Length];
        for (int c = 0; c < folded.Length; c++) folded[c] = (bias is null ? 0f : bias[c]) * scale[c] + shift[c];
        return folded;
    }

    /// <summary>One of the layer's weights by its Keras name (<c>conv2d/kernel</c>), from Parameters or State.</summary>
    private ReadOnlySpan<float> Weight(LayerInfo layer, string suffix)
    {
        string name = layer.Name + "/" + suffix;
        foreach (var t in _model.Description.Tensors)
            if (t.Name == name) return _model.Tensor(name);
        throw new NotSupportedException($"ONNX export: layer '{layer.Name}' ({layer.Kind}) has no weight '{name}'.");
    }
}
