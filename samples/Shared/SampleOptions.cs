using System;
using System.Globalization;

namespace Kiln.Samples;

/// <summary>The command-line options the samples share: where the data is, how long to train, the seed.</summary>
internal sealed class SampleOptions
{
    public string? DataDirectory { get; private set; }
    public int Epochs { get; private set; }
    public int Seed { get; private set; } = 42;
    public int BatchSize { get; private set; }

    /// <summary>Parses <c>--data DIR --epochs N --seed S --batch B</c>; null (after printing usage) on a bad argument.</summary>
    public static SampleOptions? Parse(string[] args, string program, int epochs, int batchSize)
    {
        var options = new SampleOptions { Epochs = epochs, BatchSize = batchSize };
        for (int i = 0; i < args.Length; i++)
        {
            bool hasValue = i + 1 < args.Length;
            switch (args[i])
            {
                case "--data" when hasValue: options.DataDirectory = args[++i]; break;
                case "--epochs" when hasValue && int.TryParse(args[i + 1], NumberStyles.None, CultureInfo.InvariantCulture, out int e) && e > 0: options.Epochs = e; i++; break;
                case "--seed" when hasValue && int.TryParse(args[i + 1], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out int s): options.Seed = s; i++; break;
                case "--batch" when hasValue && int.TryParse(args[i + 1], NumberStyles.None, CultureInfo.InvariantCulture, out int b) && b > 0: options.BatchSize = b; i++; break;
                default:
                    Console.Error.WriteLine($"{program}: bad argument '{args[i]}'.");
                    Console.Error.WriteLine($"usage: {program} [--data DIR] [--epochs N] [--seed S] [--batch B]");
                    return null;
            }
        }
        return options;
    }
}
