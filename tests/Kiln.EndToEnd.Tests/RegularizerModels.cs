using Kiln;

namespace Kiln.EndToEnd.Tests;

// Keras' kernel and bias regularizers on every layer that has weights: Conv2D, Conv2DTranspose
// and Dense, with L1, L2 and both, on kernels and biases. Tiny, so the gradient check visits
// every weight; tanh rather than ReLU so few activations sit near a kink.

[Sequential(4, 4, 1)]
[Conv2D(2, 3, Padding = Padding.Same, Activation = Activation.Tanh, KernelL1 = 0.01, KernelL2 = 0.02)]
[Conv2DTranspose(2, 2, Strides = 2, Activation = Activation.Tanh, BiasL2 = 0.05)]
[Flatten]
[Dense(3, Activation.Softmax, KernelL2 = 0.03, BiasL1 = 0.01)]
[Loss(Loss.SparseCategoricalCrossentropy)]
public partial class RegularizedCnn { }

// The same first layer as TinySparseMlp's shape, with Keras' usual L2(1e-4)-style factors.
[Sequential(6)]
[Dense(5, Activation.Tanh, KernelL2 = 1e-3)]
[Dense(3, Activation.Softmax, KernelL1 = 1e-3, BiasL2 = 1e-3)]
[Loss(Loss.SparseCategoricalCrossentropy)]
public partial class RegularizedMlp { }

// The unregularized twin of RegularizedMlp: the same weights give the loss without the penalty.
[Sequential(6)]
[Dense(5, Activation.Tanh)]
[Dense(3, Activation.Softmax)]
[Loss(Loss.SparseCategoricalCrossentropy)]
public partial class PlainMlp { }

// Keras' gamma_regularizer and beta_regularizer: on a BatchNormalization fused into a convolution's
// kernel, and on one standing alone after a Dense. Tanh, so few activations sit near a kink.
[Sequential(4, 4, 1)]
[Conv2D(2, 3, Padding = Padding.Same, UseBias = false)]
[BatchNormalization(GammaL2 = 0.02, BetaL1 = 0.01)]
[Tanh]
[Flatten]
[Dense(3, Activation.Tanh)]
[BatchNormalization(GammaL1 = 0.03, BetaL2 = 0.04)]
[Dense(3, Activation.Softmax)]
[Loss(Loss.SparseCategoricalCrossentropy)]
public partial class RegularizedBatchNorm { }

// Its unregularized twin: the same weights give the loss and gradients without the penalty.
[Sequential(4, 4, 1)]
[Conv2D(2, 3, Padding = Padding.Same, UseBias = false)]
[BatchNormalization]
[Tanh]
[Flatten]
[Dense(3, Activation.Tanh)]
[BatchNormalization]
[Dense(3, Activation.Softmax)]
[Loss(Loss.SparseCategoricalCrossentropy)]
public partial class PlainBatchNorm { }
