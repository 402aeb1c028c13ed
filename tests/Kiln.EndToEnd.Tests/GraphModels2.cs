using Kiln;

namespace Kiln.EndToEnd.Tests;

// More tiny graph models for the gradient checks (GraphModels.cs has the first set): what those
// do not cover. Tanh rather than ReLU where the wiring is the point, so that few activations sit
// within the check's step of a kink.

// A U-Net-like model: down with Conv2D + MaxPooling2D, up two ways (UpSampling2D, and
// Conv2DTranspose with strides), and a Concatenate of both with the skip along channels. The
// output is an image (MSE on a rank-3 output), so the merge chain ends in a 1x1 convolution.
[Sequential(4, 4, 1)]
[Conv2D(2, 3, Padding = Padding.Same, Activation = Activation.Tanh, Name = "skip")]
[MaxPooling2D(2)]
[Conv2D(3, 3, Padding = Padding.Same, Activation = Activation.Tanh, Name = "bottom")]
[UpSampling2D(2, Name = "up")]
[Conv2DTranspose(2, 2, Strides = 2, Padding = Padding.Same, From = "bottom", Name = "up_learned")]
[Concatenate("up", "skip", "up_learned", Axis = 3, Name = "merged")]
[Conv2D(1, 1)]
[Loss(Loss.MeanSquaredError)]
public partial class TinyUNet { }

// The model's output is a merge: the Average of two softmax heads, with a cross-entropy loss that
// must read the averaged probabilities (no fused softmax + cross-entropy is possible here).
[Sequential(5)]
[Dense(6, Activation.Tanh, Name = "features")]
[Dense(3, Activation.Softmax, Name = "head1")]
[Dense(4, Activation.Tanh, From = "features")]
[Dense(3, Activation.Softmax, Name = "head2")]
[Average("head1", "head2")]
// The average of two softmax outputs is a probability, so the loss needs no FromLogits
// (GraphReaderRegressionTests.AnAverageOfSoftmaxHeadsIsAProbability).
[Loss(Loss.SparseCategoricalCrossentropy)]
public partial class AveragedHeads { }

// The first layer's output is read by a pooled Dense branch and by a Flatten view; the two meet
// in a Concatenate (each reader adds its part to the convolution's output gradient). The same with
// the view written first follows: the view's gradient then has a name of its own (d_flat).
[Sequential(3, 3, 1)]
[Conv2D(2, 2, Activation = Activation.Tanh, Name = "first")]
[GlobalAveragePooling2D]
[Dense(3, Activation.Tanh, Name = "pooled")]
[Flatten(From = "first", Name = "flat")]
[Concatenate("pooled", "flat")]
[Dense(2, Activation.Sigmoid)]
[Loss(Loss.BinaryCrossentropy)]
public partial class FirstLayerTwoReaders { }

[Sequential(3, 3, 1)]
[Conv2D(2, 2, Activation = Activation.Tanh, Name = "first")]
[Flatten(Name = "flat")]
[GlobalAveragePooling2D(From = "first")]
[Dense(3, Activation.Tanh, Name = "pooled")]
[Concatenate("flat", "pooled")]
[Dense(2, Activation.Sigmoid)]
[Loss(Loss.BinaryCrossentropy)]
public partial class FirstLayerTwoReadersViewFirst { }

// The first layer is a view of the input (Flatten), read by a Dense branch, by a second view
// (Reshape, then Flatten) and directly by the Concatenate: the input gradient sums three readers
// through two views.
[Sequential(2, 3)]
[Flatten(Name = "flat")]
[Dense(4, Activation.Tanh, Name = "branch")]
[Reshape(3, 2, From = "flat")]
[Flatten(Name = "again")]
[Concatenate("flat", "branch", "again")]
[Dense(2)]
[Loss(Loss.MeanSquaredError)]
public partial class InputViewReadThrice { }

// Dropout on two branches (one feeding a Dense, one straight into the merge: the masks are
// replayed by the gradient check) and a frozen branch (Trainable = false on a Dense and on its
// BatchNormalization, which then runs on its moving statistics): the frozen weights get no
// gradient, but the gradient still flows through them to 'h'.
[Sequential(5)]
[Dense(4, Activation.Tanh, Name = "h")]
[Dropout(0.5)]
[Dense(4, Activation.Tanh, Name = "dropped")]
[Dense(4, Activation.Tanh, From = "h", Trainable = false, Name = "frozen")]
[BatchNormalization(Trainable = false, Name = "frozen_bn")]
[Dropout(0.25, From = "h", Name = "h_dropped")]
[Add("dropped", "frozen_bn", "h_dropped")]
[Dense(3, Activation.Softmax)]
[Loss(Loss.CategoricalCrossentropy)]
public partial class DropoutAndFrozenBranches { }

// A residual block whose BatchNormalization is frozen, as when fine-tuning: its backward reads the shortcut's gradient,
// already through the ReLU, like a learning BN's (FrozenBatchNorm.Backward from the shortcut's buffer into the block's).
[Sequential(4, 4, 2)]
[Conv2D(2, 3, Padding = Padding.Same, UseBias = false)] [BatchNormalization] [Relu(Name = "stem")]
[Conv2D(2, 3, Padding = Padding.Same, UseBias = false)] [BatchNormalization(Trainable = false, Name = "frozen_bn")]
[Add("frozen_bn", "stem")] [Relu]
[GlobalAveragePooling2D]
[Dense(3, Activation.Softmax)]
[Loss(Loss.SparseCategoricalCrossentropy)]
public partial class FrozenResidualBatchNorm { }

// A 1 × 1 convolution under BN added to the convolution's own input: the block's input gradient is the shortcut's part,
// which BN's backward reads, and the convolution's, which it then adds into that same buffer (Conv2D's accumulate).
[Sequential(4, 4, 2)]
[Conv2D(3, 3, Padding = Padding.Same, UseBias = false)] [BatchNormalization] [Relu(Name = "stem")]
[Conv2D(3, 1, UseBias = false)] [BatchNormalization(Name = "mixed")]
[Add("mixed", "stem")] [Relu]
[GlobalAveragePooling2D]
[Dense(3, Activation.Softmax)]
[Loss(Loss.SparseCategoricalCrossentropy)]
public partial class PointwiseBlockOnItsInput { }
