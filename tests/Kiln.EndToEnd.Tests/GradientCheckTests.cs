using System;
using System.Collections.Generic;
using System.Linq;
using Kiln;

namespace Kiln.EndToEnd.Tests;

/// <summary>
/// Whole-model gradient checks: the generated forward, loss and backward of each small model
/// against central differences of its own loss, on every weight and every input value.
/// </summary>
public sealed class GradientCheckTests
{
    public enum Targets { Sparse, OneHot, Soft, Binary, BinarySoft, Regression, ClassAndValue }

    private sealed record Case(Func<int, Model> Create, Targets Targets);

    /// <summary><paramref name="model"/> with random moving statistics (<see cref="GradientCheck.RandomizeMovingStatistics"/>).</summary>
    private static Model WithStatistics(Model model, int seed)
    {
        GradientCheck.RandomizeMovingStatistics(model, new Random(seed + 500));
        return model;
    }

    private const int BatchSize = 4;
    private const int N = 3; // a partial batch: offsets scale with BatchSize, lengths with n

    private static readonly Dictionary<string, Case> Cases = new()
    {
        ["TinySparseMlp"] = new(s => new TinySparseMlp(BatchSize, s), Targets.Sparse),
        ["TinyCategorical"] = new(s => new TinyCategorical(BatchSize, s), Targets.OneHot),
        ["TinyCategoricalSoftTargets"] = new(s => new TinyCategorical(BatchSize, s), Targets.Soft),
        ["TinyCategoricalLogits"] = new(s => new TinyCategoricalLogits(BatchSize, s), Targets.Soft),
        ["TinySparseLogits"] = new(s => new TinySparseLogits(BatchSize, s), Targets.Sparse),
        ["TinyBinary"] = new(s => new TinyBinary(BatchSize, s), Targets.Binary),
        ["TinyMultiLabel"] = new(s => new TinyMultiLabel(BatchSize, s), Targets.Binary),
        ["TinyMultiLabelSoftTargets"] = new(s => new TinyMultiLabel(BatchSize, s), Targets.BinarySoft),
        ["TinyMultiLabelLogits"] = new(s => new TinyMultiLabelLogits(BatchSize, s), Targets.BinarySoft),
        ["TinyRegression"] = new(s => new TinyRegression(BatchSize, s), Targets.Regression),
        ["SoftmaxMse"] = new(s => new SoftmaxMse(BatchSize, s), Targets.Regression),
        ["SigmoidMse"] = new(s => new SigmoidMse(BatchSize, s), Targets.Regression),
        ["StandaloneRelu"] = new(s => new StandaloneRelu(BatchSize, s), Targets.Regression),
        ["StandaloneLeakyRelu"] = new(s => new StandaloneLeakyRelu(BatchSize, s), Targets.Regression),
        ["StandaloneSigmoid"] = new(s => new StandaloneSigmoid(BatchSize, s), Targets.Regression),
        ["StandaloneTanh"] = new(s => new StandaloneTanh(BatchSize, s), Targets.Regression),
        ["StandaloneSoftmaxHidden"] = new(s => new StandaloneSoftmaxHidden(BatchSize, s), Targets.Regression),
        ["StandaloneSoftmaxOutput"] = new(s => new StandaloneSoftmaxOutput(BatchSize, s), Targets.Sparse),
        ["StandaloneSigmoidOutput"] = new(s => new StandaloneSigmoidOutput(BatchSize, s), Targets.Binary),
        ["NoBias"] = new(s => new NoBias(BatchSize, s), Targets.Regression),
        ["Reshapes"] = new(s => new Reshapes(BatchSize, s), Targets.Sparse),
        ["ReshapeFirst"] = new(s => new ReshapeFirst(BatchSize, s), Targets.Regression),
        ["WithDropout"] = new(s => new WithDropout(BatchSize, s), Targets.Sparse),
        ["InputDropout"] = new(s => new InputDropout(BatchSize, s), Targets.Regression),
        ["DeepMixed"] = new(s => new DeepMixed(BatchSize, s), Targets.OneHot),
        ["OutputDropout"] = new(s => new OutputDropout(BatchSize, s), Targets.Regression),
        ["DropoutThenSoftmax"] = new(s => new DropoutThenSoftmax(BatchSize, s), Targets.Sparse),
        ["ReshapeLast"] = new(s => new ReshapeLast(BatchSize, s), Targets.Regression),
        // Label smoothing on each cross-entropy, fused and not (LabelSmoothingModels.cs).
        ["SmoothSoftmaxSparse"] = new(s => new SmoothSoftmaxSparse(BatchSize, s), Targets.Sparse),
        ["SmoothSoftmaxCategorical"] = new(s => new SmoothSoftmaxCategorical(BatchSize, s), Targets.Soft),
        ["SmoothLogitsSparse"] = new(s => new SmoothLogitsSparse(BatchSize, s), Targets.Sparse),
        ["SmoothLogitsCategorical"] = new(s => new SmoothLogitsCategorical(BatchSize, s), Targets.OneHot),
        ["SmoothSigmoidBinary"] = new(s => new SmoothSigmoidBinary(BatchSize, s), Targets.Binary),
        ["SmoothLogitsBinary"] = new(s => new SmoothLogitsBinary(BatchSize, s), Targets.BinarySoft),
        ["SmoothTwoHeads"] = new(s => new SmoothTwoHeads(BatchSize, s), Targets.ClassAndValue),
        // Convolutional layers and batch normalization (ConvModels.cs).
        ["ConvValid"] = new(s => new ConvValid(BatchSize, s), Targets.Regression),
        ["ConvSameStride2Kernel4"] = new(s => new ConvSameStride2Kernel4(BatchSize, s), Targets.Regression),
        ["ConvSameStride2Kernel2"] = new(s => new ConvSameStride2Kernel2(BatchSize, s), Targets.Regression),
        ["ConvTallKernelStrideHeight"] = new(s => new ConvTallKernelStrideHeight(BatchSize, s), Targets.Regression),
        ["ConvTallKernelSame"] = new(s => new ConvTallKernelSame(BatchSize, s), Targets.Regression),
        ["ConvEpilogue"] = new(s => new ConvEpilogue(BatchSize, s), Targets.Sparse),
        ["ConvBnRelu"] = new(s => new ConvBnRelu(BatchSize, s), Targets.Regression),
        ["ConvBn"] = new(s => new ConvBn(BatchSize, s), Targets.Regression),
        ["DenseBnRelu"] = new(s => new DenseBnRelu(BatchSize, s), Targets.Regression),
        ["InputBn"] = new(s => new InputBn(BatchSize, s), Targets.OneHot),
        ["InputBnTanh"] = new(s => new InputBnTanh(BatchSize, s), Targets.Regression),
        ["ConvBnNoCenter"] = new(s => new ConvBnNoCenter(BatchSize, s), Targets.Regression),
        ["DenseBnNoScale"] = new(s => new DenseBnNoScale(BatchSize, s), Targets.Regression),
        ["InputBnNoCenterNoScale"] = new(s => new InputBnNoCenterNoScale(BatchSize, s), Targets.Regression),
        ["ConvTransposeSame"] = new(s => new ConvTransposeSame(BatchSize, s), Targets.Regression),
        ["ConvTransposeValid"] = new(s => new ConvTransposeValid(BatchSize, s), Targets.Regression),
        ["MaxPoolValid"] = new(s => new MaxPoolValid(BatchSize, s), Targets.Regression),
        ["MaxPoolSame"] = new(s => new MaxPoolSame(BatchSize, s), Targets.Regression),
        ["MaxPoolRect"] = new(s => new MaxPoolRect(BatchSize, s), Targets.Regression),
        ["AvgPoolSame"] = new(s => new AvgPoolSame(BatchSize, s), Targets.Regression),
        ["AvgPoolValid"] = new(s => new AvgPoolValid(BatchSize, s), Targets.Regression),
        ["GlobalAvgPool"] = new(s => new GlobalAvgPool(BatchSize, s), Targets.Regression),
        ["GlobalMaxPool"] = new(s => new GlobalMaxPool(BatchSize, s), Targets.Sparse),
        ["GlobalMaxPoolRelu"] = new(s => new GlobalMaxPoolRelu(BatchSize, s), Targets.Sparse),
        ["BnLeakyReluMaxPool"] = new(s => new BnLeakyReluMaxPool(BatchSize, s), Targets.Regression),
        ["BnReluOverlappingMaxPool"] = new(s => new BnReluOverlappingMaxPool(BatchSize, s), Targets.Sparse),
        ["PooledBatchNormBackward"] = new(s => new PooledBatchNormBackward(BatchSize, s), Targets.Sparse),
        ["RescaledPooledFirstConv"] = new(s => new RescaledPooledFirstConv(BatchSize, s), Targets.Sparse),
        ["ReluReadByPoolAndAverage"] = new(s => new ReluReadByPoolAndAverage(BatchSize, s), Targets.Regression),
        ["UpSampling"] = new(s => new UpSampling(BatchSize, s), Targets.Regression),
        ["ZeroPadding"] = new(s => new ZeroPadding(BatchSize, s), Targets.Regression),
        ["ZeroPaddingOutput"] = new(s => new ZeroPaddingOutput(BatchSize, s), Targets.Regression),
        ["MiniDiscriminator"] = new(s => new MiniDiscriminator(BatchSize, s), Targets.Binary),
        ["MiniGenerator"] = new(s => new MiniGenerator(BatchSize, s), Targets.Regression),
        ["MiniFashionCnn"] = new(s => new MiniFashionCnn(BatchSize, s), Targets.Sparse),
        ["WinogradConvs"] = new(s => new WinogradConvs(BatchSize, s), Targets.Sparse),
        ["PooledConvs"] = new(s => new PooledConvs(BatchSize, s), Targets.Sparse),
        // Graph models: fan-out, merges, branches (GraphModels.cs).
        ["ResidualMlp"] = new(s => new ResidualMlp(BatchSize, s), Targets.Sparse),
        ["TinyResNet"] = new(s => new TinyResNet(BatchSize, s), Targets.Sparse),
        ["SubtractAndGate"] = new(s => new SubtractAndGate(BatchSize, s), Targets.Regression),
        ["ThreeWayMerges"] = new(s => new ThreeWayMerges(BatchSize, s), Targets.Regression),
        ["InceptionLike"] = new(s => new InceptionLike(BatchSize, s), Targets.Binary),
        ["ManyReaders"] = new(s => new ManyReaders(BatchSize, s), Targets.Regression),
        ["TwoInputs"] = new(s => new TwoInputs(BatchSize, s), Targets.Sparse),
        ["InputsReadTwice"] = new(s => new InputsReadTwice(BatchSize, s), Targets.Regression),
        ["TwoHeads"] = new(s => new TwoHeads(BatchSize, s), Targets.ClassAndValue),
        ["BlockResNet"] = new(s => new BlockResNet(BatchSize, s), Targets.Sparse),
        // More graph models: U-Net skip, a merge as the output, views and frozen/dropout branches (GraphModels2.cs).
        ["TinyUNet"] = new(s => new TinyUNet(BatchSize, s), Targets.Regression),
        ["AveragedHeads"] = new(s => new AveragedHeads(BatchSize, s), Targets.Sparse),
        ["FirstLayerTwoReaders"] = new(s => new FirstLayerTwoReaders(BatchSize, s), Targets.Binary),
        ["FirstLayerTwoReadersViewFirst"] = new(s => new FirstLayerTwoReadersViewFirst(BatchSize, s), Targets.Binary),
        ["InputViewReadThrice"] = new(s => new InputViewReadThrice(BatchSize, s), Targets.Regression),
        ["DropoutAndFrozenBranches"] = new(s => new DropoutAndFrozenBranches(BatchSize, s), Targets.OneHot),
        ["FrozenResidualBatchNorm"] = new(s => WithStatistics(new FrozenResidualBatchNorm(BatchSize, s), s), Targets.Sparse),
        ["PointwiseBlockOnItsInput"] = new(s => new PointwiseBlockOnItsInput(BatchSize, s), Targets.Sparse),
        // Channels-first inputs, transposed as they enter (ChannelsFirstModels.cs).
        ["ChannelsFirstCnn"] = new(s => new ChannelsFirstCnn(BatchSize, s), Targets.Sparse),
        ["ChannelsFirstFlatten"] = new(s => new ChannelsFirstFlatten(BatchSize, s), Targets.Regression),
        ["ChannelsFirstInputs"] = new(s => new ChannelsFirstInputs(BatchSize, s), Targets.Sparse),
        ["ChannelsFirstViewReadThrice"] = new(s => new ChannelsFirstViewReadThrice(BatchSize, s), Targets.Regression),
        // Found by the generator fuzzers (FuzzFoundModels.cs).
        ["ViewReadByTwoViews"] = new(s => new ViewReadByTwoViews(BatchSize, s), Targets.OneHot),
        ["AddReadingTwiceEach"] = new(s => new AddReadingTwiceEach(BatchSize, s), Targets.Binary),
        ["TwoFrozenBatchNorms"] = new(s => new TwoFrozenBatchNorms(BatchSize, s), Targets.Sparse),
        ["FrozenPooledFirstConv"] = new(s => new FrozenPooledFirstConv(BatchSize, s), Targets.Sparse),
        ["TransposedUnderBatchNorm"] = new(s => WithStatistics(new TransposedUnderBatchNorm(BatchSize, s), s), Targets.Sparse),
        ["SoftmaxOnTheInput"] = new(s => new SoftmaxOnTheInput(BatchSize, s), Targets.Sparse),
        ["SigmoidOnTheInput"] = new(s => new SigmoidOnTheInput(BatchSize, s), Targets.Binary),
        ["SoftmaxOnANamedInput"] = new(s => new SoftmaxOnANamedInput(BatchSize, s), Targets.OneHot),
    };

