using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using Kiln;
using Kiln.Samples.FashionMnist;
using Kiln.Samples.FashionMnistCnn;
using Kiln.Tests;
using StbImageSharp;

namespace Kiln.EndToEnd.Tests;

/// <summary>
/// TensorBoard as seed 002 uses it (<c>histogram_freq=1, write_graph=True, write_images=True</c>) on
/// generated models: the event files are read back with the independent reader (tests/Shared/EventFiles.cs),
/// the graph against <see cref="Model.Layers"/>, the histograms against the weights, the PNGs decoded by
/// StbImageSharp against the kernels.
/// </summary>
public sealed class TensorBoardTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "kiln-tb-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_dir)) Directory.Delete(_dir, recursive: true);
    }

    private static Dataset Random(int count, int[] shape, int classes, int seed)
    {
        var rng = new Random(seed);
        int size = shape.Aggregate(1, (a, b) => a * b);
        var x = new float[count * size];
        for (int i = 0; i < x.Length; i++) x[i] = (float)rng.NextDouble();
        var y = new float[count * (classes < 0 ? -classes : 1)];
        for (int i = 0; i < y.Length; i++) y[i] = classes < 0 ? (float)rng.NextDouble() : rng.Next(classes);
        return new Dataset(x, y, shape, classes < 0 ? -classes : 1);
    }

    private List<EventFiles.Event> Fit(Model model, Dataset data, int epochs, TensorBoard board)
    {
        model.Fit(data, epochs, new Adam(1e-2f), verbose: 0, callbacks: [board]);
        return EventFiles.Read(Assert.Single(Directory.GetFiles(Path.Combine(board.LogDir, "train"))));
    }

    private static List<EventFiles.Node> Graph(List<EventFiles.Event> events)
    {
        var graph = Assert.Single(events, e => e.GraphDef is not null);
        Assert.Equal(0, graph.Step);
        return EventFiles.Nodes(graph.GraphDef!);
    }

    [Fact]
    public void AChainsGraphHasOneNodePerLayerWithFusedKernelsAsNameScopes()
    {
        var model = new ConvBnRelu(batchSize: 4, seed: 1);
        var events = Fit(model, Random(8, [5, 6, 2], -3, 1), 1, new TensorBoard(Path.Combine(_dir, "chain")));
        var nodes = Graph(events);

        // conv2d, batch_normalization and re_lu run as one kernel, so they share its scope.
        string scope = model.Layers[0].Kernel + "_Conv2D_BatchNormalization_ReLU";
        Assert.Equal(["input", $"{scope}/conv2d", $"{scope}/batch_normalization", $"{scope}/re_lu", "flatten", "dense"], nodes.Select(n => n.Name));
        Assert.Equal(["InputLayer", "Conv2D", "BatchNormalization", "ReLU", "Flatten", "Dense"], nodes.Select(n => n.Op));
        for (int i = 1; i < nodes.Count; i++) Assert.Equal([nodes[i - 1].Name], nodes[i].Inputs);
        Assert.Empty(nodes[0].Inputs);
        Assert.Equal([-1L, 5, 6, 2], nodes[0].OutputShape());
        Assert.Equal([-1L, 3, 4, 3], nodes[1].OutputShape());
        Assert.Equal([-1L, 36], nodes[4].OutputShape());
        Assert.Equal([-1L, 3], nodes[5].OutputShape());
        for (int i = 0; i < model.Layers.Count; i++)
        {
            var layer = model.Layers[i];
            Assert.Equal(layer.ParameterCount, nodes[i + 1].Int("parameters"));
            Assert.Equal(layer.Kernel, nodes[i + 1].String("kernel"));
        }
        Assert.Equal(["k0", "k0", "k0", "view", "k1"], model.Layers.Select(l => l.Kernel));
        // The kernel each layer names is the one the summary's Kernel column prints on its row.
        foreach (var l in model.Layers)
            Assert.Matches($@"(?m)^ {l.Name} \({l.Kind}\) .* {l.Kernel}\s*$", ConvBnRelu.Summary.Replace("\r", ""));
    }

    [Fact]
    public void AResidualGraphHasAnEdgeForEveryLayerItReads()
    {
        var model = new TinyResNet(batchSize: 8, seed: 2);
        var events = Fit(model, Random(16, [4, 4, 1], 3, 2), 1, new TensorBoard(Path.Combine(_dir, "resnet")));
        var nodes = Graph(events);
        var byLayer = nodes.ToDictionary(n => n.Name[(n.Name.LastIndexOf('/') + 1)..]);
        Assert.Equal(model.Layers.Count + 1, nodes.Count); // every layer and the declared input
        Assert.Equal(nodes.Count, nodes.Select(n => n.Name).Distinct().Count());

        foreach (var layer in model.Layers)
        {
            var node = byLayer[layer.Name];
            Assert.Equal(layer.Kind, node.Op);
            Assert.Equal(layer.Inbound.Select(source => byLayer[source].Name), node.Inputs);
            Assert.Equal(layer.OutputShape.Select(d => (long)d).Prepend(-1), node.OutputShape());
        }
        int edges = nodes.Sum(n => n.Inputs.Count);
        Assert.Equal(model.Layers.Sum(l => l.Inbound.Length), edges);
        // Both residual additions read two branches; the projection shortcut reads block1, as declared.
        var adds = model.Layers.Where(l => l.Kind == "Add").ToList();
        Assert.Equal(2, adds.Count);
        Assert.Equal(["b1", "stem"], adds[0].Inbound);
        Assert.Equal(["main", "shortcut"], adds[1].Inbound);
        Assert.All(adds, a => Assert.Equal(2, byLayer[a.Name].Inputs.Count));

        // A scope holds exactly the layers of one kernel, two or more of them; a lone layer has none.
        foreach (var group in model.Layers.GroupBy(l => l.Kernel))
        {
            var names = group.Select(l => byLayer[l.Name].Name).ToList();
            bool scoped = group.Count() > 1 && group.Key is not "view" and not "";
            if (scoped)
            {
                string scope = group.Key + "_" + string.Join("_", group.Select(l => l.Kind));
                Assert.All(names, n => Assert.StartsWith(scope + "/", n));
            }
            else Assert.All(names, n => Assert.DoesNotContain("/", n));
        }
        Assert.Contains(nodes, n => n.Name.Contains('/')); // the conv + BN + ReLU kernels do share scopes
    }

    [Fact]
    public void HistogramsOfEveryTensorIncludingStateMatchTheWeightsEachEpoch()
    {
        var model = new TinyResNet(batchSize: 8, seed: 4);
        var weights = new Dictionary<(string, int), float[]>();
        var copy = new LambdaCallback
        {
            OnEpochEnd = (e, _, _) =>
            {
                foreach (var t in model.Description.Tensors) weights[(t.Name, e)] = model.Tensor(t.Name).ToArray();
            },
        };
        var board = new TensorBoard(Path.Combine(_dir, "histograms"), histogramFrequency: 1);
        model.Fit(Random(24, [4, 4, 1], 3, 4), 2, new Adam(1e-2f), verbose: 0, callbacks: [copy, board]);
        var events = EventFiles.Read(board.TrainFile ?? Assert.Single(Directory.GetFiles(Path.Combine(board.LogDir, "train"))));

        var histograms = EventFiles.Values(events).Where(v => v.Value.Histogram is not null).ToList();
        var tensors = model.Description.Tensors.Select(t => t.Name).ToList();
        Assert.Contains("batch_normalization/moving_mean", tensors); // state too, as Keras' layer.weights
        Assert.Equal(tensors.Concat(tensors).Select(t => t + "/histogram"), histograms.Select(h => h.Value.Tag));
        foreach (var (step, value) in histograms)
        {
            float[] w = weights[(value.Tag[..^"/histogram".Length], (int)step)];
            var h = value.Histogram!;
            var expected = EventFiles.Reference(w);
            Assert.Equal(w.Length, h.Num);
            Assert.Equal(h.Num, h.Buckets.Sum());
            Assert.Equal((expected.Min, expected.Max, expected.Sum, expected.SumSquares), (h.Min, h.Max, h.Sum, h.SumSquares));
            Assert.Equal(expected.Limits, h.Limits);
            Assert.Equal(expected.Buckets, h.Buckets);
        }
        Assert.NotEqual(weights[("conv2d/kernel", 0)], weights[("conv2d/kernel", 1)]);
        Assert.DoesNotContain(EventFiles.Values(events), v => v.Value.Image is not null); // writeImages is off
    }

    [Fact]
    public void TheFirstConvolutionsFiltersAreOneGridImage()
    {
        var model = new FashionCnn(batchSize: 8, seed: 5);
        var events = Fit(model, Random(16, [28, 28, 1], 10, 5), 1, new TensorBoard(Path.Combine(_dir, "cnn"), histogramFrequency: 1, writeImages: true));
        var images = EventFiles.Values(events).Where(v => v.Value.Image is not null).ToList();
        var (step, value) = Assert.Single(images); // conv2d_1 reads 32 channels and the Dense reads no image: not drawn
        Assert.Equal((0L, "conv2d/kernel/image"), (step, value.Tag));

        // 32 filters of 3 × 3, enlarged 8 times, in a 6 × 6 grid with 2-pixel gaps.
        const int Tile = 24, Columns = 6, Step = Tile + 2;
        var image = value.Image!;
        Assert.Equal((154L, 154L, 3L), (image.Height, image.Width, image.Colorspace));
        var png = ImageResult.FromMemory(image.Png, ColorComponents.RedGreenBlue);
        Assert.Equal((154, 154), (png.Width, png.Height));
        float[] kernel = model.Tensor("conv2d/kernel").ToArray(); // (3, 3, 1, 32), the weights the last epoch ended with
        float largest = kernel.Max(MathF.Abs);
        for (int k = 0; k < 32; k++)
            for (int y = 0; y < 3; y++)
                for (int x = 0; x < 3; x++)
                {
                    float w = kernel[(y * 3 + x) * 32 + k];
                    int expected = (int)Math.Round((w / largest + 1) * 127.5);
                    int top = k / Columns * Step + y * 8, left = k % Columns * Step + x * 8;
                    for (int dy = 0; dy < 8; dy += 7)
                        for (int dx = 0; dx < 8; dx += 7)
                        {
                            int at = ((top + dy) * png.Width + left + dx) * 3;
                            Assert.InRange(png.Data[at], expected - 1, expected + 1);
                            Assert.Equal(png.Data[at], png.Data[at + 1]); // grey
                            Assert.Equal(png.Data[at], png.Data[at + 2]);
                        }
                }
        Assert.Equal(32, png.Data[(Tile * png.Width + 3) * 3]);      // the gap under the first row of tiles
        Assert.Equal(32, png.Data[(Tile * png.Width + 3) * 3 + png.Width * 3]);  // both rows of it
        Assert.Equal(32, png.Data[((5 * Step + 5) * png.Width + 2 * Step + 5) * 3]); // a cell past the 32nd filter
        Assert.True(png.Data.Any(b => b <= 1) || png.Data.Any(b => b >= 254)); // the weight of largest magnitude is black or white
    }

    [Fact]
    public void Seed002sFirstDenseLayerIsDrawnAsOneImagePerUnit()
    {
        // As the seed: TensorBoard(log_dir, histogram_freq=1, write_graph=True, write_images=True) on Flatten → Dense(300) → ...
        var model = new FashionMlp(batchSize: 8, seed: 6);
        var board = new TensorBoard(Path.Combine(_dir, "mlp"), histogramFrequency: 1, writeGraph: true, writeImages: true);
        var events = Fit(model, Random(16, [28, 28], 10, 6), 2, board);
        Assert.Equal(["input", "flatten", "dense", "dense_1", "dense_2"], Graph(events).Select(n => n.Name)); // Dense + activation: one layer each
        var images = EventFiles.Values(events).Where(v => v.Value.Image is not null).ToList();
        Assert.Equal([(0L, "dense/kernel/image"), (1L, "dense/kernel/image")], images.Select(i => (i.Step, i.Value.Tag)));

        // 300 units of 28 × 28, at their own size, 18 to a row, 17 rows, 2-pixel gaps.
        var image = images[1].Value.Image!;
        Assert.Equal((17 * 30 - 2L, 18 * 30 - 2L), (image.Height, image.Width));
        var png = ImageResult.FromMemory(image.Png, ColorComponents.RedGreenBlue);
        float[] kernel = model.Tensor("dense/kernel").ToArray(); // (784, 300)
        float largest = kernel.Max(MathF.Abs);
        foreach (int unit in new[] { 0, 17, 18, 299 })
            for (int y = 0; y < 28; y++)
                for (int x = 0; x < 28; x++)
                {
                    int expected = (int)Math.Round((kernel[(y * 28 + x) * 300 + unit] / largest + 1) * 127.5);
                    int at = ((unit / 18 * 30 + y) * png.Width + unit % 18 * 30 + x) * 3;
                    Assert.InRange(png.Data[at], expected - 1, expected + 1);
                }
        Assert.Equal(2 * 6, EventFiles.Values(events).Count(v => v.Value.Histogram is not null)); // 3 kernels and 3 biases, each epoch
    }

    [Fact]
    public void BatchesAllocateNothingWithEveryOptionOn()
    {
        var model = new TinyResNet(batchSize: 4, seed: 7);
        var data = Random(80, [4, 4, 1], 3, 7);
        var optimizer = new Adam(0.01f);
        long first = 0, last = 0;
        const int Batches = 20;
        var probe = new LambdaCallback
        {
            OnBatchEnd = (b, _, _) =>
            {
                if (b == 1) first = GC.GetAllocatedBytesForCurrentThread();
                if (b == Batches - 1) last = GC.GetAllocatedBytesForCurrentThread();
            },
        };
        ICallback[] callbacks = [probe, new TensorBoard(Path.Combine(_dir, "alloc"), updateFrequency: 1, histogramFrequency: 1, writeGraph: true, writeImages: true)];
        for (int i = 0; i < 3; i++) model.Fit(data, 1, optimizer, verbose: 0, callbacks: callbacks); // past tiered compilation
        var windows = new List<long>();
        for (int attempt = 0; attempt < 4 && !windows.Contains(0); attempt++)
        {
            first = last = 0;
            model.Fit(data, 1, optimizer, verbose: 0, callbacks: callbacks);
            Assert.True(first > 0 && last > 0);
            windows.Add(last - first);
        }
        Assert.True(windows.Contains(0), $"batches 2..{Batches} allocated {string.Join(", ", windows)} bytes");
    }
}
