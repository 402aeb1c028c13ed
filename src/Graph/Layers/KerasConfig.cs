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
/// Augmentation factors are written as Keras' (lower, upper) tuple form, the range resolved.
/// A regularized weight carries Keras' <c>L1L2</c> config flattened: <c>kernel_regularizer_l1</c> and
/// <c>kernel_regularizer_l2</c> (both, when either factor is set; absent is Keras' <c>None</c>), and
/// the same with <c>bias_</c>. Every layer family has its own case, so a new one cannot be left out silently.
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
                Regularizers(c, d.Regularizers);
                break;
            case ConvolutionSpec v:
                Add("filters", v.Filters);
                Add("kernel_size", new[] { v.KernelHeight, v.KernelWidth });
                Add("strides", new[] { v.StrideHeight, v.StrideWidth });
                Add("padding", Padding(v.Padding));
                Add("activation", Names.Activation(v.Activation));
                Add("use_bias", v.UseBias);
                Regularizers(c, v.Regularizers);
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
                Add("synchronized", b.Synchronized);
                if (b.Regularizers.GammaL1 != 0 || b.Regularizers.GammaL2 != 0)
                {
                    Add("gamma_regularizer_l1", b.Regularizers.GammaL1);
                    Add("gamma_regularizer_l2", b.Regularizers.GammaL2);
                }
                if (b.Regularizers.BetaL1 != 0 || b.Regularizers.BetaL2 != 0)
                {
                    Add("beta_regularizer_l1", b.Regularizers.BetaL1);
                    Add("beta_regularizer_l2", b.Regularizers.BetaL2);
                }
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
            case MergeSpec:
                break; // Add, Subtract, Multiply, Average, Maximum: no arguments
            case InputSpec i:
                if (i.ChannelsFirst) Add("data_format", "channels_first");
                break;
            case FlattenSpec:
            case GlobalPoolingSpec:
                break; // no arguments
            case RandomFlipSpec f:
                Add("mode", f.Mode switch
                {
                    FlipModeKind.Horizontal => "horizontal",
                    FlipModeKind.Vertical => "vertical",
                    _ => "horizontal_and_vertical",
                });
                break;
            case RandomTranslationSpec t:
                Add("height_factor", new[] { t.HeightLower, t.HeightUpper });
                Add("width_factor", new[] { t.WidthLower, t.WidthUpper });
                Sampling(c, t.Fill, t.Interpolation, t.FillValue);
                break;
            case RandomRotationSpec r:
                Add("factor", new[] { r.Lower, r.Upper });
                Sampling(c, r.Fill, r.Interpolation, r.FillValue);
                break;
            case RandomZoomSpec z:
                Add("height_factor", new[] { z.HeightLower, z.HeightUpper });
                // Keras' width_factor=None: the width zooms by the height's draw, so the key is left out.
                if (!z.KeepAspect) Add("width_factor", new[] { z.WidthLower, z.WidthUpper });
                Sampling(c, z.Fill, z.Interpolation, z.FillValue);
                break;
            case RandomCropSpec r:
                Add("height", r.Height);
                Add("width", r.Width);
                break;
            case RandomContrastSpec r:
                Add("factor", new[] { r.Lower, r.Upper });
                Add("value_range", new[] { r.ValueRangeLow, r.ValueRangeHigh });
                break;
            default:
                throw new System.InvalidOperationException($"KerasConfig has no entry for {node.Spec.GetType().Name} (layer '{node.Name}'); add one.");
        }
        return c;
    }

    /// <summary>Keras' <c>fill_mode</c>, <c>interpolation</c> and <c>fill_value</c> of the resampling augmentations.</summary>
    private static void Sampling(List<KeyValuePair<string, object>> c, FillModeKind fill, InterpolationKind interpolation, double fillValue)
    {
        c.Add(new KeyValuePair<string, object>("fill_mode", fill.ToString().ToLowerInvariant()));
        c.Add(new KeyValuePair<string, object>("interpolation", interpolation.ToString().ToLowerInvariant()));
        c.Add(new KeyValuePair<string, object>("fill_value", fillValue));
    }

    /// <summary>Keras' <c>L1L2(l1, l2)</c> of the kernel and the bias, flattened; nothing for an unregularized weight.</summary>
    private static void Regularizers(List<KeyValuePair<string, object>> c, RegularizerSpec r)
    {
        if (r.KernelL1 != 0 || r.KernelL2 != 0)
        {
            c.Add(new KeyValuePair<string, object>("kernel_regularizer_l1", r.KernelL1));
            c.Add(new KeyValuePair<string, object>("kernel_regularizer_l2", r.KernelL2));
        }
        if (r.BiasL1 != 0 || r.BiasL2 != 0)
        {
            c.Add(new KeyValuePair<string, object>("bias_regularizer_l1", r.BiasL1));
            c.Add(new KeyValuePair<string, object>("bias_regularizer_l2", r.BiasL2));
        }
    }

    private static string Padding(PaddingKind p) => p == PaddingKind.Same ? "same" : "valid";
}