    public static TheoryData<string> CaseNames()
    {
        var data = new TheoryData<string>();
        foreach (string name in Cases.Keys) data.Add(name);
        return data;
    }

    internal static float[] RandomInput(Model model, int n, int seed)
    {
        var rng = new Random(seed);
        var x = new float[n * model.InputSize];
        for (int i = 0; i < x.Length; i++) x[i] = (float)(rng.NextDouble() * 2 - 1) * 1.5f;
        return x;
    }

    private static float[] RandomTargets(Model model, Targets kind, int n, int seed)
    {
        var rng = new Random(seed);
        int k = model.OutputSize;
        var y = new float[n * model.TargetSize];
        switch (kind)
        {
            case Targets.Sparse:
                for (int i = 0; i < n; i++) y[i] = rng.Next(k);
                break;
            case Targets.OneHot:
                for (int i = 0; i < n; i++) y[i * k + rng.Next(k)] = 1;
                break;
            case Targets.Soft:
                for (int i = 0; i < n; i++)
                {
                    double sum = 0;
                    var row = new double[k];
                    for (int j = 0; j < k; j++) sum += row[j] = rng.NextDouble() + 0.1;
                    for (int j = 0; j < k; j++) y[i * k + j] = (float)(row[j] / sum);
                }
                break;
            case Targets.Binary:
                for (int i = 0; i < y.Length; i++) y[i] = rng.Next(2);
                break;
            case Targets.BinarySoft:
                for (int i = 0; i < y.Length; i++) y[i] = (float)rng.NextDouble();
                break;
            case Targets.Regression:
                for (int i = 0; i < y.Length; i++) y[i] = (float)(rng.NextDouble() * 2 - 1);
                break;
            case Targets.ClassAndValue:
                // A class index for the first output, a value for the second (TwoHeads).
                for (int i = 0; i < n; i++)
                {
                    y[i * 2] = rng.Next(model.Description.Outputs[0].Size);
                    y[i * 2 + 1] = (float)(rng.NextDouble() * 2 - 1);
                }
                return y;
        }
        Assert.Equal(model.TargetSize, kind == Targets.Sparse ? 1 : k);
        return y;
    }

