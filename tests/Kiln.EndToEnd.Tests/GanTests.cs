using System;
using Kiln;

namespace Kiln.EndToEnd.Tests;

/// <summary>
/// Seed 000's composition: a generator trained through a discriminator that is frozen inside the
/// adversarial step but trains in its own (Keras 2), with <see cref="GanTrainer"/>.
/// </summary>
public class GanTests
{
    private const int Batch = 4;

    private static GanTrainer Trainer(Model generator, Model discriminator, float labelNoise = 0.05f) =>
        new(generator, discriminator,
            new RmsProp(learningRate: 8e-4f, clipValue: 1f, decay: 1e-8f),
            new RmsProp(learningRate: 1e-3f, epsilon: 1e-8f), labelNoise);

    private static float[] RealImages(int n, int seed)
    {
        var rng = new Rng((ulong)seed);
        var x = new float[n * 8 * 8 * 3];
        for (int i = 0; i < x.Length; i++) x[i] = rng.NextFloat();
        return x;
    }

    private static bool BitwiseEqual(ReadOnlySpan<float> a, ReadOnlySpan<float> b) =>
        System.Runtime.InteropServices.MemoryMarshal.AsBytes(a).SequenceEqual(System.Runtime.InteropServices.MemoryMarshal.AsBytes(b));

    [Fact]
    public void GeneratorStepLeavesTheDiscriminatorBitwiseUnchangedAndTrainsTheGenerator()
    {
        var g = new GanTinyGenerator(Batch, 1);
        var d = new GanTinyDiscriminator(2 * Batch, 2);
        var gan = Trainer(g, d);
        var real = RealImages(Batch, 3);
        // A few full steps first, so the discriminator's optimizer has state a stray update would use.
        for (int i = 0; i < 3; i++) gan.Step(real, Batch);

        float[] dParameters = d.Parameters.Span.ToArray(), dState = d.State.Span.ToArray();
        float[] gParameters = g.Parameters.Span.ToArray();
        long dIterations = gan.DiscriminatorOptimizer.Iterations;
        float loss = gan.TrainGenerator(Batch);

        Assert.True(float.IsFinite(loss) && loss > 0, $"adversarial loss {loss}");
        Assert.True(BitwiseEqual(dParameters, d.Parameters.Span), "the frozen discriminator's weights changed in the generator step");
        Assert.True(BitwiseEqual(dState, d.State.Span), "the frozen discriminator's state changed in the generator step");
        Assert.Equal(dIterations, gan.DiscriminatorOptimizer.Iterations);
        Assert.False(BitwiseEqual(gParameters, g.Parameters.Span), "the generator step did not change the generator");
        Assert.True(d.Trainable, "TrainGenerator must restore the discriminator's Trainable flag");

        // Its own step still trains it (a model compiled before trainable = False, as in Keras 2).
        gan.TrainDiscriminator(real, Batch);
        Assert.False(BitwiseEqual(dParameters, d.Parameters.Span), "the discriminator step did not change the discriminator");
    }

    [Fact]
    public void FrozenBatchNormalizationKeepsItsMovingStatisticsInTheGeneratorStep()
    {
        var g = new GanTinyGenerator(Batch, 4);
        var d = new GanBatchNormDiscriminator(2 * Batch, 5);
        var gan = Trainer(g, d);
        var real = RealImages(Batch, 6);
        gan.TrainDiscriminator(real, Batch);
        // The discriminator's own step moved its moving statistics away from (0, 1)...
        Assert.NotEqual(0f, d.Tensor("batch_normalization/moving_mean")[0]);
        float[] parameters = d.Parameters.Span.ToArray(), state = d.State.Span.ToArray();
        float[] gParameters = g.Parameters.Span.ToArray();
        // ...the adversarial step reads them and leaves them alone.
        gan.TrainGenerator(Batch);
        Assert.True(BitwiseEqual(parameters, d.Parameters.Span), "weights changed");
        Assert.True(BitwiseEqual(state, d.State.Span), "moving statistics changed");
        Assert.False(BitwiseEqual(gParameters, g.Parameters.Span), "the generator did not learn through a BN discriminator");
    }

    [Fact]
    public void ALayerFrozenInItsAttributeKeepsItsWeightsAndPassesGradients()
    {
        var g = new GanTinyGenerator(Batch, 7);
        var d = new GanPartlyFrozenDiscriminator(2 * Batch, 8);
        Assert.False(System.Linq.Enumerable.Single(d.Description.Tensors, t => t.Name == "conv2d/kernel").Trainable);
        // Frozen, but initialized as Keras does: Glorot-uniform, not zero.
        Assert.Contains(d.Tensor("conv2d/kernel").ToArray(), v => v != 0);
        float[] frozenKernel = d.Tensor("conv2d/kernel").ToArray(), frozenBias = d.Tensor("conv2d/bias").ToArray();
        float[] learningKernel = d.Tensor("conv2d_1/kernel").ToArray();
        float[] gParameters = g.Parameters.Span.ToArray();
        var gan = Trainer(g, d);
        var real = RealImages(Batch, 9);
        for (int i = 0; i < 3; i++) gan.Step(real, Batch);

        Assert.True(BitwiseEqual(frozenKernel, d.Tensor("conv2d/kernel")), "the frozen layer's kernel changed");
        Assert.True(BitwiseEqual(frozenBias, d.Tensor("conv2d/bias")), "the frozen layer's bias changed");
        Assert.False(BitwiseEqual(learningKernel, d.Tensor("conv2d_1/kernel")), "the layer after it did not train");
        // The generator learns only through the frozen first layer.
        Assert.False(BitwiseEqual(gParameters, g.Parameters.Span), "no gradient reached the generator through the frozen layer");
    }

