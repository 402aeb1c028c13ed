using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Reflection;
using System.Text;
using Microsoft.CodeAnalysis;

namespace Kiln.Generator.Tests;

/// <summary>
/// Random graph models (fixed seed): chains with branches started by <c>From</c>, merges of 2-4
/// earlier layers whose shapes agree (the generator below tracks shapes), Concatenate on random
/// valid axes, every flat and image layer with its usual options (some frozen, some regularized),
/// Normalization with its axes and fixed or adapted statistics, residual [Block]s inlined by [Use]
/// (some frozen, some read by From), a rescaling or normalization and a random augmentation
/// (RandomCrop among them) first, a second input or a second output (each with any of the four
/// losses), and user names from a nasty pool; every other image input is declared channels first.
/// Every model either gets exactly the KILN diagnostics the generator below predicts (a
/// deliberate mistake in some models, KILN0133 for branches deliberately left unused), or
/// compiles with no error and no other warning; then every accepted model is loaded, trains
/// a few steps to a finite loss, its gradients pass a finite-difference check (from the loss and
/// from a gradient written into OutputGradient) and agree with and without the input gradient, it
/// computes the same in ONNX Runtime, and a training checkpoint resumes it bit for bit.
/// </summary>
public class GraphFuzzTests
{
    /// <summary>Names that collide with C# keywords, the generated code's locals and members, or each other once made identifiers. None is a Keras automatic name, so drawing without replacement never duplicates.</summary>
    private static readonly string[] Pool =
    {
        "class", "int", "in", "out", "default", "this", "new", "return", "params", "float", "var", "value", "global", "base",
        "p", "s", "n", "x", "X", "_x", "input", "training", "targets", "gradient", "rng", "seed", "batchSize", "inputGradient",
        "Summary", "Definition", "Parameters", "State", "Span", "System", "Kernels", "Model",
        "a_b", "a.b", "a-b", "a__b", "1x", "kernel", "bias", "layer", "d_input", "DenseKernel",
    };

    private enum LossKind { Sparse, Categorical, Binary, Mse }

    /// <summary>One layer written so far: its final name, output shape and how many layers read it.</summary>
    private sealed class Node
    {
        public required string Name;
        public required int[] Shape;
        public required string Kind; // Keras base name
        public bool LinearWithBias;  // KILN0110 if a BatchNormalization is written right after it
        public int Reads;
        public int Unadapted;        // a Normalization without Mean and Variance: how many statistics the test adapts
        public List<Node> Sources = new();
        public bool IsView => Kind is "flatten" or "reshape";
    }

    /// <param name="ViewAndOtherReader">A layer read by a view (Flatten, Reshape) and by at least one more reader: their gradients differ, and both are named.</param>
    /// <param name="Unadapted">Normalization layers with no Mean or Variance written, and how many statistics each adapts.</param>
    private sealed record Expected(string Text, Dictionary<string, int> Diagnostics, bool Rejected, bool ViewAndOtherReader, bool Augmented,
        List<(string Layer, int Statistics)> Unadapted);


    private sealed class ModelWriter
    {
        private readonly Random random;
        private readonly List<string> pool;
        private readonly Dictionary<string, int> counters = new();
        public readonly List<Node> Nodes = new();
        public readonly StringBuilder Text = new();
        public Node? Current; // null: the model's input
        public int[] InputShape;

        public ModelWriter(Random random, int[] input)
        {
            this.random = random;
            pool = Pool.OrderBy(_ => random.Next()).ToList();
            InputShape = input;
        }

        public int[] CurrentShape => Current?.Shape ?? InputShape;

        /// <summary>Writes one layer; about 40% get a name from the pool, the others Keras' automatic one.</summary>
        public Node Add(string attribute, string kind, int[] shape, IEnumerable<Node?> sources, string? from = null, bool linearWithBias = false, bool forceName = false,
            int unadapted = 0)
        {
            var read = sources.OfType<Node>().ToList();
            foreach (var s in read) s.Reads++;
            string? name = null;
            if ((forceName || random.Next(5) < 2) && pool.Count > 0)
            {
                name = pool[^1];
                pool.RemoveAt(pool.Count - 1);
            }
            var arguments = WeightOptions(random, attribute, kind);
            if (from is not null) arguments.Add($"From = \"{from}\"");
            if (name is not null) arguments.Add($"Name = \"{name}\"");
            Text.Append(WithArguments(attribute, arguments)).Append('\n');
            if (name is null)
            {
                counters.TryGetValue(kind, out int count);
                counters[kind] = count + 1;
                name = count == 0 ? kind : kind + "_" + count;
            }
            var node = new Node { Name = name, Shape = shape, Kind = kind, LinearWithBias = linearWithBias, Sources = read, Unadapted = unadapted };
            Nodes.Add(node);
            Current = node;
            return node;
        }

        /// <summary>Writes a line that is not a layer of the model's graph (a deliberate mistake); nothing after it is inferred.</summary>
        public void AddRaw(string attribute) => Text.Append(attribute).Append('\n');

        /// <summary>
        /// Writes <c>[Use&lt;TBlock&gt;]</c> of <paramref name="block"/> reading <paramref name="from"/> (else the current layer) with
        /// these parameters, and adds the layers it inlines under the names the generator gives them: the [Use]'s name (from the pool,
        /// else Keras' automatic one for the block class), a dot, and the block's own name for the layer.
        /// </summary>
        public void Use(BlockWriter block, int filters, int units, int strides, Node? from)
        {
            var arguments = new List<string>();
            if (filters > 0) arguments.Add($"Filters = {filters}");
            if (units > 0) arguments.Add($"Units = {units}");
            if (strides > 1) arguments.Add($"Strides = {strides}");
            if (random.Next(6) == 0) arguments.Add("Trainable = false");
            if (from is not null) arguments.Add($"From = \"{from.Name}\"");
            string? prefix = null;
            if (random.Next(5) < 2 && pool.Count > 0)
            {
                prefix = pool[^1];
                pool.RemoveAt(pool.Count - 1);
                arguments.Add($"Name = \"{prefix}\"");
            }
            Text.Append($"[Use<{block.ClassName}>({string.Join(", ", arguments)})]\n");
            if (prefix is null)
            {
                // Keras counts only the instances it names itself.
                prefix = block.Unnamed == 0 ? block.SnakeName : $"{block.SnakeName}_{block.Unnamed}";
                block.Unnamed++;
            }

            var input = from ?? Current;
            var inner = new List<Node>();
            foreach (var layer in block.Layers)
            {
                var sources = layer.Sources.Length == 0
                    ? new List<Node?> { inner.Count == 0 ? input : inner[^1] }
                    : layer.Sources.Select(i => i < 0 ? input : inner[i]).ToList();
                var read = sources.OfType<Node>().ToList();
                foreach (var n in read) n.Reads++;
                int[] shape = layer.Shape(sources.Select(n => n?.Shape ?? InputShape).ToArray(), filters, units, strides);
                var node = new Node { Name = prefix + "." + layer.Name, Shape = shape, Kind = layer.Kind, LinearWithBias = layer.LinearWithBias, Sources = read };
                Nodes.Add(node);
                inner.Add(node);
            }
            Current = inner[^1];
        }

