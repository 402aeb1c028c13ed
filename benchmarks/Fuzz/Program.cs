using System;
using System.IO;
using Kiln;
using SharpFuzz;
using StbImageWriteSharp;

// afl++ feeds one input per run on stdin (SharpFuzz's out-of-process mode); the readers take
// paths, so each input goes through a file. A documented InvalidDataException is a normal
// answer; anything else escapes and afl++ records a crash, a time-out a hang.
// Usage: Fuzz <images|idx|weights|checkpoint> [--seeds DIR] (see fuzz.sh).
string target = args.Length > 0 ? args[0] : "images";
if (args.Length > 2 && args[1] == "--seeds")
{
    Seeds.Write(target, args[2]);
    return;
}
string path = Path.Combine(Path.GetTempPath(), $"kiln-fuzz-{target}-{Environment.ProcessId}.bin");
// Instrumented code must not run before SharpFuzz maps afl's coverage memory: the model comes
// into being in the first run.
TinyModel? model = null;
Adam? optimizer = null;
Fuzzer.OutOfProcess.Run(stream =>
{
    model ??= new TinyModel(batchSize: 4, seed: 1);
    optimizer ??= new Adam();
    using (var file = File.Create(path)) stream.CopyTo(file);
    try
    {
        switch (target)
        {
            case "images": ImageLoader.Load(path, 4, 5); break;
            case "idx": Idx.Read(path, 3); break;
            case "weights": model.LoadWeights(path); break;
            default: model.LoadCheckpoint(path, optimizer); break;
        }
    }
    catch (InvalidDataException)
    {
    }
});

[Sequential(4)]
[Dense(3, Activation.Softmax)]
[Loss(Loss.SparseCategoricalCrossentropy)]
public partial class TinyModel { }

/// <summary>The starting corpus: one small valid file per format.</summary>
internal static class Seeds
{
    public static void Write(string target, string directory)
    {
        Directory.CreateDirectory(directory);
        switch (target)
        {
            case "images":
            {
                var rgb = new byte[9 * 7 * 3];
                for (int i = 0; i < rgb.Length; i++) rgb[i] = (byte)(i * 37);
                var w = new ImageWriter();
                using (var f = File.Create(Path.Combine(directory, "a.png"))) w.WritePng(rgb, 9, 7, ColorComponents.RedGreenBlue, f);
                using (var f = File.Create(Path.Combine(directory, "b.jpg"))) w.WriteJpg(rgb, 9, 7, ColorComponents.RedGreenBlue, f, 90);
                using (var f = File.Create(Path.Combine(directory, "c.bmp"))) w.WriteBmp(rgb, 9, 7, ColorComponents.RedGreenBlue, f);
                File.WriteAllBytes(Path.Combine(directory, "d.ppm"), [.. "P6 3 2 255\n"u8, .. rgb.AsSpan(0, 18)]);
                break;
            }
            case "idx":
                File.WriteAllBytes(Path.Combine(directory, "a.idx"), [0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0, 2, 1, 2, 3, 4, 5, 6, 7, 8]);
                break;
            case "weights":
                new TinyModel(4, 1).SaveWeights(Path.Combine(directory, "w.safetensors"));
                break;
            default:
            {
                var m = new TinyModel(4, 1);
                var adam = new Adam();
                var x = new float[16];
                m.TrainOnBatch(x, [0, 1, 2, 0], 4, adam);
                m.SaveCheckpoint(Path.Combine(directory, "c.safetensors"), adam, 1);
                break;
            }
        }
    }
}
