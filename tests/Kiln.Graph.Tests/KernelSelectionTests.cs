using System.Linq;
using Kiln.Graph;
using static Kiln.Graph.Tests.Models;

namespace Kiln.Graph.Tests;

public class KernelSelectionTests
{
    private static LayerSpec Conv(int filters, int kernel, int strides = 1, bool same = true) =>
        new ConvolutionSpec(false, filters, kernel, kernel, strides, strides, same ? PaddingKind.Same : PaddingKind.Valid);

    private static ConvolutionAlgorithm[] Algorithms(int[] input, params LayerSpec[] layers) =>
        Compile(ModelSpec.Create("M", input, null, layers)).Fusion.Groups.Where(g => g.First.Kind == LayerKind.Conv2D)
            .Select(g => g.Convolution).ToArray();

    [Fact]
    public void Winograd3x3Stride1WithWholeVectorsOfChannels()
    {
        // The CIFAR net: the first layer reads 3 channels (direct); the others are 3×3 stride 1 with 64 or 128.
        Assert.Equal(
            new[] { ConvolutionAlgorithm.Direct, ConvolutionAlgorithm.Winograd, ConvolutionAlgorithm.Winograd, ConvolutionAlgorithm.Winograd },
            Algorithms(new[] { 32, 32, 3 }, Conv(64, 3), Conv(64, 3), Conv(128, 3), Conv(128, 3, same: false)));
    }

    [Fact]
    public void Winograd5x5Stride1WithWholeVectorsOfChannels()
    {
        // The seed GAN generator's two 5×5 layers, and a strided and a narrow one.
        Assert.Equal(
            new[] { ConvolutionAlgorithm.Winograd, ConvolutionAlgorithm.Winograd, ConvolutionAlgorithm.ImplicitGemm, ConvolutionAlgorithm.ImplicitGemm },
            Algorithms(new[] { 16, 16, 128 }, Conv(256, 5), Conv(256, 5, same: false), Conv(64, 5, strides: 2), Conv(24, 5)));
    }

    [Fact]
    public void ImplicitGemmForEveryOtherWindow()
    {
        Assert.Equal(
            new[] { ConvolutionAlgorithm.ImplicitGemm, ConvolutionAlgorithm.ImplicitGemm, ConvolutionAlgorithm.ImplicitGemm, ConvolutionAlgorithm.ImplicitGemm },
            Algorithms(new[] { 16, 16, 32 },
                Conv(32, 3, strides: 2),   // strided
                Conv(32, 7),               // 7×7
                Conv(24, 3),               // 24 filters: not whole vectors
                Conv(32, 3)));             // reads 24 channels
        // Output below 4×4: a 2×2 tile would compute mostly padding.
        Assert.Equal(new[] { ConvolutionAlgorithm.ImplicitGemm }, Algorithms(new[] { 5, 5, 32 }, Conv(32, 3, same: false)));
        Assert.Equal(new[] { ConvolutionAlgorithm.Winograd }, Algorithms(new[] { 6, 6, 16 }, Conv(16, 3, same: false)));
    }

    [Fact]
    public void DirectForAFewInputChannelsUnlessWinogradApplies()
    {
        Assert.Equal(
            new[] { ConvolutionAlgorithm.Direct, ConvolutionAlgorithm.Direct, ConvolutionAlgorithm.Direct, ConvolutionAlgorithm.ImplicitGemm },
            Algorithms(new[] { 28, 28, 1 },
                Conv(3, 3),                // a grey image, 3×3
                Conv(16, 7, strides: 2),   // 3 channels, a 7×7 stride-2 stem
                Conv(17, 3),               // 16 channels, 17 filters: Winograd does not apply
                Conv(32, 3)));             // 17 channels: the implicit GEMM no longer gathers
        // 16 channels in and out, 3×3 stride 1: Winograd first.
        Assert.Equal(new[] { ConvolutionAlgorithm.Winograd }, Algorithms(new[] { 8, 8, 16 }, Conv(16, 3)));
        Assert.Equal(new[] { ConvolutionAlgorithm.Direct }, Algorithms(new[] { 3, 3, 16 }, Conv(16, 3, same: false)));
    }

