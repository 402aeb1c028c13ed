using Kiln;

namespace Kiln.Benchmarks.Trajectory;

// samples/FashionMnistCnn's model without its Dropout, whose random masks no two frameworks share.
[Sequential(28, 28, 1)]
[Conv2D(32, 3, Padding = Padding.Same, UseBias = false)] [BatchNormalization] [Relu]
[MaxPooling2D(2)]
[Conv2D(64, 3, Padding = Padding.Same, UseBias = false)] [BatchNormalization] [Relu]
[MaxPooling2D(2)]
[Flatten]
[Dense(128, Activation.Relu)]
[Dense(10, Activation.Softmax)]
[Loss(Loss.SparseCategoricalCrossentropy)]
public partial class FashionCnnNoDropout { }
