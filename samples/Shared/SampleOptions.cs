using System;
using System.Globalization;

namespace Kiln.Samples;

/// <summary>The command-line options the samples share: where the data is, how long to train, the seed, where a run's files go.</summary>
internal sealed class SampleOptions
{
    public string? DataDirectory { get; private set; }
    public int Epochs { get; private set; }
    public int Seed { get; private set; } = 42;
    public int BatchSize { get; private set; }

    /// <summary>Where checkpoints, logs and curves go (<c>--out</c>); null for a sample that writes none.</summary>
    public string? OutDirectory { get; private set; }

    /// <summary><c>--resume</c>: go on from the last checkpoint under <see cref="OutDirectory"/>.</summary>
    public bool Resume { get; private set; }

    /// <summary><c>--export-onnx PATH</c>: where to write the trained model as ONNX; null for none (or a sample that cannot).</summary>
    public string? OnnxPath { get; private set; }

    /// <summary><c>--distributed</c>: train data-parallel on the ranks mpirun started (Kiln.Distributed), where the sample supports it.</summary>
    public bool Distributed { get; private set; }

    /// <summary><c>--threads N</c>: the kernels' threads, which Parse sets (KilnSettings.Threads); 0 leaves the default.</summary>
    public int Threads { get; private set; }

    /// <summary>
    /// Parses <c>--data DIR --epochs N --seed S --batch B</c>, and <c>--out DIR --resume</c> when
    /// the sample writes a run (<paramref name="outDirectory"/>, the default, is given); null
    /// (after printing usage) on a bad argument. <paramref name="exportsOnnx"/>: the sample takes
    /// <c>--export-onnx PATH</c> (it references Kiln.Onnx).
    /// </summary>
    /// <param name="distributed">Whether the sample takes <c>--distributed</c>.</param>
    public static SampleOptions? Parse(string[] args, string program, int epochs, int batchSize, string? outDirectory = null, bool exportsOnnx = false, bool distributed = false)
    {
        var options = new SampleOptions { Epochs = epochs, BatchSize = batchSize, OutDirectory = outDirectory };
        bool writesRun = outDirectory is not null;
        for (int i = 0; i < args.Length; i++)
        {
            bool hasValue = i + 1 < args.Length;
            switch (args[i])
            {
                case "--data" when hasValue: options.DataDirectory = args[++i]; break;
                case "--epochs" when hasValue && int.TryParse(args[i + 1], NumberStyles.None, CultureInfo.InvariantCulture, out int e) && e > 0: options.Epochs = e; i++; break;
                case "--seed" when hasValue && int.TryParse(args[i + 1], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out int s): options.Seed = s; i++; break;
                case "--batch" when hasValue && int.TryParse(args[i + 1], NumberStyles.None, CultureInfo.InvariantCulture, out int b) && b > 0: options.BatchSize = b; i++; break;
                case "--out" when writesRun && hasValue: options.OutDirectory = args[++i]; break;
                case "--resume" when writesRun: options.Resume = true; break;
                case "--export-onnx" when exportsOnnx && hasValue: options.OnnxPath = args[++i]; break;
                case "--distributed" when distributed: options.Distributed = true; break;
                case "--threads" when hasValue && int.TryParse(args[i + 1], NumberStyles.None, CultureInfo.InvariantCulture, out int t) && t > 0: options.Threads = t; i++; break;
                default:
                    Console.Error.WriteLine($"{program}: bad argument '{args[i]}'.");
                    Console.Error.WriteLine($"usage: {program} [--data DIR] [--epochs N] [--seed S] [--batch B] [--threads N]{(writesRun ? " [--out DIR] [--resume]" : "")}{(exportsOnnx ? " [--export-onnx PATH]" : "")}{(distributed ? " [--distributed]" : "")}");
                    return null;
            }
        }
        if (options.Threads > 0) KilnSettings.Threads = options.Threads;
        return options;
    }
}