    [Theory]
    [InlineData(14, 14, 4)]   // the Fashion CNN's second layer: 16 tiles of 36 products against 49 of 16
    [InlineData(32, 32, 4)]
    [InlineData(7, 7, 4)]
    [InlineData(4, 4, 4)]
    [InlineData(16, 3, 4)]
    [InlineData(5, 5, 2)]     // 4 tiles of 36 = 9 of 16: no gain
    [InlineData(6, 6, 2)]
    [InlineData(10, 10, 2)]   // 81%
    public void WinogradTileFourWhereItTakesAtMostFourFifthsOfTheProducts(int h, int w, int tile)
    {
        Assert.Equal(tile, KernelSelection.WinogradTile(h, w, 3));
    }

    [Theory]
    [InlineData(32, 32, 4)]   // the seed GAN's generator: 64 tiles of 64 products against 256 of 36
    [InlineData(16, 16, 4)]
    [InlineData(14, 14, 4)]
    [InlineData(5, 5, 4)]     // 4 tiles of 64 against 9 of 36: 79%
    [InlineData(3, 3, 4)]
    [InlineData(2, 2, 2)]     // one tile either way
    [InlineData(1, 1, 2)]
    public void FiveByFiveWinogradTileFourWhereItTakesAtMostFourFifthsOfTheProducts(int h, int w, int tile)
    {
        Assert.Equal(tile, KernelSelection.WinogradTile(h, w, 5));
    }

    [Fact]
    public void SummaryNamesTheVariant()
    {
        var program = Compile(ModelSpec.Create("M", new[] { 8, 8, 32 }, null, Conv(32, 3), Conv(32, 1)));
        var lines = Summary.FusionLines(program);
        Assert.Contains(lines, l => l.StartsWith("k0:") && l.Contains("Winograd F(4x4, 3x3) convolution"));
        Assert.Contains(lines, l => l.StartsWith("k1:") && l.Contains("implicit-GEMM convolution"));
        Assert.DoesNotContain(lines, l => l.Contains("backward"));

        // 10×10 outputs: 9 tiles of 4×4 would take 81% of the products of 25 tiles of 2×2.
        var ten = Compile(ModelSpec.Create("M", new[] { 10, 10, 32 }, null, Conv(32, 3)));
        Assert.Contains(Summary.FusionLines(ten), l => l.StartsWith("k0:") && l.Contains("Winograd F(2x2, 3x3) convolution"));

        var five = Compile(ModelSpec.Create("M", new[] { 32, 32, 64 }, null, Conv(64, 5)));
        Assert.Contains(Summary.FusionLines(five), l => l.StartsWith("k0:") && l.Contains("Winograd F(4x4, 5x5) convolution"));

        var first = Compile(ModelSpec.Create("M", new[] { 8, 8, 3 }, null, Conv(16, 3)));
        Assert.Contains(Summary.FusionLines(first), l => l.StartsWith("k0:") && l.Contains("direct convolution")
            && l.EndsWith("; backward: the implicit-GEMM gradients"));
    }

    private static LayerSpec MaxPool(int size = 2, int strides = 2, bool same = false) =>
        new PoolingSpec(true, size, size, strides, strides, same ? PaddingKind.Same : PaddingKind.Valid);

    /// <summary>Which convolution kernels do the max pooling after them in their store in inference, as (conv label, pool label).</summary>
    private static string[] PoolsInStore(int[] input, params LayerSpec[] layers) =>
        Compile(ModelSpec.Create("M", input, null, layers)).Fusion.PoolsInStore.Select(p => $"{p.Key.Label}>{p.Value.Label}").OrderBy(s => s).ToArray();

