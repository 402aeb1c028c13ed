using Kiln;

namespace Kiln.Samples.FashionMnistResNet;

// A small ResNet (He et al. 2016, basic blocks) for 28x28 grey images, ~78k parameters:
// a 3x3 stem with 16 filters, then three stages of one basic block each with 16, 32 and 64
// filters. A basic block is conv3x3-BN-ReLU-conv3x3-BN, added to its shortcut, then ReLU.
// Stage 1 keeps the shape, so its shortcut is the block's input itself (identity); stages 2
// and 3 halve the size with strides 2 and double the channels, so their shortcut is a strided
// 1x1 convolution + BN (projection) that reads the block's input with From.
// The convolutions have no bias: the BatchNormalization after each subtracts the batch mean.
[Sequential(28, 28, 1)]
[Conv2D(16, 3, Padding = Padding.Same, UseBias = false)] [BatchNormalization] [Relu(Name = "stem")]
// stage 1: 28x28x16, identity shortcut
[Conv2D(16, 3, Padding = Padding.Same, UseBias = false)] [BatchNormalization] [Relu]
[Conv2D(16, 3, Padding = Padding.Same, UseBias = false)] [BatchNormalization(Name = "stage1_main")]
[Add("stage1_main", "stem")] [Relu(Name = "stage1")]
// stage 2: 14x14x32, projection shortcut
[Conv2D(32, 3, Strides = 2, Padding = Padding.Same, UseBias = false)] [BatchNormalization] [Relu]
[Conv2D(32, 3, Padding = Padding.Same, UseBias = false)] [BatchNormalization(Name = "stage2_main")]
[Conv2D(32, 1, Strides = 2, UseBias = false, From = "stage1")] [BatchNormalization(Name = "stage2_shortcut")]
[Add("stage2_main", "stage2_shortcut")] [Relu(Name = "stage2")]
// stage 3: 7x7x64, projection shortcut
[Conv2D(64, 3, Strides = 2, Padding = Padding.Same, UseBias = false)] [BatchNormalization] [Relu]
[Conv2D(64, 3, Padding = Padding.Same, UseBias = false)] [BatchNormalization(Name = "stage3_main")]
[Conv2D(64, 1, Strides = 2, UseBias = false, From = "stage2")] [BatchNormalization(Name = "stage3_shortcut")]
[Add("stage3_main", "stage3_shortcut")] [Relu(Name = "stage3")]
[GlobalAveragePooling2D]
[Dense(10, Activation.Softmax)]
[Loss(Loss.SparseCategoricalCrossentropy)]
public partial class FashionResNet { }