    [Theory]
    [MemberData(nameof(CaseNames))]
    public void LossGradientMatchesFiniteDifferences(string name)
    {
        var c = Cases[name];
        for (int seed = 1; seed <= 2; seed++)
        {
            Model model = c.Create(seed);
            GradientCheck.RandomizeBiases(model, seed);
            float[] x = RandomInput(model, N, 100 + seed);
            float[] y = RandomTargets(model, c.Targets, N, 200 + seed);

            var (dp, dx) = GradientCheck.Analytic(model, x, y, N);
            Assert.All(dp, v => Assert.True(float.IsFinite(v)));
            // A backward that writes nothing cannot pass (a model without weights: the input gradient).
            Assert.Contains(dp.Length > 0 ? dp : dx, v => v != 0);

            var result = GradientCheck.Check(model, x, dp, dx, () => GradientCheck.Loss(model, x, y, N));
            GradientCheck.AssertPasses(result, $"{name} (seed {seed})");
            Console.WriteLine($"{name} (seed {seed}): {result}");
        }
    }

    /// <summary>
    /// The caller writes dJ/dOutput for J = Σ w·output into OutputGradient and back-propagates it:
    /// for a model whose loss is fused with its softmax/sigmoid, this is the path that first
    /// takes the gradient back through that activation.
    /// </summary>
    [Theory]
    [MemberData(nameof(CaseNames))]
    public void OutputGradientPathMatchesFiniteDifferences(string name)
    {
        var c = Cases[name];
        Model model = c.Create(7);
        GradientCheck.RandomizeBiases(model, 7);
        float[] x = RandomInput(model, N, 300);
        var rng = new Random(301);
        var w = new float[N * model.OutputSize];
        for (int i = 0; i < w.Length; i++) w[i] = (float)(rng.NextDouble() * 2 - 1);

        double Objective()
        {
            ReadOnlySpan<float> o = GradientCheck.ForwardFixedMask(model, x, N);
            double j = 0;
            for (int i = 0; i < w.Length; i++) j += (double)w[i] * o[i];
            return j;
        }

        GradientCheck.ForwardFixedMask(model, x, N);
        w.CopyTo(model.OutputGradient(N));
        var dx = new float[x.Length];
        model.BackwardFromOutputGradient(N, dx);
        float[] dp = model.Gradients.Span.ToArray();
        Assert.Contains(dp.Length > 0 ? dp : dx, v => v != 0);

        var result = GradientCheck.Check(model, x, dp, dx, Objective);
        GradientCheck.AssertPasses(result, $"{name} via OutputGradient");
    }

