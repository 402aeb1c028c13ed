using Kiln;

namespace Kiln.EndToEnd.Tests;

// One Dense layer each, for loss values computed by hand from weights the tests set.

[Sequential(2)]
[Dense(3, Activation.Softmax)]
[Loss(Loss.SparseCategoricalCrossentropy)]
public partial class HandSoftmaxSparse { }

[Sequential(2)]
[Dense(3, Activation.Softmax)]
[Loss(Loss.CategoricalCrossentropy)]
public partial class HandSoftmaxCategorical { }

[Sequential(2)]
[Dense(3)]
[Loss(Loss.SparseCategoricalCrossentropy, FromLogits = true)]
public partial class HandLogitsSparse { }

[Sequential(2)]
[Dense(3)]
[Loss(Loss.CategoricalCrossentropy, FromLogits = true)]
public partial class HandLogitsCategorical { }

[Sequential(2)]
[Dense(2, Activation.Sigmoid)]
[Loss(Loss.BinaryCrossentropy)]
public partial class HandSigmoidBinary { }

[Sequential(2)]
[Dense(2)]
[Loss(Loss.BinaryCrossentropy, FromLogits = true)]
public partial class HandLogitsBinary { }

[Sequential(2)]
[Dense(2)]
[Loss(Loss.MeanSquaredError)]
public partial class HandLinearMse { }

[Sequential(2)]
[Dense(3, Activation.Softmax)]
[Loss(Loss.MeanSquaredError)]
public partial class HandSoftmaxMse { }

// Identity kernels make each activation's values readable.
[Sequential(2)]
[Dense(2)]
[LeakyRelu(0.2)]
[Loss(Loss.MeanSquaredError)]
public partial class HandLeakyRelu { }

[Sequential(2)]
[Dense(2)]
[LeakyRelu]
[Loss(Loss.MeanSquaredError)]
public partial class HandLeakyReluDefault { }

[Sequential(2)]
[Dense(2)]
[Relu]
[Dense(2, Activation.Tanh)]
[Sigmoid]
[Loss(Loss.MeanSquaredError)]
public partial class HandActivationChain { }
