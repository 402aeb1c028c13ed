using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using Kiln.Graph;

namespace Kiln.Generator;

/// <summary>LossCore and BackwardCore: the loss kernel, then each group's backward in reverse order.</summary>
internal static partial class Emitter
{
    private static void Loss(CodeWriter w, KernelProgram program)
    {
        w.Open("protected override float LossCore(ReadOnlySpan<float> targets, int n, bool gradient)");
        if (program.Losses.Count == 0)
        {
            w.Line($"throw new InvalidOperationException(\"{program.Graph.Spec.ClassName} has no [Loss(...)] attribute, so it cannot compute a loss; add one, or train it through a model composed after it.\");");
            w.Close();
            w.Line();
            return;
        }
        var graph = program.Graph;
        var locals = new Locals(w, afterForward: true);
        bool several = graph.Outputs.Count > 1;
        var lossLines = Summary.FusionLines(program).Where(l => l.StartsWith("loss")).ToList();
        int targetRow = graph.Outputs.Sum(o => o.TargetSize);
        w.Comment(several
            ? "Keras' sample_weight, the same for every output (empty when all are 1): each loss is sum(w * loss) / n."
            : "Keras' sample_weight (empty when all are 1): the loss is sum(w * loss) / n, Keras' sum_over_batch_size.");
        w.Line("ReadOnlySpan<float> sampleWeights = SampleWeights(n);");
        if (several)
        {
            w.Comment("Keras' loss_weights: the loss is the weighted sum of the outputs' losses, and each output's gradient carries its weight.");
            w.Line("float loss = 0f;");
        }
        foreach (var step in program.Losses)
        {
            var output = graph.Outputs[step.Input];
            var loss = output.Loss!;
            string x = locals.Use(step.X!);
            string d = locals.Use(step.DY!, "gradient");
            int units = output.Layer.Output.Size;
            bool logits = program.Fusion.Losses[step.Input] is LossFusion.SoftmaxCrossEntropy or LossFusion.SigmoidBinaryCrossEntropy or LossFusion.FromLogits;
            string kernel = loss.Kind switch
            {
                LossKind.SparseCategoricalCrossentropy => "SparseCategoricalCrossentropy",
                LossKind.CategoricalCrossentropy => "CategoricalCrossentropy",
                LossKind.BinaryCrossentropy => "BinaryCrossentropy",
                LossKind.MeanSquaredError => "MeanSquaredError",
                _ => throw new System.InvalidOperationException($"no loss kernel for {loss.Kind}"),
            } + (logits && loss.Kind != LossKind.MeanSquaredError ? "FromLogits" : "");
            // Keras' label_smoothing: the kernel smooths the targets as it reads them (no copy); MSE has none.
            string smoothing = loss.Kind == LossKind.MeanSquaredError ? "" : ", labelSmoothing: " + Float(loss.LabelSmoothing);
            string line = lossLines.First(l => !several || l.StartsWith($"loss of '{output.Layer.Name}'"));
            w.Comment(line.Substring(line.IndexOf(": ", System.StringComparison.Ordinal) + 2));
            if (!several)
            {
                w.Line($"return {K}.Losses.{kernel}({x}, targets, {d}, n, {units}{smoothing}, sampleWeights);");
                continue;
            }
            int offset = graph.Outputs.Take(step.Input).Sum(o => o.TargetSize);
            string t = locals.Use(step.Z!);
            string weight = Float(loss.Weight);
            w.Line($"{K}.Merge.CopyOut(targets, {t}, n, {output.TargetSize}, {offset}, {targetRow}, accumulate: false);");
            w.Line($"loss += {weight} * SetOutputLoss({step.Input}, {K}.Losses.{kernel}({x}, {t}, {d}, n, {units}{smoothing}, sampleWeights));");
            if (loss.Weight != 1) w.Line($"if (gradient) {K}.Merge.Scale({d}, {weight});");
        }
        if (several) w.Line("return loss;");
        w.Close();
        w.Line();
    }

