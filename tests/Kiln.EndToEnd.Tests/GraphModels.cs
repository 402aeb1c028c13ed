using Kiln;

namespace Kiln.EndToEnd.Tests;

// Tiny graph models: fan-out, every merge, From branches. The gradient checks run on every
// weight and every input value, so a tensor read twice must receive both gradients.

// A residual MLP: 'stem' is read by the next Dense and by the Add.
[Sequential(6)]
[Dense(8, Activation.Relu, Name = "stem")]
[Dense(8, Activation.Tanh)]
[Dense(8, Name = "main")]
[Add("main", "stem")]
[Relu]
[Dense(3, Activation.Softmax)]
[Loss(Loss.SparseCategoricalCrossentropy)]
public partial class ResidualMlp { }

// ResNet basic blocks on a small image: an identity shortcut, then a projection shortcut with
// strides; the ReLU after each Add reads a merge.
// Small (4x4, 2-3 channels) so that few activations sit within the check's step of zero.
[Sequential(4, 4, 1)]
[Conv2D(2, 3, Padding = Padding.Same, UseBias = false)] [BatchNormalization] [Relu(Name = "stem")]
[Conv2D(2, 3, Padding = Padding.Same, UseBias = false)] [BatchNormalization] [Relu]
[Conv2D(2, 3, Padding = Padding.Same, UseBias = false)] [BatchNormalization(Name = "b1")]
[Add("b1", "stem")] [Relu(Name = "block1")]
[Conv2D(3, 3, Strides = 2, Padding = Padding.Same, UseBias = false)] [BatchNormalization] [Relu]
[Conv2D(3, 3, Padding = Padding.Same, UseBias = false)] [BatchNormalization(Name = "main")]
[Conv2D(3, 1, Strides = 2, UseBias = false, From = "block1")] [BatchNormalization(Name = "shortcut")]
[Add("main", "shortcut")] [Relu]
[GlobalAveragePooling2D]
[Dense(3, Activation.Softmax)]
[Loss(Loss.SparseCategoricalCrossentropy)]
public partial class TinyResNet { }

// Subtract and a two-factor Multiply (a gate), with the gate's sigmoid fused into its Dense.
[Sequential(5)]
[Dense(6, Activation.Tanh, Name = "h")]
[Dense(6, Name = "a")]
[Dense(6, From = "h", Name = "b")]
[Subtract("a", "b", Name = "diff")]
[Dense(6, Activation.Sigmoid, From = "h", Name = "gate")]
[Multiply("diff", "gate")]
[Dense(2)]
[Loss(Loss.MeanSquaredError)]
public partial class SubtractAndGate { }

// Three-input Multiply, Average and Maximum over the same three branches, each read three times
// (named like the generated code's own locals: p, q, r; and "in", a C# keyword, below).
[Sequential(4)]
[Dense(5, Activation.Tanh, Name = "p")]
[Dense(5, Activation.Tanh, Name = "q")]
[Dense(5, Activation.Tanh, From = "p", Name = "r")]
[Multiply("p", "q", "r", Name = "product")]
[Average("p", "q", "r", Name = "mean")]
[Maximum("p", "q", "r", Name = "largest")]
[Concatenate("product", "mean", "largest")]
[Dense(3)]
[Loss(Loss.MeanSquaredError)]
public partial class ThreeWayMerges { }

// Inception-style channel concatenation of three branches of one pooled image, then a
// concatenation along the height (Keras axis 1) of two 1x1 branches.
[Sequential(4, 4, 3)]
[MaxPooling2D(2, Strides = 1, Padding = Padding.Same, Name = "in")]
[Conv2D(2, 1, Activation = Activation.Relu, Name = "b1")]
[Conv2D(2, 1, Activation = Activation.Relu, From = "in")] [Conv2D(3, 3, Padding = Padding.Same, Name = "b3")]
[AveragePooling2D(3, Strides = 1, Padding = Padding.Same, From = "in")] [Conv2D(2, 1, Name = "bp")]
[Concatenate("b1", "b3", "bp", Name = "mixed")]
[Conv2D(2, 1, Name = "top")]
[Conv2D(2, 1, From = "mixed", Name = "bottom")]
[Concatenate("top", "bottom", Axis = 1)]
[Flatten]
[Dense(2, Activation.Sigmoid)]
[Loss(Loss.BinaryCrossentropy)]
public partial class InceptionLike { }

