using Kiln;

namespace Kiln.Samples.Gan;

// Seed 000's models exactly ("Deep Learning with Python" §8.5): latent 32 -> 32x32x3 image, and
// image -> probability that it is fake. 4.8M + 0.8M parameters; the generator's 256-channel
// 5x5 convolution at 32x32 alone is 3.4 GFLOPs per image. Run with --seed-size.

[Sequential(32)]
[Dense(32768)] [Relu]
[Reshape(16, 16, 128)]
[Conv2D(128, 3, Padding = Padding.Same)] [Relu]
[Conv2D(256, 5, Padding = Padding.Same)] [Relu]
[Conv2DTranspose(256, 4, Strides = 2, Padding = Padding.Same)] [Relu]
[Conv2D(256, 5, Padding = Padding.Same)] [Relu]
[Conv2D(3, 7, Padding = Padding.Same)] [Tanh]
public partial class SeedGenerator { }

[Sequential(32, 32, 3)]
[Conv2D(128, 3, Padding = Padding.Same)] [LeakyRelu]
[Conv2D(128, 4, Strides = 2, Padding = Padding.Same)] [LeakyRelu]
[Conv2D(128, 4, Strides = 2, Padding = Padding.Same)] [LeakyRelu]
[Conv2D(128, 4, Strides = 2, Padding = Padding.Same)] [LeakyRelu]
[Flatten]
[Dropout(0.4)]
[Dense(1, Activation.Sigmoid)]
[Loss(Loss.BinaryCrossentropy)]
public partial class SeedDiscriminator { }

// The default: the same layers, kernels and strides with a quarter of the channels (generator
// 32/64/64/64, discriminator 64), about 15x fewer FLOPs, so a useful run fits in minutes on a
// laptop's two cores.

[Sequential(32)]
[Dense(8192)] [Relu]
[Reshape(16, 16, 32)]
[Conv2D(32, 3, Padding = Padding.Same)] [Relu]
[Conv2D(64, 5, Padding = Padding.Same)] [Relu]
[Conv2DTranspose(64, 4, Strides = 2, Padding = Padding.Same)] [Relu]
[Conv2D(64, 5, Padding = Padding.Same)] [Relu]
[Conv2D(3, 7, Padding = Padding.Same)] [Tanh]
public partial class NarrowGenerator { }

[Sequential(32, 32, 3)]
[Conv2D(64, 3, Padding = Padding.Same)] [LeakyRelu]
[Conv2D(64, 4, Strides = 2, Padding = Padding.Same)] [LeakyRelu]
[Conv2D(64, 4, Strides = 2, Padding = Padding.Same)] [LeakyRelu]
[Conv2D(64, 4, Strides = 2, Padding = Padding.Same)] [LeakyRelu]
[Flatten]
[Dropout(0.4)]
[Dense(1, Activation.Sigmoid)]
[Loss(Loss.BinaryCrossentropy)]
public partial class NarrowDiscriminator { }
