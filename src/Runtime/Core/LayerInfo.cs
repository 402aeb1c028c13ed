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
public sealed record LayerInfo(string Name, string Kind, int[] OutputShape, long ParameterCount, string[] Inbound, string Kernel = "")
{
    public override string ToString() => $"{Name} ({Kind}): (None, {Dataset.Shape(OutputShape)}), {ParameterCount} parameters";
}
