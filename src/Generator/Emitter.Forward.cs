using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using Kiln.Graph;

namespace Kiln.Generator;

/// <summary>ForwardCore: one commented block per kernel group, training and inference branches where they differ.</summary>
internal static partial class Emitter
{
    private static void Forward(CodeWriter w, KernelProgram program)
    {
        w.Open("protected override void ForwardCore(ReadOnlySpan<float> input, int n, bool training)");
        var locals = new Locals(w, afterForward: false);
        if (program.Parameters.Count > 0) w.Line("ReadOnlySpan<float> p = Parameters.Span;");
        if (program.State.Count > 0) w.Line("Span<float> s = State.Span;");
        if (HasLearningBatchNorm(program))
        {
            w.Comment("BatchNormalization learns batch statistics only in training and only while the model is trainable (Keras).");
            w.Line("bool batchStatistics = training && Trainable;");
            w.Line("_batchStatistics = batchStatistics;");
        }
        var viewsDone = new HashSet<LayerNode>();
        void Views(KernelGroup? upTo)
        {
            foreach (var view in program.Fusion.Groups.TakeWhile(x => x != upTo).Where(x => x.Kind == KernelKind.View && viewsDone.Add(x.First)))
                w.Comment($"{view.First.Name} ({view.First.TypeName}): {view.Input} -> {view.Output} is the same memory seen with another shape; no kernel.");
        }
        var observed = ObservedSteps(program);
        if (observed.Count > 0)
            w.Comment("Observe hands each kernel's output to a caller that asked for layer outputs (TensorBoard's activation histograms); otherwise it is one null check.");
        foreach (var step in program.Forward)
        {
            var g = step.Group!;
            Views(g);
            switch (step.Kind)
            {
                case StepKind.SaveInput:
                    w.Comment("A backward step reads the input after this call returns: training keeps a copy, unless TrainOnBatch or Fit lends the input itself for the step.");
                    w.Line($"if (training && !InputLent) input.CopyTo({locals.Use(step.Y!)});");
                    break;
                case StepKind.LinearForward when g.BatchNorm is not null:
                {
                    var bn = g.BatchNorm;
                    bool learns = bn.IsTrainable;
                    GroupComment(w, g, learns ? $"training: batch statistics{OverRanks(bn)}; inference: BN folded into the weights" : "BN frozen (moving statistics), folded into the weights");
                    string x = locals.Use(step.X!), y = locals.Use(step.Y!), folded = locals.Use(step.Folded!);
                    string? pooled = step.Pooled is null ? null : locals.Use(step.Pooled);
                    string? pooledArgmax = step.PooledArgmax is null ? null : locals.UseIndices(step.PooledArgmax);
                    long kernelSize = program.Weight(g.First, "kernel")!.Weight.Size; int channels = g.Output.Last;
                    // A residual Add in the group: the shortcut goes into BN's pass in training, after the GEMM in inference.
                    string? shortcut = step.Operands.Count > 0 ? locals.Use(step.Operands[0]) : null;
                    if (learns)
                    {
                        // A first convolution whose statistics come from its input's patches never writes z (a synchronized BN's does in a distributed Fit).
                        bool fromPatches = program.StatisticsFromPatches(g);
                        bool synchronized = bn.Spec is BatchNormalizationSpec { Synchronized: true };
                        string? z = fromPatches && !synchronized ? null : locals.Use(step.Z!);
                        string stats = locals.Use(step.Statistics!);
                        w.Open("if (batchStatistics)");
                        if (fromPatches && synchronized) w.Open("if (BatchNormSynchronizer is not null)");
                        string weights = $"{Weight(program, bn, "gamma", "p")}, {Weight(program, bn, "beta", "p")}, {Weight(program, bn, "moving_mean", "s")}, {Weight(program, bn, "moving_variance", "s")}, {stats}";
                        string hyper = $"{Float(bn.As<BatchNormalizationSpec>().Momentum)}, {Float(bn.As<BatchNormalizationSpec>().Epsilon)}";
                        if (z is not null)
                        {
                            w.Line(LinearCall(program, g, "Forward", x, Weight(program, g.First, "kernel", "p"), Weight(program, g.First, "bias", "p"), z, Activation(ActivationKind.Linear, 0)));
                            string training = $"{K}.BatchNorm.ForwardTraining({z}, {y}, {weights}, {Rows(step.Y!, g)}, {channels}, {hyper}, {(shortcut is null ? "" : shortcut + ", ")}{Activation(step.Activation, step.Alpha)}{Synchronizer(bn)});";
                            if (program.Fusion.NormalizesIntoPool.TryGetValue(g, out var normalized))
                            {
                                w.Comment($"Backward reads neither {y} nor its mask ({normalized.Label} takes the {Names.Activation(step.Activation)} derivative), so unless a caller observes layer outputs, {normalized.Label}'s max pooling is done here as BN normalizes and {y} is never written.");
                                w.Line($"if (Observing) {training}");
                                w.Line($"else {K}.BatchNorm.ForwardTrainingMaxPool({z}, {pooled}, {pooledArgmax}, {weights}, n, {WindowName(normalized.First)}, {hyper}, {Activation(step.Activation, step.Alpha)}{Synchronizer(bn)});");
                            }
                            else w.Line(training);
                        }
                        if (fromPatches)
                        {
                            if (synchronized)
                            {
                                w.Close();
                                w.Open("else");
                            }
                            var pool = program.Fusion.NormalizesIntoPool[g];
                            w.Comment($"The batch statistics from the input's patches (their mean and covariance times the kernel) and BN folded into the kernel; unless a caller observes layer outputs, {pool.Label}'s max pooling and its winners are taken as the convolution stores: {step.Z!.Name} and {y} are never written.");
                            w.Line($"Span<float> foldedKernel = {folded}.Slice(0, {kernelSize}), foldedBias = {folded}.Slice({kernelSize}, {channels});");
                            w.Line($"{K}.BatchNorm.ConvStatistics({x}, {Weight(program, g.First, "kernel", "p")}, {Weight(program, g.First, "bias", "p")}, {weights}, foldedKernel, foldedBias, n, {WindowName(g.First)}, {hyper});");
                            w.Line($"if (Observing) {K}.DirectConv2D.Forward({x}, foldedKernel, foldedBias, {y}, n, {WindowName(g.First)}, {Activation(step.Activation, step.Alpha)});");
                            w.Line($"else {K}.DirectConv2D.ForwardMaxPool2x2({x}, foldedKernel, foldedBias, {pooled}, {pooledArgmax}, n, {WindowName(g.First)}, {Activation(step.Activation, step.Alpha)});");
                            if (synchronized) w.Close();
                        }
                        w.Close();
                        w.Open("else");
                    }
                    else w.Block();
                    w.Line($"Span<float> foldedKernel = {folded}.Slice(0, {kernelSize}), foldedBias = {folded}.Slice({kernelSize}, {channels});");
                    // A transposed convolution's kernel is (kh, kw, filters, inputs): BN's channel is its third axis, not its last.
                    bool transposed = g.First.Spec is ConvolutionSpec { Transposed: true };
                    string fold = transposed ? "FoldTransposed" : "Fold";
                    string inputs = transposed ? $", {program.Weight(g.First, "kernel")!.Weight.Shape[3]}" : "";
                    w.Line($"{K}.BatchNorm.{fold}({Weight(program, g.First, "kernel", "p")}, {Weight(program, g.First, "bias", "p")}, {Weight(program, bn, "gamma", "p")}, {Weight(program, bn, "beta", "p")}, {Weight(program, bn, "moving_mean", "s")}, {Weight(program, bn, "moving_variance", "s")}, {Float(bn.As<BatchNormalizationSpec>().Epsilon)}, foldedKernel, foldedBias, {channels}{inputs});");
                    if (shortcut is null)
                    {
                        StoreOrPool(w, program, g, x, "foldedKernel", "foldedBias", y, program.Fusion.PoolsInStore.ContainsKey(g) ? pooled : null, Activation(step.Activation, step.Alpha));
                    }
                    else
                    {
                        w.Line(LinearCall(program, g, "Forward", x, "foldedKernel", "foldedBias", y, Activation(ActivationKind.Linear, 0)));
                        w.Line(step.Activation == ActivationKind.Linear
                            ? $"{K}.Merge.Add({y}, {shortcut}, {y});"
                            : $"{K}.Merge.Add({y}, {shortcut}, {y}, {Activation(step.Activation, step.Alpha)});");
                    }
                    w.Close();
                    break;
                }
                case StepKind.LinearForward:
                {
                    string op = g.Operation;
                    GroupComment(w, g, step.Activation == ActivationKind.Linear && g.KeepsLogits
                        ? $"{op}{BiasText(g)} into the logits"
                        : $"{op}{BiasText(g)}{(step.Activation == ActivationKind.Linear ? "" : " and " + Names.Activation(step.Activation))} in the tile epilogue");
                    string x = locals.Use(step.X!), y = locals.Use(step.Y!);
                    string? pooled = step.Pooled is null ? null : locals.Use(step.Pooled);
                    StoreOrPool(w, program, g, x, Weight(program, g.First, "kernel", "p"), Weight(program, g.First, "bias", "p"), y, pooled, Activation(step.Activation, step.Alpha));
                    break;
                }
                case StepKind.BatchNormForward:
                {
                    var bn = g.First;
                    GroupComment(w, g, bn.IsTrainable ? $"batch statistics{OverRanks(bn)} in training, moving statistics in inference" : "frozen: moving statistics");
                    string x = locals.Use(step.X!), y = locals.Use(step.Y!), stats = bn.IsTrainable ? locals.Use(step.Statistics!) : "";
                    string gamma = Weight(program, bn, "gamma", "p"), beta = Weight(program, bn, "beta", "p"), mean = Weight(program, bn, "moving_mean", "s"), variance = Weight(program, bn, "moving_variance", "s");
                    string eps = Float(bn.As<BatchNormalizationSpec>().Epsilon), act = Activation(step.Activation, step.Alpha);
                    string inference = $"{K}.BatchNorm.ForwardInference({x}, {y}, {gamma}, {beta}, {mean}, {variance}, {Rows(step.Y!, g)}, {g.Output.Last}, {eps}, {act});";
                    if (!bn.IsTrainable)
                    {
                        w.Line(inference);
                        break;
                    }
                    w.Line($"if (batchStatistics) {K}.BatchNorm.ForwardTraining({x}, {y}, {gamma}, {beta}, {mean}, {variance}, {stats}, {Rows(step.Y!, g)}, {g.Output.Last}, {Float(bn.As<BatchNormalizationSpec>().Momentum)}, {eps}, {act}{Synchronizer(bn)});");
                    w.Line("else " + inference);
                    break;
                }
                case StepKind.SoftmaxForward:
                    if (g.Kind != KernelKind.Linear) GroupComment(w, g, "row softmax");
                    else w.Comment("... then softmax over each row of the logits.");
                    w.Line($"{K}.Activations.Softmax({locals.Use(step.X!)}, {locals.Use(step.Y!)}, {Rows(step.Y!, g)}, {g.Output.Last});");
                    break;
                case StepKind.ActivationForward:
                    if (g.Kind != KernelKind.Linear) GroupComment(w, g, "elementwise " + Names.Activation(step.Activation));
                    else w.Comment($"... then {Names.Activation(step.Activation)} on the logits.");
                    w.Line($"{K}.Activations.Forward({locals.Use(step.X!)}, {locals.Use(step.Y!)}, {Activation(step.Activation, step.Alpha)});");
                    break;
                case StepKind.DropoutForward:
                {
                    GroupComment(w, g, "inverted dropout in training, a copy in inference");
                    string x = locals.Use(step.X!), y = locals.Use(step.Y!);
                    w.Line($"if (training) {K}.Dropout.Forward({x}, {y}, {locals.Use(step.Mask!)}, {Float(g.First.As<DropoutSpec>().Rate)}, ref Random);");
                    w.Line($"else {x}.CopyTo({y});");
                    break;
                }
                case StepKind.PoolForward:
                {
                    var layer = g.First;
                    GroupComment(w, g, g.SavesArgmax ? "max, with the winning index saved for backward in training" : "mean");
                    string x = locals.Use(step.X!), y = locals.Use(step.Y!);
                    switch (layer.Spec)
                    {
                        case PoolingSpec { Max: true } when program.Fusion.NormalizedInto(g) is { } bn:
                        {
                            // Training with batch statistics that no caller observes has this pooling already (the BN kernel normalized into it);
                            // so does unobserved inference when the convolution also pools in its store.
                            bool stored = program.Fusion.PooledBy(g) is not null;
                            w.Comment($"Training with batch statistics that no caller observes has this pooling already: {bn.Label} did it as it normalized{(stored ? "; so does inference, in its store" : "")}.");
                            w.Line($"if (training) {{ if (Observing || !batchStatistics) {K}.Pooling.MaxForward({x}, {y}, {locals.UseIndices(step.Mask!)}, n, {WindowName(layer)}); }}");
                            w.Line($"else{(stored ? " if (Observing)" : "")} {K}.Pooling.MaxForward({x}, {y}, n, {WindowName(layer)});");
                            break;
                        }
                        case PoolingSpec { Max: true } when program.Fusion.PooledBy(g) is { } conv:
                            w.Comment($"Inference that no caller observes has this pooling already: {conv.Label} did it as it stored.");
                            w.Line($"if (training) {K}.Pooling.MaxForward({x}, {y}, {locals.UseIndices(step.Mask!)}, n, {WindowName(layer)});");
                            w.Line($"else if (Observing) {K}.Pooling.MaxForward({x}, {y}, n, {WindowName(layer)});");
                            break;
                        // Only backward reads the argmax, and only after a training forward: inference skips writing it.
                        case PoolingSpec { Max: true }:
                            w.Line($"if (training) {K}.Pooling.MaxForward({x}, {y}, {locals.UseIndices(step.Mask!)}, n, {WindowName(layer)});");
                            w.Line($"else {K}.Pooling.MaxForward({x}, {y}, n, {WindowName(layer)});");
                            break;
                        case PoolingSpec:
                            w.Line($"{K}.Pooling.AverageForward({x}, {y}, n, {WindowName(layer)});");
                            break;
                        case GlobalPoolingSpec { Max: true }:
                            w.Line($"if (training) {K}.Pooling.GlobalMaxForward({x}, {y}, {locals.UseIndices(step.Mask!)}, n, {layer.Input[0] * layer.Input[1]}, {layer.Input[2]});");
                            w.Line($"else {K}.Pooling.GlobalMaxForward({x}, {y}, n, {layer.Input[0] * layer.Input[1]}, {layer.Input[2]});");
                            break;
                        case GlobalPoolingSpec:
                            w.Line($"{K}.Pooling.GlobalAverageForward({x}, {y}, n, {layer.Input[0] * layer.Input[1]}, {layer.Input[2]});");
                            break;
                        default:
                            throw Unexpected(layer);
                    }
                    break;
                }
                case StepKind.PreprocessForward:
                {
                    var layer = g.First;
                    GroupComment(w, g, layer.Spec is RescalingSpec ? "x * scale + offset" : "(x - mean) / max(std, 1e-7) with the adapted statistics");
                    string x = locals.Use(step.X!), y = locals.Use(step.Y!);
                    w.Line(layer.Spec switch
                    {
                        RescalingSpec r => $"global::Kiln.Preprocessing.Rescale({x}, {y}, {Float(r.Scale)}, {Float(r.Offset)});",
                        NormalizationSpec norm => $"global::Kiln.Normalization.Forward({x}, {y}, {Weight(program, layer, "mean", "s")}, {Weight(program, layer, "variance", "s")}, invert: {(norm.Invert ? "true" : "false")});",
                        _ => throw Unexpected(layer),
                    });
                    break;
                }
                case StepKind.MergeForward:
                {
                    var merge = g.First.As<MergeSpec>();
                    var inputs = new[] { step.X! }.Concat(step.Operands).Select(b => locals.Use(b)).ToList();
                    string y = locals.Use(step.Y!);
                    GroupComment(w, g, merge.Operation switch
                    {
                        MergeKind.Concatenate => "each input copied into its columns of the output",
                        MergeKind.Maximum => "elementwise maximum, the winning input saved for backward",
                        _ => "elementwise " + merge.Operation.ToString().ToLowerInvariant()
                            + (step.Activation == ActivationKind.Linear ? "" : $", {Names.Activation(step.Activation)} applied as the last pass stores"),
                    });
                    string activation = step.Activation == ActivationKind.Linear ? "" : ", " + Activation(step.Activation, step.Alpha);
                    foreach (var line in MergeForwardCalls(g, merge, inputs, y, step.Mask is null ? "" : locals.UseIndices(step.Mask), activation))
                        w.Line(line);
                    break;
                }
                case StepKind.TransposeInput:
                {
                    var declared = program.Graph.DeclaredInput;
                    w.Comment($"The input arrives channels first, {declared}: transposed once into channels last, {program.Graph.Input}, which the layers read.");
                    w.Line($"{K}.Layout.ToChannelsLast(input, {locals.Use(step.Y!)}, n, {declared[0]}, {declared[1]}, {declared[2]}, 0, {declared.Size});");
                    break;
                }
                case StepKind.InputForward when g.First.Spec is InputSpec { ChannelsFirst: true } cf:
                {
                    var layer = g.First;
                    int offset = program.Graph.InputOffset(layer);
                    w.Comment($"{layer.Name} ({layer.TypeName}): ({string.Join(", ", cf.Shape)}) channels first, columns {offset} to {offset + layer.Output.Size} of each packed input row, transposed out into channels last, {layer.Output}.");
                    w.Line($"{K}.Layout.ToChannelsLast(input, {locals.Use(step.Y!)}, n, {cf.Shape[0]}, {cf.Shape[1]}, {cf.Shape[2]}, {offset}, {program.Graph.Input.Size});");
                    break;
                }
                case StepKind.InputForward:
                {
                    var layer = g.First;
                    int offset = program.Graph.InputOffset(layer);
                    w.Comment($"{layer.Name} ({layer.TypeName}): {layer.Output}, columns {offset} to {offset + layer.Output.Size} of each packed input row, copied out.");
                    w.Line($"{K}.Merge.CopyOut(input, {locals.Use(step.Y!)}, n, {layer.Output.Size}, {offset}, {program.Graph.Input.Size}, accumulate: false);");
                    break;
                }
                case StepKind.OutputForward:
                {
                    var output = program.Graph.Outputs[step.Input];
                    int offset = program.Graph.OutputOffset(output);
                    w.Comment($"Output {step.Input}, '{output.Layer.Name}' {output.Layer.Output}: columns {offset} to {offset + output.Layer.Output.Size} of each packed output row.");
                    w.Line($"{K}.Merge.CopyInto({locals.Use(step.X!)}, {locals.Use(step.Y!)}, n, {output.Layer.Output.Size}, {offset}, {program.Graph.Output.Size});");
                    break;
                }
                case StepKind.AugmentForward:
                {
                    var layer = g.First;
                    bool crop = layer.Spec is RandomCropSpec;
                    GroupComment(w, g, crop ? "a random window in training, the centre window in inference" : "random per sample in training, a copy in inference");
                    string x = locals.Use(step.X!), y = locals.Use(step.Y!);
                    w.Line($"if (training) {AugmentCall(layer, x, y)}");
                    w.Line(crop ? $"else {K}.Augmentation.CenterCrop({x}, {y}, n, {Geometry(layer)}, {layer.Output[0]}, {layer.Output[1]});" : $"else {x}.CopyTo({y});");
                    break;
                }
                case StepKind.ResampleForward:
                    GroupComment(w, g, "data movement");
                    w.Line(ResampleCall(g.First, "", locals.Use(step.X!), locals.Use(step.Y!)));
                    break;
                default:
                    throw new System.InvalidOperationException($"the emitter has no forward call for step {step.Kind} ({g.LayerNames})");
            }
            if (observed.Contains(step)) w.Line($"Observe({Literal(g.Last.Name)}, {locals.Use(step.Y!)});");
        }
        Views(null);
        w.Close();
        w.Line();
    }