    private static void Backward(CodeWriter w, KernelProgram program)
    {
        w.Open("protected override void BackwardCore(int n, Span<float> inputGradient, bool fromOutputGradient)");
        var locals = new Locals(w, afterForward: true);
        if (program.Parameters.Count > 0) w.Line("ReadOnlySpan<float> p = Parameters.Span;");
        if (program.State.Count > 0) w.Line("ReadOnlySpan<float> s = State.Span;");
        var unreached = program.UnreachedWeights.ToList();
        if (unreached.Count > 0)
            w.Comment($"{string.Join(", ", unreached.Select(u => u.Name).Distinct())}: no layer the loss reads depends on {(unreached.Count == 1 ? "it" : "them")}, so the gradient is zero (a regularizer's is added after).");
        foreach (var slot in unreached) w.Line($"{Weight(program, slot.Layer, slot.Weight.Suffix, "g")}.Clear();");
        if (program.Backward.Any(s => s.OnlyForInputGradient || s.DxOnlyForInputGradient))
            w.Line("bool inputGradientWanted = !inputGradient.IsEmpty;");
        foreach (var step in program.FromOutputGradient)
        {
            if (step.Kind == StepKind.OutputGradientSplit)
            {
                var output = program.Graph.Outputs[step.Input];
                string packed = locals.Use(step.DY!), part = locals.Use(step.DX!);
                w.Open("if (fromOutputGradient)");
                w.Comment($"A composed caller wrote {step.DY!.Name}: the columns of '{output.Layer.Name}' into its gradient.");
                w.Line($"{K}.Merge.CopyOut({packed}, {part}, n, {output.Layer.Output.Size}, {program.Graph.OutputOffset(output)}, {program.Graph.Output.Size}, accumulate: false);");
                w.Close();
                continue;
            }
            string y = locals.Use(step.Y!), dy = locals.Use(step.DY!), dx = locals.Use(step.DX!);
            w.Open("if (fromOutputGradient)");
            w.Comment($"A composed caller wrote {step.DY!.Name}; take it back through the {Names.Activation(step.Activation)} the loss normally skips.");
            w.Line(step.Activation == ActivationKind.Softmax
                ? $"{K}.Activations.SoftmaxBackward({y}, {dy}, {dx}, {Rows(step.Y!, step.Group!)}, {step.Group!.Output.Last});"
                : $"{K}.Activations.Backward({y}, {dy}, {dx}, {Activation(step.Activation, step.Alpha)});");
            w.Close();
        }
        foreach (var step in program.Backward)
        {
            var g = step.Group!;
            var layer = g.First;
            // Dense kernels can take a fused SGD step's update in place of their gradients; the convolutions write gradients.
            string gradients = layer.Spec is DenseSpec ? "u" : "g";
            string DX() => step.DX!.Root.Role == BufferRole.InputGradient ? "inputGradient"
                : step.DxOnlyForInputGradient ? $"inputGradientWanted ? {locals.Use(step.DX!)} : default" : locals.Use(step.DX!);
            string Guard(string call) => step.OnlyForInputGradient ? $"if (inputGradientWanted) {call}" : call;
            string into = step.DX!.Root.Role == BufferRole.InputGradient ? ", and the input gradient when asked"
                : step.Accumulate ? $", and its part of {step.DX!.Name} added in{(step.DxOnlyForInputGradient ? " when the input gradient is asked" : "")}"
                : step.DxOnlyForInputGradient ? $", and {step.DX!.Name} when the input gradient is asked" : $" and {step.DX!.Name}";
            switch (step.Kind)
            {
                case StepKind.LinearBackward when g.BatchNorm is not null:
                {
                    var bn = g.BatchNorm;
                    var pooledGradients = program.PooledGradientsOf(step);
                    string fromPool = pooledGradients is null ? ""
                        : $"with batch statistics{OverNoRanks(bn)}, one pass over {pooledGradients.Group!.Label}'s gradients gives the kernel, gamma and beta gradients (the patches' covariance stands in for the full-size tensors); without them, or for the input gradient, ";
                    string fromShortcut = step.DZ is null ? "" : $" from {step.DY!.Name} (the shortcut's gradient, through the {Names.Activation(g.Epilogue)} already) into {step.DZ.Name}";
                    GroupComment(w, g, $"backward: {fromPool}{Mask(program, step)}batch-norm backward in one pass{fromShortcut}{DerivativeAtPool(program, g)}, then the weight gradients{into}");
                    // BN's backward reads dyIn and leaves its input's gradient in dy, which the layer's backward reads: the same buffer unless DZ says otherwise.
                    string x = locals.Use(step.X!), y = step.Y is null ? "default" : locals.Use(step.Y), dyIn = locals.Use(step.DY!);
                    string dy = step.DZ is null ? dyIn : locals.Use(step.DZ);
                    string frozen = $"{K}.FrozenBatchNorm.Backward({y}, {dyIn}, {Weight(program, bn, "gamma", "p")}, {Weight(program, bn, "moving_variance", "s")}, {dy}, {Rows(step.DY!, g)}, {g.Output.Last}, {Float(bn.As<BatchNormalizationSpec>().Epsilon)}, {Activation(step.Activation, step.Alpha)});";
                    string? fused = null;
                    if (pooledGradients is not null)
                    {
                        // Its locals declared before the branch below, which may declare some of them otherwise.
                        var pool = pooledGradients.Group!;
                        fused = $"{K}.BatchNorm.ConvMaxPoolBackward({x}, {Weight(program, layer, "kernel", "p")}, "
                            + $"{locals.Use(pooledGradients.DY!)}, {locals.Use(pooledGradients.Y!)}, {locals.UseIndices(pooledGradients.Mask!)}, {Weight(program, bn, "gamma", "p")}, {locals.Use(step.Statistics!)}, "
                            + $"{Weight(program, layer, "kernel", "g")}, {Weight(program, layer, "bias", "g")}, {Weight(program, bn, "gamma", "g")}, {Weight(program, bn, "beta", "g")}, "
                            + $"n, {WindowName(layer)}, {WindowName(pool.First)}, {Activation(pooledGradients.Activation, pooledGradients.Alpha)});";
                        // The branch's input gradient too: a layer before this one (a Rescaling) reads it after the branch.
                        if (step.DX!.Root.Role != BufferRole.InputGradient) locals.Use(step.DX!);
                        // The pooling's backward skipped its full-size scatter unless this branch runs (see KernelProgram.PooledGradientsOf).
                        w.Open($"if ({NoPooledGradients(bn)} || inputGradientWanted)");
                    }
                    if (bn.IsTrainable)
                    {
                        string z = locals.Use(step.Z!), stats = locals.Use(step.Statistics!);
                        string learning = LearningBatchNormBackward(program, step, bn, z, y, dyIn, stats, dy);
                        if (program.StatisticsFromPatches(g))
                        {
                            w.Open("if (_batchStatistics)");
                            w.Comment($"A forward pass that took the statistics from the patches never wrote {z}: the same call as its full-size branch writes it.");
                            string recompute = LinearCall(program, g, "Forward", x, Weight(program, layer, "kernel", "p"), Weight(program, layer, "bias", "p"), z, Activation(ActivationKind.Linear, 0));
                            w.Line(bn.Spec is BatchNormalizationSpec { Synchronized: true } ? $"if (BatchNormSynchronizer is null) {recompute}" : recompute);
                            w.Line(learning);
                            w.Close();
                        }
                        else w.Line($"if (_batchStatistics) {learning}");
                        w.Line("else " + frozen);
                    }
                    else
                    {
                        w.Line(frozen);
                    }
                    w.Line(Guard(LinearCall(program, g, "Backward", x, Weight(program, layer, "kernel", "p"), "default", dy, Activation(ActivationKind.Linear, 0),
                        $"{Weight(program, layer, "kernel", gradients)}, {Weight(program, layer, "bias", gradients)}, {DX()}", step.Accumulate)));
                    if (fused is not null)
                    {
                        w.Close();
                        // Also when the input gradient was asked, so the weight gradients do not depend on asking (it overwrites the branch's).
                        w.Line($"if ({PooledGradients(bn)}) {fused}");
                    }
                    break;
                }
                case StepKind.LinearBackward:
                {
                    string what = step.Activation == ActivationKind.Linear ? "" : $"{Names.Activation(step.Activation)} mask, then ";
                    GroupComment(w, g, $"backward: {what}{(layer.Weights.Count > 1 ? "kernel and bias" : "kernel")} gradients{into}{DerivativeAtPool(program, g)}");
                    string x = locals.Use(step.X!), y = step.Y is null ? "default" : locals.Use(step.Y), dy = locals.Use(step.DY!);
                    w.Line(Guard(LinearCall(program, g, "Backward", x, Weight(program, layer, "kernel", "p"), y, dy, Activation(step.Activation, step.Alpha),
                        $"{Weight(program, layer, "kernel", gradients)}, {Weight(program, layer, "bias", gradients)}, {DX()}", step.Accumulate)));
                    break;
                }
                case StepKind.BatchNormBackward:
                {
                    GroupComment(w, g, $"backward: {Mask(program, step)}batch-norm backward in one pass{DerivativeAtPool(program, g)}{into}");
                    string y = step.Y is null ? "default" : locals.Use(step.Y), dy = locals.Use(step.DY!);
                    string frozen = $"{K}.FrozenBatchNorm.Backward({y}, {dy}, {Weight(program, layer, "gamma", "p")}, {Weight(program, layer, "moving_variance", "s")}, {DX()}, {Rows(step.DY!, g)}, {g.Output.Last}, {Float(layer.As<BatchNormalizationSpec>().Epsilon)}, {Activation(step.Activation, step.Alpha)});";
                    if (!layer.IsTrainable)
                    {
                        w.Line(Guard(frozen));
                        break;
                    }
                    string x = locals.Use(step.X!), stats = locals.Use(step.Statistics!);
                    string learning = LearningBatchNormBackward(program, step, layer, x, y, dy, stats, DX());
                    if (step.OnlyForInputGradient) w.Open("if (inputGradientWanted)");
                    w.Line($"if (_batchStatistics) {learning}");
                    w.Line($"else {frozen}");
                    if (step.OnlyForInputGradient) w.Close();
                    break;
                }
                case StepKind.SoftmaxBackward:
                {
                    if (g.Kind == KernelKind.Linear) w.Comment($"{g.Label} backward: softmax Jacobian into the logits' gradient first.");
                    else GroupComment(w, g, "backward: softmax Jacobian, in place");
                    string y = locals.Use(step.Y!), dy = locals.Use(step.DY!);
                    w.Line(Guard($"{K}.Activations.SoftmaxBackward({y}, {dy}, {DX()}, {Rows(step.Y!, g)}, {g.Output.Last});"));
                    break;
                }
                case StepKind.ActivationBackward:
                {
                    if (g.Kind == KernelKind.Linear) w.Comment($"{g.Label} backward: {Names.Activation(step.Activation)} derivative into the logits' gradient first.");
                    else GroupComment(w, g, step.Y is null ? "backward: the loss already gave the gradient of its input" : $"backward: {Names.Activation(step.Activation)} derivative, in place");
                    string dy = locals.Use(step.DY!);
                    w.Line(Guard(step.Y is null
                        ? $"{dy}.CopyTo({DX()});"
                        : $"{K}.Activations.Backward({locals.Use(step.Y)}, {dy}, {DX()}, {Activation(step.Activation, step.Alpha)});"));
                    break;
                }
                case StepKind.DropoutBackward:
                {
                    GroupComment(w, g, "backward: the saved mask, in place");
                    string dy = locals.Use(step.DY!), mask = locals.Use(step.Mask!);
                    w.Line(Guard($"{K}.Dropout.Backward({dy}, {mask}, {DX()});"));
                    break;
                }
                case StepKind.PoolBackward:
                {
                    string dy = locals.Use(step.DY!);
                    if (step.Y is not null)
                    {
                        // The input's kernel fused an activation: its derivative, at each winner, is that of the pooled value.
                        var producer = program.Fusion.DerivativesAtPool[g];
                        var toWeights = program.Backward.FirstOrDefault(s => program.PooledGradientsOf(s) == step)?.Group!.BatchNorm;
                        GroupComment(w, g, $"backward: each gradient times the {Names.Activation(step.Activation)} derivative at the pooled value (for {producer.Label}) to the input that won"
                            + (toWeights is null ? "" : $"; with batch statistics{OverNoRanks(toWeights)} and no input gradient asked, {producer.Label}'s weight gradients take these gradients as they are"));
                        string y = locals.Use(step.Y), act = Activation(step.Activation, step.Alpha);
                        string call = layer.Spec switch
                        {
                            PoolingSpec { Max: true } => $"{K}.Pooling.MaxBackward({dy}, {y}, {locals.UseIndices(step.Mask!)}, {DX()}, n, {WindowName(layer)}, {act});",
                            GlobalPoolingSpec { Max: true } => $"{K}.Pooling.GlobalMaxBackward({dy}, {y}, {locals.UseIndices(step.Mask!)}, {DX()}, n, {layer.Input[0] * layer.Input[1]}, {layer.Input[2]}, {act});",
                            _ => throw Unexpected(layer),
                        };
                        w.Line(toWeights is null ? Guard(call) : $"if ({NoPooledGradients(toWeights)} || inputGradientWanted) {call}");
                        break;
                    }
                    GroupComment(w, g, g.SavesArgmax ? "backward: each gradient to the input that won" : "backward: each gradient shared over its window");
                    w.Line(Guard(layer.Spec switch
                    {
                        PoolingSpec { Max: true } => $"{K}.Pooling.MaxBackward({dy}, {locals.UseIndices(step.Mask!)}, {DX()}, n, {WindowName(layer)});",
                        PoolingSpec => $"{K}.Pooling.AverageBackward({dy}, {DX()}, n, {WindowName(layer)});",
                        GlobalPoolingSpec { Max: true } => $"{K}.Pooling.GlobalMaxBackward({dy}, {locals.UseIndices(step.Mask!)}, {DX()}, n, {layer.Input[0] * layer.Input[1]}, {layer.Input[2]});",
                        GlobalPoolingSpec => $"{K}.Pooling.GlobalAverageBackward({dy}, {DX()}, n, {layer.Input[0] * layer.Input[1]}, {layer.Input[2]});",
                        _ => throw Unexpected(layer),
                    }));
                    break;
                }
                case StepKind.PreprocessBackward:
                {
                    GroupComment(w, g, "backward: a constant scale, in place");
                    string dy = locals.Use(step.DY!);
                    w.Line(Guard(layer.Spec switch
                    {
                        RescalingSpec r => $"global::Kiln.Preprocessing.RescaleBackward({dy}, {DX()}, {Float(r.Scale)});",
                        NormalizationSpec norm => $"global::Kiln.Normalization.Backward({dy}, {DX()}, {Weight(program, layer, "variance", "s")}, invert: {(norm.Invert ? "true" : "false")});",
                        _ => throw Unexpected(layer),
                    }));
                    break;
                }
                case StepKind.MergeBackward:
                {
                    var merge = g.First.As<MergeSpec>();
                    string target = locals.Use(step.DX!);
                    GroupComment(w, g, $"backward: the gradient of input {step.Input} ('{merge.Inputs[step.Input]}'), {(step.Accumulate ? "added to" : "into")} {step.DX!.Name}");
                    var others = step.Operands.Select(b => locals.Use(b)).ToList();
                    string product = step.Z is null ? "" : locals.Use(step.Z);
                    string winner = step.Mask is null ? "" : locals.UseIndices(step.Mask);
                    foreach (var line in MergeBackwardCalls(g, merge, step, locals.Use(step.DY!), target, others, product, winner))
                        w.Line(Guard(line));
                    break;
                }
                case StepKind.ResidualBackward:
                {
                    string target = locals.Use(step.DX!);
                    bool readByBn = program.Backward.Any(s => s.Group == g && s.DZ is not null);
                    w.Comment($"{g.Label} backward: the gradient of the shortcut '{g.Residual?.Name ?? program.Graph.DeclaredInputName}' ({Names.Activation(step.Activation)} derivative of the output gradient), "
                        + (readByBn ? "which BN's backward reads too." : "before BN's backward overwrites it."));
                    w.Line(Guard($"{K}.Activations.Backward({locals.Use(step.Y!)}, {locals.Use(step.DY!)}, {target}, {Activation(step.Activation, step.Alpha)});"));
                    break;
                }
                case StepKind.AccumulateGradient:
                {
                    string target = locals.Use(step.DX!);
                    // A view runs no kernel, so it has no kernel label ("k-1"): name the layer.
                    w.Comment($"{(g.Kind == KernelKind.View ? $"{layer.Name} ({layer.TypeName})" : g.Label)} backward: {step.DX!.Name} is read by more than one layer; add this reader's part.");
                    w.Line(Guard($"{K}.Merge.Accumulate({target}, {locals.Use(step.X!)});"));
                    break;
                }
                case StepKind.TransposeInputBackward:
                {
                    var declared = program.Graph.DeclaredInput;
                    w.Comment($"The input gradient, channels last, transposed back into the caller's channels-first layout {declared}.");
                    w.Line(Guard(step.DY is null
                        ? "inputGradient.Clear();"
                        : $"{K}.Layout.ToChannelsFirst({locals.Use(step.DY)}, inputGradient, n, {declared[0]}, {declared[1]}, {declared[2]}, 0, {declared.Size});"));
                    break;
                }
                case StepKind.InputBackward when layer.Spec is InputSpec { ChannelsFirst: true } cf && step.DY is not null:
                {
                    int offset = program.Graph.InputOffset(layer), stride = program.Graph.Input.Size;
                    w.Comment($"{layer.Name} ({layer.TypeName}): its gradient, transposed back to channels first, into columns {offset} to {offset + layer.Output.Size} of the input gradient.");
                    w.Line(Guard($"{K}.Layout.ToChannelsFirst({locals.Use(step.DY)}, inputGradient, n, {cf.Shape[0]}, {cf.Shape[1]}, {cf.Shape[2]}, {offset}, {stride});"));
                    break;
                }
                case StepKind.InputBackward:
                {
                    int offset = program.Graph.InputOffset(layer), width = layer.Output.Size, stride = program.Graph.Input.Size;
                    w.Comment(step.DY is null
                        ? $"{layer.Name} ({layer.TypeName}): the output does not depend on it; its columns of the input gradient are zero."
                        : $"{layer.Name} ({layer.TypeName}): its gradient into columns {offset} to {offset + width} of the input gradient.");
                    w.Line(Guard(step.DY is null
                        ? $"{K}.Merge.ClearColumns(inputGradient, n, {width}, {offset}, {stride});"
                        : $"{K}.Merge.CopyInto({locals.Use(step.DY)}, inputGradient, n, {width}, {offset}, {stride});"));
                    break;
                }
                case StepKind.AugmentBackward:
                    GroupComment(w, g, "backward: no gradient through a random augmentation; nothing before it has weights (KILN0158)");
                    w.Line($"if (inputGradientWanted) throw {K}.Augmentation.NoInputGradient(\"{layer.Name}\", \"{layer.TypeName}\");");
                    break;
                case StepKind.ResampleBackward:
                    GroupComment(w, g, layer.Spec is UpSampling2DSpec ? "backward: sum over each repeated block" : "backward: crop the padding away");
                    w.Line(Guard(ResampleCall(layer, "Backward", locals.Use(step.DY!), DX())));
                    break;
                default:
                    throw new System.InvalidOperationException($"the emitter has no backward call for step {step.Kind} ({g.LayerNames})");
            }
        }
        w.Close();
        w.Line();
    }

