using System.Collections.Generic;
using System.Linq;
using Kiln.Graph;
using static Kiln.Graph.Tests.Models;

namespace Kiln.Graph.Tests;

public class FusionAndMemoryTests
{
    public static IEnumerable<object[]> Specs() => new[]
    {
        new object[] { FashionMlp() },
        new object[] { ModelSpec.Create("Acts", new[] { 6 }, Loss(LossKind.BinaryCrossentropy), Dense(8), Relu(), Dense(8), LeakyRelu(0.2), Dropout(0.5), Dense(8), Tanh(), Dense(1), Sigmoid()) },
        new object[] { ModelSpec.Create("Mse", new[] { 2, 3 }, Loss(LossKind.MeanSquaredError), Flatten(), Dense(5, ActivationKind.Tanh), Dense(3, ActivationKind.Softmax)) },
        new object[] { ModelSpec.Create("Logits", new[] { 5 }, Loss(LossKind.CategoricalCrossentropy, fromLogits: true), Dropout(0.1), Dense(4), Reshape(2, 2), Flatten()) },
        new object[] { ModelSpec.Create("NoLoss", new[] { 3 }, null, Relu(), Dense(4, ActivationKind.Sigmoid), Softmax()) },
    };

    [Fact]
    public void DenseAbsorbsTheActivationLayerAfterIt()
    {
        var program = Compile(ModelSpec.Create("M", new[] { 4 }, null, Dense(8), Relu(), Dense(2)));
        var first = program.Fusion.Groups[0];
        Assert.Equal(KernelKind.Linear, first.Kind);
        Assert.Equal(new[] { "dense", "re_lu" }, first.Layers.Select(l => l.Name));
        Assert.Equal(ActivationKind.Relu, first.Epilogue);
        Assert.Equal("k0", program.Fusion.KernelOf(program.Graph.Layers[1]));
    }

    [Fact]
    public void SoftmaxOutputIsFusedWithCrossEntropy()
    {
        var program = Compile(FashionMlp());
        Assert.Equal(LossFusion.SoftmaxCrossEntropy, Assert.Single(program.Fusion.Losses));
        // The loss reads the logits; backward of the last Dense starts from the loss's gradient with no activation.
        Assert.Equal(BufferRole.Logits, Assert.Single(program.Losses).X!.Role);
        var lastBackward = program.Backward[0];
        Assert.Equal(StepKind.LinearBackward, lastBackward.Kind);
        Assert.Equal(ActivationKind.Linear, lastBackward.Activation);
        Assert.Same(program.Losses[0].DY, lastBackward.DY);
        // A composed caller's output gradient goes back through the softmax first.
        Assert.Equal(StepKind.OutputActivationBackward, Assert.Single(program.FromOutputGradient).Kind);
    }

    [Fact]
    public void SigmoidOutputKeepsLogitsForBinaryCrossEntropy()
    {
        var program = Compile(ModelSpec.Create("M", new[] { 4 }, Loss(LossKind.BinaryCrossentropy), Dense(1, ActivationKind.Sigmoid)));
        Assert.Equal(LossFusion.SigmoidBinaryCrossEntropy, Assert.Single(program.Fusion.Losses));
        Assert.True(program.Fusion.Groups[0].KeepsLogits);
        // The input is saved for the kernel gradient; the Dense writes logits, then sigmoid runs as its own pass.
        Assert.Equal(new[] { StepKind.SaveInput, StepKind.LinearForward, StepKind.ActivationForward }, program.Forward.Select(s => s.Kind));
    }

    [Fact]
    public void SoftmaxWithMeanSquaredErrorIsNotFused()
    {
        var program = Compile(ModelSpec.Create("M", new[] { 4 }, Loss(LossKind.MeanSquaredError), Dense(3, ActivationKind.Softmax)));
        Assert.Equal(LossFusion.OnOutput, Assert.Single(program.Fusion.Losses));
        Assert.Empty(program.FromOutputGradient);
        Assert.Equal(new[] { StepKind.SoftmaxBackward, StepKind.LinearBackward }, program.Backward.Select(s => s.Kind));
    }

    [Fact]
    public void LayersBeforeAnyWeightsBackPropagateOnlyForTheInputGradient()
    {
        var program = Compile(ModelSpec.Create("M", new[] { 4 }, Loss(LossKind.MeanSquaredError), Relu(), Dense(3), Dense(2)));
        var relu = program.Backward.Single(s => s.Kind == StepKind.ActivationBackward);
        Assert.True(relu.OnlyForInputGradient);
        Assert.Equal(BufferRole.InputGradient, relu.DX!.Role);
        var firstDense = program.Backward.Last(s => s.Kind == StepKind.LinearBackward);
        Assert.True(firstDense.DxOnlyForInputGradient);
        Assert.False(firstDense.OnlyForInputGradient);
        Assert.False(program.Backward.First().DxOnlyForInputGradient);
    }

