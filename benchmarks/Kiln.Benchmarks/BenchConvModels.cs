using Kiln;

namespace Kiln.Benchmarks;

// The CIFAR-style net of the convolution issue: 32×32×3 input; conv 64, 64, max pool 2, conv 128,
// 128, max pool 2 (every conv 3×3 same, no bias, + BatchNormalization + ReLU); global average
// pooling; Dense 10 softmax; sparse categorical cross-entropy.
[Sequential(32, 32, 3)]
[Conv2D(64, 3, Padding = Padding.Same, UseBias = false)] [BatchNormalization] [Relu]
[Conv2D(64, 3, Padding = Padding.Same, UseBias = false)] [BatchNormalization] [Relu]
[MaxPooling2D(2)]
[Conv2D(128, 3, Padding = Padding.Same, UseBias = false)] [BatchNormalization] [Relu]
[Conv2D(128, 3, Padding = Padding.Same, UseBias = false)] [BatchNormalization] [Relu]
[MaxPooling2D(2)]
[GlobalAveragePooling2D]
[Dense(10, Activation.Softmax)]
[Loss(Loss.SparseCategoricalCrossentropy)]
public partial class BenchCifarNet { }