    /// <summary>
    /// A learning BN's backward with batch statistics, from BN's input <paramref name="x"/>: the activation's derivative redone from x where
    /// <see cref="KernelProgram.DerivativeFromInput"/> says so, else read from the stored output <paramref name="y"/>.
    /// </summary>
    private static string LearningBatchNormBackward(KernelProgram program, Step step, LayerNode bn, string x, string y, string dy, string stats, string dx)
    {
        var g = step.Group!;
        string rest = $"{stats}, {Weight(program, bn, "gamma", "g")}, {Weight(program, bn, "beta", "g")}, {dx}, {Rows(step.DY!, g)}, {g.Output.Last}, {Activation(step.Activation, step.Alpha)}{Synchronizer(bn)}";
        return program.DerivativeFromInput(step)
            ? $"{K}.BatchNorm.BackwardFromInput({x}, {dy}, {Weight(program, bn, "gamma", "p")}, {Weight(program, bn, "beta", "p")}, {rest});"
            : $"{K}.BatchNorm.Backward({x}, {y}, {dy}, {Weight(program, bn, "gamma", "p")}, {rest});";
    }

    /// <summary>"relu mask and " when a BN kernel's backward masks its gradient itself, else nothing.</summary>
    private static string Mask(KernelProgram program, Step step) =>
        step.Activation == ActivationKind.Linear ? ""
        : program.DerivativeFromInput(step) ? $"{Names.Activation(step.Activation)} mask (redone from {(step.Z ?? step.X)!.Name} with batch statistics, not read from {step.Y!.Name}) and "
        : Names.Activation(step.Activation) + " mask and ";

