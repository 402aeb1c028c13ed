using Kiln;

namespace Kiln.EndToEnd.Tests;

// A small image classifier with every augmentation layer in front, as Keras' tutorials build it (kept as an approved snapshot).
[Sequential(12, 12, 1)]
[Rescaling(1 / 255.0)]
[RandomTranslation(0.1, 0.1)]
[RandomFlip(FlipMode.Horizontal)]
[RandomRotation(0.05)]
[RandomZoom(0.1)]
[RandomContrast(0.1, ValueRangeHigh = 1)]
[RandomCrop(10, 10)]
[Conv2D(4, 3, Activation = Activation.Relu)]
[MaxPooling2D]
[Flatten]
[Dropout(0.2)]
[Dense(3, Activation.Softmax)]
[Loss(Loss.SparseCategoricalCrossentropy)]
public partial class AugmentedCnn { }