    /// <summary>
    /// A convolution's forward call; with <paramref name="pooled"/> (<see cref="FusionPlan.PoolsInStore"/>), inference that
    /// no caller observes calls the variant that max-pools its output into it as it stores it (Winograd tiles, direct row bands), and leaves y unwritten.
    /// </summary>
    private static void StoreOrPool(CodeWriter w, KernelProgram program, KernelGroup g, string x, string kernel, string bias, string y, string? pooled, string activation)
    {
        string call = LinearCall(program, g, "Forward", x, kernel, bias, y, activation);
        if (pooled is null)
        {
            w.Line(call);
            return;
        }
        var pool = program.Fusion.PoolsInStore[g];
        w.Comment($"Training reads {y} (backward and {pool.Label}'s argmax), and so does a caller observing layer outputs; other inference writes only {pool.Label}'s 2x2 max pooling of it.");
        w.Line($"if (training || Observing) {call}");
        w.Line("else " + LinearCall(program, g, "ForwardMaxPool2x2", x, kernel, bias, pooled, activation));
    }

    /// <summary>
    /// The step after which each kernel group's output is complete: the last forward step that writes
    /// the tensor later layers read. A later kernel may reuse that memory, so the output is shown then.
    /// </summary>
    private static HashSet<Step> ObservedSteps(KernelProgram program)
    {
        var last = new Dictionary<KernelGroup, Step>();
        foreach (var step in program.Forward)
            if (step.Group is { } g && step.Y is not null && program.GroupOutputs.TryGetValue(g, out var output) && output == step.Y)
                last[g] = step;
        return new HashSet<Step>(last.Values);
    }
}
