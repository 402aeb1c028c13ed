using System;

namespace Kiln.Onnx.Tests;

/// <summary>A model whose description lists one layer of a kind the exporter does not know, as a later Kiln layer would be.</summary>
internal sealed class HandDescribedModel : Model
{
    public HandDescribedModel(string layerName, string kind)
        : base(new ModelDescription(nameof(HandDescribedModel), new[] { 4 }, new[] { 4 }, null, false, 0, 0, 8, 0, [], "",
            layers: [new LayerInfo(layerName, kind, new[] { 4 }, 0, new[] { "input" })]), batchSize: 1, seed: 0)
    {
    }

    protected override void ForwardCore(ReadOnlySpan<float> input, int n, bool training) => throw new NotSupportedException();

    protected override float LossCore(ReadOnlySpan<float> targets, int n, bool gradient) => throw new NotSupportedException();

    protected override void BackwardCore(int n, Span<float> inputGradient, bool fromOutputGradient) => throw new NotSupportedException();

    protected override Span<float> OutputBuffer(int n) => throw new NotSupportedException();

    protected override Span<float> OutputGradientBuffer(int n) => throw new NotSupportedException();
}