    /// <summary>" (k3's backward took the relu derivative at the pooled values)" when the max pooling reading <paramref name="g"/> did, else nothing.</summary>
    private static string DerivativeAtPool(KernelProgram program, KernelGroup g) =>
        program.Fusion.PoolTakingDerivativeOf(g) is { } pool ? $" ({pool.Label}'s backward took the {Names.Activation(g.Epilogue)} derivative at the pooled values)" : "";

    /// <summary>When a first convolution's weight gradients come from its pooling's gradients (see KernelProgram.PooledGradientsOf): batch statistics, a synchronized BN's only without ranks.</summary>
    private static string PooledGradients(LayerNode bn) =>
        bn.Spec is BatchNormalizationSpec { Synchronized: true } ? "_batchStatistics && BatchNormSynchronizer is null" : "_batchStatistics";

    /// <summary>The negation of <see cref="PooledGradients"/>.</summary>
    private static string NoPooledGradients(LayerNode bn) =>
        bn.Spec is BatchNormalizationSpec { Synchronized: true } ? "!_batchStatistics || BatchNormSynchronizer is not null" : "!_batchStatistics";

    /// <summary>What a synchronized BN's comment adds to the pooled-gradients condition.</summary>
    private static string OverNoRanks(LayerNode bn) => bn.Spec is BatchNormalizationSpec { Synchronized: true } ? " (outside a distributed Fit)" : "";
}