        public static string WithArguments(string attribute, List<string> arguments)
        {
            if (arguments.Count == 0) return attribute;
            string body = attribute.Substring(1, attribute.Length - 2);
            string extra = string.Join(", ", arguments);
            if (!body.EndsWith(")", StringComparison.Ordinal)) return "[" + body + "(" + extra + ")]";
            string inner = body.Substring(body.IndexOf('(') + 1, body.Length - body.IndexOf('(') - 2);
            return "[" + body.Substring(0, body.Length - 1) + (inner.Length > 0 ? ", " : "") + extra + ")]";
        }
    }

    /// <summary>
    /// Keras' per-layer options on the layers with weights: frozen (a BatchNormalization then normalizes with its moving statistics
    /// in training too), or a regularizer, whose gradient backward's must be added to.
    /// </summary>
    private static List<string> WeightOptions(Random random, string attribute, string kind)
    {
        var arguments = new List<string>();
        if (kind is not ("dense" or "conv2d" or "conv2d_transpose" or "batch_normalization")) return arguments;
        switch (random.Next(8))
        {
            case 0: arguments.Add("Trainable = false"); break;
            case 1 when kind == "batch_normalization": arguments.Add("GammaL2 = 0.01"); break;
            case 1: arguments.Add(attribute.Contains("UseBias = false") ? "KernelL1 = 0.01" : "BiasL2 = 0.01"); break;
            case 2 when kind != "batch_normalization": arguments.Add("KernelL2 = 0.01"); break;
            case 2: arguments.Add(random.Next(2) == 0 ? "Center = false" : "Scale = false"); break;
        }
        return arguments;
    }

    /// <summary>
    /// One layer of a [Block] class: its attribute as written, its name within the block, the block's layers it reads (indices;
    /// −1 is Block.In; none: the layer before it, or the block's input for the first) and its output shape from theirs and the
    /// [Use]'s Filters, Units and Strides.
    /// </summary>
    private sealed record InnerLayer(string Attribute, string Kind, string Name, int[] Sources, Func<int[][], int, int, int, int[]> Shape, bool LinearWithBias = false);

    /// <summary>
    /// A random [Block] class, a ResNet-style residual block as the ResNet sample writes one: a main path (convolutions over
    /// Block.Filters channels, the first strided by Block.Strides, with BatchNormalization and activations; or Dense layers of
    /// Block.Units), a shortcut (a 1×1 projection or a Dense from Block.In, or Block.In itself), a merge of the two, and maybe an
    /// activation after it. <see cref="Identity"/>: the shortcut is Block.In, so a [Use] must keep its input's shape.
    /// </summary>
    private sealed class BlockWriter
    {
        public readonly string ClassName, SnakeName;
        public readonly int Rank;
        public readonly bool Strided, Identity;
        public readonly List<InnerLayer> Layers = new();
        public int Unnamed; // [Use]s without a Name so far
        private readonly Random random;
        private readonly Dictionary<string, int> counters = new();

        private static int Ceil(int a, int b) => (a + b - 1) / b;

        public BlockWriter(Random random, string modelClass, int rank)
        {
            this.random = random;
            ClassName = modelClass + "Block";
            SnakeName = modelClass.ToLowerInvariant() + "_block"; // G3Block -> g3_block, as Keras names a model class's instances
            Rank = rank;
            int main;
            if (rank == 3)
            {
                Strided = random.Next(2) == 0;
                string strides = Strided ? ", Strides = Block.Strides" : "";
                int[] Convolved(int[][] i, int f, int u, int s) => new[] { Ceil(i[0][0], Strided ? s : 1), Ceil(i[0][1], Strided ? s : 1), f };
                int[] Same(int[][] i, int f, int u, int s) => i[0];
                Add($"[Conv2D(Block.Filters, {(random.Next(2) == 0 ? 3 : 1)}{strides}, Padding = Padding.Same, UseBias = false)]", "conv2d", Convolved);
                if (random.Next(3) != 0) Add("[BatchNormalization]", "batch_normalization", Same);
                if (random.Next(3) != 0)
                {
                    if (random.Next(2) == 0) Add("[Relu]", "re_lu", Same);
                    else Add("[LeakyRelu(0.2)]", "leaky_re_lu", Same);
                }
                if (random.Next(2) == 0)
                {
                    bool bn = random.Next(2) == 0;
                    Add($"[Conv2D(Block.Filters, 3, Padding = Padding.Same{(bn ? ", UseBias = false" : "")})]", "conv2d",
                        (i, f, u, s) => new[] { i[0][0], i[0][1], f }, linearWithBias: !bn);
                    if (bn) Add("[BatchNormalization]", "batch_normalization", Same);
                }
                main = Layers.Count - 1;
                Identity = !Strided && random.Next(3) == 0;
                if (!Identity)
                {
                    Add($"[Conv2D(Block.Filters, 1{strides}, UseBias = false, From = Block.In)]", "conv2d", Convolved, sources: new[] { -1 });
                    if (random.Next(2) == 0) Add("[BatchNormalization]", "batch_normalization", Same);
                }
            }
            else
            {
                Add($"[Dense(Block.Units, Activation.{(random.Next(2) == 0 ? "Relu" : "Tanh")})]", "dense", (i, f, u, s) => new[] { u });
                if (random.Next(3) == 0) Add("[Dropout(0.25)]", "dropout", (i, f, u, s) => i[0]);
                if (random.Next(2) == 0) Add("[Dense(Block.Units)]", "dense", (i, f, u, s) => new[] { u }, linearWithBias: true);
                main = Layers.Count - 1;
                Identity = random.Next(3) == 0;
                if (!Identity) Add("[Dense(Block.Units, Activation.Tanh, From = Block.In)]", "dense", (i, f, u, s) => new[] { u }, sources: new[] { -1 });
            }
            // The merge: elementwise, or the two side by side along the last axis.
            int shortcut = Identity ? -1 : Layers.Count - 1;
            string mainName = $"\"{Layers[main].Name}\"", shortcutName = Identity ? "Block.In" : $"\"{Layers[shortcut].Name}\"";
            int op = random.Next(6);
            string merge = new[] { "Add", "Subtract", "Multiply", "Average", "Maximum", "Concatenate" }[op];
            string kind = new[] { "add", "subtract", "multiply", "average", "maximum", "concatenate" }[op];
            bool mainFirst = random.Next(2) == 0;
            string inputs = mainFirst ? $"{mainName}, {shortcutName}" : $"{shortcutName}, {mainName}";
            var sources = mainFirst ? new[] { main, shortcut } : new[] { shortcut, main };
            if (op == 5)
                Add($"[Concatenate({inputs})]", kind, (i, f, u, s) => i[0][..^1].Append(i[0][^1] + i[1][^1]).ToArray(), sources: sources);
            else Add($"[{merge}({inputs})]", kind, (i, f, u, s) => i[0], sources: sources);
            if (random.Next(2) == 0) Add("[Relu]", "re_lu", (i, f, u, s) => i[0]);
        }

