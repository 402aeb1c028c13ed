using System;
using Google.Protobuf;

namespace Kiln;

/// <summary>
/// Writes a Kiln model's inference graph with its current weights as an ONNX model (opset 17), for
/// ONNX Runtime and other ONNX consumers. Inputs and outputs keep the model's names, with a dynamic
/// batch dimension named <c>batch</c>; the graph computes what <see cref="Model.Predict(ReadOnlySpan{float}, int)"/>
/// does (probabilities after a softmax or sigmoid output, Dropout as identity, BatchNormalization on
/// its moving statistics). Images enter and leave channels last as Kiln holds them; inside, the
/// convolution sections run channels first (NCHW, as ONNX's Conv defines), with one Transpose at
/// each edge of such a section.
/// </summary>
public static class OnnxExport
{
    /// <summary>The ONNX operator set the exported graph imports.</summary>
    public const int Opset = 17;

    /// <summary>The ONNX IR version written (IR 8 is ONNX 1.12's, the release that introduced opset 17).</summary>
    public const int IrVersion = 8;

    /// <summary>
    /// Writes <paramref name="model"/>'s inference graph and weights to <paramref name="path"/> (a new
    /// file, or a complete replacement: the bytes go to a temporary file renamed over the target).
    /// </summary>
    /// <exception cref="NotSupportedException">A layer has no ONNX translation, or the weights pass what one ONNX file holds (2 GiB); the message names the layer or the largest tensor.</exception>
    public static void ExportOnnx(this Model model, string path, OnnxExportOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentException.ThrowIfNullOrEmpty(path);
        var proto = OnnxGraphBuilder.Build(model, options ?? new OnnxExportOptions());
        AtomicFile.Write(path, stream => proto.WriteTo(stream));
    }

    /// <summary>The ONNX model <see cref="ExportOnnx"/> writes, as bytes (for an in-memory ONNX Runtime session).</summary>
    /// <exception cref="NotSupportedException">A layer has no ONNX translation, or the weights pass what one ONNX file holds (2 GiB); the message names the layer or the largest tensor.</exception>
    public static byte[] ToOnnx(this Model model, OnnxExportOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        return OnnxGraphBuilder.Build(model, options ?? new OnnxExportOptions()).ToByteArray();
    }
}
