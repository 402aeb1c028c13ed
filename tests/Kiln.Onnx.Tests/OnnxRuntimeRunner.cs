using System;
using System.Collections.Generic;
using System.Linq;
using Microsoft.ML.OnnxRuntime;

namespace Kiln.Onnx.Tests;

/// <summary>Runs an exported model in ONNX Runtime on Kiln-packed samples and packs its outputs as Kiln's Predict does.</summary>
internal static class OnnxRuntimeRunner
{
    public static float[] Run(byte[] onnx, ModelDescription description, float[] packedInputs, int count)
    {
        using var options = new SessionOptions();
        using var session = new InferenceSession(onnx, options);
        return Run(session, description, packedInputs, count);
    }

    public static float[] Run(InferenceSession session, ModelDescription description, float[] packedInputs, int count)
    {
        // Kiln packs each sample's inputs side by side; ONNX takes one tensor per input.
        var values = new List<OrtValue>();
        try
        {
            int offset = 0;
            foreach (var input in description.Inputs)
            {
                var data = new float[count * input.Size];
                for (int s = 0; s < count; s++)
                    Array.Copy(packedInputs, s * description.InputSize + offset, data, s * input.Size, input.Size);
                offset += input.Size;
                values.Add(OrtValue.CreateTensorValueFromMemory(data, new long[] { count }.Concat(input.Shape.Select(d => (long)d)).ToArray()));
            }
            using var runOptions = new RunOptions();
            var outputNames = description.Outputs.Select(o => o.Name).ToArray();
            using var results = session.Run(runOptions, description.Inputs.Select(i => i.Name).ToArray(), values, outputNames);
            var packed = new float[count * description.OutputSize];
            int column = 0;
            int k = 0;
            foreach (var result in results)
            {
                var output = description.Outputs[k++];
                var span = result.GetTensorDataAsSpan<float>();
                Assert.Equal(count * output.Size, span.Length);
                for (int s = 0; s < count; s++)
                    span.Slice(s * output.Size, output.Size).CopyTo(packed.AsSpan(s * description.OutputSize + column, output.Size));
                column += output.Size;
            }
            return packed;
        }
        finally
        {
            foreach (var v in values) v.Dispose();
        }
    }
}