        /// <summary>A layer of the block; about 30% get a name of their own, the others Keras' automatic one within the block.</summary>
        private void Add(string attribute, string kind, Func<int[][], int, int, int, int[]> shape, bool linearWithBias = false, int[]? sources = null)
        {
            var arguments = WeightOptions(random, attribute, kind);
            string name;
            if (random.Next(10) < 3)
            {
                name = "own" + Layers.Count;
                arguments.Add($"Name = \"{name}\"");
            }
            else
            {
                counters.TryGetValue(kind, out int count);
                counters[kind] = count + 1;
                name = count == 0 ? kind : kind + "_" + count;
            }
            string written = arguments.Count == 0 ? attribute : ModelWriter.WithArguments(attribute, arguments);
            Layers.Add(new InnerLayer(written, kind, name, sources ?? Array.Empty<int>(), shape, linearWithBias));
        }

        public string Text => "[Block]\n" + string.Concat(Layers.Select(l => l.Attribute + "\n")) + $"public class {ClassName} {{ }}\n";
    }

    private static string Dims(int[] shape) => string.Join(", ", shape);

    private static int Size(int[] shape) => shape.Aggregate(1, (a, b) => a * b);

    /// <summary>A layer that reads a tensor of <paramref name="shape"/>; returns attribute, kind, output shape, and whether it is linear with a bias.</summary>
    private static (string Attribute, string Kind, int[] Shape, bool LinearWithBias) RandomLayer(Random random, int[] shape, bool bnAllowed)
    {
        while (true)
        {
            switch (shape.Length, random.Next(22))
            {
                case (3, 0):
                {
                    int f = random.Next(2, 4);
                    string act = random.Next(2) == 0 ? "Relu" : "Tanh";
                    return ($"[Conv2D({f}, 3, Padding = Padding.Same, Activation = Activation.{act})]", "conv2d", new[] { shape[0], shape[1], f }, false);
                }
                case (3, 1):
                {
                    int f = random.Next(1, 4);
                    return ($"[Conv2D({f}, 1, UseBias = false)]", "conv2d", new[] { shape[0], shape[1], f }, false);
                }
                case (3, 2) when shape[0] % 2 == 0 && shape[1] % 2 == 0:
                    return ("[MaxPooling2D(2)]", "max_pooling2d", new[] { shape[0] / 2, shape[1] / 2, shape[2] }, false);
                case (3, 3):
                case (2, 3):
                    return ("[Flatten]", "flatten", new[] { Size(shape) }, false);
                case (1, 0):
                case (1, 1):
                {
                    int u = random.Next(3, 6);
                    return random.Next(3) switch
                    {
                        0 => ($"[Dense({u}, Activation.Relu)]", "dense", new[] { u }, false),
                        1 => ($"[Dense({u}, Activation.Tanh)]", "dense", new[] { u }, false),
                        _ => ($"[Dense({u})]", "dense", new[] { u }, true),
                    };
                }
                case (1, 2) when Size(shape) % 2 == 0:
                    return ($"[Reshape(2, {Size(shape) / 2})]", "reshape", new[] { 2, Size(shape) / 2 }, false);
                case (2, 2):
                    return random.Next(2) == 0
                        ? ($"[Reshape({shape[1]}, {shape[0]})]", "reshape", new[] { shape[1], shape[0] }, false)
                        : ($"[Reshape({Size(shape)})]", "reshape", new[] { Size(shape) }, false);
                case (3, 4):
                    return ($"[Reshape({shape[0]}, {shape[1] * shape[2]})]", "reshape", new[] { shape[0], shape[1] * shape[2] }, false);
                case (1, 4) or (3, 5) when bnAllowed:
                    return ("[BatchNormalization]", "batch_normalization", shape, false);
                case (_, 6):
                    return ("[Relu]", "re_lu", shape, false);
                case (_, 7):
                    return ("[Tanh]", "activation", shape, false);
                case (_, 8):
                    return ("[Dropout(0.25)]", "dropout", shape, false);
                case (3, 9):
                {
                    // 5×5 windows (the GAN's), strided, unpadded, and the transposed convolution, each linear with a bias.
                    int f = random.Next(1, 4);
                    return random.Next(4) switch
                    {
                        0 => ($"[Conv2D({f}, 5, Padding = Padding.Same)]", "conv2d", new[] { shape[0], shape[1], f }, true),
                        1 => ($"[Conv2D({f}, 3, Strides = 2, Padding = Padding.Same)]", "conv2d", new[] { (shape[0] + 1) / 2, (shape[1] + 1) / 2, f }, true),
                        2 when shape[0] >= 3 && shape[1] >= 3 => ($"[Conv2D({f}, 3)]", "conv2d", new[] { shape[0] - 2, shape[1] - 2, f }, true),
                        _ when shape[0] * shape[1] <= 16 => ($"[Conv2DTranspose({f}, 3, Strides = 2, Padding = Padding.Same)]", "conv2d_transpose", new[] { 2 * shape[0], 2 * shape[1], f }, true),
                        _ => ($"[Conv2D({f}, 1, Activation = Activation.Sigmoid)]", "conv2d", new[] { shape[0], shape[1], f }, false),
                    };
                }
                case (3, 10) when shape[0] % 2 == 0 && shape[1] % 2 == 0:
                    return ("[AveragePooling2D(2)]", "average_pooling2d", new[] { shape[0] / 2, shape[1] / 2, shape[2] }, false);
                case (3, 11) when shape[0] >= 2 && shape[1] >= 2:
                    // Overlapping windows: a pixel is the winner of up to four.
                    return ("[MaxPooling2D(2, Strides = 1)]", "max_pooling2d", new[] { shape[0] - 1, shape[1] - 1, shape[2] }, false);
                case (3, 12):
                    return random.Next(2) == 0
                        ? ("[GlobalAveragePooling2D]", "global_average_pooling2d", new[] { shape[2] }, false)
                        : ("[GlobalMaxPooling2D]", "global_max_pooling2d", new[] { shape[2] }, false);
                case (3, 13) when shape[0] * shape[1] <= 16:
                    return ("[UpSampling2D(2)]", "up_sampling2d", new[] { 2 * shape[0], 2 * shape[1], shape[2] }, false);
                case (3, 14) when shape[0] <= 6 && shape[1] <= 6:
                    return ("[ZeroPadding2D(1)]", "zero_padding2d", new[] { shape[0] + 2, shape[1] + 2, shape[2] }, false);
                case (_, 15):
                    return ("[LeakyRelu(0.2)]", "leaky_re_lu", shape, false);
                case (_, 16):
                    return ("[Sigmoid]", "activation", shape, false);
                case (_, 17):
                    return ("[Softmax]", "softmax", shape, false);
                case (3, 19):
                    // Same-padded windows: a max over the padding never wins, an average counts only the pixels inside.
                    return random.Next(2) == 0
                        ? ("[MaxPooling2D(3, Strides = 2, Padding = Padding.Same)]", "max_pooling2d", new[] { (shape[0] + 1) / 2, (shape[1] + 1) / 2, shape[2] }, false)
                        : ("[AveragePooling2D(3, Strides = 1, Padding = Padding.Same)]", "average_pooling2d", shape, false);
                case (3, 20):
                {
                    int f = random.Next(2, 4);
                    string act = random.Next(2) == 0 ? "Softmax" : "Sigmoid"; // softmax over the channels
                    return ($"[Conv2D({f}, 3, Padding = Padding.Same, Activation = Activation.{act})]", "conv2d", new[] { shape[0], shape[1], f }, false);
                }
                case (3, 21):
                {
                    // Windows taller than wide and the reverse: the kernels' row and column loops must not be swapped.
                    int f = random.Next(1, 4);
                    return random.Next(3) switch
                    {
                        0 => ($"[Conv2D({f}, 3, KernelWidth = 1, Padding = Padding.Same, Activation = Activation.Tanh)]", "conv2d", new[] { shape[0], shape[1], f }, false),
                        1 when shape[1] >= 3 => ($"[Conv2D({f}, 1, KernelWidth = 3, StrideHeight = 2, UseBias = false)]", "conv2d", new[] { (shape[0] + 1) / 2, shape[1] - 2, f }, false),
                        _ when shape[0] % 2 == 0 => ("[MaxPooling2D(2, PoolWidth = 1)]", "max_pooling2d", new[] { shape[0] / 2, shape[1], shape[2] }, false),
                        _ => ($"[Conv2DTranspose({f}, 2, StrideWidth = 2, StrideHeight = 1, Padding = Padding.Same)]", "conv2d_transpose", new[] { shape[0], 2 * shape[1], f }, true),
                    };
                }
                case (1, 18):
                {
                    int u = random.Next(2, 6);
                    return random.Next(2) == 0
                        ? ($"[Dense({u}, Activation.Sigmoid)]", "dense", new[] { u }, false)
                        : ($"[Dense({u}, Activation.Softmax)]", "dense", new[] { u }, false);
                }
            }
        }
    }

