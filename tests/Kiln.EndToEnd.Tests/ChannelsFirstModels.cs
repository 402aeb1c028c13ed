using Kiln;

namespace Kiln.EndToEnd.Tests;

// Keras' data_format="channels_first": each model is declared (C, H, W) and has a channels-last twin
// with the same layers (so the same weights from a seed), which the tests feed transposed data.

[Sequential(3, 4, 6, DataFormat = DataFormat.ChannelsFirst)]
[Conv2D(4, 3, Padding = Padding.Same, Activation = Activation.Tanh)]
[MaxPooling2D]
[Flatten]
[Dense(3, Activation.Softmax)]
[Loss(Loss.SparseCategoricalCrossentropy)]
public partial class ChannelsFirstCnn { }

[Sequential(4, 6, 3)]
[Conv2D(4, 3, Padding = Padding.Same, Activation = Activation.Tanh)]
[MaxPooling2D]
[Flatten]
[Dense(3, Activation.Softmax)]
[Loss(Loss.SparseCategoricalCrossentropy)]
public partial class ChannelsLastCnn { }

// The first layer is a view of the transposed input; its gradient reaches the input through it.
[Sequential(2, 3, 4, DataFormat = DataFormat.ChannelsFirst)]
[Flatten]
[Dense(3, Activation.Tanh)]
[Loss(Loss.MeanSquaredError)]
public partial class ChannelsFirstFlatten { }

[Sequential(3, 4, 2)]
[Flatten]
[Dense(3, Activation.Tanh)]
[Loss(Loss.MeanSquaredError)]
public partial class ChannelsLastFlatten { }

// One input of two declared channels first: its columns are transposed as they are copied out.
[Input(2, 4, 4, Name = "image", DataFormat = DataFormat.ChannelsFirst)]
[Conv2D(2, 3, Padding = Padding.Same, Activation = Activation.Tanh)]
[GlobalAveragePooling2D(Name = "image_features")]
[Input(3, Name = "tabular")]
[Dense(2, Activation.Tanh, Name = "tabular_features")]
[Concatenate("image_features", "tabular_features")]
[Dense(3, Activation.Softmax)]
[Loss(Loss.SparseCategoricalCrossentropy)]
public partial class ChannelsFirstInputs { }

[Input(4, 4, 2, Name = "image")]
[Conv2D(2, 3, Padding = Padding.Same, Activation = Activation.Tanh)]
[GlobalAveragePooling2D(Name = "image_features")]
[Input(3, Name = "tabular")]
[Dense(2, Activation.Tanh, Name = "tabular_features")]
[Concatenate("image_features", "tabular_features")]
[Dense(3, Activation.Softmax)]
[Loss(Loss.SparseCategoricalCrossentropy)]
public partial class ChannelsLastInputs { }

// The transposed input seen through a view that three layers read: their gradients add up in it.
[Sequential(2, 3, 2, DataFormat = DataFormat.ChannelsFirst)]
[Flatten(Name = "flat")]
[Dense(4, Activation.Tanh, Name = "branch")]
[Reshape(3, 4, From = "flat")]
[Flatten(Name = "again")]
[Concatenate("flat", "branch", "again")]
[Dense(2)]
[Loss(Loss.MeanSquaredError)]
public partial class ChannelsFirstViewReadThrice { }

[Sequential(3, 2, 2)]
[Flatten(Name = "flat")]
[Dense(4, Activation.Tanh, Name = "branch")]
[Reshape(3, 4, From = "flat")]
[Flatten(Name = "again")]
[Concatenate("flat", "branch", "again")]
[Dense(2)]
[Loss(Loss.MeanSquaredError)]
public partial class ChannelsLastViewReadThrice { }
