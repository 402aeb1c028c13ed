using Kiln.Graph;

namespace Kiln.Graph.Tests;

/// <summary>Model specs written the way the generator would read them from attributes.</summary>
internal static class Models
{
    public static LayerSpec Dense(int units, ActivationKind activation = ActivationKind.Linear, bool useBias = true) => new DenseSpec(units, activation, useBias);

    public static LayerSpec Flatten() => new FlattenSpec();
    public static LayerSpec Relu() => ActivationSpec.Relu();
    public static LayerSpec Sigmoid() => ActivationSpec.Sigmoid();
    public static LayerSpec Tanh() => ActivationSpec.Tanh();
    public static LayerSpec Softmax() => ActivationSpec.Softmax();
    public static LayerSpec LeakyRelu(double alpha = ActivationSpec.DefaultLeakyAlpha) => ActivationSpec.LeakyRelu(alpha);
    public static LayerSpec Dropout(double rate) => new DropoutSpec(rate);
    public static LayerSpec Reshape(params int[] shape) => new ReshapeSpec(shape);

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