    [Fact]
    public void WinogradAndDirectStoresDoTheTwoByTwoMaxPoolingAfterThem()
    {
        // Conv + BN + ReLU and conv + bias + ReLU, each read by a 2×2 max pooling: both pooled in the store.
        Assert.Equal(new[] { "k0>k1", "k2>k3" },
            PoolsInStore(new[] { 10, 10, 16 }, Conv(16, 3), new BatchNormalizationSpec(), Relu(), MaxPool(), Conv(32, 3), Relu(), MaxPool()));
        // Odd outputs: valid pooling drops the last row and column as the kernel does; same pooling would pad them.
        Assert.Equal(new[] { "k0>k1" }, PoolsInStore(new[] { 9, 7, 16 }, Conv(16, 3), MaxPool()));
        Assert.Empty(PoolsInStore(new[] { 9, 7, 16 }, Conv(16, 3), MaxPool(same: true)));
        Assert.Equal(new[] { "k0>k1" }, PoolsInStore(new[] { 8, 8, 16 }, Conv(16, 3), MaxPool(same: true)));
        // The direct convolution pools each band of rows; the implicit GEMM does not pool.
        Assert.Equal(new[] { "k0>k1" }, PoolsInStore(new[] { 8, 8, 3 }, Conv(16, 3), MaxPool()));
        Assert.Empty(PoolsInStore(new[] { 8, 8, 24 }, Conv(24, 3), MaxPool()));
        // Not the 2×2 windows: a 3×3 window, strides 1, an average.
        Assert.Empty(PoolsInStore(new[] { 8, 8, 16 }, Conv(16, 3), MaxPool(size: 3)));
        Assert.Empty(PoolsInStore(new[] { 8, 8, 16 }, Conv(16, 3), MaxPool(strides: 1)));
        Assert.Empty(PoolsInStore(new[] { 8, 8, 16 }, Conv(16, 3), new PoolingSpec(false)));

        var program = Compile(ModelSpec.Create("M", new[] { 8, 8, 16 }, null, Conv(16, 3), MaxPool()));
        var lines = Summary.FusionLines(program);
        Assert.Contains(lines, l => l.StartsWith("k0:") && l.EndsWith("also does k1's 2x2 max pooling as it stores"));
        Assert.Contains(lines, l => l.StartsWith("k1:") && l.EndsWith("done by k0's store in unobserved inference"));
    }

    /// <summary>Which max poolings take their input kernel's activation derivative in backward, as (pool label, producer label).</summary>
    private static string[] DerivativesAtPool(int[] input, params LayerSpec[] layers) =>
        Compile(ModelSpec.Create("M", input, null, layers)).Fusion.DerivativesAtPool.Select(p => $"{p.Key.Label}<{p.Value.Label}").OrderBy(s => s).ToArray();

    [Fact]
    public void MaxPoolingsTakeTheActivationDerivativeOfTheKernelTheyRead()
    {
        // Conv + BN + ReLU and conv + bias + sigmoid, each read by a max pooling of any window; a global max too.
        Assert.Equal(new[] { "k1<k0", "k3<k2" },
            DerivativesAtPool(new[] { 10, 10, 16 }, Conv(16, 3), new BatchNormalizationSpec(), Relu(), MaxPool(size: 3, strides: 1), Conv(32, 3), Sigmoid(), MaxPool()));
        Assert.Equal(new[] { "k1<k0" }, DerivativesAtPool(new[] { 8, 8, 16 }, Conv(16, 3), Relu(), new GlobalPoolingSpec(true)));
        // A standalone BN + LeakyReLU kernel (the convolution before it has its own activation).
        Assert.Equal(new[] { "k2<k1" }, DerivativesAtPool(new[] { 8, 8, 16 }, Conv(16, 3), Tanh(), new BatchNormalizationSpec(), LeakyRelu(), MaxPool()));
        // No activation to take, an average, or an activation kernel of its own: nothing moves.
        Assert.Empty(DerivativesAtPool(new[] { 8, 8, 16 }, Conv(16, 3), MaxPool()));
        Assert.Empty(DerivativesAtPool(new[] { 8, 8, 16 }, Conv(16, 3), Relu(), new PoolingSpec(false)));
        Assert.Empty(DerivativesAtPool(new[] { 8, 8, 16 }, MaxPool(), Relu(), MaxPool()));

        // The producer's backward then neither masks nor reads its output; the pooling's reads the pooled values.
        var program = Compile(ModelSpec.Create("M", new[] { 8, 8, 16 }, null, Conv(16, 3), new BatchNormalizationSpec(), Relu(), MaxPool()));
        var conv = program.Backward.Single(s => s.Group!.Label == "k0" && s.Kind == StepKind.LinearBackward);
        Assert.Equal(ActivationKind.Linear, conv.Activation);
        Assert.Null(conv.Y);
        var pool = program.Backward.Single(s => s.Kind == StepKind.PoolBackward);
        Assert.Equal((ActivationKind.Relu, "max_pooling2d"), (pool.Activation, pool.Y!.Name));
        Assert.Contains(Summary.FusionLines(program), l => l.StartsWith("k1:") && l.EndsWith("backward takes k0's relu derivative at the pooled values"));
    }

