using System.Collections.Generic;

namespace Kiln;

/// <summary>
/// One layer of a model as Keras' <c>model.layers</c> lists it: its name (<c>conv2d_1</c>), its Keras
/// type (<c>Conv2D</c>), the shape of one sample of its output (channels last) and its weights' value
/// count, trainable and not, and the layers it reads (<see cref="Inbound"/>, the summary's "Connected to":
/// <c>input</c> for the declared input of a <c>[Sequential]</c> model, nothing for an <c>[Input]</c>),
/// and the fused kernel that computes it (<see cref="Kernel"/>, the summary's "Kernel" column: layers
/// sharing a label such as <c>k3</c> run as one kernel; <c>view</c> for a layer that moves no data).
/// The generator writes these from the graph as constants, in the summary's order; reading
/// <see cref="Model.Layers"/> allocates nothing.
/// </summary>
/// <param name="Name">Keras-style layer name (<c>conv2d_1</c>) or the user's <c>Name</c>.</param>
/// <param name="Kind">Keras class name (<c>Conv2D</c>, <c>ReLU</c>, <c>InputLayer</c>).</param>
/// <param name="OutputShape">Shape of one sample of the output, channels last.</param>
/// <param name="ParameterCount">Weight values, trainable and not.</param>
/// <param name="Inbound">The layers this one reads, in order.</param>
/// <param name="Kernel">The fused kernel it runs in, as the summary's Kernel column names it (<c>k0</c>, <c>view</c>).</param>
/// <param name="Config">
/// The layer's arguments as Keras' <c>layer.get_config()</c> names them, defaults resolved: <c>filters</c>,
/// <c>kernel_size</c> and <c>strides</c> as (height, width) <c>int[]</c>, <c>padding</c> (<c>"valid"</c> or
/// <c>"same"</c>), <c>activation</c> (<c>"relu"</c>, ...), <c>use_bias</c>, <c>pool_size</c>, <c>epsilon</c>,
/// <c>momentum</c>, <c>rate</c>, <c>axis</c>, <c>scale</c>/<c>offset</c>, <c>target_shape</c>, <c>size</c>,
/// <c>padding</c> of ZeroPadding2D as ((top, bottom), (left, right)), ...; null for a layer without arguments
/// (Flatten, Add, ReLU). The augmentation layers carry <c>mode</c> (RandomFlip); <c>height_factor</c>,
/// <c>width_factor</c> or <c>factor</c> as Keras' (lower, upper) tuple, <c>fill_mode</c>, <c>interpolation</c>
/// and <c>fill_value</c> (RandomTranslation, RandomRotation, RandomZoom, whose <c>width_factor</c> is absent
/// for Keras' None: the width follows the height); <c>height</c>, <c>width</c> (RandomCrop); <c>factor</c>,
/// <c>value_range</c> (RandomContrast). A regularized Dense or convolution carries Keras'
/// <c>kernel_regularizer=L1L2(l1, l2)</c> flattened as the doubles <c>kernel_regularizer_l1</c> and
/// <c>kernel_regularizer_l2</c> (both present when either factor is set; absent is Keras' None), and
/// <c>bias_regularizer_l1</c>/<c>bias_regularizer_l2</c> likewise; a regularized BatchNormalization carries
/// <c>gamma_regularizer_l1</c>/<c>gamma_regularizer_l2</c> and <c>beta_regularizer_l1</c>/<c>beta_regularizer_l2</c>.
/// Values are <c>int</c>, <c>double</c>, <c>bool</c>, <c>string</c> or arrays of them.
/// </param>
public sealed record LayerInfo(string Name, string Kind, int[] OutputShape, long ParameterCount, string[] Inbound, string Kernel = "",
    IReadOnlyDictionary<string, object>? Config = null)
{
    public override string ToString() => $"{Name} ({Kind}): (None, {Dataset.Shape(OutputShape)}), {ParameterCount} parameters";
}
