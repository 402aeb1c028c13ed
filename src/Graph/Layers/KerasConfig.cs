using System.Collections.Generic;
using System.Linq;

namespace Kiln.Graph;

/// <summary>
/// A layer's arguments as Keras' <c>layer.get_config()</c> names them (<c>filters</c>,
/// <c>kernel_size</c>, <c>strides</c>, <c>padding</c>, <c>activation</c>, <c>use_bias</c>, ...),
/// with the defaults resolved, so tools reading <c>Model.Layers</c> at run time (the ONNX exporter)
/// rebuild each layer without the generator's types. Values are <c>int</c>, <c>double</c>,
/// <c>bool</c>, <c>string</c>, <c>int[]</c>, <c>double[]</c> or <c>int[][]</c>; sizes and strides are
/// (height, width) pairs as Keras stores its tuples. Empty for a layer without arguments.
/// </summary>
public static class KerasConfig
{
    public static IReadOnlyList<KeyValuePair<string, object>> Of(LayerNode node)
    {
        var c = new List<KeyValuePair<string, object>>();
        void Add(string key, object value) => c.Add(new KeyValuePair<string, object>(key, value));
        switch (node.Spec)
        {
            case DenseSpec d:
                Add("units", d.Units);
                Add("activation", Names.Activation(d.Activation));
                Add("use_bias", d.UseBias);
                break;
            case ConvolutionSpec v:
                Add("filters", v.Filters);
                Add("kernel_size", new[] { v.KernelHeight, v.KernelWidth });
                Add("strides", new[] { v.StrideHeight, v.StrideWidth });
                Add("padding", Padding(v.Padding));
                Add("activation", Names.Activation(v.Activation));
                Add("use_bias", v.UseBias);
                break;
            case PoolingSpec p:
                Add("pool_size", new[] { p.PoolHeight, p.PoolWidth });
                Add("strides", new[] { p.StrideHeight, p.StrideWidth });
                Add("padding", Padding(p.Padding));
                break;
            case BatchNormalizationSpec b:
                Add("axis", -1);
                Add("momentum", b.Momentum);
                Add("epsilon", b.Epsilon);
                Add("center", b.Center);
                Add("scale", b.Scale);
                break;
            case DropoutSpec d:
                Add("rate", d.Rate);
                break;
            case ReshapeSpec r:
                Add("target_shape", r.TargetShape.ToArray());
                break;
            case ActivationSpec a:
                // Keras' layer classes: ReLU and Softmax take no activation name, LeakyReLU its slope, the rest Activation(name).
                if (a.Function == ActivationKind.LeakyRelu) Add("negative_slope", a.Slope);
                else if (a.Function == ActivationKind.Softmax) Add("axis", -1);
                else if (a.Function != ActivationKind.Relu) Add("activation", Names.Activation(a.Function));
                break;
            case RescalingSpec r:
                Add("scale", r.Scale);
                Add("offset", r.Offset);
                break;
            case NormalizationSpec n:
                Add("axis", n.Axis.ToArray());
                if (n.Mean is { } mean) Add("mean", mean.ToArray());
                if (n.Variance is { } variance) Add("variance", variance.ToArray());
                Add("invert", n.Invert);
                break;
            case UpSampling2DSpec u:
                Add("size", new[] { u.SizeHeight, u.SizeWidth });
                Add("interpolation", "nearest");
                break;
            case ZeroPadding2DSpec z:
                Add("padding", new[] { new[] { z.Top, z.Bottom }, new[] { z.Left, z.Right } });
                break;
            case MergeSpec { Operation: MergeKind.Concatenate } m:
                Add("axis", m.Axis);
                break;
            case InputSpec i when i.ChannelsFirst:
                Add("data_format", "channels_first");
                break;
        }
        return c;
    }

    private static string Padding(PaddingKind p) => p == PaddingKind.Same ? "same" : "valid";
}
