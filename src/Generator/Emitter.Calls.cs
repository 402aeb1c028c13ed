using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using Kiln.Graph;

namespace Kiln.Generator;

/// <summary>How one kernel call, weight slice, activation or buffer is spelled in the generated code.</summary>
internal static partial class Emitter
{
    private static void GroupComment(CodeWriter w, KernelGroup g, string how)
    {
        var where = g.First.Spec.Location is { } loc ? $" [{loc}]" : "";
        w.Comment($"{g.Label} · {string.Join(" + ", g.Layers.Select(l => $"{l.Name} ({l.Describe()})"))}{where}: {g.Input} -> {g.Output}, {how}.");
    }

    /// <summary>The Dense, Conv2D or Conv2DTranspose call; <paramref name="gradients"/> adds the backward-only arguments.</summary>
    private static string LinearCall(KernelProgram program, KernelGroup g, string method, string x, string kernel, string biasOrY, string y, string activation, string? gradients = null, bool accumulate = false)
    {
        var layer = g.First;
        string cls = layer.Spec switch
        {
            ConvolutionSpec { Transposed: true } => "Conv2DTranspose",
            ConvolutionSpec => g.Convolution switch
            {
                ConvolutionAlgorithm.Winograd => "WinogradConv2D",
                // The direct kernel is forward only; its gradients are the implicit GEMM's.
                ConvolutionAlgorithm.Direct => gradients is null ? "DirectConv2D" : "Conv2D",
                ConvolutionAlgorithm.ImplicitGemm => "Conv2D",
                _ => throw Unexpected(layer),
            },
            DenseSpec => "Dense",
            _ => throw Unexpected(layer),
        };
        string shape = layer.Spec is DenseSpec ? $"n, {layer.Input[0]}, {layer.Output[0]}" : $"n, {WindowName(layer)}";
        // Forward: (x, kernel, bias, y, ...); Backward: (x, kernel, y, dy, dKernel, dBias, dx, ...).
        return gradients is null
            ? $"{K}.{cls}.{method}({x}, {kernel}, {biasOrY}, {y}, {shape}, {activation});"
            : $"{K}.{cls}.{method}({x}, {kernel}, {biasOrY}, {y}, {gradients}, {shape}, {activation}{(accumulate ? ", accumulate: true" : "")});";
    }

    private static string ResampleCall(LayerNode layer, string suffix, string x, string y)
    {
        var i = layer.Input;
        return layer.Spec switch
        {
            UpSampling2DSpec up => $"{K}.Resampling.UpSampleNearest{suffix}({x}, {y}, n, {i[0]}, {i[1]}, {i[2]}, {up.SizeHeight}, {up.SizeWidth});",
            ZeroPadding2DSpec z => $"{K}.Resampling.ZeroPad{suffix}({x}, {y}, n, {i[0]}, {i[1]}, {i[2]}, {z.Top}, {z.Bottom}, {z.Left}, {z.Right});",
            _ => throw Unexpected(layer),
        };
    }

    /// <summary>The input image's height, width and channels, as the augmentation kernels take them.</summary>
    private static string Geometry(LayerNode layer) => $"{layer.Input[0]}, {layer.Input[1]}, {layer.Input[2]}";

    /// <summary>The training call of an augmentation layer: its draws come from the model's random stream.</summary>
    private static string AugmentCall(LayerNode layer, string x, string y)
    {
        string head = $"{K}.Augmentation";
        string at = $"{x}, {y}, n, {Geometry(layer)}";
        return layer.Spec switch
        {
            RandomFlipSpec f => $"{head}.RandomFlip({at}, global::Kiln.FlipMode.{f.Mode}, ref Random);",
            RandomTranslationSpec t => $"{head}.RandomTranslation({at}, {Float(t.HeightLower)}, {Float(t.HeightUpper)}, {Float(t.WidthLower)}, {Float(t.WidthUpper)}, {Sampling(t.Fill, t.Interpolation, t.FillValue)}, ref Random);",
            RandomRotationSpec r => $"{head}.RandomRotation({at}, {Float(r.Lower)}, {Float(r.Upper)}, {Sampling(r.Fill, r.Interpolation, r.FillValue)}, ref Random);",
            RandomZoomSpec z => $"{head}.RandomZoom({at}, {Float(z.HeightLower)}, {Float(z.HeightUpper)}, {Float(z.WidthLower)}, {Float(z.WidthUpper)}, keepAspect: {(z.KeepAspect ? "true" : "false")}, {Sampling(z.Fill, z.Interpolation, z.FillValue)}, ref Random);",
            RandomCropSpec c => $"{head}.RandomCrop({at}, {c.Height}, {c.Width}, ref Random);",
            RandomContrastSpec c => $"{head}.RandomContrast({at}, {Float(c.Lower)}, {Float(c.Upper)}, {Float(c.ValueRangeLow)}, {Float(c.ValueRangeHigh)}, ref Random);",
            _ => throw Unexpected(layer),
        };
    }

    private static string Sampling(FillModeKind fill, InterpolationKind interpolation, double fillValue) =>
        $"global::Kiln.FillMode.{fill}, global::Kiln.Interpolation.{interpolation}, {Float(fillValue)}";

    private static string WindowName(LayerNode layer) => Pascal(Identifiers.Of(layer)) + Identifiers.WindowSuffix;

    private static string BiasText(KernelGroup g) => g.First.Weights.Any(x => x.Suffix == "bias") ? " + bias" : "";

    /// <summary>Rows of a softmax over the last axis: every position of every sample.</summary>
    private static string Rows(Buffer b, KernelGroup g) => g.Output.Rank == 1 ? "n" : $"n * {b.SizePerSample / g.Output.Last}";