    /// <summary>
    /// The tutorials' block: Conv2D (no bias) + BatchNormalization + ReLU, then a 2×2 max pooling where the size is even; on a
    /// small image sometimes a generator's Conv2DTranspose (no bias) + BatchNormalization + LeakyReLU instead. The
    /// generator fuses it forward and backward (pooling as BN normalizes; a first convolution's weight gradients from the pooled
    /// gradients), paths a layer-by-layer draw seldom builds.
    /// </summary>
    private static void ConvBlock(Random random, ModelWriter m)
    {
        int[] shape = m.CurrentShape;
        int f = random.Next(2, 5);
        if (shape[0] * shape[1] <= 16 && random.Next(3) == 0)
        {
            // A DCGAN generator's block: BN's channel is the transposed kernel's third axis, not its last.
            m.Add($"[Conv2DTranspose({f}, 3, Strides = 2, Padding = Padding.Same, UseBias = false)]", "conv2d_transpose", new[] { 2 * shape[0], 2 * shape[1], f }, new[] { m.Current });
            m.Add("[BatchNormalization]", "batch_normalization", m.CurrentShape, new[] { m.Current });
            m.Add("[LeakyRelu(0.2)]", "leaky_re_lu", m.CurrentShape, new[] { m.Current });
            return;
        }
        m.Add($"[Conv2D({f}, 3, Padding = Padding.Same, UseBias = false)]", "conv2d", new[] { shape[0], shape[1], f }, new[] { m.Current });
        m.Add("[BatchNormalization]", "batch_normalization", m.CurrentShape, new[] { m.Current });
        m.Add("[Relu]", "re_lu", m.CurrentShape, new[] { m.Current });
        if (shape[0] % 2 == 0 && shape[1] % 2 == 0)
            m.Add("[MaxPooling2D(2)]", "max_pooling2d", new[] { shape[0] / 2, shape[1] / 2, f }, new[] { m.Current });
    }

    /// <summary>
    /// Keras' Normalization on the current layer: statistics per channel (the default), one global pair, or per feature over a
    /// trailing run of axes; fixed in the attribute (one value broadcast, or one per statistic) or left for the test to adapt;
    /// sometimes inverted.
    /// </summary>
    private static void AddNormalization(Random random, ModelWriter m)
    {
        int[] shape = m.CurrentShape;
        int rank = shape.Length;
        var arguments = new List<string>();
        int statistics;
        switch (random.Next(3))
        {
            case 0:
                statistics = shape[^1];
                break;
            case 1:
                arguments.Add("Axis = new int[] { }");
                statistics = 1;
                break;
            default:
            {
                // Keras counts the batch as axis 0; negative axes count from the end.
                int first = random.Next(1, rank + 1);
                var axes = Enumerable.Range(first, rank + 1 - first).Select(a => random.Next(2) == 0 ? a : a - rank - 1);
                arguments.Add($"Axis = new[] {{ {string.Join(", ", axes)} }}");
                statistics = Size(shape[(first - 1)..]);
                break;
            }
        }
        bool fixedStatistics = random.Next(2) == 0;
        if (fixedStatistics)
        {
            int count = random.Next(2) == 0 ? 1 : statistics;
            string Values(Func<double> draw) => string.Join(", ", Enumerable.Range(0, count).Select(_ => draw().ToString("0.0##", System.Globalization.CultureInfo.InvariantCulture)));
            arguments.Add($"Mean = new[] {{ {Values(() => random.NextDouble() - 0.5)} }}");
            arguments.Add($"Variance = new[] {{ {Values(() => 0.25 + 2 * random.NextDouble())} }}");
        }
        if (random.Next(4) == 0) arguments.Add("Invert = true");
        string attribute = arguments.Count == 0 ? "[Normalization]" : $"[Normalization({string.Join(", ", arguments)})]";
        m.Add(attribute, "normalization", shape, new[] { m.Current }, unadapted: fixedStatistics ? 0 : statistics);
    }

