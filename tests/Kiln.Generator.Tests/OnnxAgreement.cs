using System;
using Kiln.Onnx.Tests;

namespace Kiln.Generator.Tests;

/// <summary>The fuzzers' ONNX oracle: a model exported to ONNX computes in ONNX Runtime what Predict computes.</summary>
internal static class OnnxAgreement
{
    /// <summary>
    /// Exported as it is and with BatchNormalization folded, as a .NET user deploying with ONNX Runtime would, the model gives
    /// Predict's outputs for <paramref name="x"/>. Kiln's Winograd and ONNX Runtime's convolutions round differently, hence 1e-4.
    /// </summary>
    public static void AssertSameAsPredict(Kiln.Model model, float[] x, int n, string className, string text)
    {
        var expected = new float[n * model.OutputSize];
        model.Predict(x, n, expected);
        foreach (bool fold in new[] { false, true })
        {
            byte[] onnx = model.ToOnnx(new OnnxExportOptions { FoldBatchNormalization = fold });
            float[] actual;
            try
            {
                actual = OnnxRuntimeRunner.Run(onnx, model.Description, x, n);
            }
            catch (Microsoft.ML.OnnxRuntime.OnnxRuntimeException e)
            {
                throw new Xunit.Sdk.XunitException($"{className}{(fold ? " with BatchNormalization folded" : "")}: ONNX Runtime refused the export: {e.Message}\n{text}");
            }
            for (int i = 0; i < expected.Length; i++)
            {
                double tolerance = 1e-4 * Math.Max(1, Math.Abs(expected[i]));
                Assert.True(Math.Abs(expected[i] - actual[i]) <= tolerance,
                    $"{className}{(fold ? " with BatchNormalization folded" : "")}: output {i} is {actual[i]} in ONNX Runtime, {expected[i]} in Kiln\n{text}");
            }
        }
    }
}
