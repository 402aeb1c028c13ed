using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text;
using System.Text.Json.Nodes;
using Kiln.Runtime.Tests.Checkpoints;
using Kiln.Runtime.Tests.Data;
using Kiln.Runtime.Tests.Hostile;
using Kiln.Runtime.Tests.Training;
using StbImageWriteSharp;
using Xunit.Abstractions;

namespace Kiln.Runtime.Tests.Fuzz;

/// <summary>
/// Issue 16's fuzz suite, bounded for CI: seeded mutations of valid files for every reader
/// (IDX raw and gzip, CIFAR, PNG/JPEG/BMP/PPM/PGM images, safetensors weights, training
/// checkpoints, and checkpoints whose edited header is re-signed so the checks behind the CRC are
/// reached). Each input must load or fail with an <see cref="InvalidDataException"/> naming the
/// file, within 5 s, within an allocation budget, and a failed load must leave the model and
/// optimizer bitwise as they were. <c>KILN_FUZZ_SCALE</c> multiplies the input counts (default 1,
/// about a minute on two cores; the seeds are fixed, so a run repeats).
/// <code>dotnet test tests/Kiln.Runtime.Tests -c Release --filter FullyQualifiedName~Fuzz --logger "console;verbosity=detailed"</code>
/// </summary>
public sealed class FuzzTests(ITestOutputHelper output) : IDisposable
{
    private readonly TempDirectory _dir = new();

    private static int Count(int n) =>
        (int)Math.Max(1, n * (double.TryParse(Environment.GetEnvironmentVariable("KILN_FUZZ_SCALE"), CultureInfo.InvariantCulture, out double s) ? s : 1));

    public void Dispose() => _dir.Dispose();

    private void Fuzz(string name, IReadOnlyList<byte[]> seeds, int inputs, int headerBytes, int seed,
        Action<string> load, Func<byte[], long> budget, Func<Action?>? state = null, Func<Mutator, byte[], byte[]>? mutate = null)
    {
        var run = new FuzzRun(name, _dir.File(name + ".bin"));
        var mutator = new Mutator(seed);
        for (int i = 0; i < inputs; i++)
        {
            var parent = seeds[i % seeds.Count];
            // Every input the seed itself once, then mutants of mutants now and then, as AFL stacks havoc.
            byte[] input = i < seeds.Count ? parent : mutate?.Invoke(mutator, parent) ?? mutator.Mutate(parent, headerBytes, seeds);
            if (mutator.Next(4) == 0) input = mutator.Mutate(input, headerBytes, seeds);
            if (!run.Run(input, i, load, budget(input), state?.Invoke())) break;
        }
        output.WriteLine(run.ToString());
        foreach (string p in run.Problems) output.WriteLine("  " + p);
        Assert.True(run.Unexpected == 0 && run.Hangs == 0, run + Environment.NewLine + string.Join(Environment.NewLine, run.Problems));
        Assert.True(run.Documented > 0, $"{name}: no input was refused; the mutations do not reach the checks");
    }

    [Fact]
    public void Idx()
    {
        var data = Enumerable.Range(0, 6 * 5 * 4).Select(i => (byte)(i * 13)).ToArray();
        byte[] raw = IdxTests.IdxBytes([6, 5, 4], data);
        Fuzz("idx", [raw, IdxTests.Gzip(raw), IdxTests.IdxBytes([3], [1, 2, 3])], Count(4000), 20, 1,
            path => Kiln.Idx.Read(path, 3), input => (4 << 20) + 2100L * input.Length);
    }

    [Fact]
    public void Cifar()
    {
        var record = new byte[1 + Cifar10.ImageBytes];
        var seeds = new List<byte[]>();
        for (int k = 0; k < 2; k++)
        {
            var file = new byte[(k + 1) * record.Length];
            for (int i = 0; i < file.Length; i++) file[i] = (byte)(i % record.Length == 0 ? i / record.Length % 10 : i * 7);
            seeds.Add(file);
        }
        Fuzz("cifar", seeds, Count(600), 8, 2, path => Cifar10.ReadBatch(path), input => (1 << 20) + 16L * input.Length);
    }

