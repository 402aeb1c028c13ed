using Kiln;

namespace Kiln.EndToEnd.Tests;

// Seed 000's GAN in miniature for the composition tests: latent 4 -> (8, 8, 3) image -> one probability.

[Sequential(4)]
[Dense(32)] [Relu]
[Reshape(4, 4, 2)]
[Conv2DTranspose(4, 4, Strides = 2, Padding = Padding.Same)] [Relu]
[Conv2D(3, 3, Padding = Padding.Same)] [Tanh]
public partial class GanTinyGenerator { }

[Sequential(8, 8, 3)]
[Conv2D(4, 3, Padding = Padding.Same)] [LeakyRelu(0.2)]
[Conv2D(4, 4, Strides = 2, Padding = Padding.Same)] [LeakyRelu(0.2)]
[Flatten]
[Dropout(0.4)]
[Dense(1, Activation.Sigmoid)]
[Loss(Loss.BinaryCrossentropy)]
public partial class GanTinyDiscriminator { }

// The same with tanh instead of LeakyReLU: no kink inside the discriminator, whose activations the
// finite-difference check cannot watch (it watches the generator's).
[Sequential(8, 8, 3)]
[Conv2D(4, 3, Padding = Padding.Same)] [Tanh]
[Conv2D(4, 4, Strides = 2, Padding = Padding.Same)] [Tanh]
[Flatten]
[Dropout(0.4)]
[Dense(1, Activation.Sigmoid)]
[Loss(Loss.BinaryCrossentropy)]
public partial class GanSmoothDiscriminator { }

// One layer frozen in its attribute: its kernel and bias are state, the rest trains, gradients pass through it.
[Sequential(8, 8, 3)]
[Conv2D(4, 3, Padding = Padding.Same, Trainable = false)] [Tanh]
[Conv2D(4, 4, Strides = 2, Padding = Padding.Same)] [Tanh]
[Flatten]
[Dropout(0.4)]
[Dense(1, Activation.Sigmoid)]
[Loss(Loss.BinaryCrossentropy)]
public partial class GanPartlyFrozenDiscriminator { }

// With BatchNormalization: frozen inside the adversarial step, it must normalize with (and keep) its moving statistics.
[Sequential(8, 8, 3)]
[Conv2D(4, 3, Padding = Padding.Same, UseBias = false)] [BatchNormalization] [LeakyRelu(0.2)]
[Conv2D(4, 4, Strides = 2, Padding = Padding.Same)] [LeakyRelu(0.2)]
[Flatten]
[Dropout(0.4)]
[Dense(1, Activation.Sigmoid)]
[Loss(Loss.BinaryCrossentropy)]
public partial class GanBatchNormDiscriminator { }

// Grey images: the wrong shape for the discriminators above.
[Sequential(4)]
[Dense(64)] [Relu]
[Reshape(8, 8, 1)]
[Conv2D(1, 3, Padding = Padding.Same)] [Tanh]
public partial class GanGreyGenerator { }

// Scores each image with two values: not a discriminator GanTrainer accepts.
[Sequential(8, 8, 3)]
[Flatten]
[Dense(2, Activation.Sigmoid)]
[Loss(Loss.BinaryCrossentropy)]
public partial class GanTwoOutputDiscriminator { }

// No loss: cannot be the discriminator.
[Sequential(8, 8, 3)]
[Flatten]
[Dense(1, Activation.Sigmoid)]
public partial class GanLosslessDiscriminator { }