    /// <summary>Writes one random model; returns the diagnostics it must get.</summary>
    private static Expected RandomModel(Random random, string className)
    {
        int[] input = random.Next(3) switch
        {
            0 => new[] { random.Next(4, 9) },
            1 => new[] { 4, 4, random.Next(1, 3) },
            _ => new[] { 6, 4, 2 },
        };
        var m = new ModelWriter(random, input);
        var diagnostics = new Dictionary<string, int>();
        void Expect(string id, int count = 1) => diagnostics[id] = diagnostics.GetValueOrDefault(id) + count;
        bool rejected = false;
        int mistakeAt = random.Next(8) == 0 ? random.Next(1, 6) : -1;

        // Images scaled first, as the Keras tutorials do: the first convolution's input gradient then lives in the arena.
        if (input.Length == 3 && random.Next(4) == 0) m.Add("[Rescaling(0.5)]", "rescaling", input, new Node?[] { null });
        // Or features normalized first, as the structured-data tutorials do.
        else if (random.Next(6) == 0) AddNormalization(random, m);
        // Then a random augmentation, as the tutorials do: in training it draws, and it defines no input gradient.
        bool augmented = input.Length == 3 && random.Next(5) == 0;
        if (augmented)
        {
            int cropHeight = random.Next(2, input[0] + 1), cropWidth = random.Next(2, input[1] + 1);
            var (augmentation, kind, shape) = random.Next(6) switch
            {
                0 => ("[RandomFlip]", "random_flip", input),
                1 => ("[RandomTranslation(0.2, 0.2)]", "random_translation", input),
                2 => ("[RandomRotation(0.1)]", "random_rotation", input),
                3 => ("[RandomZoom(0.2)]", "random_zoom", input),
                4 => ("[RandomContrast(0.2)]", "random_contrast", input),
                // A window at a random place in training, the centre's largest of that aspect ratio, resized, in inference.
                _ => ($"[RandomCrop({cropHeight}, {cropWidth})]", "random_crop", new[] { cropHeight, cropWidth, input[2] }),
            };
            m.Add(augmentation, kind, shape, new[] { m.Current });
        }
        int steps = random.Next(3, 11);
        BlockWriter? block = null; // drawn at its first [Use]
        // Keras' multi-input model: [Input] instead of [Sequential], and a second, flat input declared midway, read by a Dense.
        int secondInputAt = mistakeAt < 0 && random.Next(5) == 0 ? random.Next(1, steps) : -1;
        for (int step = 0; step < steps; step++)
        {
            if (step == secondInputAt)
            {
                int size = random.Next(2, 5);
                var second = m.Add($"[Input({size})]", "input", new[] { size }, Array.Empty<Node>(), forceName: true);
                m.Add("[Dense(3, Activation.Tanh)]", "dense", new[] { 3 }, new[] { second });
                continue;
            }
            if (step == mistakeAt && m.Nodes.Count > 0 && !rejected)
            {
                rejected = WriteMistake(random, m, Expect);
                if (rejected) break;
            }
            int choice = random.Next(10);
            if (choice < 4 && m.Nodes.Count >= 2 && TryMerge(random, m)) continue;
            if (choice < 6 && m.Nodes.Count >= 1)
            {
                // A branch: read an earlier layer by name.
                var source = m.Nodes[random.Next(m.Nodes.Count)];
                bool bnOk = !source.LinearWithBias; // KILN0110 wherever a BatchNormalization reads a Dense with a bias
                var (attribute, kind, shape, linear) = RandomLayer(random, source.Shape, bnOk);
                m.Add(attribute, kind, shape, new[] { source }, from: source.Name, linearWithBias: linear);
                continue;
            }
            if (m.CurrentShape.Length == 3 && random.Next(6) == 0)
            {
                ConvBlock(random, m);
                continue;
            }
            if (random.Next(12) == 0)
            {
                AddNormalization(random, m);
                continue;
            }
            if (random.Next(8) == 0 && TryUse(random, m, ref block, className)) continue;
            var (a, k, s, l) = RandomLayer(random, m.CurrentShape, m.Nodes.Count == 0 || !m.Nodes[^1].LinearWithBias);
            m.Add(a, k, s, new[] { m.Current }, linearWithBias: l);
        }

        var loss = (LossKind)random.Next(4);
        if (!rejected)
        {
            // Branches nobody reads: leave them (KILN0133 each) or gather them into the output.
            var dangling = m.Nodes.Where(n => n.Reads == 0 && n != m.Current).ToList();
            if (dangling.Count > 0 && random.Next(4) == 0 && dangling.All(n => n.Kind != "dropout"))
            {
                Expect("KILN0133", dangling.Count);
            }
            else if (dangling.Count > 0)
            {
                var flats = new List<Node>();
                foreach (var d in dangling.Append(m.Current!))
                {
                    if (d.Shape.Length == 1)
                    {
                        flats.Add(d);
                        continue;
                    }
                    flats.Add(m.Add("[Flatten]", "flatten", new[] { Size(d.Shape) }, new[] { d }, from: d.Name));
                }
                var all = flats.Select(f => $"\"{f.Name}\"");
                string axis = random.Next(2) == 0 ? "" : random.Next(2) == 0 ? ", Axis = -1" : ", Axis = 1";
                m.Add($"[Concatenate({string.Join(", ", all)}{axis})]", "concatenate", new[] { flats.Sum(f => f.Shape[0]) }, flats);
            }

            if (m.CurrentShape.Length != 1)
            {
                m.Add("[Flatten]", "flatten", new[] { Size(m.CurrentShape) }, new[] { m.Current });
            }
            var head = Head(random, m, loss, m.Current!, from: null);
            // Layers something reads already: a branch left unused above stays so (its KILN0133 is predicted).
            var read = m.Nodes.Where(l => l.Reads > 0).ToList();
            if (read.Count > 0 && random.Next(4) == 0)
            {
                // A second output, Keras' multi-output model: a head on an earlier layer, with its own loss and weight.
                var source = read[random.Next(read.Count)];
                if (source.Shape.Length != 1)
                    source = m.Add("[Flatten]", "flatten", new[] { Size(source.Shape) }, new[] { source }, from: source.Name);
                var second = (LossKind)random.Next(4);
                var head2 = Head(random, m, second, source, from: source.Name);
                m.AddRaw(LossLine(loss, $", Output = \"{head.Name}\""));
                m.AddRaw(LossLine(second, $", Output = \"{head2.Name}\", Weight = 0.5"));
            }
            else m.AddRaw(LossLine(loss, ""));
        }
        else
        {
            m.AddRaw("[Dense(2, Activation.Softmax)]");
            m.AddRaw(LossLine(loss, ""));
        }

        // Every other image model declares its input channels first, (C, H, W) for the (H, W, C) its layers read;
        // decided without a draw, so the random stream (and every other model) is unchanged.
        string declared = input.Length == 3 && m.Nodes.Count % 2 == 0
            ? $"{input[2]}, {input[0]}, {input[1]}, DataFormat = DataFormat.ChannelsFirst"
            : Dims(input);
        string header = secondInputAt < 0 ? $"[Sequential({declared})]" : $"[Input({declared}, Name = \"first\")]";
        string text = $"using Kiln;\nnamespace Models;\n{header}\n{m.Text}public partial class {className} {{ }}\n{block?.Text}";
        bool viewAndOther = m.Nodes.Any(l => l.Reads >= 2 && m.Nodes.Any(v => v.IsView && v.Sources.Contains(l)));
        var unadapted = m.Nodes.Where(n => n.Unadapted > 0).Select(n => (n.Name, n.Unadapted)).ToList();
        return new Expected(text, diagnostics, rejected, viewAndOther, augmented, unadapted);
    }

    /// <summary>
    /// A [Use] of the model's block (drawn at the first one, for the rank it reads) on the current layer or, sometimes, an earlier
    /// one by From; false where the rank does not fit or there is no layer yet for Block.In to name.
    /// </summary>
    private static bool TryUse(Random random, ModelWriter m, ref BlockWriter? block, string className)
    {
        if (m.Current is null) return false;
        Node? from = random.Next(3) == 0 ? m.Nodes[random.Next(m.Nodes.Count)] : null;
        int[] shape = from?.Shape ?? m.CurrentShape;
        if (shape.Length is not (1 or 3)) return false;
        block ??= new BlockWriter(random, className, shape.Length);
        if (block.Rank != shape.Length) return false;
        if (block.Rank == 3) m.Use(block, filters: block.Identity ? shape[2] : random.Next(1, 4), units: 0, strides: block.Strided ? random.Next(1, 3) : 1, from);
        else m.Use(block, filters: 0, units: block.Identity ? shape[0] : random.Next(2, 6), strides: 1, from);
        return true;
    }