    /// <summary>Which BN kernels pool as they normalize in training, as (BN kernel label, pool label).</summary>
    private static string[] NormalizesIntoPool(int[] input, params LayerSpec[] layers) =>
        Compile(ModelSpec.Create("M", input, null, layers)).Fusion.NormalizesIntoPool.Select(p => $"{p.Key.Label}>{p.Value.Label}").OrderBy(s => s).ToArray();

    [Fact]
    public void BatchNormKernelsWhosePoolingTakesTheDerivativePoolAsTheyNormalize()
    {
        // Conv + BN + ReLU read by a max pooling of any window (also past the 2×2 the stores pool), a Dense + BN too.
        Assert.Equal(new[] { "k0>k1", "k2>k3" },
            NormalizesIntoPool(new[] { 10, 10, 16 }, Conv(16, 3), new BatchNormalizationSpec(), Relu(), MaxPool(size: 3, strides: 1),
                Conv(32, 3), new BatchNormalizationSpec(), LeakyRelu(), MaxPool()));
        // Without a BN there are no statistics to normalize with (the store pools in inference only); a frozen BN
        // has none in training either; a global max, an average, or no activation for the pooling to take: nothing.
        Assert.Empty(NormalizesIntoPool(new[] { 8, 8, 16 }, Conv(16, 3), Relu(), MaxPool()));
        Assert.Empty(NormalizesIntoPool(new[] { 8, 8, 16 }, Conv(16, 3), new BatchNormalizationSpec { Trainable = false }, Relu(), MaxPool()));
        Assert.Empty(NormalizesIntoPool(new[] { 8, 8, 16 }, Conv(16, 3), new BatchNormalizationSpec(), Relu(), new GlobalPoolingSpec(true)));
        Assert.Empty(NormalizesIntoPool(new[] { 8, 8, 16 }, Conv(16, 3), new BatchNormalizationSpec(), Relu(), new PoolingSpec(false)));
        Assert.Empty(NormalizesIntoPool(new[] { 8, 8, 16 }, Conv(16, 3), new BatchNormalizationSpec(), MaxPool()));

        // The BN kernel's forward step writes the pooling's output and argmax; the pooling reuses both buffers.
        var program = Compile(ModelSpec.Create("M", new[] { 8, 8, 16 }, null, Conv(16, 3), new BatchNormalizationSpec(), Relu(), MaxPool()));
        var bn = program.Forward.Single(s => s.Group!.Label == "k0" && s.Kind == StepKind.LinearForward);
        var pool = program.Forward.Single(s => s.Kind == StepKind.PoolForward);
        Assert.Same(pool.Y, bn.Pooled);
        Assert.Same(pool.Mask, bn.PooledArgmax);
        var lines = Summary.FusionLines(program);
        Assert.Contains(lines, l => l.StartsWith("k0:") && l.Contains("unobserved training with batch statistics does k1's max pooling as it normalizes"));
        Assert.Contains(lines, l => l.StartsWith("k1:") && l.Contains("done by k0 as it normalizes in unobserved training"));
    }
}
