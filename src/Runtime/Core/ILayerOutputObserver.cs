using System;

namespace Kiln;

/// <summary>
/// Receives the output of each layer during one inference forward pass
/// (<see cref="Model.Forward(ReadOnlySpan{float}, int, ILayerOutputObserver)"/>), as Keras'
/// <c>layer.output</c> of every layer: TensorBoard's activation histograms read it.
/// </summary>
public interface ILayerOutputObserver
{
    /// <summary>
    /// <paramref name="output"/> holds the output of <paramref name="layer"/> (a name in
    /// <see cref="Model.Layers"/>) for the pass's <c>n</c> samples, one after another, channels
    /// last. It is valid only during the call: a later kernel may reuse that memory.
    /// </summary>
    void OnLayerOutput(string layer, ReadOnlySpan<float> output);
}
