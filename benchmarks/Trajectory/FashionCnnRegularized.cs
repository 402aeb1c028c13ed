using Kiln;

namespace Kiln.Benchmarks.Trajectory;

// FashionCnnNoDropout with Keras' L1L2 regularizer on the first Dense kernel and L2 on its bias,
// for `--optimizer l1l2`: the penalty joins the loss and its gradient the weight gradients.
[Sequential(28, 28, 1)]
[Conv2D(32, 3, Padding = Padding.Same, UseBias = false)] [BatchNormalization] [Relu]
[MaxPooling2D(2)]
[Conv2D(64, 3, Padding = Padding.Same, UseBias = false)] [BatchNormalization] [Relu]
[MaxPooling2D(2)]
[Flatten]
[Dense(128, Activation.Relu, KernelL1 = 1e-4, KernelL2 = 1e-3, BiasL2 = 1e-3)]
[Dense(10, Activation.Softmax)]
[Loss(Loss.SparseCategoricalCrossentropy)]
public partial class FashionCnnRegularized { }
