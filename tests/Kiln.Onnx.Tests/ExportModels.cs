using Kiln;

namespace Kiln.Onnx.Tests;

// Layers and placements the linked models do not reach. The first two are PreprocessingLayerTests'
// models (that file holds tests too, so they are copied).

[Sequential(2, 3)]
[Rescaling(0.5, Offset = 1)]
[Normalization]
[Flatten]
[Dense(4, Activation.Tanh)]
[Dense(2)]
[Loss(Loss.MeanSquaredError)]
public partial class PreprocessedRegression { }

[Sequential(2, 2)]
[Normalization(Axis = new int[0], Mean = new[] { 3.0 }, Variance = new[] { 4.0 })]
[Flatten]
[Dense(1)]
public partial class GloballyNormalized { }

// Statistics over the two last axes, then undone: Normalization's broadcast shape and its inverse.
[Sequential(2, 3, 2)]
[Rescaling(2.0)]
[Normalization(Axis = new[] { 2, 3 }, Name = "standardize")]
[Normalization(Axis = new[] { 2, 3 }, Invert = true, Name = "restore")]
[Flatten]
[Dense(3, Activation.Softmax)]
[Loss(Loss.SparseCategoricalCrossentropy)]
public partial class NormalizedAndRestored { }

// BatchNormalization over the last axis of a (steps, features) sample: ONNX's axis 1 needs a transpose.
[Sequential(3, 4)]
[BatchNormalization]
[Flatten]
[Dense(2, Activation.Sigmoid)]
[Loss(Loss.BinaryCrossentropy)]
public partial class SequenceBatchNorm { }

// An image output: convolutions end the model, so the NCHW result goes back to channels last, and
// the softmax runs over channels (axis 1 inside the NCHW section).
[Sequential(5, 4, 2, DataFormat = DataFormat.ChannelsFirst)]
[Conv2D(3, 3, Padding = Padding.Same, Activation = Activation.Relu)]
[ZeroPadding2D(1, 0, 2, 1)]
[Conv2D(4, 2, Strides = 2)]
[Softmax]
[Loss(Loss.MeanSquaredError)]
public partial class ImageSoftmaxOutput { }

// Two image outputs, one computed channels first and one channels last, beside a merge of both layouts.
[Input(4, 4, 2, Name = "image")]
[Conv2D(2, 3, Padding = Padding.Same, Name = "conv_out")]
[Rescaling(0.5, From = "image", Name = "scaled")]
[Add("scaled", "conv_out", Name = "mixed")]
[Conv2D(3, 1, Activation = Activation.Softmax, Name = "classes")]
[Loss(Loss.MeanSquaredError, Output = "mixed")]
[Loss(Loss.MeanSquaredError, Output = "classes")]
public partial class TwoImageOutputs { }

// Synchronized BatchNormalization sums its statistics over ranks in data-parallel training only: at
// inference, fused into the convolution or standalone, it exports as the plain layer.
[Sequential(4, 4, 2)]
[Conv2D(3, 3, Padding = Padding.Same, UseBias = false)]
[BatchNormalization(Synchronized = true)]
[Relu]
[BatchNormalization(Synchronized = true, Name = "standalone")]
[GlobalAveragePooling2D]
[Dense(2, Activation.Softmax)]
[Loss(Loss.SparseCategoricalCrossentropy)]
public partial class SynchronizedBatchNorm { }

// Folding must leave a BatchNormalization alone when something else reads the convolution.
[Sequential(4, 4, 2)]
[Conv2D(3, 3, Padding = Padding.Same, Name = "shared")]
[BatchNormalization(Name = "bn")]
[Add("bn", "shared")]
[GlobalMaxPooling2D]
[Dense(2, Activation.Softmax)]
[Loss(Loss.SparseCategoricalCrossentropy)]
public partial class ConvReadTwiceBeforeBn { }

// One output that is not the last layer: the loss names it, and the layer after it is unused
// (KILN0133, silenced in the project). The export must return 'probabilities', not 'unused_head'.
[Sequential(4)]
[Dense(5, Activation.Tanh)]
[Dense(3, Activation.Softmax, Name = "probabilities")]
[Dense(2, Name = "unused_head")]
[Loss(Loss.SparseCategoricalCrossentropy, Output = "probabilities")]
public partial class OutputBeforeTheLastLayer { }

// RandomCrop whose centred window already has the target's size: a Slice (columns 1..6 of 8), no Resize;
// the flip before it is a copy, and the crop runs channels last straight into Flatten.
[Sequential(6, 8, 2)]
[RandomFlip(FlipMode.HorizontalAndVertical)]
[RandomCrop(6, 6)]
[Flatten]
[Dense(3, Activation.Softmax)]
[Loss(Loss.SparseCategoricalCrossentropy)]
public partial class CroppedToAWindow { }

// A channels-first input whose centred window (8 × 4 at column 2) is resized to 5 × 3 with a
// different scale per axis, between copies (rotation, contrast), then a convolution.
[Sequential(2, 8, 8, DataFormat = DataFormat.ChannelsFirst)]
[RandomRotation(0.1, FillMode = FillMode.Nearest, FillValue = 0.5)]
[RandomCrop(5, 3)]
[RandomContrast(0.2, ValueRangeLow = -1, ValueRangeHigh = 1)]
[Conv2D(3, 2, Activation = Activation.Tanh)]
[Flatten]
[Dense(2)]
[Loss(Loss.MeanSquaredError)]
public partial class CroppedAndResizedChannelsFirst { }

// A crop to the whole image (a copy), a zoom with its own width factor, and an Add reading the crop twice.
[Sequential(4, 4, 1)]
[RandomZoom(0.2, -0.1, Interpolation = Interpolation.Nearest)]
[RandomCrop(4, 4, Name = "whole")]
[Conv2D(1, 1, Name = "pointwise")]
[Add("whole", "pointwise")]
[Flatten]
[Dense(2)]
[Loss(Loss.MeanSquaredError)]
public partial class CroppedToTheWholeImage { }

// Zero padding right before max pooling, channels first so the two meet in one layout: on negative inputs the padded zeros
// win the edge windows, which ONNX Runtime's Pad fusion loses when the MaxPool states explicit pads.
[Sequential(2, 4, 4, DataFormat = DataFormat.ChannelsFirst)]
[ZeroPadding2D(1)]
[MaxPooling2D(2)]
[ZeroPadding2D(1)]
[MaxPooling2D(3, Strides = 2, Padding = Padding.Same)]
[Flatten]
[Dense(2)]
public partial class ZeroPaddedThenMaxPooled { }

// Zero padding as wide as the average pooling after it: folded into the pool's explicit pads, ONNX Runtime refused the node
// ("Pad should be smaller than kernel").
[Sequential(1, 4, 4, DataFormat = DataFormat.ChannelsFirst)]
[ZeroPadding2D(2)]
[AveragePooling2D(2)]
[ZeroPadding2D(1)]
[AveragePooling2D(3, Strides = 2, Padding = Padding.Same)]
[Flatten]
[Dense(2)]
public partial class ZeroPaddedThenAveraged { }
