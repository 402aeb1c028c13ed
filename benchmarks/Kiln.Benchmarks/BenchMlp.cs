using Kiln;

namespace Kiln.Benchmarks;

// The same declaration as samples/FashionMnist/FashionMlp.cs (seed 004's model):
// Flatten(28, 28) -> Dense(300, relu) -> Dense(100, relu) -> Dense(10, softmax),
// sparse categorical cross-entropy.
[Sequential(28, 28)]
[Flatten]
[Dense(300, Activation.Relu)]
[Dense(100, Activation.Relu)]
[Dense(10, Activation.Softmax)]
[Loss(Loss.SparseCategoricalCrossentropy)]
public partial class BenchMlp { }