    [Fact]
    public void Images()
    {
        var seeds = new List<byte[]>();
        byte[] Encode(Action<ImageWriter, Stream> write)
        {
            using var s = new MemoryStream();
            write(new ImageWriter(), s);
            return s.ToArray();
        }
        var rgb = TestImages.Rgb(9, 7, (x, y) => ((byte)(x * 28), (byte)(y * 36), (byte)(x * y * 4)));
        var grey = TestImages.Rgb(5, 4, (x, y) => ((byte)(x * 50), 0, 0)).Where((_, i) => i % 3 == 0).ToArray();
        seeds.Add(Encode((w, s) => w.WritePng(rgb, 9, 7, ColorComponents.RedGreenBlue, s)));
        seeds.Add(Encode((w, s) => w.WritePng(grey, 5, 4, ColorComponents.Grey, s)));
        seeds.Add(Encode((w, s) => w.WriteJpg(rgb, 9, 7, ColorComponents.RedGreenBlue, s, 90)));
        seeds.Add(Encode((w, s) => w.WriteJpg(grey, 5, 4, ColorComponents.Grey, s, 50)));
        seeds.Add(Encode((w, s) => w.WriteBmp(rgb, 9, 7, ColorComponents.RedGreenBlue, s)));
        seeds.Add([.. "P6\n# fuzz\n3 2\n255\n"u8, .. rgb.AsSpan(0, 18)]);
        seeds.Add([.. "P5 3 2 65535\n"u8, .. rgb.AsSpan(0, 12)]);
        seeds.Add(HostileFiles.LoopingJpeg);
        var modes = new[] { ColorMode.Rgb, ColorMode.Grayscale, ColorMode.Rgba };
        int n = 0;
        Fuzz("images", seeds, Count(12000), 64, 3,
            path => ImageLoader.Load(path, 4, 5, modes[n++ % 3], n % 2 == 0 ? Interpolation.Nearest : Interpolation.Bilinear),
            input => (16 << 20) + 8192L * input.Length);
    }

    [Fact]
    public void Weights()
    {
        var model = Trained(out _, out _);
        model.SaveWeights(_dir.File("seed.safetensors"));
        byte[] seed = File.ReadAllBytes(_dir.File("seed.safetensors"));
        var target = new NoisyModel(4, 3, 8, 9);
        Fuzz("weights", [seed, CheckpointSurgery.Foreign()], Count(3000), 700, 4,
            path => target.LoadWeights(path), input => (1 << 20) + 16L * input.Length,
            () =>
            {
                var p = target.Parameters.Span.ToArray();
                var s = target.State.Span.ToArray();
                return () =>
                {
                    Assert.Equal(p, target.Parameters.Span.ToArray());
                    Assert.Equal(s, target.State.Span.ToArray());
                };
            });
    }

    [Fact]
    public void Checkpoints()
    {
        byte[] seed = Checkpoint();
        var (model, adam) = Target();
        Fuzz("checkpoints", [seed], Count(4000), 1200, 5,
            path => model.LoadCheckpoint(path, adam), input => (1 << 20) + 16L * input.Length, Unchanged(model, adam));
    }

    /// <summary>Header edits with a fresh CRC: what a buggy writer or a careful attacker produces, past the integrity check.</summary>
    [Fact]
    public void ResignedCheckpoints()
    {
        byte[] seed = Checkpoint();
        var (model, adam) = Target();
        Fuzz("resigned-checkpoints", [seed], Count(4000), 0, 6,
            path => model.LoadCheckpoint(path, adam), input => (1 << 20) + 16L * input.Length, Unchanged(model, adam),
            (mutator, parent) =>
            {
                var (header, data) = Split(parent);
                if (mutator.Next(2) == 0) return CheckpointSurgery.Save(EditJson(mutator, header), data);
                byte[] edited = mutator.Mutate(header, header.Length, [header]);
                try
                {
                    var json = JsonNode.Parse(Encoding.UTF8.GetString(edited))!.AsObject();
                    return CheckpointSurgery.Save(json, data);
                }
                catch (Exception)
                {
                    return Join(edited, data); // not JSON any more, or not a shape the re-signer reads
                }
            });
    }

