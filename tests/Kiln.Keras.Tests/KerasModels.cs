using Kiln;

namespace Kiln.Keras.Tests;

// The Kiln side of the fixtures (benchmarks/keras-fixtures/make_fixtures.py declares the same
// models in Keras' terms), and variants that do not fit them, for the error cases.

[Sequential(6)]
[Dense(8, Activation.Relu)]
[Dense(5, Activation.Tanh)]
[Dense(3, Activation.Softmax)]
[Loss(Loss.SparseCategoricalCrossentropy)]
public partial class KerasMlp { }

// A conv net as the seeds write them: Conv2D + BatchNormalization + ReLU, pooling, a bias-free
// convolution, Flatten, Dense.
[Sequential(6, 6, 2)]
[Conv2D(3, 3, Padding = Padding.Same)] [BatchNormalization] [Relu]
[MaxPooling2D(2)]
[Conv2D(4, 2, UseBias = false)] [BatchNormalization] [Relu]
[Flatten]
[Dense(3, Activation.Softmax)]
[Loss(Loss.SparseCategoricalCrossentropy)]
public partial class KerasCnn { }

// A GAN generator's shape (no loss: it trains through a discriminator): Dense, Reshape,
// Conv2DTranspose (kernel (kh, kw, filters, in)).
[Sequential(4)]
[Dense(12, Activation.Relu)]
[Reshape(2, 2, 3)]
[Conv2DTranspose(2, 3, Strides = 2, Padding = Padding.Same, Activation = Activation.Tanh)]
[Conv2DTranspose(1, 2, Activation = Activation.Sigmoid)]
public partial class KerasDecoder { }

// KerasMlp with other layer names: an .h5 file pairs by position, a .weights.h5 file by class keys.
[Sequential(6)]
[Dense(8, Activation.Relu, Name = "encoder")]
[Dense(5, Activation.Tanh, Name = "hidden")]
[Dense(3, Activation.Softmax, Name = "classifier")]
[Loss(Loss.SparseCategoricalCrossentropy)]
public partial class RenamedMlp { }

// KerasMlp's first layer one unit wider: dense/kernel (6, 9), not (6, 8).
[Sequential(6)]
[Dense(9, Activation.Relu)]
[Dense(5, Activation.Tanh)]
[Dense(3, Activation.Softmax)]
[Loss(Loss.SparseCategoricalCrossentropy)]
public partial class WiderMlp { }

// One layer more than the file has.
[Sequential(6)]
[Dense(8, Activation.Relu)]
[Dense(5, Activation.Tanh)]
[Dense(3, Activation.Tanh)]
[Dense(3, Activation.Softmax)]
[Loss(Loss.SparseCategoricalCrossentropy)]
public partial class DeeperMlp { }

// KerasMlp without the bias of its second layer.
[Sequential(6)]
[Dense(8, Activation.Relu)]
[Dense(5, Activation.Tanh, UseBias = false)]
[Dense(3, Activation.Softmax)]
[Loss(Loss.SparseCategoricalCrossentropy)]
public partial class NoBiasMlp { }

// Shares dense and dense_1 with KerasMlp and has its own head: what byName is for.
[Sequential(6)]
[Dense(8, Activation.Relu)]
[Dense(5, Activation.Tanh)]
[Dense(2, Activation.Softmax, Name = "head")]
[Loss(Loss.SparseCategoricalCrossentropy)]
public partial class MlpWithNewHead { }

// docs/keras-weights.md's example, as written there.
[Sequential(28, 28, 1)]
[Conv2D(32, 3, Padding = Padding.Same, UseBias = false)] [BatchNormalization] [Relu]
[MaxPooling2D(2)]
[Flatten]
[Dense(10, Activation.Softmax)]
[Loss(Loss.SparseCategoricalCrossentropy)]
public partial class DocsFashionCnn { }

// An adapted Normalization layer: Keras keeps mean, variance and an integer sample count.
[Sequential(5)]
[Normalization]
[Dense(3, Activation.Softmax)]
[Loss(Loss.SparseCategoricalCrossentropy)]
public partial class NormalizedMlp { }
