using Kiln;

namespace Kiln.Samples.FashionMnistCnn;

// --recipe modern: FashionCnn's layers behind Keras' augmentation layers, trained with label
// smoothing 0.1 (and, in Program.cs, AdamW with cosine decay after a linear warmup).
// Fashion-MNIST items are centred on a black background, so the shifts fill with black
// (FillMode.Constant, 0) rather than Keras' default reflection, and only left-right flips keep
// an item what it is (a boot upside down is not a boot). Both layers are random per image in
// training and a copy in inference; their draws come from the model's seed.
[Sequential(28, 28, 1)]
[RandomTranslation(0.1, 0.1, FillMode = FillMode.Constant)]
[RandomFlip(FlipMode.Horizontal)]
[Conv2D(32, 3, Padding = Padding.Same, UseBias = false)] [BatchNormalization] [Relu]
[MaxPooling2D(2)]
[Conv2D(64, 3, Padding = Padding.Same, UseBias = false)] [BatchNormalization] [Relu]
[MaxPooling2D(2)]
[Flatten]
[Dense(128, Activation.Relu)]
[Dropout(0.3)]
[Dense(10, Activation.Softmax)]
[Loss(Loss.SparseCategoricalCrossentropy, LabelSmoothing = 0.1)]
public partial class FashionCnnModern { }
