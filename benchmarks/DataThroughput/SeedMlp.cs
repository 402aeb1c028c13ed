using Kiln;

namespace Kiln.Benchmarks.DataThroughput;

// The Fashion-MNIST sample's model (seed 004), to measure how long its training waits for data.
[Sequential(28, 28)]
[Flatten]
[Dense(300, Activation.Relu)]
[Dense(100, Activation.Relu)]
[Dense(10, Activation.Softmax)]
[Loss(Loss.SparseCategoricalCrossentropy)]
public partial class SeedMlp { }
