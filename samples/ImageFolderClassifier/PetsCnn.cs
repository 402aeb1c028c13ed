using Kiln;

namespace Kiln.Samples.ImageFolderClassifier;

// Seed 001's "deep model with BN" (dogs vs cats): BatchNormalization on the input, then
// Conv2D(20, 2×2, same, relu) + MaxPooling2D(2) blocks down to one pixel, Flatten and a
// 2-way softmax trained with categorical cross-entropy on one-hot labels. The seed uses
// 224×224 and seven blocks; 64×64 needs six, and trains in seconds on a CPU.
[Sequential(PetsCnn.Size, PetsCnn.Size, 3)]
[BatchNormalization]
[Conv2D(20, 2, Padding = Padding.Same, Activation = Activation.Relu)] [MaxPooling2D(2)]
[Conv2D(20, 2, Padding = Padding.Same, Activation = Activation.Relu)] [MaxPooling2D(2)]
[Conv2D(20, 2, Padding = Padding.Same, Activation = Activation.Relu)] [MaxPooling2D(2)]
[Conv2D(20, 2, Padding = Padding.Same, Activation = Activation.Relu)] [MaxPooling2D(2)]
[Conv2D(20, 2, Padding = Padding.Same, Activation = Activation.Relu)] [MaxPooling2D(2)]
[Conv2D(20, 2, Padding = Padding.Same, Activation = Activation.Relu)] [MaxPooling2D(2)]
[Flatten]
[Dense(2, Activation.Softmax)]
[Loss(Loss.CategoricalCrossentropy)]
public partial class PetsCnn
{
    public const int Size = 64;
}
