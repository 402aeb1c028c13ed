using Kiln;

// Some models keep a bias before BatchNormalization on purpose (its gradient must be zero, and
// folding must carry it): the project file silences Kiln's warning about it (KILN0110).

namespace Kiln.EndToEnd.Tests;

// Tiny convolutional models, one per new layer and fusion, whose generated forward/loss/backward
// the gradient checks run on every weight and every input value.

// Conv2D valid, stride 1; its (3, 4, 3) output is the model's output.
[Sequential(5, 6, 2)]
[Conv2D(3, 3)]
[Loss(Loss.MeanSquaredError)]
public partial class ConvValid { }

// Conv2D same, stride 2, even kernel 4 on 5×6: padding rows 1 top / 2 bottom, columns 1 / 1.
[Sequential(5, 6, 2)]
[Conv2D(3, 4, Strides = 2, Padding = Padding.Same)]
[Flatten]
[Dense(3)]
[Loss(Loss.MeanSquaredError)]
public partial class ConvSameStride2Kernel4 { }

// Conv2D same, stride 2, kernel 2 on 5×6: one padding row, at the bottom; no column.
[Sequential(5, 6, 2)]
[Conv2D(3, 2, Strides = 2, Padding = Padding.Same)]
[Loss(Loss.MeanSquaredError)]
public partial class ConvSameStride2Kernel2 { }

// A (3, 1) kernel with stride 2 along the height only, valid: (5, 6) -> (2, 6).
[Sequential(5, 6, 2)]
[Conv2D(4, 3, KernelWidth = 1, StrideHeight = 2)]
[Loss(Loss.MeanSquaredError)]
public partial class ConvTallKernelStrideHeight { }

// The same window with same padding: (5, 6) -> (3, 6), padding one row top and bottom.
[Sequential(5, 6, 2)]
[Conv2D(2, 3, KernelWidth = 1, StrideHeight = 2, Padding = Padding.Same)]
[Loss(Loss.MeanSquaredError)]
public partial class ConvTallKernelSame { }

// Activations in the convolution's epilogue.
[Sequential(5, 6, 2)]
[Conv2D(3, 3, Padding = Padding.Same, Activation = Activation.Tanh)]
[Conv2D(2, 2, Activation = Activation.Relu)]
[Flatten]
[Dense(3, Activation.Softmax)]
[Loss(Loss.SparseCategoricalCrossentropy)]
public partial class ConvEpilogue { }

// Conv2D + BatchNormalization + ReLU, one fused kernel group.
[Sequential(5, 6, 2)]
[Conv2D(3, 3, UseBias = false)] [BatchNormalization] [Relu]
[Flatten]
[Dense(3)]
[Loss(Loss.MeanSquaredError)]
public partial class ConvBnRelu { }

// Conv2D (with a bias BN cancels) + BatchNormalization, no activation; BN output is the model's output.
[Sequential(5, 6, 2)]
[Conv2D(3, 3, Padding = Padding.Same)] [BatchNormalization]
[Loss(Loss.MeanSquaredError)]
public partial class ConvBn { }

// Dense + BatchNormalization + ReLU.
[Sequential(6)]
[Dense(5, UseBias = false)] [BatchNormalization] [Relu]
[Dense(3)]
[Loss(Loss.MeanSquaredError)]
public partial class DenseBnRelu { }

// Seed 001's logistic regression in miniature: BatchNormalization on the raw input, standalone.
[Sequential(3, 4, 2)]
[BatchNormalization]
[Flatten]
[Dense(3, Activation.Softmax)]
[Loss(Loss.CategoricalCrossentropy)]
public partial class InputBn { }

// A standalone BatchNormalization absorbs the activation after it.
[Sequential(3, 4, 2)]
[BatchNormalization] [Tanh]
[Flatten]
[Dense(3)]
[Loss(Loss.MeanSquaredError)]
public partial class InputBnTanh { }

// BatchNormalization without beta (Center = false), fused after a convolution.
[Sequential(5, 6, 2)]
[Conv2D(3, 3, UseBias = false)] [BatchNormalization(Center = false)] [Relu]
[Flatten]
[Dense(3)]
[Loss(Loss.MeanSquaredError)]
public partial class ConvBnNoCenter { }

