using Kiln;

namespace Kiln.EndToEnd.Tests;

// One model per augmentation layer, nothing else: the output is the augmented batch.
[Sequential(5, 7, 3)]
[RandomFlip]
public partial class FlipBothProbe { }

[Sequential(5, 7, 3)]
[RandomFlip("horizontal")]
public partial class FlipHorizontalProbe { }

[Sequential(6, 5, 2)]
[RandomTranslation(0.3, 0.4)]
public partial class TranslationProbe { }

[Sequential(6, 5, 2)]
[RandomTranslation(-0.2, 0.3, -0.5, 0.1, FillMode = FillMode.Constant, FillValue = -2, Interpolation = Interpolation.Nearest)]
public partial class TranslationConstantNearestProbe { }

[Sequential(7, 6, 9)]
[RandomRotation(0.2, FillMode = FillMode.Wrap)]
public partial class RotationProbe { }

[Sequential(6, 8, 1)]
[RandomZoom(0.3, FillMode = FillMode.Nearest)]
public partial class ZoomProbe { }

[Sequential(6, 8, 2)]
[RandomZoom(-0.4, 0.2, -0.1, 0.5)]
public partial class ZoomRangesProbe { }

[Sequential(9, 8, 2)]
[RandomCrop(5, 4)]
public partial class CropProbe { }

[Sequential(5, 6, 3)]
[RandomContrast(0.2, 0.5, ValueRangeHigh = 1)]
public partial class ContrastProbe { }