    /// <summary>The input gradient is optional: asking for it must not change the parameter gradients.</summary>
    [Theory]
    [MemberData(nameof(CaseNames))]
    public void ParameterGradientsDoNotDependOnAskingForTheInputGradient(string name)
    {
        var c = Cases[name];
        Model model = c.Create(3);
        float[] x = RandomInput(model, N, 400);
        float[] y = RandomTargets(model, c.Targets, N, 401);
        var (withInput, _) = GradientCheck.Analytic(model, x, y, N);

        // Dirty the gradients first: Backward overwrites, it does not accumulate.
        model.Gradients.Span.Fill(123f);
        GradientCheck.ForwardFixedMask(model, x, N);
        model.ComputeLoss(y, N, gradient: true);
        model.Backward(N);
        float[] without = model.Gradients.Span.ToArray();
        // State tensors (BN moving statistics) have offsets into State, not Parameters.
        foreach (var t in model.Description.Tensors.Where(t => t.Trainable))
            for (int i = t.Offset; i < t.Offset + t.Length; i++)
                Assert.True(withInput[i] == without[i], $"{name} {t.Name}[{i - t.Offset}]: {withInput[i]} with the input gradient, {without[i]} without");
    }

    /// <summary>A bigger model, the seed's MLP with dropout, checked on a random subset of weights.</summary>
    [Fact]
    public void FashionDropoutMlpGradientOnRandomSubset()
    {
        var model = new FashionDropoutMlp(batchSize: 4, seed: 5);
        const int n = 2;
        float[] x = RandomInput(model, n, 500);
        float[] y = [3, 8];
        var (dp, dx) = GradientCheck.Analytic(model, x, y, n);
        // Check the input on a subset too: 1,568 inputs at three forwards each is still cheap.
        var result = GradientCheck.Check(model, x, dp, dx, () => GradientCheck.Loss(model, x, y, n), maxParameters: 300);
        // One of 300 ReLUs of a sample sitting within reach of zero makes every input of that
        // sample straddle its kink, so up to half the coordinates may be skipped here.
        GradientCheck.AssertPasses(result, "FashionDropoutMlp", maxSkippedFraction: 0.5);
        Assert.True(result.Checked >= 500, result.ToString());
    }

