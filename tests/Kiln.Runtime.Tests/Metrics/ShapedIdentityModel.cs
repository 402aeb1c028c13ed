using System;
using Kiln;

namespace Kiln.Runtime.Tests.Metrics;

/// <summary>Outputs its inputs unchanged in any output shape (a segmentation map), or as several named outputs: the test picks what the metrics see.</summary>
internal sealed class ShapedIdentityModel : Model
{
    public ShapedIdentityModel(int[] shape, Loss loss, bool fromLogits = false, int batchSize = 4, OutputInfo[]? outputs = null)
        : base(new ModelDescription("ShapedIdentity", shape, shape, loss, fromLogits, 0, 0, Product(shape), 0, [], "", outputs: outputs), batchSize, 0) { }

    private static int Product(int[] shape)
    {
        int p = 1;
        foreach (int d in shape) p *= d;
        return p;
    }

    protected override void ForwardCore(ReadOnlySpan<float> input, int n, bool training) => input.CopyTo(OutputBuffer(n));

    protected override float LossCore(ReadOnlySpan<float> targets, int n, bool gradient) => 0f;

    protected override void BackwardCore(int n, Span<float> inputGradient, bool fromOutputGradient) { }

    protected override Span<float> OutputBuffer(int n) => ArenaSlice(0, n, Description.OutputSize);

    protected override Span<float> OutputGradientBuffer(int n) => ArenaSlice(0, n, Description.OutputSize);
}