    [Theory]
    [MemberData(nameof(Specs))]
    public void BuffersLiveAtTheSameTimeNeverShareMemory(ModelSpec spec)
    {
        var program = Compile(spec);
        var roots = program.Buffers.Where(b => b.AliasOf is null && b.InArena && b.LastStep >= 0).ToList();
        Assert.NotEmpty(roots);
        foreach (var b in roots)
        {
            Assert.Equal(0, b.OffsetPerSample % Lowering.AlignFloats);
            Assert.True(b.OffsetPerSample + b.SizePerSample <= program.ArenaFloatsPerSample, $"{b.Name} runs past the arena");
            foreach (var o in roots.Where(o => o != b))
            {
                bool timeOverlap = b.FirstStep <= o.LastStep && o.FirstStep <= b.LastStep;
                bool memoryOverlap = b.OffsetPerSample < o.OffsetPerSample + o.SizePerSample && o.OffsetPerSample < b.OffsetPerSample + b.SizePerSample;
                Assert.False(timeOverlap && memoryOverlap, $"{b.Name} [{b.FirstStep}-{b.LastStep}] and {o.Name} [{o.FirstStep}-{o.LastStep}] overlap in memory");
            }
        }
        // Every buffer a step touches was planned and is live at that step.
        foreach (var step in program.AllSteps())
            foreach (var b in step.Reads().Concat(step.Writes()).Where(b => b.InArena))
                Assert.InRange(step.Index, b.Root.FirstStep, b.Root.LastStep);
    }

    [Fact]
    public void TheArenaReusesDeadBuffers()
    {
        var program = Compile(FashionMlp());
        int sum = program.Buffers.Where(b => b.AliasOf is null && b.InArena && b.LastStep >= 0).Sum(b => Lowering.Align(b.SizePerSample));
        Assert.True(program.ArenaFloatsPerSample < sum, $"arena {program.ArenaFloatsPerSample} should be smaller than all buffers side by side ({sum})");
    }

    [Fact]
    public void ParametersStartOnCacheLines()
    {
        var program = Compile(FashionMlp());
        Assert.All(program.Parameters, p => Assert.Equal(0, p.Offset % 16));
        Assert.Equal(new[] { "dense/kernel", "dense/bias", "dense_1/kernel", "dense_1/bias", "dense_2/kernel", "dense_2/bias" }, program.Parameters.Select(p => p.Name));
        Assert.Contains("Total params: 266,610", Summary.Render(program));
    }

    /// <summary>
    /// BN's backward redoes a ReLU or LeakyRelu derivative from its input where the forward's normalizing pass wrote the
    /// output from that input alone: not for a sigmoid (dearer to redo than to read), not where a max pooling takes the
    /// derivative at its winners (no output is read), and not for a frozen BN.
    /// </summary>
    [Theory]
    [InlineData("relu", true)]
    [InlineData("leaky", true)]
    [InlineData("sigmoid", false)]
    [InlineData("pooled", false)]
    [InlineData("frozen", false)]
    [InlineData("standalone", true)]
    public void BatchNormBackwardTakesTheDerivativeFromItsInputWhereItCan(string model, bool expected)
    {
        LayerSpec conv = new ConvolutionSpec(false, 4, 3, 3, Padding: PaddingKind.Same, UseBias: false);
        LayerSpec bn = model == "frozen" ? new BatchNormalizationSpec() { Trainable = false } : new BatchNormalizationSpec();
        LayerSpec act = model switch { "leaky" => LeakyRelu(), "sigmoid" => Sigmoid(), _ => Relu() };
        var layers = new List<LayerSpec>();
        // A standalone BN: after a pooling, which has no normalization to fuse it into.
        if (model == "standalone") layers.AddRange(new[] { conv, new PoolingSpec(Max: true), bn, act });
        else layers.AddRange(new[] { conv, bn, act });
        if (model == "pooled") layers.Add(new PoolingSpec(Max: true));
        layers.AddRange(new[] { Flatten(), Dense(3, ActivationKind.Softmax) });
        var program = Compile(ModelSpec.Create("M", new[] { 8, 8, 2 }, Loss(LossKind.SparseCategoricalCrossentropy), layers.ToArray()));
        var step = program.Backward.Single(s => s.Kind is StepKind.LinearBackward or StepKind.BatchNormBackward && (s.Group!.BatchNorm ?? s.Group.First).Spec is BatchNormalizationSpec);
        Assert.Equal(model == "standalone" ? StepKind.BatchNormBackward : StepKind.LinearBackward, step.Kind);
        Assert.Equal(expected, program.DerivativeFromInput(step));
        Assert.DoesNotContain(program.Backward.Where(s => s != step), program.DerivativeFromInput);
    }
}