    /// <summary>Dropout in training zeroes about `rate` of the units, scales the rest by 1/(1−rate), and is the identity in inference.</summary>
    [Fact]
    public void DropoutMasksInTrainingOnlyAndChangesWithTheStream()
    {
        const int n = 256;
        var model = new InputDropout(batchSize: n, seed: 1); // Dropout(0.25) on 6 inputs, then Dense(3)
        // kernel[i, 0] = 2^i, everything else 0: output 0 of a sample of ones encodes its mask in binary.
        Span<float> kernel = model.Tensor("dense/kernel");
        kernel.Clear();
        for (int i = 0; i < 6; i++) kernel[i * 3] = 1 << i;
        model.Tensor("dense/bias").Clear();
        float[] x = new float[n * 6];
        Array.Fill(x, 1f);

        float[] inference = model.Forward(x, n, training: false).ToArray();
        for (int s = 0; s < n; s++) Assert.Equal(63f, inference[s * 3]);

        model.Random = new Rng(1);
        float[] a = model.Forward(x, n, training: true).ToArray();
        model.Random = new Rng(1);
        float[] b = model.Forward(x, n, training: true).ToArray();
        float[] c = model.Forward(x, n, training: true).ToArray(); // the stream moved on
        Assert.Equal(a, b);
        Assert.NotEqual(a, c);

        int dropped = 0;
        for (int s = 0; s < n; s++)
        {
            double kept = a[s * 3] * 0.75; // kept units are scaled by 1/(1 - 0.25)
            int bits = (int)Math.Round(kept);
            Assert.True(Math.Abs(kept - bits) < 1e-4, $"sample {s}: output {a[s * 3]} is not 4/3 times a whole mask");
            for (int i = 0; i < 6; i++) if ((bits & (1 << i)) == 0) dropped++;
        }
        double rate = dropped / (double)(n * 6);
        Assert.InRange(rate, 0.25 - 0.05, 0.25 + 0.05); // 1,536 draws: σ ≈ 0.011
    }