    /// <summary>An output layer for <paramref name="loss"/>, reading <paramref name="source"/>: a Dense with the activation that loss expects.</summary>
    private static Node Head(Random random, ModelWriter m, LossKind loss, Node source, string? from)
    {
        int units = loss switch { LossKind.Binary => random.Next(1, 3), _ => random.Next(2, 5) };
        string activation = loss switch
        {
            LossKind.Sparse or LossKind.Categorical => ", Activation.Softmax",
            LossKind.Binary => ", Activation.Sigmoid",
            _ => random.Next(2) == 0 ? "" : ", Activation.Tanh",
        };
        return m.Add($"[Dense({units}{activation})]", "dense", new[] { units }, new[] { source }, from: from);
    }

    private static string LossLine(LossKind loss, string arguments) => loss switch
    {
        LossKind.Sparse => $"[Loss(Loss.SparseCategoricalCrossentropy{arguments})]",
        LossKind.Categorical => $"[Loss(Loss.CategoricalCrossentropy{arguments})]",
        LossKind.Binary => $"[Loss(Loss.BinaryCrossentropy{arguments})]",
        _ => $"[Loss(Loss.MeanSquaredError{arguments})]",
    };

    /// <summary>A merge of 2-4 earlier layers whose shapes fit; false when none fit.</summary>
    private static bool TryMerge(Random random, ModelWriter m)
    {
        var anchor = m.Nodes[random.Next(m.Nodes.Count)];
        int[] shape = anchor.Shape;
        int op = random.Next(6);
        if (op == 5)
        {
            // Concatenate along a random axis: every other axis agrees with the anchor.
            int rank = shape.Length;
            int axis = random.Next(1, rank + 1);
            var fits = m.Nodes.Where(n => n.Shape.Length == rank && Enumerable.Range(0, rank).All(d => d == axis - 1 || n.Shape[d] == shape[d])).ToList();
            var inputs = Choose(random, anchor, fits);
            if (inputs is null) return false;
            var output = (int[])shape.Clone();
            output[axis - 1] = inputs.Sum(n => n.Shape[axis - 1]);
            string axisText = random.Next(3) switch
            {
                0 when axis == rank => "",
                1 => $", Axis = {axis - rank - 1}",
                _ => $", Axis = {axis}",
            };
            m.Add($"[Concatenate({Names(inputs)}{axisText})]", "concatenate", output, inputs);
            return true;
        }
        var same = m.Nodes.Where(n => n.Shape.SequenceEqual(shape)).ToList();
        var chosen = Choose(random, anchor, same, max: op == 1 ? 2 : 4);
        if (chosen is null) return false;
        if (op == 1) chosen = chosen.Take(2).ToList();
        string kind = new[] { "add", "subtract", "multiply", "average", "maximum" }[op];
        string attribute = new[] { "Add", "Subtract", "Multiply", "Average", "Maximum" }[op];
        m.Add($"[{attribute}({Names(chosen)})]", kind, shape, chosen);
        return true;
    }

    /// <summary>The anchor and 1-3 more of <paramref name="candidates"/> (distinct where there are enough; a layer merged with itself is fine too).</summary>
    private static List<Node>? Choose(Random random, Node anchor, List<Node> candidates, int max = 4)
    {
        var others = candidates.Where(n => n != anchor).OrderBy(_ => random.Next()).ToList();
        if (others.Count == 0 && random.Next(4) != 0) return null; // merging a layer only with itself: sometimes
        int count = random.Next(2, max + 1);
        var chosen = new List<Node> { anchor };
        for (int i = 1; i < count; i++)
            chosen.Add(others.Count > 0 && random.Next(6) != 0 ? others[(i - 1) % others.Count] : anchor);
        return chosen.OrderBy(_ => random.Next()).ToList();
    }

    private static string Names(IEnumerable<Node> nodes) => string.Join(", ", nodes.Select(n => $"\"{n.Name}\""));

    /// <summary>One deliberate mistake, with the diagnostic it must get; false when this model has no room for it.</summary>
    private static bool WriteMistake(Random random, ModelWriter m, Action<string, int> expect)
    {
        var nodes = m.Nodes;
        switch (random.Next(5))
        {
            case 0:
            {
                // An elementwise merge of disagreeing shapes: KILN0131 at each input that differs from the first.
                var first = nodes[random.Next(nodes.Count)];
                var others = nodes.Where(n => !n.Shape.SequenceEqual(first.Shape)).ToList();
                if (others.Count == 0) return false;
                var inputs = new List<Node> { first, others[random.Next(others.Count)] };
                if (random.Next(2) == 0) inputs.Add(nodes[random.Next(nodes.Count)]);
                m.AddRaw($"[Add({Names(inputs)})]");
                expect("KILN0131", inputs.Count(n => !n.Shape.SequenceEqual(first.Shape)));
                return true;
            }
            case 1:
                m.AddRaw("[Relu(From = \"no_such_layer\")]");
                expect("KILN0130", 1);
                return true;
            case 2:
            {
                var a = nodes[random.Next(nodes.Count)];
                int bad = random.Next(2) == 0 ? 0 : a.Shape.Length + 1;
                m.AddRaw($"[Concatenate({Names(new[] { a, a })}, Axis = {bad})]");
                expect("KILN0134", 1);
                return true;
            }
            case 3:
                m.AddRaw($"[Add({Names(new[] { nodes[^1] })})]");
                expect("KILN0132", 1);
                return true;
            default:
            {
                var a = nodes[random.Next(nodes.Count)];
                m.AddRaw($"[Add({Names(new[] { a, a })}, From = \"{a.Name}\")]");
                expect("KILN0135", 1);
                return true;
            }
        }
    }

    private static readonly int[] FixedSeeds = { 20250301, 7, 1234 };

    /// <summary>Seeds beyond these: KILN_FUZZ_SEEDS=first-last (e.g. 100-150) runs each of them too, to hunt for bugs locally.</summary>
    public static TheoryData<int> Seeds()
    {
        var seeds = new TheoryData<int>();
        foreach (int seed in FixedSeeds) seeds.Add(seed);
        if (Environment.GetEnvironmentVariable("KILN_FUZZ_SEEDS") is { } range && range.Split('-') is [var first, var last])
            for (int seed = int.Parse(first); seed <= int.Parse(last); seed++) seeds.Add(seed);
        return seeds;
    }

