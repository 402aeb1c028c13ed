using Kiln;

namespace Kiln.Samples.FashionMnistCnn;

// Two Conv2D + BatchNormalization + ReLU blocks, each followed by 2x2 max pooling, then a
// dense head with dropout. The convolutions have no bias: the BatchNormalization right after
// each subtracts the batch mean, so a bias would change nothing (Kiln warns, KILN0110).
// In training each block is one GEMM then one statistics + normalize + ReLU pass; in
// inference BatchNormalization is folded into the convolution, one kernel per block.
[Sequential(28, 28, 1)]
[Conv2D(32, 3, Padding = Padding.Same, UseBias = false)] [BatchNormalization] [Relu]
[MaxPooling2D(2)]
[Conv2D(64, 3, Padding = Padding.Same, UseBias = false)] [BatchNormalization] [Relu]
[MaxPooling2D(2)]
[Flatten]
[Dense(128, Activation.Relu)]
[Dropout(0.3)]
[Dense(10, Activation.Softmax)]
[Loss(Loss.SparseCategoricalCrossentropy)]
public partial class FashionCnn { }
