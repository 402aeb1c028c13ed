using Kiln;

namespace Kiln.EndToEnd.Tests;

// Keras' label_smoothing on each cross-entropy and each way the loss joins the output: fused
// softmax + CE, fused sigmoid + BCE, from logits, and on probabilities (an output another layer reads).

[Sequential(2)]
[Dense(3, Activation.Softmax)]
[Loss(Loss.SparseCategoricalCrossentropy, LabelSmoothing = 0.1)]
public partial class SmoothSoftmaxSparse { }

[Sequential(2)]
[Dense(3, Activation.Softmax)]
[Loss(Loss.CategoricalCrossentropy, LabelSmoothing = 0.1)]
public partial class SmoothSoftmaxCategorical { }

[Sequential(2)]
[Dense(3)]
[Loss(Loss.SparseCategoricalCrossentropy, FromLogits = true, LabelSmoothing = 0.1)]
public partial class SmoothLogitsSparse { }

[Sequential(2)]
[Dense(3)]
[Loss(Loss.CategoricalCrossentropy, FromLogits = true, LabelSmoothing = 0.1)]
public partial class SmoothLogitsCategorical { }

[Sequential(2)]
[Dense(2, Activation.Sigmoid)]
[Loss(Loss.BinaryCrossentropy, LabelSmoothing = 0.2)]
public partial class SmoothSigmoidBinary { }

[Sequential(2)]
[Dense(2)]
[Loss(Loss.BinaryCrossentropy, FromLogits = true, LabelSmoothing = 0.2)]
public partial class SmoothLogitsBinary { }

// The class head is read by the size head, so its loss reads the probabilities (no fusion).
[Sequential(2)]
[Dense(3, Activation.Softmax, Name = "class")]
[Dense(1, From = "class", Name = "size")]
[Loss(Loss.SparseCategoricalCrossentropy, Output = "class", LabelSmoothing = 0.1)]
[Loss(Loss.MeanSquaredError, Output = "size", Weight = 0.5)]
public partial class SmoothTwoHeads { }