    /// <summary>
    /// Gradients after an inference-mode forward (saliency maps, adversarial inputs, a frozen model
    /// in a composition): for a model without dropout they must be the training-mode gradients of
    /// the same input, or Backward must refuse; silently mixing in an older batch's input is wrong.
    /// </summary>
    [Theory]
    [InlineData("TinySparseMlp")]
    [InlineData("TinyRegression")]
    [InlineData("ReshapeFirst")]
    public void BackwardAfterAnInferenceForwardIsRightOrRefused(string name)
    {
        var c = Cases[name];
        Model model = c.Create(4);
        float[] x1 = RandomInput(model, N, 600), x2 = RandomInput(model, N, 601);
        float[] y = RandomTargets(model, c.Targets, N, 602);
        var (expected, expectedDx) = GradientCheck.Analytic(model, x2, y, N);

        model.Forward(x1, N, training: true); // an earlier training batch
        model.Forward(x2, N, training: false);
        model.ComputeLoss(y, N, gradient: true);
        var dx = new float[x2.Length];
        try
        {
            model.Backward(N, dx);
        }
        catch (InvalidOperationException)
        {
            return; // refusing is fine
        }
        Assert.Equal(expectedDx, dx);
        float[] got = model.Gradients.Span.ToArray();
        foreach (var t in model.Description.Tensors.Where(t => t.Trainable))
            for (int i = t.Offset; i < t.Offset + t.Length; i++)
                Assert.True(Math.Abs(expected[i] - got[i]) <= 1e-6f * Math.Max(1, Math.Abs(expected[i])),
                    $"{name} {t.Name}[{i - t.Offset}]: {got[i]} after Forward(training: false), {expected[i]} after Forward(training: true) on the same input");
    }

    /// <summary>
    /// The same with dropout: in inference dropout is the identity, so the gradient of the
    /// inference-mode loss must not pass through a mask left over from an earlier training batch.
    /// </summary>
    [Theory]
    [InlineData("WithDropout")]
    [InlineData("InputDropout")]
    public void BackwardAfterAnInferenceForwardIgnoresStaleDropoutMasks(string name)
    {
        var c = Cases[name];
        Model model = c.Create(4);
        GradientCheck.RandomizeBiases(model, 4);
        float[] x1 = RandomInput(model, N, 700), x2 = RandomInput(model, N, 701);
        float[] y = RandomTargets(model, c.Targets, N, 702);

        model.Forward(x1, N, training: true); // leaves masks behind
        model.Forward(x2, N, training: false);
        model.ComputeLoss(y, N, gradient: true);
        var dx = new float[x2.Length];
        try
        {
            model.Backward(N, dx);
        }
        catch (InvalidOperationException)
        {
            return; // refusing is fine
        }
        float[] dp = model.Gradients.Span.ToArray();
        double InferenceLoss()
        {
            model.Forward(x2, N, training: false);
            return model.ComputeLoss(y, N, gradient: false);
        }
        var result = GradientCheck.Check(model, x2, dp, dx, InferenceLoss);
        GradientCheck.AssertPasses(result, $"{name} after Forward(training: false)");
    }
}
