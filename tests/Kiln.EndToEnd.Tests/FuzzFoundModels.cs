using Kiln;

namespace Kiln.EndToEnd.Tests;

// Graph models the generator fuzzers found wrong (GraphFuzzTests with other seeds), kept as regressions.

// A view read by two views (Kernels by flatten and a.b) over a tensor read once: each of the two gets its
// own gradient, named after it; both were named d_activation, which did not compile.
[Sequential(2, 6, 4, DataFormat = DataFormat.ChannelsFirst)]
[Tanh]
[Reshape(6, 8, Name = "Kernels")]
[Flatten]
[Reshape(48, From = "Kernels", Name = "a.b")]
[Concatenate("flatten", "a.b", Axis = -1, Name = "d_input")]
[Dense(2, Activation.Softmax, Name = "seed")]
[Loss(Loss.CategoricalCrossentropy)]
public partial class ViewReadByTwoViews { }

// An Add that reads two tensors twice each: the first tensor's gradient took the output gradient's memory
// and its second share was added into it before the convolution's shares were read from it, doubling
// the kernel gradient whenever the input gradient was asked for.
[Sequential(2, 4, 4, DataFormat = DataFormat.ChannelsFirst)]
[Tanh(Name = "seed")]
[Conv2D(2, 1, UseBias = false)]
[Add("seed", "seed", "conv2d", "conv2d")]
[Flatten(Name = "var")]
[Dense(1, Activation.Sigmoid, Name = "inputGradient")]
[Loss(Loss.BinaryCrossentropy)]
public partial class AddReadingTwiceEach { }

// A layer named "input": the metadata called the [Sequential] model's declared input "input" too, so a pass
// reporting layer outputs took the Concatenate for the input and reported its 128 values as the view 'reshape'
// of the input (and TensorBoard's graph and ONNX export could confuse the two). The declared input is now
// named as Keras names a layer whose name is taken: "input_1".
[Sequential(2, 4, 4, DataFormat = DataFormat.ChannelsFirst)]
[Reshape(4, 8)]
[Relu(From = "reshape", Name = "State")]
[Tanh(From = "reshape")]
[Reshape(8, 4)]
[Flatten]
[Concatenate("activation", "State", "reshape", Name = "p")]
[Dropout(0.25)]
[Flatten]
[Concatenate("flatten", "flatten_1", Name = "input")]
[Dense(2)]
[Loss(Loss.MeanSquaredError)]
public partial class LayerNamedInput { }

// A regularized Dense on a branch no layer reads (KILN0133, on purpose; the graph fuzz's gradient check found it): the loss
// carries its penalty, so its gradient is the penalty's alone, every step. Backward never wrote it, so the penalty's gradient
// was added to the last step's and grew step after step.
#pragma warning disable KILN0133
[Sequential(3)]
[Relu(Name = "r")]
[Dense(2, KernelL2 = 0.5, BiasL1 = 0.1, Name = "unread")]
[Dense(1, From = "r")]
[Loss(Loss.MeanSquaredError)]
public partial class RegularizedUnreadBranch { }
#pragma warning restore KILN0133

// Two convolutions with a frozen BatchNormalization each, as when fine-tuning a pretrained network, and a third that learns:
// each frozen one folded its BN into locals named foldedKernel and foldedBias at the method's scope, so the second one (or
// the learning one's, in its inference branch) declared them again and the generated code did not compile.
[Sequential(4, 4, 2)]
[Conv2D(2, 3, Padding = Padding.Same, UseBias = false)]
[BatchNormalization(Trainable = false)]
[Tanh]
[Conv2D(2, 3, Padding = Padding.Same, UseBias = false)]
[BatchNormalization]
[Tanh]
[Conv2D(3, 3, Padding = Padding.Same, UseBias = false)]
[BatchNormalization(Trainable = false)]
[Tanh]
[Flatten]
[Dense(3, Activation.Softmax)]
[Loss(Loss.SparseCategoricalCrossentropy)]
public partial class TwoFrozenBatchNorms { }

// A frozen first convolution under a BatchNormalization that learns, pooled 2x2: without the input gradient, backward took
// the kernel, gamma and beta gradients from the pooled gradients (BatchNorm.ConvMaxPoolBackward), which needs the kernel's
// gradient, and threw for the frozen kernel's empty one. That path is now for trainable kernels only.
[Sequential(4, 4, 2)]
[Conv2D(3, 3, Padding = Padding.Same, UseBias = false, Trainable = false)]
[BatchNormalization]
[Relu]
[MaxPooling2D(2)]
[Flatten]
[Dense(3, Activation.Softmax)]
[Loss(Loss.SparseCategoricalCrossentropy)]
public partial class FrozenPooledFirstConv { }

// Transposed convolutions under BatchNormalization, a DCGAN generator's blocks. Keras' transposed kernel is (kh, kw, filters,
// inputs), so BN's channel is its third axis; the fold into the kernel (inference, and a frozen BN in training too) scaled the
// last axis, the inputs. The attribute fuzz found it once it ran its models in ONNX Runtime. The first BN is frozen, so the
// gradient check goes through the fold; the second learns, so Predict folds it.
[Sequential(2, 2, 2)]
[Conv2DTranspose(3, 3, Strides = 2, Padding = Padding.Same, UseBias = false)]
[BatchNormalization(Trainable = false)]
[Relu]
[Conv2DTranspose(2, 2, Strides = 2, UseBias = false)]
[BatchNormalization]
[Tanh]
[Flatten]
[Dense(3, Activation.Softmax)]
[Loss(Loss.SparseCategoricalCrossentropy)]
public partial class TransposedUnderBatchNorm { }

// A lone softmax or sigmoid on the model's input (here through a Flatten) as the output: the loss fused with it read its logits,
// the input, in LossCore, where the input is not kept, so the generated code did not compile. The loss now reads the output.
[Sequential(2, 4)]
[Flatten]
[Softmax]
[Loss(Loss.SparseCategoricalCrossentropy)]
public partial class SoftmaxOnTheInput { }

[Sequential(8)]
[Sigmoid]
[Loss(Loss.BinaryCrossentropy)]
public partial class SigmoidOnTheInput { }

// The same through a graph model's named input, which is copied into the arena.
[Input(8, Name = "features")]
[Softmax]
[Loss(Loss.CategoricalCrossentropy)]
public partial class SoftmaxOnANamedInput { }
