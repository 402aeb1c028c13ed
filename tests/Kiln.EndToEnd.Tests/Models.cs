using Kiln;

namespace Kiln.EndToEnd.Tests;

// Small models, one per layer and loss, whose generated forward/loss/backward the gradient
// checks run. Each keeps every layer tiny so that finite differences can visit every weight.

// The brief's reference model: Flatten → Dense(relu) → Dense(softmax), fused softmax + sparse CE.
[Sequential(3, 4)]
[Flatten]
[Dense(5, Activation.Relu)]
[Dense(3, Activation.Softmax)]
[Loss(Loss.SparseCategoricalCrossentropy)]
public partial class TinySparseMlp { }

[Sequential(6)]
[Dense(5, Activation.Tanh)]
[Dense(4, Activation.Softmax)]
[Loss(Loss.CategoricalCrossentropy)]
public partial class TinyCategorical { }

[Sequential(6)]
[Dense(5, Activation.Sigmoid)]
[Dense(4)]
[Loss(Loss.CategoricalCrossentropy, FromLogits = true)]
public partial class TinyCategoricalLogits { }

[Sequential(6)]
[Dense(5, Activation.Tanh)]
[Dense(3)]
[Loss(Loss.SparseCategoricalCrossentropy, FromLogits = true)]
public partial class TinySparseLogits { }

[Sequential(5)]
[Dense(4, Activation.Tanh)]
[Dense(1, Activation.Sigmoid)]
[Loss(Loss.BinaryCrossentropy)]
public partial class TinyBinary { }

[Sequential(5)]
[Dense(6, Activation.Relu)]
[Dense(4, Activation.Sigmoid)]
[Loss(Loss.BinaryCrossentropy)]
public partial class TinyMultiLabel { }

[Sequential(5)]
[Dense(6, Activation.Tanh)]
[Dense(4)]
[Loss(Loss.BinaryCrossentropy, FromLogits = true)]
public partial class TinyMultiLabelLogits { }

[Sequential(5)]
[Dense(6, Activation.Sigmoid)]
[Dense(3)]
[Loss(Loss.MeanSquaredError)]
public partial class TinyRegression { }

// Softmax output trained with MSE: no loss fusion, the backward goes through the softmax Jacobian.
[Sequential(5)]
[Dense(6, Activation.Tanh)]
[Dense(4, Activation.Softmax)]
[Loss(Loss.MeanSquaredError)]
public partial class SoftmaxMse { }

// Sigmoid output trained with MSE: no fusion, backward through sigmoid'.
[Sequential(5)]
[Dense(3, Activation.Sigmoid)]
[Loss(Loss.MeanSquaredError)]
public partial class SigmoidMse { }

// Standalone activation layers after linear Dense layers.
[Sequential(5)]
[Dense(6)]
[Relu]
[Dense(4)]
[Loss(Loss.MeanSquaredError)]
public partial class StandaloneRelu { }

[Sequential(5)]
[Dense(6)]
[LeakyRelu(0.2)]
[Dense(4)]
[Loss(Loss.MeanSquaredError)]
public partial class StandaloneLeakyRelu { }

[Sequential(5)]
[Dense(6)]
[Sigmoid]
[Dense(4)]
[Loss(Loss.MeanSquaredError)]
public partial class StandaloneSigmoid { }

[Sequential(5)]
[Dense(6)]
[Tanh]
[Dense(4)]
[Loss(Loss.MeanSquaredError)]
public partial class StandaloneTanh { }

// A standalone Softmax in the middle of the network (never fused with a loss).
[Sequential(5)]
[Dense(6)]
[Softmax]
[Dense(3)]
[Loss(Loss.MeanSquaredError)]
public partial class StandaloneSoftmaxHidden { }

// A standalone Softmax as the output with sparse cross-entropy (the loss may fuse with it).
[Sequential(5)]
[Dense(4)]
[Softmax]
[Loss(Loss.SparseCategoricalCrossentropy)]
public partial class StandaloneSoftmaxOutput { }

// A standalone Sigmoid output with binary cross-entropy.
[Sequential(5)]
[Dense(3)]
[Sigmoid]
[Loss(Loss.BinaryCrossentropy)]
public partial class StandaloneSigmoidOutput { }

[Sequential(5)]
[Dense(6, Activation.Tanh, UseBias = false)]
[Dense(3, UseBias = false)]
[Loss(Loss.MeanSquaredError)]
public partial class NoBias { }

[Sequential(12)]
[Dense(6, Activation.Tanh)]
[Reshape(2, 3)]
[Flatten]
[Dense(8, Activation.Sigmoid)]
[Reshape(4, 2)]
[Reshape(8)]
[Dense(3, Activation.Softmax)]
[Loss(Loss.SparseCategoricalCrossentropy)]
public partial class Reshapes { }

[Sequential(2, 3)]
[Reshape(6)]
[Dense(4)]
[Loss(Loss.MeanSquaredError)]
public partial class ReshapeFirst { }

[Sequential(6)]
[Dense(8, Activation.Tanh)]
[Dropout(0.3)]
[Dense(8, Activation.Relu)]
[Dropout(0.5)]
[Dense(3, Activation.Softmax)]
[Loss(Loss.SparseCategoricalCrossentropy)]
public partial class WithDropout { }

// Dropout directly on the input.
[Sequential(6)]
[Dropout(0.25)]
[Dense(3)]
[Loss(Loss.MeanSquaredError)]
public partial class InputDropout { }

// Several stacked activations and mixed layers, a deeper chain.
[Sequential(2, 4)]
[Flatten]
[Dense(7, Activation.Relu)]
[LeakyRelu]
[Dense(6, Activation.Sigmoid)]
[Tanh]
[Dense(5)]
[Relu]
[Dense(4, Activation.Tanh)]
[Dense(3, Activation.Softmax)]
[Loss(Loss.CategoricalCrossentropy)]
public partial class DeepMixed { }

// The seed's MLP with dropout, for determinism.
[Sequential(28, 28)]
[Flatten]
[Dense(300, Activation.Relu)]
[Dropout(0.2)]
[Dense(100, Activation.Relu)]
[Dense(10, Activation.Softmax)]
[Loss(Loss.SparseCategoricalCrossentropy)]
public partial class FashionDropoutMlp { }

// Dropout as the output layer: the output gradient passes through its mask. KILN0113 warns
// about this model and the next (NoWarn in the project file): they test the runtime on it.
[Sequential(5)]
[Dense(4, Activation.Tanh)]
[Dropout(0.4)]
[Loss(Loss.MeanSquaredError)]
public partial class OutputDropout { }

// A standalone Softmax after a Dropout: the fused loss reads the dropout's output as logits.
[Sequential(5)]
[Dense(4)]
[Dropout(0.3)]
[Softmax]
[Loss(Loss.SparseCategoricalCrossentropy)]
public partial class DropoutThenSoftmax { }

// A Reshape as the last layer: a (2, 3) output, 6 targets per sample.
[Sequential(5)]
[Dense(6, Activation.Sigmoid)]
[Reshape(2, 3)]
[Loss(Loss.MeanSquaredError)]
public partial class ReshapeLast { }
