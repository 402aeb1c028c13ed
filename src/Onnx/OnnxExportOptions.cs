namespace Kiln;

/// <summary>How <see cref="OnnxExport.ExportOnnx"/> writes a model.</summary>
public sealed record OnnxExportOptions
{
    /// <summary>
    /// Fold each BatchNormalization into the Conv2D, Conv2DTranspose or Dense before it (when that
    /// layer has no activation and nothing else reads it), as Kiln itself does for inference: one
    /// node fewer per pair, the same outputs up to rounding. Off by default: the file then holds
    /// <c>BatchNormalization</c> nodes with the moving statistics, as Keras' own exporters write them.
    /// </summary>
    public bool FoldBatchNormalization { get; init; }

    /// <summary>The ONNX graph's name; the model class's name when null.</summary>
    public string? GraphName { get; init; }

    /// <summary>
    /// The most bytes of weights one file may carry: an ONNX file is one protobuf message, which cannot pass 2 GiB, and
    /// the nodes, names and shapes need a little of that. Lower only in tests, to reach the refusal with a small model.
    /// </summary>
    internal long MaxWeightBytes { get; init; } = int.MaxValue - (64L << 20);
}
