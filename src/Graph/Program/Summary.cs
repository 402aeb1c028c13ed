using System.Globalization;
using System.Linq;
using System.Text;

namespace Kiln.Graph;

/// <summary>The Keras-style summary table, plus the FLOPs and the kernel each layer runs in.</summary>
public static class Summary
{
    public static string Render(KernelProgram program)
    {
        var graph = program.Graph;
        // Columns widen to the longest entry, so long Keras names are never cut off.
        int nameWidth = System.Math.Max(29, graph.Layers.Max(l => l.Name.Length + l.TypeName.Length + 3) + 2);
        int shapeWidth = System.Math.Max(26, graph.Layers.Max(l => l.Output.ToKeras().Length) + 2);
        const int paramWidth = 11, flopsWidth = 15, kernelWidth = 8;
        // A graph gets Keras' functional-model column, "Connected to"; a chain reads top to bottom without it.
        bool graphModel = !graph.IsChain;
        int width = nameWidth + shapeWidth + paramWidth + flopsWidth + 8 + (graphModel ? kernelWidth + ConnectedWidth(graph) : 0);
        var rule = new string('_', width);
        var sb = new StringBuilder();
        sb.Append("Model: \"").Append(graph.Spec.ClassName).Append("\"\n");
        // A channels-first input is declared (and fed) as (C, H, W), while the rows below are channels last.
        if (graph.Spec.ChannelsFirst)
            sb.Append("Input: ").Append(graph.DeclaredInput.ToKeras()).Append(" channels first, transposed once to ").Append(graph.Input.ToKeras()).Append('\n');
        foreach (var input in graph.InputLayers)
            if (input.Spec is InputSpec { ChannelsFirst: true } cf)
                sb.Append("Input '").Append(input.Name).Append("': ").Append(new Shape(cf.Shape.ToArray()).ToKeras())
                  .Append(" channels first, transposed once to ").Append(input.Output.ToKeras()).Append('\n');
        sb.Append(rule).Append('\n');
        sb.Append(Row("Layer (type)", "Output Shape", "Param #", "FLOPs", "Kernel", graphModel ? "Connected to" : ""));
        sb.Append(new string('=', width)).Append('\n');
        for (int i = 0; i < graph.Layers.Count; i++)
        {
            var l = graph.Layers[i];
            sb.Append(Row($"{l.Name} ({l.TypeName})", l.Output.ToKeras(), l.ParameterCount.ToString(CultureInfo.InvariantCulture),
                l.Flops.ToString("N0", CultureInfo.InvariantCulture), program.Fusion.KernelOf(l), graphModel ? Connected(graph, l) : ""));
        }
        sb.Append(new string('=', width)).Append('\n');
        sb.Append("Total params: ").Append(graph.TotalParameters.ToString("N0", CultureInfo.InvariantCulture)).Append('\n');
        sb.Append("Trainable params: ").Append(graph.TrainableParameters.ToString("N0", CultureInfo.InvariantCulture)).Append('\n');
        sb.Append("Non-trainable params: ").Append((graph.TotalParameters - graph.TrainableParameters).ToString("N0", CultureInfo.InvariantCulture)).Append('\n');
        sb.Append("Forward FLOPs per sample: ").Append(graph.Flops.ToString("N0", CultureInfo.InvariantCulture)).Append('\n');
        sb.Append(rule).Append('\n');
        return sb.ToString();

        string Row(string name, string shape, string parameters, string flops, string kernel, string connected)
        {
            var row = " " + Pad(name, nameWidth) + Pad(shape, shapeWidth) + Pad(parameters, paramWidth) + Pad(flops, flopsWidth)
                + (connected.Length > 0 ? Pad(kernel, kernelWidth) + connected : kernel);
            return row.TrimEnd() + "\n";
        }

        static string Pad(string s, int w) => s.PadRight(w);
    }

    /// <summary>As Keras prints a functional model's inputs: <c>conv2d[0][0], re_lu[0][0]</c>.</summary>
    private static string Connected(ModelGraph graph, LayerNode l) => string.Join(", ", l.Sources.Select(s => (s?.Name ?? graph.DeclaredInputName) + "[0][0]"));

    private static int ConnectedWidth(ModelGraph graph) => System.Math.Max(12, graph.Layers.Max(l => Connected(graph, l).Length));

    /// <summary>One line per kernel: which layers it computes and how.</summary>
    public static string[] FusionLines(KernelProgram program)
    {
        var lines = program.Fusion.Groups.Where(g => g.Kind != KernelKind.View).Select(g => Describe(g, program)).ToList();
        var outputs = program.Graph.Outputs;
        for (int i = 0; i < outputs.Count; i++)
        {
            if (outputs[i].Loss is not { } spec) continue;
            string name = Names.Loss(spec.Kind) + (spec.LabelSmoothing != 0 ? $" (label smoothing {Names.Number(spec.LabelSmoothing)})" : "");
            string head = outputs.Count == 1 ? "loss" : $"loss of '{outputs[i].Layer.Name}' (weight {Names.Number(spec.Weight)})";
            lines.Add(program.Fusion.Losses[i] switch
            {
                LossFusion.SoftmaxCrossEntropy => $"{head}: softmax + {name} fused: the loss reads the logits and backward starts at (p - y) / n, skipping the softmax Jacobian",
                LossFusion.SigmoidBinaryCrossEntropy => $"{head}: sigmoid + {name} fused: the loss reads the logits and backward starts at (p - y) / (n * units), skipping the sigmoid derivative",
                LossFusion.FromLogits => $"{head}: {name} from logits (FromLogits = true)",
                LossFusion.OnOutput => $"{head}: {name} on the output",
                _ => throw new System.InvalidOperationException($"no description for loss fusion {program.Fusion.Losses[i]}"),
            });
        }
        return lines.ToArray();
    }

