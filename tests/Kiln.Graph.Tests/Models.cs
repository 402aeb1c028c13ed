using Kiln.Graph;

namespace Kiln.Graph.Tests;

/// <summary>Model specs written the way the generator would read them from attributes.</summary>
internal static class Models
{
    public static LayerSpec Dense(int units, ActivationKind activation = ActivationKind.Linear, bool useBias = true) =>
        LayerSpec.Of(LayerKind.Dense, Argument.Of("units", units), Argument.Of("activation", (int)activation), Argument.Of("UseBias", useBias ? 1 : 0));

    public static LayerSpec Flatten() => LayerSpec.Of(LayerKind.Flatten);
    public static LayerSpec Relu() => LayerSpec.Of(LayerKind.Relu);
    public static LayerSpec Sigmoid() => LayerSpec.Of(LayerKind.Sigmoid);
    public static LayerSpec Tanh() => LayerSpec.Of(LayerKind.Tanh);
    public static LayerSpec Softmax() => LayerSpec.Of(LayerKind.Softmax);
    public static LayerSpec LeakyRelu(double alpha = 0.3) => LayerSpec.Of(LayerKind.LeakyRelu, Argument.Of("alpha", alpha));
    public static LayerSpec Dropout(double rate) => LayerSpec.Of(LayerKind.Dropout, Argument.Of("rate", rate));
    public static LayerSpec Reshape(params int[] shape) => LayerSpec.Of(LayerKind.Reshape, Argument.OfInts("targetShape", shape));

    public static LossSpec Loss(LossKind kind, bool fromLogits = false) => new(kind, fromLogits, null);

    /// <summary>Seed 004's Fashion-MNIST MLP.</summary>
    public static ModelSpec FashionMlp() => ModelSpec.Create("FashionMlp", new[] { 28, 28 }, Loss(LossKind.SparseCategoricalCrossentropy),
        Flatten(), Dense(300, ActivationKind.Relu), Dense(100, ActivationKind.Relu), Dense(10, ActivationKind.Softmax));

    public static KernelProgram Compile(ModelSpec spec)
    {
        var compiled = ModelCompiler.Compile(spec);
        Assert.False(compiled.HasErrors, string.Join("\n", compiled.Diagnostics));
        return compiled.Program!;
    }
}
