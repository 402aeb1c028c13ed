using Kiln;

namespace Kiln.Samples.FashionMnist;

// Seed 004's model: keras.models.Sequential([Flatten(input_shape=[28, 28]),
// Dense(300, 'relu'), Dense(100, 'relu'), Dense(10, 'softmax')]) with
// loss='sparse_categorical_crossentropy'.
[Sequential(28, 28)]
[Flatten]
[Dense(300, Activation.Relu)]
[Dense(100, Activation.Relu)]
[Dense(10, Activation.Softmax)]
[Loss(Loss.SparseCategoricalCrossentropy)]
public partial class FashionMlp { }
