using System;
using System.IO;
using Kiln;

namespace Kiln.Samples;

/// <summary>
/// What a sample's training run leaves under <c>--out</c>, the same for every sample: the best
/// weights by validation accuracy (<c>best/</c>), a training checkpoint to <c>--resume</c> from
/// (<c>last.safetensors</c>), <c>training.csv</c>, TensorBoard logs (<c>logs/</c>: curves, weight histograms, the
/// graph and the first layer's kernels, as seed 002 asks for them) and the
/// learning curves (<c>curves.png</c>).
/// </summary>
internal sealed class TrainingRun
{
    private TrainingRun(string outDirectory, string? resumeFrom, ModelCheckpoint best, ICallback[] callbacks)
    {
        OutDirectory = outDirectory;
        ResumeFrom = resumeFrom;
        Best = best;
        Callbacks = callbacks;
    }

    public string OutDirectory { get; }

    /// <summary>The checkpoint to pass to Fit's <c>resumeFrom</c>, or null to start from epoch 1.</summary>
    public string? ResumeFrom { get; }

    /// <summary>Saves the weights each time val_accuracy improves; <see cref="ModelCheckpoint.LastSaved"/> is the best file.</summary>
    public ModelCheckpoint Best { get; }

    public ICallback[] Callbacks { get; }

    public string CsvPath => Path.Combine(OutDirectory, "training.csv");
    public string CurvesPath => Path.Combine(OutDirectory, "curves.png");

    public static TrainingRun Create(SampleOptions options)
    {
        string outDirectory = options.OutDirectory ?? throw new ArgumentException("This sample has no --out directory.", nameof(options));
        string last = Path.Combine(outDirectory, "last.safetensors");
        string? resumeFrom = options.Resume && File.Exists(last) ? last : null;
        if (options.Resume && resumeFrom is null) Console.WriteLine($"no checkpoint at {last}; starting from epoch 1");
        var best = new ModelCheckpoint(Path.Combine(outDirectory, "best", "model_{epoch:02d}-{val_accuracy:.4f}.safetensors"),
            monitor: "val_accuracy", saveBestOnly: true, saveWeightsOnly: true, verbose: 1);
        ICallback[] callbacks =
        [
            best,
            new ModelCheckpoint(last),                    // weights, optimizer, epoch and RNG: --resume goes on bitwise
            new CsvLogger(Path.Combine(outDirectory, "training.csv"), append: resumeFrom is not null),
            // As seed 002's TensorBoard(log_dir, histogram_freq=1, write_graph=True, write_images=True):
            // curves, weight histograms every epoch, the layer graph, the first layer's kernels as images.
            new TensorBoard(Path.Combine(outDirectory, "logs"), histogramFrequency: 1, writeGraph: true, writeImages: true), // tensorboard --logdir <out>/logs
        ];
        return new TrainingRun(outDirectory, resumeFrom, best, callbacks);
    }

    /// <summary>
    /// The seeds' <c>pd.DataFrame(history.history).plot(figsize=(8, 5)); plt.grid(True); plt.gca().set_ylim(0, 1)</c>,
    /// saved as curves.png; then the test score, which is the last epoch's model (as the seeds'), and where the files are.
    /// </summary>
    public void Finish(History history, string title, EvaluationResult test)
    {
        history.Plot(CurvesPath, title: title, yLimits: (0, 1));
        Console.WriteLine($"test loss: {test.Loss:F4} - test accuracy: {test.Metric:F4}" +
            (Best.LastSaved is null ? "" : $" (best weights: {Best.LastSaved})"));
        Console.WriteLine($"curves: {CurvesPath}, log: {CsvPath}");
    }
}