    private static string Describe(KernelGroup g, KernelProgram program)
    {
        var plan = program.Fusion;
        string op = g.Kind == KernelKind.Linear ? g.Operation : "";
        string bias = g.First.Weights.Any(w => w.Suffix == "bias") ? " + bias" : "";
        string act = g.Epilogue == ActivationKind.Linear ? "" : " and " + Names.Activation(g.Epilogue);
        string text = Kernel(g, op, bias, act, program.Graph.DeclaredInputName);
        if (g.Kind == KernelKind.Linear && g.Convolution == ConvolutionAlgorithm.Direct) text += "; backward: the implicit-GEMM gradients";
        if (plan.PoolsInStore.TryGetValue(g, out var pool)) text += $"; unobserved inference also does {pool.Label}'s 2x2 max pooling as it stores";
        if (plan.PooledBy(g) is { } conv) text += $"; done by {conv.Label}'s store in unobserved inference";
        bool fromPatches = program.StatisticsFromPatches(g);
        if (plan.NormalizesIntoPool.TryGetValue(g, out var normalized))
            text += fromPatches
                ? $"; unobserved training with batch statistics takes them from the input's patches and does {normalized.Label}'s max pooling, with its winners, in the convolution's store (BN folded into the kernel)"
                : $"; unobserved training with batch statistics does {normalized.Label}'s max pooling as it normalizes";
        if (program.PooledGradientsOf(g) is { } pooled)
            text += $"; with batch statistics and no input gradient asked, backward takes the kernel, gamma and beta gradients from {pooled.Group!.Label}'s gradients in one pass";
        if (plan.NormalizedInto(g) is { } bn) text += program.StatisticsFromPatches(bn) ? $"; done by {bn.Label}'s store in unobserved training" : $"; done by {bn.Label} as it normalizes in unobserved training";
        if (plan.DerivativesAtPool.TryGetValue(g, out var producer)) text += $"; backward takes {producer.Label}'s {Names.Activation(producer.Epilogue)} derivative at the pooled values";
        return text;
    }

    private static string Kernel(KernelGroup g, string op, string bias, string act, string input)
    {
        return g.Kind switch
        {
            KernelKind.Linear when g.ResidualAdd is not null =>
                $"{g.Label}: {g.LayerNames}: training: {op}{bias}, then batch statistics, normalization, the shortcut '{g.Residual?.Name ?? input}' added{act} in one pass; inference: BN folded into the weights, one {op}, then the shortcut added{act}",
            KernelKind.Linear when g.BatchNorm is not null =>
                $"{g.Label}: {g.LayerNames}: training: {op}{bias}, then batch statistics, normalization{act} in one pass; inference: BN folded into the weights, one {op}{act}",
            KernelKind.Linear when g.KeepsLogits =>
                $"{g.Label}: {g.LayerNames}: {op}{bias} into logits, then {(g.Epilogue == ActivationKind.Softmax ? "a row softmax" : "an elementwise " + Names.Activation(g.Epilogue))}",
            KernelKind.Linear => $"{g.Label}: {g.LayerNames}: {op}{bias}{act} in the tile epilogue",
            KernelKind.BatchNorm => $"{g.Label}: {g.LayerNames}: batch normalization{act} in one pass (moving statistics in inference)",
            KernelKind.Softmax => $"{g.Label}: {g.LayerNames}: row softmax",
            KernelKind.Dropout => $"{g.Label}: {g.LayerNames}: inverted dropout with a saved mask (a copy in inference)",
            KernelKind.Pool => $"{g.Label}: {g.LayerNames}: {g.First.TypeName}{(g.SavesArgmax ? " with saved argmax (training only)" : "")}",
            KernelKind.Resample => $"{g.Label}: {g.LayerNames}: {g.First.TypeName} (data movement)",
            KernelKind.Augment => $"{g.Label}: {g.LayerNames}: {g.First.Spec.Describe(g.First)}, random per sample in training, {(g.First.Spec is RandomCropSpec ? "a centre crop" : "a copy")} in inference",
            KernelKind.Preprocess => $"{g.Label}: {g.LayerNames}: {(g.First.Spec is RescalingSpec ? "x * scale + offset" : "(x - mean) / std with the stored statistics")}",
            KernelKind.Activation => $"{g.Label}: {g.LayerNames}: elementwise {Names.Activation(g.Epilogue)}",
            KernelKind.View => $"{g.LayerNames}: a view, no kernel",
            KernelKind.Input when g.First.Spec is InputSpec { ChannelsFirst: true } => $"{g.Label}: {g.LayerNames}: its channels-first columns of each packed input row, transposed out into channels last (and its gradient transposed back)",
            KernelKind.Input => $"{g.Label}: {g.LayerNames}: its columns of each packed input row, copied out (and its gradient copied back)",
            KernelKind.Merge => $"{g.Label}: {g.LayerNames}: {g.First.Describe()}{act}{(g.First.As<MergeSpec>().Operation == MergeKind.Maximum ? " with the winning input saved" : "")} in one pass; backward gives each input its gradient, added to what other readers gave it",
            _ => throw new System.InvalidOperationException($"no description for kernel kind {g.Kind}"),
        };
    }
}
