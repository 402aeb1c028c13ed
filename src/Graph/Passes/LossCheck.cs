using System.Collections.Generic;
using System.Linq;

namespace Kiln.Graph;

/// <summary>Checks that the loss fits the model's output, the way a Keras reviewer would.</summary>
public static class LossCheck
{
    public static void Run(ModelGraph graph, List<GraphDiagnostic> diagnostics)
    {
        foreach (var output in graph.Outputs)
            if (output.Loss is { } loss) Check(loss, output.Layer, diagnostics);
    }

    private static void Check(LossSpec loss, LayerNode last, List<GraphDiagnostic> diagnostics)
    {
        var output = last.Output;
        string lossName = $"[Loss({loss.Kind})]";
        // Keras 3 label_smoothing (keras/src/losses/losses.py): the cross-entropies take it, in [0, 1]; MSE has none.
        if (!(loss.LabelSmoothing >= 0 && loss.LabelSmoothing <= 1))
            diagnostics.Add(GraphDiagnostic.Create(Descriptors.LabelSmoothingRange, loss.LabelSmoothingLocation ?? loss.Location, lossName,
                loss.LabelSmoothing.ToString("R", System.Globalization.CultureInfo.InvariantCulture))); // "R": 1.0001 must not read as 1
        else if (loss.LabelSmoothing != 0 && loss.Kind == LossKind.MeanSquaredError)
            diagnostics.Add(GraphDiagnostic.Create(Descriptors.LabelSmoothingOnRegression, loss.LabelSmoothingLocation ?? loss.Location, lossName, Names.Number(loss.LabelSmoothing)));
        // A trailing Dropout (KILN0113) carries no activation: judge and name the layer before it.
        var carrier = last;
        while (carrier.Spec is DropoutSpec && carrier.Sources.Count == 1 && carrier.Sources[0] is { } before) carrier = before;
        var activation = OutputActivation(carrier);

        if (output.Rank != 1 && loss.Kind != LossKind.MeanSquaredError)
        {
            diagnostics.Add(GraphDiagnostic.Create(Descriptors.LossNeedsFlatOutput, loss.Location, lossName, output));
            return;
        }
        string lastName = $"'{carrier.Name}'";
        switch (loss.Kind)
        {
            case LossKind.SparseCategoricalCrossentropy:
            case LossKind.CategoricalCrossentropy:
                if (output.Last < 2)
                    diagnostics.Add(GraphDiagnostic.Create(Descriptors.LossOutputMismatch, loss.Location, lossName,
                        $"needs one score per class, but the output has {output.Last} unit; for two classes use [Dense(1, Activation.Sigmoid)] with BinaryCrossentropy, or give the output one unit per class"));
                else if (activation == ActivationKind.Sigmoid)
                    diagnostics.Add(GraphDiagnostic.Create(Descriptors.LossOutputMismatch, loss.Location, lossName,
                        $"needs scores that compete across classes, but {lastName} applies sigmoid to each unit; use Activation.Softmax (or FromLogits = true with a linear output)"));
                else
                    CheckLogits(loss, lossName, last, carrier, activation, ActivationKind.Softmax, diagnostics);
                break;

            case LossKind.BinaryCrossentropy:
                if (activation == ActivationKind.Softmax)
                    diagnostics.Add(GraphDiagnostic.Create(Descriptors.LossOutputMismatch, loss.Location, lossName,
                        output.Last == 1
                            ? $"needs a probability per unit, but {lastName} applies softmax to a single unit, which is always 1; use Activation.Sigmoid"
                            : $"treats each of the {output.Last} units as an independent yes/no, but {lastName} applies softmax across them; for one class out of {output.Last} use SparseCategoricalCrossentropy, for independent labels use Activation.Sigmoid"));
                else
                    CheckLogits(loss, lossName, last, carrier, activation, ActivationKind.Sigmoid, diagnostics);
                break;
        }
    }

    /// <summary>
    /// What the output is, for the loss: the last layer's activation, and for an Average of heads
    /// that all end in the same softmax or sigmoid, that activation (a mean of distributions is one).
    /// </summary>
    private static ActivationKind OutputActivation(LayerNode layer)
    {
        if (layer.Spec is not MergeSpec { Operation: MergeKind.Average } || layer.Sources.Any(s => s is null)) return layer.Activation;
        var heads = layer.Sources.Select(s => OutputActivation(s!)).Distinct().ToList();
        return heads.Count == 1 && heads[0] is ActivationKind.Softmax or ActivationKind.Sigmoid ? heads[0] : layer.Activation;
    }

    private static void CheckLogits(LossSpec loss, string lossName, LayerNode last, LayerNode carrier, ActivationKind activation,
        ActivationKind expected, List<GraphDiagnostic> diagnostics)
    {
        string expectedName = expected == ActivationKind.Softmax ? "Softmax" : "Sigmoid";
        if (loss.FromLogits && activation == expected)
            diagnostics.Add(GraphDiagnostic.Create(Descriptors.ProbabilitiesWithFromLogits, loss.Location, lossName, $"'{carrier.Name}'", Names.Activation(activation)));
        // Probabilities under a trailing Dropout are still probabilities at inference: no KILN0204, KILN0113 says to remove the Dropout.
        else if (!loss.FromLogits && activation != expected)
            diagnostics.Add(GraphDiagnostic.Create(Descriptors.LogitsWithoutFromLogits, loss.Location, lossName, $"'{last.Name}'", expectedName,
                Fix(last, carrier, expectedName)));
    }

    /// <summary>
    /// Where the activation can go: the layer's own <c>Activation</c> when it has one (Dense, Conv2D),
    /// after removing a trailing Dropout; else an activation layer at the end.
    /// </summary>
    private static string Fix(LayerNode last, LayerNode carrier, string expected)
    {
        bool carries = carrier.Spec is DenseSpec or ConvolutionSpec;
        if (carries && carrier == last) return $"give '{carrier.Name}' Activation.{expected}";
        if (carries) return $"remove the Dropout '{last.Name}' and give '{carrier.Name}' Activation.{expected}";
        if (carrier != last) return $"remove the Dropout '{last.Name}' and end the model with [{expected}]";
        return $"end the model with [{expected}] after '{last.Name}'";
    }
}