// BatchNormalization without gamma (Scale = false) after a Dense.
[Sequential(6)]
[Dense(5)] [BatchNormalization(Scale = false)] [Tanh]
[Dense(3)]
[Loss(Loss.MeanSquaredError)]
public partial class DenseBnNoScale { }

// Neither gamma nor beta, standalone on the input.
[Sequential(3, 4, 2)]
[BatchNormalization(Center = false, Scale = false)]
[Flatten]
[Dense(3)]
[Loss(Loss.MeanSquaredError)]
public partial class InputBnNoCenterNoScale { }

// Conv2DTranspose stride 2 same with kernel 4, like the GAN's generator: (3, 3) -> (6, 6).
[Sequential(3, 3, 2)]
[Conv2DTranspose(2, 4, Strides = 2, Padding = Padding.Same)] [Relu]
[Conv2D(2, 3)]
[Loss(Loss.MeanSquaredError)]
public partial class ConvTransposeSame { }

// Conv2DTranspose valid, kernel 3 stride 2: (3, 2) -> (7, 5); its output is the model's output.
[Sequential(3, 2, 2)]
[Conv2DTranspose(3, 3, Strides = 2, Activation = Activation.Tanh)]
[Loss(Loss.MeanSquaredError)]
public partial class ConvTransposeValid { }

// Max pooling 3×3 stride 2, valid: (5, 7) -> (2, 3); after a convolution.
[Sequential(5, 7, 2)]
[Conv2D(3, 2, Padding = Padding.Same)]
[MaxPooling2D(3, Strides = 2)]
[Flatten]
[Dense(3)]
[Loss(Loss.MeanSquaredError)]
public partial class MaxPoolValid { }

// Max pooling 3×3 stride 2, same: (5, 6) -> (3, 3), windows over the padding. (The convolution
// gives most inputs a gradient; pooling on the raw input is checked against a reference in ConvLayerTests.)
[Sequential(5, 6, 2)]
[Conv2D(3, 2, Padding = Padding.Same)]
[MaxPooling2D(3, Strides = 2, Padding = Padding.Same)]
[Loss(Loss.MeanSquaredError)]
public partial class MaxPoolSame { }

// 2×3 pool, strides (1, 2), same: (5, 6) -> (5, 3).
[Sequential(5, 6, 2)]
[Conv2D(3, 2, Padding = Padding.Same, Activation = Activation.Tanh)]
[MaxPooling2D(2, PoolWidth = 3, StrideHeight = 1, StrideWidth = 2, Padding = Padding.Same)]
[Loss(Loss.MeanSquaredError)]
public partial class MaxPoolRect { }

// Average pooling 3×3 stride 2, same: edge windows hold fewer real elements.
[Sequential(5, 6, 2)]
[Conv2D(3, 1)]
[AveragePooling2D(3, Strides = 2, Padding = Padding.Same)]
[Loss(Loss.MeanSquaredError)]
public partial class AvgPoolSame { }

// Average pooling 2×2 valid, stride 1.
[Sequential(5, 6, 2)]
[AveragePooling2D(2, Strides = 1)]
[Loss(Loss.MeanSquaredError)]
public partial class AvgPoolValid { }

[Sequential(5, 6, 2)]
[Conv2D(4, 3, Activation = Activation.Tanh)]
[GlobalAveragePooling2D]
[Dense(3)]
[Loss(Loss.MeanSquaredError)]
public partial class GlobalAvgPool { }

[Sequential(5, 6, 2)]
[Conv2D(4, 2)]
[GlobalMaxPooling2D]
[Dense(3, Activation.Softmax)]
[Loss(Loss.SparseCategoricalCrossentropy)]
public partial class GlobalMaxPool { }

// Nearest upsampling (2, 3) between convolutions.
[Sequential(3, 2, 2)]
[Conv2D(2, 1)]
[UpSampling2D(2, 3)]
[Conv2D(2, 3)]
[Loss(Loss.MeanSquaredError)]
public partial class UpSampling { }