    private static readonly string[] Values = ["", "0", "1", "-1", "00", "2", "3", "1e309", "NaN", "Infinity", "-0", "2147483647", "2147483648",
        "9007199254740993", "9223372036854775807", "ffffffffffffffff,0,0,0", "0,0,0,0", "{}", "{\"loss\": [1, 2, 3]}", "Sgd", "training-checkpoint", "weights"];

    /// <summary>One edit that keeps the header JSON: a metadata value, a tensor's name, a shape or an offset.</summary>
    private static JsonObject EditJson(Mutator mutator, byte[] header)
    {
        var json = JsonNode.Parse(Encoding.UTF8.GetString(header))!.AsObject();
        var meta = CheckpointSurgery.Metadata(json);
        var keys = meta.Select(p => p.Key).Where(k => k != SafeTensors.CrcKey).ToArray();
        var tensors = json.Select(p => p.Key).Where(k => k != "__metadata__").ToArray();
        switch (mutator.Next(5))
        {
            case 0:
                meta[keys[mutator.Next(keys.Length)]] = Values[mutator.Next(Values.Length)];
                break;
            case 1:
                meta.Remove(keys[mutator.Next(keys.Length)]);
                break;
            case 2:
            {
                string from = tensors[mutator.Next(tensors.Length)], to = tensors[mutator.Next(tensors.Length)];
                var a = json[from]!.DeepClone();
                json[from] = json[to]!.DeepClone();
                json[to] = a;
                break;
            }
            case 3:
            {
                string name = tensors[mutator.Next(tensors.Length)];
                var entry = json[name]!.DeepClone();
                json.Remove(name);
                string[] renames = [name + "0", name.Replace(".0", ".00"), name.Replace("dense", "Dense"), "optimizer.state.2", "optimizer.state.-1", name.ToUpperInvariant()];
                json[renames[mutator.Next(renames.Length)]] = entry;
                break;
            }
            default:
            {
                var entry = json[tensors[mutator.Next(tensors.Length)]]!.AsObject();
                var array = entry[mutator.Next(2) == 0 ? "shape" : "data_offsets"]!.AsArray();
                long[] numbers = [0, 1, 3, 4, 12, 48, -1, 1L << 31, 1L << 40, long.MaxValue];
                if (array.Count > 0) array[mutator.Next(array.Count)] = numbers[mutator.Next(numbers.Length)];
                else array.Add(numbers[mutator.Next(numbers.Length)]);
                break;
            }
        }
        return json;
    }

    private static Func<Action?> Unchanged(NoisyModel model, Adam adam) => () =>
    {
        var before = CheckpointSurgery.Snapshot.Of(model, adam);
        return () => before.AssertUnchanged(model, adam);
    };

    private static NoisyModel Trained(out Adam adam, out History history)
    {
        var model = new NoisyModel(4, 3, 8, 1);
        adam = new Adam(0.01f);
        history = model.Fit(FitTests.Blobs(32, 3), 2, adam, verbose: 0);
        return model;
    }

    private byte[] Checkpoint()
    {
        var model = Trained(out var adam, out var history);
        model.SaveCheckpoint(_dir.File("seed.safetensors"), adam, 2, history);
        return File.ReadAllBytes(_dir.File("seed.safetensors"));
    }

    private static (NoisyModel, Adam) Target()
    {
        var model = new NoisyModel(4, 3, 8, 5);
        var adam = new Adam(0.02f);
        model.Fit(FitTests.Blobs(16, 4), 1, adam, verbose: 0);
        return (model, adam);
    }

    private static (byte[] Header, byte[] Data) Split(byte[] file)
    {
        int n = (int)BitConverter.ToInt64(file);
        return (file[8..(8 + n)], file[(8 + n)..]);
    }

    private static byte[] Join(byte[] header, byte[] data) => [.. BitConverter.GetBytes((long)header.Length), .. header, .. data];
}
