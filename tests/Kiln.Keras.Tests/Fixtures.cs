using System;
using System.IO;
using System.Linq;
using System.Text.Json;
using Kiln;

namespace Kiln.Keras.Tests;

/// <summary>The committed fixture files, and what the tests compare.</summary>
internal static class Fixtures
{
    public static string Path(string name) => System.IO.Path.Combine(AppContext.BaseDirectory, "Fixtures", name);

    /// <summary>The fixed inputs and numpy's outputs for them, from &lt;model&gt;.expected.json.</summary>
    public static (float[] Inputs, float[] Outputs, int Count) Expected(string model)
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Path(model + ".expected.json")));
        float[][] Rows(string key) => doc.RootElement.GetProperty(key).EnumerateArray()
            .Select(r => r.EnumerateArray().Select(v => (float)v.GetDouble()).ToArray()).ToArray();
        var inputs = Rows("inputs");
        return (inputs.SelectMany(r => r).ToArray(), Rows("outputs").SelectMany(r => r).ToArray(), inputs.Length);
    }

    /// <summary>Every weight of the model, trainable and state, to show that a failed load changed nothing.</summary>
    public static float[] Weights(Model model) => [.. model.Parameters.Span, .. model.State.Span];

    /// <summary>A copy of a fixture under a test's own name, for the tests that damage it.</summary>
    public static string Copy(string name, string as_)
    {
        string dir = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "kiln-keras-tests");
        Directory.CreateDirectory(dir);
        string path = System.IO.Path.Combine(dir, as_);
        File.Copy(Path(name), path, overwrite: true);
        return path;
    }
}