// Asymmetric zero padding (top 1, bottom 0, left 2, right 1), then a convolution.
[Sequential(3, 4, 2)]
[ZeroPadding2D(1, 0, 2, 1)]
[Conv2D(2, 3)]
[Loss(Loss.MeanSquaredError)]
public partial class ZeroPadding { }

// Zero padding as the output layer.
[Sequential(3, 4, 2)]
[ZeroPadding2D(0, 2, 1, 0)]
[Loss(Loss.MeanSquaredError)]
public partial class ZeroPaddingOutput { }

// Seed 000's GAN discriminator in miniature.
[Sequential(8, 8, 3)]
[Conv2D(4, 3, Padding = Padding.Same)] [LeakyRelu(0.2)]
[Conv2D(4, 4, Strides = 2, Padding = Padding.Same)] [LeakyRelu(0.2)]
[Conv2D(4, 4, Strides = 2, Padding = Padding.Same)] [LeakyRelu(0.2)]
[Flatten]
[Dropout(0.4)]
[Dense(1, Activation.Sigmoid)]
[Loss(Loss.BinaryCrossentropy)]
public partial class MiniDiscriminator { }

// Seed 000's GAN generator in miniature (with a BN block), regression on its tanh image.
[Sequential(4)]
[Dense(18)] [Relu]
[Reshape(3, 3, 2)]
[Conv2D(3, 3, Padding = Padding.Same, UseBias = false)] [BatchNormalization] [LeakyRelu(0.2)]
[Conv2DTranspose(3, 4, Strides = 2, Padding = Padding.Same)] [Relu]
[Conv2D(2, 3, Padding = Padding.Same)] [Tanh]
[Loss(Loss.MeanSquaredError)]
public partial class MiniGenerator { }

// A CNN block chain: conv+BN+relu, max pool, conv+BN+relu, max pool, dense head (the FashionCnn shape in miniature).
[Sequential(8, 8, 1)]
[Conv2D(3, 3, Padding = Padding.Same, UseBias = false)] [BatchNormalization] [Relu]
[MaxPooling2D(2)]
[Conv2D(4, 3, Padding = Padding.Same, UseBias = false)] [BatchNormalization] [Relu]
[MaxPooling2D(2)]
[Flatten]
[Dense(5, Activation.Relu)]
[Dropout(0.3)]
[Dense(3, Activation.Softmax)]
[Loss(Loss.SparseCategoricalCrossentropy)]
public partial class MiniFashionCnn { }

// 3×3 stride-1 layers with 16 channels: the generator picks Winograd F(2×2, 3×3) for both (same
// with BN + ReLU, then valid with tanh and a bias), so their forward and data gradient run it.
[Sequential(6, 6, 16)]
[Conv2D(16, 3, Padding = Padding.Same, UseBias = false)] [BatchNormalization] [Relu]
[Conv2D(16, 3, Activation = Activation.Tanh)]
[GlobalAveragePooling2D]
[Dense(3, Activation.Softmax)]
[Loss(Loss.SparseCategoricalCrossentropy)]
public partial class WinogradConvs { }

// Convolutions read only by a 2×2 max pooling, which inference does in their stores: a direct
// convolution (3 channels in) with BN folded, then a Winograd one (16 in) with a bias.
[Sequential(8, 8, 3)]
[Conv2D(16, 3, Padding = Padding.Same, UseBias = false)] [BatchNormalization] [Relu]
[MaxPooling2D(2)]
[Conv2D(32, 3, Padding = Padding.Same)] [Relu]
[MaxPooling2D(2)]
[Flatten]
[Dense(3, Activation.Softmax)]
[Loss(Loss.SparseCategoricalCrossentropy)]
public partial class PooledConvs { }

// Folding twins: the first folds BN into the convolution in inference; the second's no-op
// Reshape keeps BN a layer of its own (batch statistics / moving statistics, never folded).
[Sequential(6, 5, 2)]
[Conv2D(4, 3, UseBias = false)] [BatchNormalization] [Relu]
[Flatten]
[Dense(3)]
[Loss(Loss.MeanSquaredError)]
public partial class FoldedConvBn { }