    [Theory]
    [MemberData(nameof(Seeds))]
    public void RandomGraphModelsGetThePredictedDiagnosticsOrCompileAndTrain(int seed)
    {
        var random = new Random(seed);
        const int models = 80;
        var files = new List<(string Path, string Text)>();
        var expected = new Dictionary<string, Expected>();
        for (int i = 0; i < models; i++)
        {
            string className = "G" + i;
            var e = RandomModel(random, className);
            files.Add((className + ".cs", e.Text));
            expected[className] = e;
        }

        var result = GeneratorHarness.Run(null, files.ToArray());

        var accepted = new List<string>();
        int rejected = 0, withUnused = 0;
        foreach (var (className, e) in expected)
        {
            var kiln = result.GeneratorDiagnostics.Where(d => d.Location.GetLineSpan().Path == className + ".cs").ToList();
            var compilerErrors = result.CompilationDiagnostics.Where(d => d.Location.SourceTree?.FilePath.EndsWith("Models." + className + ".g.cs", StringComparison.Ordinal) == true).ToList();
            string context = $"{className}:\n{e.Text}\nexpected: {string.Join(", ", e.Diagnostics.Select(p => $"{p.Key} x{p.Value}"))}\nKiln: {string.Join("\n", kiln)}\nCompiler: {string.Join("\n", compilerErrors.Take(5))}";
            var got = kiln.GroupBy(d => d.Id).ToDictionary(g => g.Key, g => g.Count());
            Assert.True(got.Count == e.Diagnostics.Count && got.All(p => e.Diagnostics.GetValueOrDefault(p.Key) == p.Value),
                "the model gets exactly the predicted diagnostics\n" + context);
            bool generated = result.Generated.ContainsKey("Models." + className + ".g.cs");
            if (e.Rejected)
            {
                rejected++;
                // Its skeleton (public surface, members that throw) compiles, so Kiln's errors are the only ones.
                Assert.True(generated && result.Generated["Models." + className + ".g.cs"].Contains("Kiln could not generate " + className, StringComparison.Ordinal),
                    "a rejected model gets a skeleton\n" + context);
                Assert.True(compilerErrors.Count == 0, "the skeleton of a rejected model compiles\n" + context);
                continue;
            }
            if (e.Diagnostics.Count > 0) withUnused++;
            Assert.True(generated, "an accepted model gets generated code\n" + context);
            Assert.True(compilerErrors.Count == 0, "the generated code of an accepted model compiles\n" + context);
            accepted.Add(className);
        }
        Assert.Empty(result.CompilationDiagnostics);
        Console.WriteLine($"{models} graph models: {accepted.Count} compiled and trained, {rejected} rejected as predicted, {withUnused} with predicted KILN0133");
        // The generator is valid-biased: most models compile, some carry each kind of prediction (checked on the
        // fixed seeds: a seed drawn to hunt for bugs may happen to carry fewer).
        if (FixedSeeds.Contains(seed))
        {
            Assert.InRange(accepted.Count, models * 2 / 3, models);
            Assert.InRange(rejected, 3, models / 4);
            Assert.InRange(withUnused, 2, models / 3);
        }

        TrainEach(result.Output, accepted, expected);
    }

    /// <summary>
    /// Asking for the input gradient must leave the parameter gradients as they are, bit for bit, and give a finite one: the two
    /// backward paths share the arena, so a buffer one of them still reads and the other overwrites would show here.
    /// </summary>
    private static void SameGradientsWithTheInputGradient(Kiln.Model model, float[] x, float[] y, int n, string className, string text, bool inputGradient)
    {
        float[] Gradients(float[]? dx)
        {
            model.Random = new Kiln.Rng(11); // the same dropout masks both times
            model.Forward(x, n, training: true);
            model.ComputeLoss(y, n, gradient: true);
            model.Gradients.Span.Fill(123f);
            model.Backward(n, dx);
            return model.Gradients.Span.ToArray();
        }
        float[] without = Gradients(null);
        // A model without an input gradient (an augmentation the loss depends on) still gives finite weight gradients.
        Assert.All(without, v => Assert.True(float.IsFinite(v), $"{className}: a weight gradient is {v}\n{text}"));
        if (!inputGradient) return;
        var dx = new float[x.Length];
        float[] with = Gradients(dx);
        Assert.All(dx, v => Assert.True(float.IsFinite(v), $"{className}: an input gradient is {v}\n{text}"));
        foreach (var t in model.Description.Tensors.Where(t => t.Trainable))
            for (int i = t.Offset; i < t.Offset + t.Length; i++)
                Assert.True(with[i] == without[i], $"{className} {t.Name}[{i - t.Offset}]: {with[i]} with the input gradient, {without[i]} without\n{text}");
    }

    /// <summary>
    /// The backward pass is the forward's derivative: central differences of the loss on up to 120 weights, drawn at random, and on
    /// every input value (a partial batch), as the end-to-end gradient checks do for the hand-written models. Skipped kinks are
    /// not bounded here: a random model may well have a dead ReLU.
    /// </summary>
    private static void GradientsMatchFiniteDifferences(Kiln.Model model, float[] x, float[] y, int n, string className, string text, bool inputGradient)
    {
        x = (float[])x.Clone(); // perturbed in place
        var (parameters, input) = GradientCheck.Analytic(model, x, y, n, inputGradient);
        var r = GradientCheck.Check(model, x, parameters, input, () => GradientCheck.Loss(model, x, y, n), maxParameters: 120, randomModel: true);
        // Nearly every coordinate within tolerance (2% and the rounding), none beyond twice it. The hand-written models' checks
        // are stricter: every coordinate, and the error over all of them. A random model often sits where differences are
        // ill-conditioned (all gradients near zero, a ReLU's kink just past the step, a Maximum's switch between two close
        // inputs, which the check cannot see); the bugs this finds are off by far more, on a whole tensor.
        Assert.True(Agrees(r), $"{className}: {r}\n{text}");

        // Frozen whole, as a GAN's discriminator is while its generator learns through it: BatchNormalization then normalizes
        // with its moving statistics, no weight gets a gradient, and the input gradient is that forward's derivative.
        if (!inputGradient) return; // an augmentation still draws in training, so there is no input gradient to check
        model.Trainable = false;
        try
        {
            model.Gradients.Span.Fill(123f);
            (_, input) = GradientCheck.Analytic(model, x, y, n);
            Assert.True(model.Gradients.Span.IndexOfAnyExcept(123f) < 0, $"{className}: a frozen model's backward wrote a weight gradient\n{text}");
            r = GradientCheck.Check(model, x, parameters, input, () => GradientCheck.Loss(model, x, y, n), maxParameters: 0, randomModel: true);
            Assert.True(Agrees(r), $"{className} frozen: {r}\n{text}");
        }
        finally
        {
            model.Trainable = true;
        }
    }

    /// <summary>
    /// The composed path (a GAN's discriminator writes its input gradient into the generator's OutputGradient): backward from a
    /// gradient written into OutputGradient is the derivative of Σ w·output for those w, plus the regularization penalty, whose
    /// gradient that path adds too. With several outputs, w covers their packed columns.
    /// </summary>
    private static void OutputGradientMatchesFiniteDifferences(Kiln.Model model, float[] x, int n, string className, string text, bool inputGradient)
    {
        x = (float[])x.Clone(); // perturbed in place
        var rng = new Random(n * 31 + className.Length);
        var w = new float[n * model.OutputSize];
        for (int i = 0; i < w.Length; i++) w[i] = (float)(rng.NextDouble() * 2 - 1);
        double Objective()
        {
            ReadOnlySpan<float> output = GradientCheck.ForwardFixedMask(model, x, n);
            double j = model.RegularizationLoss();
            for (int i = 0; i < w.Length; i++) j += (double)w[i] * output[i];
            return j;
        }
        GradientCheck.ForwardFixedMask(model, x, n);
        w.CopyTo(model.OutputGradient(n));
        var dx = new float[inputGradient ? x.Length : 0];
        model.BackwardFromOutputGradient(n, dx);
        var r = GradientCheck.Check(model, x, model.Gradients.Span.ToArray(), dx, Objective, maxParameters: 120, randomModel: true);
        Assert.True(Agrees(r), $"{className} via OutputGradient: {r}\n{text}");
    }