    public static TheoryData<string> Discriminators() => new() { "GanSmoothDiscriminator", "GanPartlyFrozenDiscriminator" };

    private static Model Discriminator(string name, int batch, int seed) => name switch
    {
        "GanSmoothDiscriminator" => new GanSmoothDiscriminator(batch, seed),
        "GanPartlyFrozenDiscriminator" => new GanPartlyFrozenDiscriminator(batch, seed),
        _ => throw new ArgumentException(name),
    };

    /// <summary>
    /// Central differences of the composed loss BCE(D(G(z)), t) against the gradient the composed
    /// backward gives: the frozen discriminator's input gradient written into the generator's output
    /// gradient, back through the generator to its weights and to z.
    /// </summary>
    [Theory]
    [MemberData(nameof(Discriminators))]
    public void ComposedGradientMatchesFiniteDifferences(string discriminatorName)
    {
        const int n = 3;
        const ulong MaskSeed = 0xBEEF;
        var g = new GanTinyGenerator(n, 11);
        var d = Discriminator(discriminatorName, n, 12);
        GradientCheck.RandomizeBiases(g, 13);
        var rng = new Rng(14);
        var z = new float[n * g.InputSize];
        for (int i = 0; i < z.Length; i++) z[i] = rng.NextNormal();
        float[] targets = [0.03f, 1f, 0.5f];

        double Objective()
        {
            ReadOnlySpan<float> images = g.Forward(z, n, training: true);
            d.Random = new Rng(MaskSeed); // the same dropout mask in every pass
            d.Forward(images, n, training: true);
            return d.ComputeLoss(targets, n, gradient: false);
        }

        d.Trainable = false;
        ReadOnlySpan<float> fakes = g.Forward(z, n, training: true);
        d.Random = new Rng(MaskSeed);
        d.Forward(fakes, n, training: true);
        d.ComputeLoss(targets, n, gradient: true);
        d.Backward(n, g.OutputGradient(n));
        var dz = new float[z.Length];
        g.BackwardFromOutputGradient(n, dz);
        float[] analytic = g.Gradients.Span.ToArray();
        Assert.Contains(analytic, v => v != 0);

        var result = GradientCheck.Check(g, z, analytic, dz, Objective);
        GradientCheck.AssertPasses(result, $"GanTinyGenerator -> {discriminatorName}");
    }

    /// <summary>TrainGenerator applies exactly that gradient: with plain SGD at rate 1 the update is −gradient.</summary>
    [Fact]
    public void TrainGeneratorStepsAlongTheComposedGradient()
    {
        var g = new GanTinyGenerator(Batch, 21);
        var d = new GanTinyDiscriminator(2 * Batch, 22);
        var gan = new GanTrainer(g, d, new Sgd(0.01f), new Sgd(1f));
        gan.TrainDiscriminator(RealImages(Batch, 23), Batch);

        // Replay the step by hand: z from a copy of the generator's stream, the dropout mask from the
        // discriminator's; then put both streams back so the trainer draws the same.
        Rng gSaved = g.Random, dSaved = d.Random, gCopy = gSaved;
        var z = new float[Batch * g.InputSize];
        for (int i = 0; i < z.Length; i++) z[i] = gCopy.NextNormal();
        float[] before = g.Parameters.Span.ToArray();
        d.Trainable = false;
        d.Forward(g.Forward(z, Batch, training: true), Batch, training: true);
        float expectedLoss = d.ComputeLoss(new float[Batch], Batch, gradient: true);
        d.Backward(Batch, g.OutputGradient(Batch));
        g.BackwardFromOutputGradient(Batch);
        float[] gradient = g.Gradients.Span.ToArray();
        d.Trainable = true;
        g.Random = gSaved;
        d.Random = dSaved;

        float loss = gan.TrainGenerator(Batch);
        Assert.Equal(expectedLoss, loss);
        ReadOnlySpan<float> after = g.Parameters.Span;
        for (int i = 0; i < before.Length; i++)
            Assert.Equal(before[i] - gradient[i], after[i]);
    }

    [Fact]
    public void SameSeedsGiveBitwiseTheSameTraining()
    {
        float[] Run()
        {
            var g = new GanTinyGenerator(Batch, 31);
            var d = new GanTinyDiscriminator(2 * Batch, 32);
            var gan = Trainer(g, d);
            var real = RealImages(Batch, 33);
            var losses = new float[10];
            for (int i = 0; i < 5; i++) (losses[2 * i], losses[2 * i + 1]) = gan.Step(real, Batch);
            return [.. losses, .. g.Parameters.Span, .. d.Parameters.Span];
        }
        Assert.True(BitwiseEqual(Run(), Run()));
    }