[Sequential(6, 5, 2)]
[Conv2D(4, 3, UseBias = false)]
[Reshape(4, 3, 4)]
[BatchNormalization] [Relu]
[Flatten]
[Dense(3)]
[Loss(Loss.MeanSquaredError)]
public partial class UnfusedConvBn { }

[Sequential(7)]
[Dense(6)] [BatchNormalization(Momentum = 0.9, Epsilon = 0.01)] [Relu]
[Dense(3)]
[Loss(Loss.MeanSquaredError)]
public partial class FoldedDenseBn { }

[Sequential(7)]
[Dense(6)]
[Reshape(6)]
[BatchNormalization(Momentum = 0.9, Epsilon = 0.01)] [Relu]
[Dense(3)]
[Loss(Loss.MeanSquaredError)]
public partial class UnfusedDenseBn { }

// A BatchNormalization alone (the output), for the moving-statistics semantics.
[Sequential(2, 3, 4)]
[BatchNormalization]
[Loss(Loss.MeanSquaredError)]
public partial class BnOnly { }

[Sequential(5)]
[BatchNormalization(Momentum = 0.8, Epsilon = 0.1)]
[Loss(Loss.MeanSquaredError)]
public partial class BnCustom { }

// Layers straight on the input, for the forward references in ConvLayerTests.
[Sequential(5, 6, 2)]
[MaxPooling2D(3, Strides = 2, Padding = Padding.Same)]
[Loss(Loss.MeanSquaredError)]
public partial class RawMaxPoolSame { }

[Sequential(5, 6, 2)]
[MaxPooling2D(2, PoolWidth = 3, StrideHeight = 1, StrideWidth = 2, Padding = Padding.Same)]
[Loss(Loss.MeanSquaredError)]
public partial class RawMaxPoolRect { }

[Sequential(5, 7, 2)]
[MaxPooling2D(3, Strides = 2)]
[Loss(Loss.MeanSquaredError)]
public partial class RawMaxPoolValid { }

[Sequential(5, 6, 2)]
[AveragePooling2D(3, Strides = 2, Padding = Padding.Same)]
[Loss(Loss.MeanSquaredError)]
public partial class RawAvgPoolSame { }

// 2×2 pool, stride 2, same on 5×6: the last row of windows holds one real row.
[Sequential(5, 6, 2)]
[AveragePooling2D(2, Padding = Padding.Same)]
[Loss(Loss.MeanSquaredError)]
public partial class RawAvgPoolSameEven { }

[Sequential(3, 4, 5)]
[GlobalAveragePooling2D]
[Loss(Loss.MeanSquaredError)]
public partial class RawGlobalAvgPool { }

[Sequential(3, 4, 5)]
[GlobalMaxPooling2D]
[Loss(Loss.MeanSquaredError)]
public partial class RawGlobalMaxPool { }

[Sequential(2, 3, 2)]
[UpSampling2D(2, 3)]
[Loss(Loss.MeanSquaredError)]
public partial class RawUpSampling { }

[Sequential(3, 3, 2)]
[Conv2DTranspose(2, 4, Strides = 2, Padding = Padding.Same)]
[Loss(Loss.MeanSquaredError)]
public partial class RawConvTransposeSame4 { }

[Sequential(3, 2, 2)]
[Conv2DTranspose(3, 3, Strides = 2, Padding = Padding.Same)]
[Loss(Loss.MeanSquaredError)]
public partial class RawConvTransposeSame3 { }

[Sequential(3, 2, 2)]
[Conv2DTranspose(3, 3, Strides = 2)]
[Loss(Loss.MeanSquaredError)]
public partial class RawConvTransposeValid { }

// Kernel 2 with stride 3 (kernel smaller than the stride): valid output (h − 1)·3 + 3, zero gaps.
[Sequential(2, 3, 1)]
[Conv2DTranspose(2, 2, Strides = 3)]
[Loss(Loss.MeanSquaredError)]
public partial class RawConvTransposeGaps { }