    private static string Weight(KernelProgram program, LayerNode layer, string suffix, string buffer)
    {
        var slot = program.Weight(layer, suffix);
        if (slot is null)
        {
            // Only a weight the layer was asked not to have is absent; the kernel then skips that term.
            bool optedOut = (layer.Spec, suffix) switch
            {
                (DenseSpec d, "bias") => !d.UseBias,
                (ConvolutionSpec c, "bias") => !c.UseBias,
                (BatchNormalizationSpec b, "gamma") => !b.Scale,
                (BatchNormalizationSpec b, "beta") => !b.Center,
                _ => false,
            };
            return optedOut ? "default" : throw new System.InvalidOperationException($"layer '{layer.Name}' has no weight '{suffix}'");
        }
        if (buffer is "g" or "u")
        {
            // Frozen weights get no gradient; trainable ones get none either while the model is frozen (WeightGradient is then empty).
            // "u": a kernel that can also take the step's SGD update in place of the gradient (Model.GradientOrUpdate).
            string method = buffer == "u" ? "GradientOrUpdate" : "WeightGradient";
            return slot.Weight.Trainable ? $"{method}({SlotName(slot)}, {slot.Weight.Size})" : "default";
        }
        // Non-trainable tensors (BN moving statistics, frozen layers) live in State.
        if (!slot.Weight.Trainable) buffer = "s";
        return $"{buffer}.Slice({SlotName(slot)}, {slot.Weight.Size})";
    }

    private static string Activation(ActivationKind a, float alpha) => a switch
    {
        ActivationKind.Relu => $"new {K}.Relu()",
        ActivationKind.LeakyRelu => $"new {K}.LeakyRelu({Float(alpha)})",
        ActivationKind.Sigmoid => $"new {K}.Sigmoid()",
        ActivationKind.Tanh => $"new {K}.Tanh()",
        ActivationKind.Linear => $"new {K}.Identity()",
        _ => throw new System.InvalidOperationException($"{a} is not an elementwise epilogue"),
    };

    /// <summary>
    /// The last argument of a training BN kernel call: the model's synchronizer for a
    /// <c>[BatchNormalization(Synchronized = true)]</c> layer (null outside a distributed Fit), nothing otherwise.
    /// </summary>
    private static string Synchronizer(LayerNode bn) => bn.Spec is BatchNormalizationSpec { Synchronized: true } ? ", BatchNormSynchronizer" : "";

    /// <summary>What a synchronized BN's comment adds to "batch statistics".</summary>
    private static string OverRanks(LayerNode bn) => bn.Spec is BatchNormalizationSpec { Synchronized: true } ? " (of the global batch in a distributed Fit)" : "";

    /// <summary>A layer reached a branch written for other families: a bug in Kiln, reported as KILN0008 by the generator.</summary>
    private static System.Exception Unexpected(LayerNode layer) =>
        new System.InvalidOperationException($"the emitter has no call for layer '{layer.Name}' ({layer.Spec.GetType().Name}) here");

    private static string Float(double x) => x.ToString("R", CultureInfo.InvariantCulture) + "f";

    private static IEnumerable<Buffer> ArenaRoots(KernelProgram program) =>
        program.Buffers.Where(b => b.AliasOf is null && b.InArena && !b.IsFixed && b.LastStep >= 0);

    private static IEnumerable<Buffer> FixedBuffers(KernelProgram program) =>
        program.Buffers.Where(b => b.AliasOf is null && b.IsFixed);

    internal static string Slice(Buffer b) => b.IsFixed
        ? $"ArenaFixed({OffsetName(b.Root)}, {b.Root.SizePerSample})"
        : $"ArenaSlice({OffsetName(b.Root)}, n, {b.Root.SizePerSample})";

    internal static string OffsetName(Buffer b) => Pascal(b.Root.Name) + Identifiers.OffsetSuffix;

    private static string SlotName(TensorSlot slot) => Pascal(Identifiers.Of(slot.Layer)) + Pascal(slot.Weight.Suffix);

    private static string Pascal(string name) => Identifiers.Pascal(name);

    /// <summary>Declares each arena span the first time a method uses it, named after the buffer.</summary>
    private sealed class Locals
    {
        private readonly CodeWriter _w;
        private readonly bool _afterForward;
        private readonly HashSet<Buffer> _declared = new();

        /// <param name="afterForward">
        /// True in the loss and backward: they read the saved input through Model.SavedInput, which is the
        /// caller's input itself while TrainOnBatch or Fit lends it, and the forward pass's copy otherwise.
        /// </param>
        public Locals(CodeWriter w, bool afterForward)
        {
            _w = w;
            _afterForward = afterForward;
        }

        public string Use(Buffer b, string? condition = null)
        {
            var root = b.Root;
            if (root.Role == BufferRole.Input) return "input";
            if (root.Role == BufferRole.InputGradient) return "inputGradient";
            if (root.Role == BufferRole.SavedInput && _afterForward)
            {
                if (_declared.Add(root))
                    _w.Line(condition is null
                        ? $"ReadOnlySpan<float> {root.Name} = SavedInput({Slice(root)});"
                        : $"ReadOnlySpan<float> {root.Name} = {condition} ? SavedInput({Slice(root)}) : default;");
                return root.Name;
            }
            if (_declared.Add(root))
                _w.Line(condition is null
                    ? $"Span<float> {root.Name} = {Slice(root)};"
                    : $"Span<float> {root.Name} = {condition} ? {Slice(root)} : default;");
            return root.Name;
        }

        /// <summary>An argmax buffer, seen as integers.</summary>
        public string UseIndices(Buffer b)
        {
            var root = b.Root;
            if (_declared.Add(root))
                _w.Line($"Span<int> {root.Name} = ArenaIndices({OffsetName(root)}, n, {root.SizePerSample});");
            return root.Name;
        }
    }
}
