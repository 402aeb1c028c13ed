using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using Kiln;
using Kiln.Samples.FashionMnistCnn;

namespace Kiln.EndToEnd.Tests;

/// <summary>
/// TensorBoard's activation histograms (Keras 1's histogram_freq on layer outputs): the event files are
/// decoded field by field (tests/Shared/EventFiles.cs) and each layer's histogram is checked against a
/// naive histogram of that layer's output on the first validation batch, computed here from the weights.
/// </summary>
public sealed class ActivationHistogramTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "kiln-act-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_dir)) Directory.Delete(_dir, recursive: true);
    }

    private static Dataset Random(int count, int[] shape, int classes, int seed)
    {
        var rng = new Random(seed);
        int size = shape.Aggregate(1, (a, b) => a * b);
        var x = new float[count * size];
        for (int i = 0; i < x.Length; i++) x[i] = (float)(rng.NextDouble() * 2 - 1);
        var y = new float[count];
        for (int i = 0; i < y.Length; i++) y[i] = rng.Next(classes);
        return new Dataset(x, y, shape, 1);
    }

    private static List<(long Step, EventFiles.Value Value)> Activations(TensorBoard board) =>
        EventFiles.Values(EventFiles.Read(board.TrainFile ?? Assert.Single(Directory.GetFiles(Path.Combine(board.LogDir, "train")))))
            .Where(v => v.Value.Tag.EndsWith("/activations", StringComparison.Ordinal)).ToList();

    private static void Same(EventFiles.Histo expected, EventFiles.Histo actual)
    {
        Assert.Equal(expected.Num, actual.Num);
        Assert.Equal(actual.Num, actual.Buckets.Sum());
        Assert.Equal((expected.Min, expected.Max, expected.Sum, expected.SumSquares), (actual.Min, actual.Max, actual.Sum, actual.SumSquares));
        Assert.Equal(expected.Limits, actual.Limits);
        Assert.Equal(expected.Buckets, actual.Buckets);
    }

    [Fact]
    public void EachLayersOutputOnTheFirstValidationBatchMatchesANaiveForwardPass()
    {
        // Flatten (a view of the input) → Dense(5, relu) → Dense(3, softmax), batches of 4, 6 validation samples.
        var model = new TinySparseMlp(batchSize: 4, seed: 3);
        var train = Random(12, [3, 4], 3, 1);
        var validation = Random(6, [3, 4], 3, 2);
        var weights = new Dictionary<int, (float[] Kernel, float[] Bias)>();
        var board = new TensorBoard(Path.Combine(_dir, "mlp"), histogramFrequency: 2, writeGraph: false, activationHistograms: true);
        var copy = new LambdaCallback { OnEpochEnd = (e, _, _) => weights[e] = (model.Tensor("dense/kernel").ToArray(), model.Tensor("dense/bias").ToArray()) };
        model.Fit(train, 3, new Adam(1e-2f), validation: validation, verbose: 0, callbacks: [copy, board]);

        var written = Activations(board);
        // Epochs 0 and 2 (histogramFrequency 2), every layer in the model's order.
        Assert.Equal([(0L, "flatten"), (0, "dense"), (0, "dense_1"), (2, "flatten"), (2, "dense"), (2, "dense_1")],
            written.Select(w => (w.Step, w.Value.Tag[..^"/activations".Length])));

        float[] probe = validation.Features.AsSpan(0, 4 * 12).ToArray(); // the first validation batch
        foreach (var (step, value) in written.Where(w => w.Value.Tag == "flatten/activations"))
            Same(EventFiles.Reference(probe), value.Histogram!);
        foreach (int epoch in new[] { 0, 2 })
        {
            var (kernel, bias) = weights[epoch];
            var hidden = new float[4 * 5];
            for (int i = 0; i < 4; i++)
                for (int u = 0; u < 5; u++)
                {
                    double z = bias[u];
                    for (int j = 0; j < 12; j++) z += (double)probe[i * 12 + j] * kernel[j * 5 + u];
                    hidden[i * 5 + u] = (float)Math.Max(z, 0);
                }
            var actual = written.Single(w => w.Step == epoch && w.Value.Tag == "dense/activations").Value.Histogram!;
            var expected = EventFiles.Reference(hidden);
            Assert.Equal(expected.Limits, actual.Limits);
            Assert.Equal(expected.Buckets, actual.Buckets);
            Assert.Equal(20, actual.Num);
            Assert.Equal(expected.Min, actual.Min, 1e-5);
            Assert.Equal(expected.Max, actual.Max, 1e-5);
            Assert.Equal(expected.Sum, actual.Sum, 1e-4);
            Assert.Contains(0.0, hidden.Select(h => (double)h)); // the ReLU clipped some: the histogram is of its output
        }
        // The last epoch's output layer is what Predict gives on the probe with the final weights.
        Same(EventFiles.Reference(model.Predict(probe, 4)), written.Single(w => w.Step == 2 && w.Value.Tag == "dense_1/activations").Value.Histogram!);
    }

    [Fact]
    public void AConvNetReportsEachKernelsOutputAndItsViews()
    {
        var model = new FashionCnn(batchSize: 8, seed: 5);
        var board = new TensorBoard(Path.Combine(_dir, "cnn"), histogramFrequency: 1, writeGraph: false, activationHistograms: true);
        var validation = Random(10, [28, 28, 1], 10, 4);
        model.Fit(Random(16, [28, 28, 1], 10, 3), 1, new Adam(1e-3f), validation: validation, verbose: 0, callbacks: [board]);
        var written = Activations(board).ToDictionary(w => w.Value.Tag[..^"/activations".Length], w => w.Value.Histogram!);

        // conv2d and batch_normalization run inside k0 with re_lu, so k0's output is re_lu's.
        Assert.Equal(["re_lu", "max_pooling2d", "re_lu_1", "max_pooling2d_1", "flatten", "dense", "dropout", "dense_1"], written.Keys);
        Same(written["max_pooling2d_1"], written["flatten"]); // a view shows the same memory
        Same(written["dense"], written["dropout"]);           // dropout is a copy in inference
        Assert.Equal(8 * 28 * 28 * 32, written["re_lu"].Num);
        Assert.True(written["re_lu"].Min >= 0);
        Same(EventFiles.Reference(model.Predict(validation.Features.AsSpan(0, 8 * 784), 8)), written["dense_1"]);
    }

    [Fact]
    public void NamedLayersOnlyAndTrainingIsUnchanged()
    {
        var train = Random(12, [3, 4], 3, 1);
        var validation = Random(6, [3, 4], 3, 2);
        var plain = new TinySparseMlp(batchSize: 4, seed: 3);
        plain.Fit(train, 2, new Adam(1e-2f), validation: validation, verbose: 0);
        var watched = new TinySparseMlp(batchSize: 4, seed: 3);
        var board = new TensorBoard(Path.Combine(_dir, "named"), histogramFrequency: 1, writeGraph: false, activationLayers: ["dense"]);
        var history = watched.Fit(train, 2, new Adam(1e-2f), validation: validation, verbose: 0, callbacks: [board]);

        Assert.True(board.ActivationHistograms);
        Assert.Equal([(0L, "dense/activations"), (1L, "dense/activations")], Activations(board).Select(w => (w.Step, w.Value.Tag)));
        // The probe forward runs after validation, in inference mode: the weights are bitwise those of a run without it.
        Assert.Equal(plain.Parameters.Span.ToArray(), watched.Parameters.Span.ToArray());
        Assert.Equal(2, history.Epochs);
    }

    [Fact]
    public void ALayerFusedIntoAKernelOrMissingValidationIsRefusedWithTheFix()
    {
        var model = new FashionCnn(batchSize: 8, seed: 5);
        var data = Random(16, [28, 28, 1], 10, 3);
        var fused = Assert.Throws<ArgumentException>(() => model.Fit(data, 1, new Adam(1e-3f), validationSplit: 0.5, verbose: 0,
            callbacks: [new TensorBoard(Path.Combine(_dir, "fused"), histogramFrequency: 1, activationLayers: ["conv2d"])]));
        Assert.Contains("'conv2d' runs fused inside kernel k0 (conv2d + batch_normalization + re_lu)", fused.Message);
        Assert.Contains("ask for 're_lu'", fused.Message);

        var unknown = Assert.Throws<ArgumentException>(() => model.Fit(data, 1, new Adam(1e-3f), validationSplit: 0.5, verbose: 0,
            callbacks: [new TensorBoard(Path.Combine(_dir, "unknown"), histogramFrequency: 1, activationLayers: ["dense_9"])]));
        Assert.Contains("no layer named 'dense_9'", unknown.Message);

        var noValidation = Assert.Throws<InvalidOperationException>(() => model.Fit(data, 1, new Adam(1e-3f), verbose: 0,
            callbacks: [new TensorBoard(Path.Combine(_dir, "none"), histogramFrequency: 1, activationHistograms: true)]));
        Assert.Contains("first validation batch", noValidation.Message);

        Assert.Throws<ArgumentException>(() => new TensorBoard(_dir, activationHistograms: true)); // histogramFrequency 0
    }
}
