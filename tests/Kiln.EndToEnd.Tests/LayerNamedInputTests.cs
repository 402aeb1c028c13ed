using System;
using System.Collections.Generic;
using System.Linq;
using Kiln;

namespace Kiln.EndToEnd.Tests;

/// <summary>A layer named "input" is not the [Sequential] model's declared input (FuzzFoundModels.cs, found by GraphFuzzTests).</summary>
public class LayerNamedInputTests
{
    private sealed class Reports : ILayerOutputObserver
    {
        public readonly Dictionary<string, float[]> Outputs = new();
        public void OnLayerOutput(string layer, ReadOnlySpan<float> output) => Outputs[layer] = output.ToArray();
    }

    [Fact]
    public void TheDeclaredInputGetsAFreeNameAndLayerOutputsAreTheirOwn()
    {
        var model = new LayerNamedInput(batchSize: 4, seed: 1);
        Assert.Equal("input_1", model.Description.Inputs[0].Name);
        Assert.Equal(new[] { "input_1" }, model.Description.Layers.Single(l => l.Name == "reshape").Inbound);
        Assert.Equal(new[] { "flatten", "flatten_1" }, model.Description.Layers.Single(l => l.Name == "input").Inbound);

        const int n = 3;
        var x = new float[n * model.InputSize];
        var random = new Random(5);
        for (int i = 0; i < x.Length; i++) x[i] = (float)(random.NextDouble() * 2 - 1);
        var reports = new Reports();
        model.Forward(x, n, reports);
        // A view of the declared input shows the input as given; the Concatenate named "input" shows its own 128 columns.
        Assert.Equal(x, reports.Outputs["reshape"]);
        Assert.Equal(n * 128, reports.Outputs["input"].Length);
        var predicted = new float[n * model.OutputSize];
        model.Predict(x, n, predicted);
        Assert.Equal(predicted, reports.Outputs["dense"]);
    }
}
