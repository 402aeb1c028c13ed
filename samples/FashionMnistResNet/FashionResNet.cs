using Kiln;

namespace Kiln.Samples.FashionMnistResNet;

// A small ResNet (He et al. 2016, basic blocks) for 28x28 grey images, ~78k parameters:
// a 3x3 stem with 16 filters, then three stages of one basic block each with 16, 32 and 64
// filters. A basic block is conv3x3-BN-ReLU-conv3x3-BN, added to its shortcut, then ReLU.
// Stage 1 keeps the shape, so its shortcut is the block's input itself (identity); stages 2
// and 3 halve the size with strides 2 and double the channels, so their shortcut is a strided
// 1x1 convolution + BN (projection) that reads the block's input (Block.In).
// The convolutions have no bias: the BatchNormalization after each subtracts the batch mean.
// Kiln folds each block's Add and ReLU into the BatchNormalization pass that feeds it.
[Sequential(28, 28, 1)]
[Conv2D(16, 3, Padding = Padding.Same, UseBias = false)] [BatchNormalization] [Relu(Name = "stem")]
// stage 1: 28x28x16, identity shortcut
[Conv2D(16, 3, Padding = Padding.Same, UseBias = false)] [BatchNormalization] [Relu]
[Conv2D(16, 3, Padding = Padding.Same, UseBias = false)] [BatchNormalization(Name = "stage1_main")]
[Add("stage1_main", "stem")] [Relu(Name = "stage1")]
// stages 2 and 3: 14x14x32 and 7x7x64, projection shortcuts
[Use<ProjectionBlock>(Filters = 32, Strides = 2, Name = "stage2")]
[Use<ProjectionBlock>(Filters = 64, Strides = 2, Name = "stage3")]
[GlobalAveragePooling2D]
[Dense(10, Activation.Softmax)]
[Loss(Loss.SparseCategoricalCrossentropy)]
public partial class FashionResNet { }

// The basic block with a projection shortcut, declared once and used by stages 2 and 3.
[Block]
[Conv2D(Block.Filters, 3, Strides = Block.Strides, Padding = Padding.Same, UseBias = false)] [BatchNormalization] [Relu]
[Conv2D(Block.Filters, 3, Padding = Padding.Same, UseBias = false)] [BatchNormalization(Name = "main")]
[Conv2D(Block.Filters, 1, Strides = Block.Strides, UseBias = false, From = Block.In)] [BatchNormalization(Name = "shortcut")]
[Add("main", "shortcut")] [Relu]
public class ProjectionBlock { }