[Sequential(5, 6, 2)]
[Conv2D(3, 4, Strides = 2, Padding = Padding.Same)]
[Loss(Loss.MeanSquaredError)]
public partial class RawConvSameStride2Kernel4 { }

[Sequential(5, 6, 2)]
[Conv2D(2, 2, KernelWidth = 3, StrideHeight = 2, StrideWidth = 3, Padding = Padding.Same)]
[Loss(Loss.MeanSquaredError)]
public partial class RawConvRectSame { }

// A max pooling that takes its input kernel's activation derivative at the pooled values
// (FusionPlan.DerivativesAtPool): a global max after a convolution's ReLU, and a standalone
// BatchNormalization + LeakyReLU (not fused into the tanh convolution before it) read by a max pooling.
[Sequential(5, 6, 2)]
[Conv2D(4, 2, Activation = Activation.Relu)]
[GlobalMaxPooling2D]
[Dense(3, Activation.Softmax)]
[Loss(Loss.SparseCategoricalCrossentropy)]
public partial class GlobalMaxPoolRelu { }

[Sequential(5, 6, 2)]
[Conv2D(3, 2, Padding = Padding.Same, Activation = Activation.Tanh)]
[BatchNormalization] [LeakyRelu(0.2)]
[MaxPooling2D(2, Strides = 1)]
[Loss(Loss.MeanSquaredError)]
public partial class BnLeakyReluMaxPool { }

// Conv + BN + ReLU pooled as BN normalizes in training (FusionPlan.NormalizesIntoPool) by overlapping,
// same-padded windows, over 20 channels (one 16-channel vector and a scalar tail).
[Sequential(7, 6, 2)]
[Conv2D(20, 3, Padding = Padding.Same, UseBias = false)] [BatchNormalization] [Relu]
[MaxPooling2D(3, Strides = 2, Padding = Padding.Same)]
[Flatten]
[Dense(3, Activation.Softmax)]
[Loss(Loss.SparseCategoricalCrossentropy)]
public partial class BnReluOverlappingMaxPool { }

// A second Conv + BN + ReLU whose 2×2 max pooling takes the ReLU's derivative (7×7, same: the last row's
// and column's windows hang over the edge) over 20 channels (a 16-channel vector and a scalar tail), the
// first convolution's input gradient on the way.
[Sequential(7, 7, 2)]
[Conv2D(4, 3, Padding = Padding.Same, Activation = Activation.Tanh)]
[Conv2D(20, 3, Padding = Padding.Same, UseBias = false)] [BatchNormalization] [Relu]
[MaxPooling2D(2, Padding = Padding.Same)]
[Flatten]
[Dense(3, Activation.Softmax)]
[Loss(Loss.SparseCategoricalCrossentropy)]
public partial class PooledBatchNormBackward { }

// The ReLU output read by the max pooling and by a second branch: its gradient is the sum of
// both, so the convolution keeps its own mask and the pooling takes no derivative.
[Sequential(4, 4, 2)]
[Conv2D(3, 2, Padding = Padding.Same, Activation = Activation.Relu, Name = "features")]
[MaxPooling2D(2)]
[Flatten(Name = "pooled")]
[GlobalAveragePooling2D(From = "features", Name = "averaged")]
[Concatenate("pooled", "averaged")]
[Dense(2)]
[Loss(Loss.MeanSquaredError)]
public partial class ReluReadByPoolAndAverage { }

// A first Conv + BN + ReLU whose weight gradients come from its 2×2 pooling's gradients
// (KernelProgram.PooledGradientsOf) behind a Rescaling: the input gradient passes through an arena
// buffer, written in the branch for the input gradient and read after it, which must neither be
// declared inside that branch nor share memory with the pooling's buffers the weight gradients read.
[Sequential(8, 8, 3)]
[Rescaling(1.0 / 255)]
[Conv2D(8, 3, Padding = Padding.Same, UseBias = false)] [BatchNormalization] [Relu]
[MaxPooling2D(2)]
[Flatten]
[Dense(3, Activation.Softmax)]
[Loss(Loss.SparseCategoricalCrossentropy)]
public partial class RescaledPooledFirstConv { }