    [Fact]
    public void DiscriminatorStepUsesTheSeedsLabels()
    {
        // With no label noise and no learning, the loss is BCE of fakes against 1 and reals against 0.
        var g = new GanTinyGenerator(Batch, 41);
        var d = new GanTinyDiscriminator(2 * Batch, 42);
        var gan = new GanTrainer(g, d, new Sgd(0f), new Sgd(0f), labelNoise: 0f);
        var real = RealImages(Batch, 43);
        Rng gRandom = g.Random, dRandom = d.Random;
        float loss = gan.TrainDiscriminator(real, Batch);

        var z = new float[Batch * g.InputSize];
        for (int i = 0; i < z.Length; i++) z[i] = gRandom.NextNormal();
        var combined = new float[2 * Batch * 8 * 8 * 3];
        g.Forward(z, Batch, training: false).CopyTo(combined);
        Assert.True(BitwiseEqual(combined.AsSpan(0, Batch * 192), gan.GeneratedImages(Batch)));
        real.CopyTo(combined, Batch * 192);
        d.Random = dRandom;
        d.Forward(combined, 2 * Batch, training: true);
        float[] labels = [1, 1, 1, 1, 0, 0, 0, 0];
        Assert.Equal(d.ComputeLoss(labels, 2 * Batch, gradient: false), loss);
    }

    [Fact]
    public void LabelNoiseIsUniformAndBounded()
    {
        // A discriminator with zero weights outputs 0.5 for every image, and the gradient of the mean
        // BCE with respect to its output logit is (0.5 − y)/2n: the bias gradient sums the labels.
        var g = new GanTinyGenerator(Batch, 51);
        var d = new GanTinyDiscriminator(2 * Batch, 52);
        d.Parameters.Span.Clear();
        Rng dRandom = d.Random;
        // The discriminator's step keeps its gradients (not fused into backward), for the check below to read.
        var gan = new GanTrainer(g, d, new Sgd(0f) { FuseIntoBackward = false }, new Sgd(0f), labelNoise: 0.05f);
        gan.TrainDiscriminator(RealImages(Batch, 53), Batch);
        // The labels' noise is the first 2n draws of the discriminator's stream (dropout draws after it, in the forward pass).
        float expectedSum = 0;
        for (int i = 0; i < 2 * Batch; i++) expectedSum += (i < Batch ? 1f : 0f) + 0.05f * dRandom.NextFloat();
        float biasGradient = d.Gradients.Span[d.Description.Tensors[^1].Offset];
        // Σ (0.5 − y_i) / 2n
        Assert.Equal((Batch - expectedSum) / (2 * Batch), biasGradient, 1e-6f);
    }

    [Fact]
    public void MismatchedModelsGiveClearErrors()
    {
        var g = new GanTinyGenerator(Batch, 1);
        var shape = Assert.Throws<ArgumentException>(() => Trainer(new GanGreyGenerator(Batch, 1), new GanTinyDiscriminator(2 * Batch, 2)));
        Assert.Contains("GanGreyGenerator makes images of shape (8, 8, 1)", shape.Message);
        Assert.Contains("GanTinyDiscriminator takes inputs of shape (8, 8, 3)", shape.Message);

        var small = Assert.Throws<ArgumentException>(() => Trainer(g, new GanTinyDiscriminator(Batch, 2)));
        Assert.Contains($"construct it with batchSize: {2 * Batch}", small.Message);

        var two = Assert.Throws<ArgumentException>(() => Trainer(g, new GanTwoOutputDiscriminator(2 * Batch, 2)));
        Assert.Contains("one score per image", two.Message);

        var lossless = Assert.Throws<ArgumentException>(() => Trainer(g, new GanLosslessDiscriminator(2 * Batch, 2)));
        Assert.Contains("has no [Loss]", lossless.Message);

        var d = new GanTinyDiscriminator(2 * Batch, 2);
        var gan = Trainer(g, d);
        var wrongCount = Assert.Throws<ArgumentException>(() => gan.TrainDiscriminator(new float[Batch * 192 - 1], Batch));
        Assert.Contains("need 768 floats", wrongCount.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => gan.TrainGenerator(Batch + 1));

        d.Trainable = false;
        var frozen = Assert.Throws<InvalidOperationException>(() => gan.TrainDiscriminator(new float[Batch * 192], Batch));
        Assert.Contains("Trainable = false", frozen.Message);
    }

    [Fact]
    public void OneGanStepAllocatesNothing()
    {
        var g = new GanTinyGenerator(Batch, 61);
        var d = new GanTinyDiscriminator(2 * Batch, 62);
        var gan = Trainer(g, d);
        var real = RealImages(Batch, 63);
        void Step() => gan.Step(real, Batch);
        WarmUp.Run(Step);
        var (caller, workers) = WarmUp.Allocations(() =>
        {
            for (int i = 0; i < 10; i++) Step();
        });
        Assert.Equal(0, caller);
        Assert.Equal(0, workers);
    }
}