    private static bool Agrees(GradientCheck.Result r) => r.FailureCount <= 2 && r.WorstRatio <= 2;

    /// <summary>
    /// A training checkpoint holds everything a step reads (weights, moving and adapted statistics, Adam's moments and count, the
    /// random stream dropout and augmentations draw from): a fresh instance built with another seed and loaded from it takes the
    /// next step bit for bit as the original does, whatever the graph and however its layers and blocks are named.
    /// </summary>
    private static void SameStepAfterACheckpoint(Kiln.Model model, Type type, Kiln.Adam optimizer, float[] x, float[] y, int n, string className, string text)
    {
        string path = Path.Combine(Path.GetTempPath(), $"kiln-graph-fuzz-{Guid.NewGuid():N}.safetensors");
        try
        {
            model.SaveCheckpoint(path, optimizer, epoch: 1);
            var restored = (Kiln.Model)Activator.CreateInstance(type, model.BatchSize, 99)!;
            var restoredOptimizer = new Kiln.Adam(1e-2f);
            restored.LoadCheckpoint(path, restoredOptimizer);
            model.TrainOnBatch(x, y, n, optimizer);
            restored.TrainOnBatch(x, y, n, restoredOptimizer);
            foreach (var t in model.Description.Tensors)
            {
                Span<float> a = model.Tensor(t.Name), b = restored.Tensor(t.Name);
                for (int i = 0; i < a.Length; i++)
                    Assert.True(BitConverter.SingleToInt32Bits(a[i]) == BitConverter.SingleToInt32Bits(b[i]),
                        $"{className} {t.Name}[{i}]: {b[i]} after a step from the checkpoint, {a[i]} in the original\n{text}");
            }
        }
        finally
        {
            File.Delete(path);
        }
    }

    /// <summary>
    /// Whether the model defines an input gradient: not through a random augmentation the loss depends on, after a training
    /// forward pass. Asking for one there is a clear error naming the augmentation, not a wrong or partial gradient.
    /// </summary>
    private static bool InputGradientDefined(Kiln.Model model, float[] x, float[] y, int n, string className, string text)
    {
        model.Forward(x, n, training: true);
        model.ComputeLoss(y, n, gradient: true);
        var e = Record.Exception(() => model.Backward(n, new float[x.Length]));
        if (e is null) return true;
        Assert.True(e is InvalidOperationException && e.Message.Contains("augmentation", StringComparison.Ordinal),
            $"{className}: asking for the input gradient gave {e}\n{text}");
        return false;
    }

    /// <summary>
    /// A pass that reports each layer's output (TensorBoard's histograms) writes outputs plain inference skips (a convolution's
    /// before the pooling done in its store): the same output bits as Predict, and every reported layer a finite tensor of its shape.
    /// </summary>
    private static void SameOutputWhenObserved(Kiln.Model model, float[] x, int n, string className, string text)
    {
        // Predicted again: the training-mode passes before moved BatchNormalization's moving statistics.
        var predicted = new float[n * model.OutputSize];
        model.Predict(x, n, predicted);
        var observer = new Reported(model.Description, n, className, text);
        float[] observed = model.Forward(x, n, observer).ToArray();
        for (int i = 0; i < predicted.Length; i++)
            Assert.True(BitConverter.SingleToInt32Bits(observed[i]) == BitConverter.SingleToInt32Bits(predicted[i]),
                $"{className}: output {i} is {observed[i]} observed, {predicted[i]} from Predict\n{text}");
        Assert.NotEmpty(observer.Layers);
    }

    private sealed class Reported(Kiln.ModelDescription description, int n, string className, string text) : Kiln.ILayerOutputObserver
    {
        public readonly List<string> Layers = new();

        public void OnLayerOutput(string layer, ReadOnlySpan<float> output)
        {
            var info = description.Layers.Single(l => l.Name == layer);
            int size = info.OutputShape.Aggregate(1, (a, b) => a * b);
            Assert.True(output.Length == n * size, $"{className}: '{layer}' reported {output.Length} values, not {n} × {size}\n{text}");
            foreach (float v in output) Assert.True(float.IsFinite(v), $"{className}: '{layer}' reported {v}\n{text}");
            Layers.Add(layer);
        }
    }

    /// <summary>Loads the compiled models and runs a few training steps of each (with a partial batch) to a finite loss.</summary>
    private static void TrainEach(Compilation compilation, List<string> accepted, Dictionary<string, Expected> expected)
    {
        GeneratorHarness.WithAssembly(compilation, "GraphFuzz", assembly =>
        {
            var rng = new Random(7);
            const int batch = 4;
            foreach (string className in accepted)
            {
                var e = expected[className];
                var type = assembly.GetType("Models." + className, throwOnError: true)!;
                var model = (Kiln.Model)Activator.CreateInstance(type, batch, 1)!;
                GradientCheck.RandomizeMovingStatistics(model, rng);
                // Statistics as Normalization.Adapt would give them: the user's API, away from the defaults (mean 0, variance 1).
                foreach (var (layer, count) in e.Unadapted)
                {
                    var mean = Enumerable.Range(0, count).Select(_ => (float)(rng.NextDouble() - 0.5)).ToArray();
                    var variance = Enumerable.Range(0, count).Select(_ => (float)(0.25 + 2 * rng.NextDouble())).ToArray();
                    new Kiln.NormalizationStatistics(mean, variance, 100).CopyTo(model, layer);
                }
                var optimizer = new Kiln.Adam(1e-2f);
                bool? inputGradient = null; // whether it defines one: asked once, on its first batch
                foreach (int n in new[] { batch, 3, batch })
                {
                    var x = new float[n * model.InputSize];
                    for (int i = 0; i < x.Length; i++) x[i] = (float)(rng.NextDouble() * 2 - 1);
                    var y = FuzzTargets.For(model, n, rng);
                    int k = model.OutputSize;
                    float loss = model.TrainOnBatch(x, y, n, optimizer);
                    Assert.True(float.IsFinite(loss) && loss >= 0, $"{className}: loss {loss} with n = {n}\n{e.Text}");
                    Assert.All(model.Parameters.Span.ToArray(), v => Assert.True(float.IsFinite(v), $"{className}: a weight is {v}\n{e.Text}"));
                    var predicted = new float[n * k];
                    model.Predict(x, n, predicted);
                    Assert.All(predicted, v => Assert.True(float.IsFinite(v), $"{className}: a prediction is {v}\n{e.Text}"));
                    // A model that augments may define no input gradient (when its loss depends on the augmentation).
                    inputGradient ??= !e.Augmented || InputGradientDefined(model, x, y, n, className, e.Text);
                    SameGradientsWithTheInputGradient(model, x, y, n, className, e.Text, inputGradient.Value);
                    SameOutputWhenObserved(model, x, n, className, e.Text);
                    if (n == 3)
                    {
                        GradientsMatchFiniteDifferences(model, x, y, n, className, e.Text, inputGradient.Value);
                        OutputGradientMatchesFiniteDifferences(model, x, n, className, e.Text, inputGradient.Value);
                        OnnxAgreement.AssertSameAsPredict(model, x, n, className, e.Text);
                        SameStepAfterACheckpoint(model, type, optimizer, x, y, n, className, e.Text);
                    }
                }
            }
        });
    }
}