// A tensor read by a view, an activation and a merge at once (and the same tensor twice by one
// merge): every kind of reader adds its part to the gradient.
[Sequential(6)]
[Dense(6, Name = "h")]
[Reshape(2, 3, Name = "grid")]
[Flatten(Name = "flat")]
[Relu(From = "h", Name = "positive")]
[Add("flat", "positive", "h", "h")]
[Dense(2)]
[Loss(Loss.MeanSquaredError)]
public partial class ManyReaders { }

// Two inputs, an image and 3 tabular features, joined after the image branch pools; each
// sample's row holds the 16 image values, then the 3 features.
[Input(4, 4, 1, Name = "image")]
[Conv2D(2, 3, Padding = Padding.Same, Activation = Activation.Tanh)]
[GlobalAveragePooling2D(Name = "image_features")]
[Input(3, Name = "tabular")]
[Dense(2, Activation.Tanh, Name = "tabular_features")]
[Concatenate("image_features", "tabular_features")]
[Dense(3, Activation.Softmax)]
[Loss(Loss.SparseCategoricalCrossentropy)]
public partial class TwoInputs { }

// Inputs read directly by a merge and by a layer each: both input gradients have two parts.
[Input(3, Name = "a")]
[Input(3, Name = "b")]
[Multiply("a", "b", Name = "ab")]
[Dense(3, Activation.Tanh, From = "a", Name = "da")]
[Add("ab", "da", "b")]
[Dense(2)]
[Loss(Loss.MeanSquaredError)]
public partial class InputsReadTwice { }

// Two outputs: a class (softmax + sparse cross-entropy, fused) and a regression head with its own
// loss and weight, as Keras' compile(loss={...}, loss_weights={...}). Each sample's output row
// holds the 3 probabilities, then the value; each target row the class index, then the value.
[Sequential(4, 4, 1)]
[Conv2D(3, 3, Padding = Padding.Same, Activation = Activation.Tanh)]
[GlobalAveragePooling2D(Name = "features")]
[Dense(3, Activation.Softmax, Name = "class")]
[Dense(1, From = "features", Name = "size")]
[Loss(Loss.SparseCategoricalCrossentropy, Output = "class")]
[Loss(Loss.MeanSquaredError, Output = "size", Weight = 0.5)]
public partial class TwoHeads { }

// A block declared once and used twice with other filters and strides, as a ResNet's stages use
// their basic block; its layers are named after the use (projection_block.main, stage2.main).
[Block]
[Conv2D(Block.Filters, 3, Strides = Block.Strides, Padding = Padding.Same, UseBias = false)] [BatchNormalization] [Relu]
[Conv2D(Block.Filters, 3, Padding = Padding.Same, UseBias = false)] [BatchNormalization(Name = "main")]
[Conv2D(Block.Filters, 1, Strides = Block.Strides, UseBias = false, From = Block.In)] [BatchNormalization(Name = "shortcut")]
[Add("main", "shortcut")] [Relu]
public class ProjectionBlock { }

[Sequential(4, 4, 1)]
[Conv2D(2, 3, Padding = Padding.Same, UseBias = false)] [BatchNormalization] [Relu]
[Use<ProjectionBlock>(Filters = 2)]
[Use<ProjectionBlock>(Filters = 3, Strides = 2, Name = "stage2")]
[GlobalAveragePooling2D]
[Dense(3, Activation.Softmax)]
[Loss(Loss.SparseCategoricalCrossentropy)]
public partial class BlockResNet { }
