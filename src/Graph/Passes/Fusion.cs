using System.Collections.Generic;
using System.Linq;

namespace Kiln.Graph;

public enum KernelKind
{
    /// <summary>Flatten/Reshape: the same memory seen with another shape; no code runs.</summary>
    View,
    /// <summary>
    /// Dense, Conv2D or Conv2DTranspose (see the first layer), with bias and an elementwise activation
    /// applied as each tile is stored, optionally through a BatchNormalization in between.
    /// </summary>
    Linear,
    /// <summary>A standalone elementwise activation.</summary>
    Activation,
    /// <summary>Softmax over the last axis.</summary>
    Softmax,
    /// <summary>Inverted dropout with a saved mask.</summary>
    Dropout,
    /// <summary>A BatchNormalization that no linear layer precedes, with the activation after it.</summary>
    BatchNorm,
    /// <summary>Max, average, global average or global max pooling (see the layer).</summary>
    Pool,
    /// <summary>UpSampling2D or ZeroPadding2D: data movement only.</summary>
    Resample,
    /// <summary>Rescaling or Normalization: a fixed elementwise affine map.</summary>
    Preprocess,
    /// <summary>Add, Subtract, Multiply, Average, Maximum or Concatenate over several inputs.</summary>
    Merge,
    /// <summary>One input of a model with several: its columns of the packed input row.</summary>
    Input,
    /// <summary>A random image augmentation (RandomFlip, RandomCrop, …): drawn per sample in training, a copy (RandomCrop: a centre crop) in inference.</summary>
    Augment,
}

/// <summary>How the loss is joined to the output layer.</summary>
public enum LossFusion
{
    /// <summary>No loss attribute.</summary>
    None,
    /// <summary>The output is a softmax: cross-entropy is computed from the logits and backward starts at (p − y)/n.</summary>
    SoftmaxCrossEntropy,
    /// <summary>The output is a sigmoid: binary cross-entropy from the logits, backward starts at (p − y)/(n·units).</summary>
    SigmoidBinaryCrossEntropy,
    /// <summary><c>FromLogits = true</c>: the output already is the logits.</summary>
    FromLogits,
    /// <summary>The loss reads the output as it is (probabilities, or regression values for MSE).</summary>
    OnOutput,
}

/// <summary>One kernel of the forward pass: the layers it computes and how.</summary>
public sealed class KernelGroup
{
    public KernelGroup(int id, KernelKind kind, IReadOnlyList<LayerNode> layers, ActivationKind epilogue, float alpha, bool keepsLogits)
    {
        Id = id;
        Kind = kind;
        Layers = layers;
        Epilogue = epilogue;
        Alpha = alpha;
        KeepsLogits = keepsLogits;
        BatchNorm = layers.FirstOrDefault(l => l.Spec is BatchNormalizationSpec);
    }

    /// <summary>The BatchNormalization this kernel applies, if any: normalized in training, folded into the weights in inference.</summary>
    public LayerNode? BatchNorm { get; }

    public int Id { get; }
    public string Label => "k" + Id;
    public KernelKind Kind { get; }
    public IReadOnlyList<LayerNode> Layers { get; }
    public LayerNode First => Layers[0];
    public LayerNode Last => Layers[Layers.Count - 1];
    public Shape Input => First.Input;
    public Shape Output => Last.Output;

    /// <summary>The activation of this kernel: a Dense epilogue (or its separate pass when <see cref="KeepsLogits"/>), or the activation layer itself.</summary>
    public ActivationKind Epilogue { get; }
    public float Alpha { get; }

    /// <summary>
    /// The Dense writes its pre-activation logits and the activation runs as a second pass: always
    /// for softmax (a row operation, not an elementwise epilogue), and for a sigmoid whose loss reads the logits.
    /// </summary>
    public bool KeepsLogits { get; }

    public KernelGroup WithLogitsKept() => new(Id, Kind, Layers, Epilogue, Alpha, true);

    public string LayerNames => string.Join(" + ", Layers.Select(l => l.Name));

    /// <summary>
    /// The Add a linear + BN kernel absorbed, if any: the shortcut it adds in BN's pass is
    /// <see cref="Residual"/>'s output (null for the model's input).
    /// </summary>
    public LayerNode? ResidualAdd => Kind == KernelKind.Linear ? Layers.FirstOrDefault(l => l.Spec is MergeSpec) : null;

    /// <summary>The layer whose output <see cref="ResidualAdd"/> adds: its source other than the BN.</summary>
    public LayerNode? Residual => ResidualAdd is { } add ? add.Sources.First(s => s != BatchNorm) : null;

    /// <summary>A max pooling, whose backward needs the index that won each window.</summary>
    public bool SavesArgmax => First.Spec is PoolingSpec { Max: true } or GlobalPoolingSpec { Max: true };

    /// <summary>How a linear kernel computes its product, as the header and the emitted comments name it (one text, so they cannot drift).</summary>
    public string Operation => First.Spec switch
    {
        ConvolutionSpec { Transposed: true } => "transposed convolution (GEMM + col2im)",
        ConvolutionSpec => Convolution switch
        {
            ConvolutionAlgorithm.Winograd => $"Winograd F({WinogradTile}x{WinogradTile}, {First.Window!.KernelHeight}x{First.Window.KernelWidth}) convolution",
            ConvolutionAlgorithm.Direct => "direct convolution",
            ConvolutionAlgorithm.ImplicitGemm => "implicit-GEMM convolution",
            _ => throw new System.InvalidOperationException($"kernel {Label} ({First.Name}): no description of convolution algorithm {Convolution}"),
        },
        DenseSpec => "GEMM",
        _ => throw new System.InvalidOperationException($"kernel {Label} ({First.Name}) is not a linear layer"),
    };

    /// <summary>The tile of a Winograd convolution's forward pass (see <see cref="KernelSelection.WinogradTile"/>).</summary>
    private int WinogradTile => KernelSelection.WinogradTile(First.Output[0], First.Output[1], First.Window!.KernelHeight);

    /// <summary>For a convolution kernel, the variant its constant shapes call for (see <see cref="KernelSelection"/>).</summary>
    public ConvolutionAlgorithm Convolution => KernelSelection.For(this);
}

public sealed class FusionPlan
{
    public FusionPlan(IReadOnlyList<KernelGroup> groups, IReadOnlyList<LossFusion> losses, IReadOnlyDictionary<KernelGroup, KernelGroup> poolsInStore,
        IReadOnlyDictionary<KernelGroup, KernelGroup> derivativesAtPool)
    {
        Groups = groups;
        Losses = losses;
        PoolsInStore = poolsInStore;
        DerivativesAtPool = derivativesAtPool;
        var normalizes = new Dictionary<KernelGroup, KernelGroup>();
        foreach (var pair in derivativesAtPool)
            if (pair.Value is { Kind: KernelKind.Linear, BatchNorm.IsTrainable: true } && pair.Key.First.Spec is PoolingSpec { Max: true })
                normalizes[pair.Value] = pair.Key;
        NormalizesIntoPool = normalizes;
    }

    public IReadOnlyList<KernelGroup> Groups { get; }

    /// <summary>
    /// Inference only: a Winograd or direct convolution kernel whose output only a 2×2 max pooling
    /// reads does that pooling as it stores (Winograd: each 2×2 tile is one window; direct: each band
    /// of rows is pooled while still in cache), so its unpooled output is never written to memory.
    /// Training runs both kernels: backward reads the convolution's output and the pooling's argmax.
    /// Maps the convolution's kernel to the pooling's.
    /// </summary>
    public IReadOnlyDictionary<KernelGroup, KernelGroup> PoolsInStore { get; }

    /// <summary>
    /// Backward: a max pooling that is the only reader of a kernel with a fused activation takes that
    /// activation's derivative itself, at the pooled size. At each window's winner the kernel's output
    /// is the pooled value, so act'(y) there is act'(pooled); everywhere else the gradient is zero.
    /// The kernel's backward then skips its mask and never reads its full-size output (a BatchNorm +
    /// ReLU's statistics pass reads two tensors instead of three and writes none). Maps the pooling's
    /// kernel to the activation's.
    /// </summary>
    public IReadOnlyDictionary<KernelGroup, KernelGroup> DerivativesAtPool { get; }

    /// <summary>
    /// Training with batch statistics: a convolution or Dense kernel with a BatchNormalization whose max
    /// pooling takes its activation's derivative (<see cref="DerivativesAtPool"/>, so backward never reads
    /// the normalized output) pools as it normalizes: act(BN(z)) is computed under each window and only the
    /// maxima and their indices are written, saving the full-size output's write and the pooling's read of it.
    /// A caller observing layer outputs gets the two kernels. Maps the BN kernel to the pooling's.
    /// </summary>
    public IReadOnlyDictionary<KernelGroup, KernelGroup> NormalizesIntoPool { get; }

    /// <summary>The BN kernel that does <paramref name="pool"/>'s pooling as it normalizes in training (see <see cref="NormalizesIntoPool"/>), if any.</summary>
    public KernelGroup? NormalizedInto(KernelGroup pool) => KeyOf(NormalizesIntoPool, pool);

    /// <summary>The max pooling that takes <paramref name="g"/>'s activation derivative (see <see cref="DerivativesAtPool"/>), if any.</summary>
    public KernelGroup? PoolTakingDerivativeOf(KernelGroup g) => KeyOf(DerivativesAtPool, g);

    /// <summary>The convolution kernel that does <paramref name="pool"/>'s pooling in its store in inference, if any.</summary>
    public KernelGroup? PooledBy(KernelGroup pool) => KeyOf(PoolsInStore, pool);

    /// <summary>The kernel a one-to-one fusion map sends to <paramref name="value"/>, if any (the maps are a few entries long).</summary>
    private static KernelGroup? KeyOf(IReadOnlyDictionary<KernelGroup, KernelGroup> map, KernelGroup value)
    {
        foreach (var pair in map)
            if (pair.Value == value) return pair.Key;
        return null;
    }

    /// <summary>How each output's loss is joined to it, in <see cref="ModelGraph.Outputs"/> order.</summary>
    public IReadOnlyList<LossFusion> Losses { get; }

    /// <summary>The kernel that computes an output, looking through views; null when the output is a view of the input.</summary>
    public KernelGroup? OutputKernel(LayerNode output) => Fusion.OutputKernel(output, Groups);

    /// <summary>The kernel label computing each layer, for the summary's Kernel column.</summary>
    public string KernelOf(LayerNode layer)
    {
        foreach (var g in Groups)
            if (g.Layers.Contains(layer)) return g.Kind == KernelKind.View ? "view" : g.Label;
        return "";
    }
}

/// <summary>
/// Decides which layers share a kernel: Dense absorbs the bias and a following activation
/// layer into its GEMM epilogue (or a following softmax into a row pass right after), and
/// the loss is joined to a softmax or sigmoid output so backward skips their Jacobians.
/// </summary>
public static class Fusion
{
    public static FusionPlan Run(ModelGraph graph)
    {
        var groups = new List<KernelGroup>();
        var layers = graph.Layers;
        int id = 0;
        // A layer joins the kernel of the one before it only when it is that layer's sole reader
        // and reads nothing else: the fused intermediate values are never stored.
        for (int i = 0; i < layers.Count; i++)
        {
            var layer = layers[i];
            LayerNode? Next()
            {
                if (i + 1 >= layers.Count) return null;
                var current = layers[i];
                var next = layers[i + 1];
                // A model output is stored (the caller reads it), so nothing fuses past it.
                return next.Sources.Count == 1 && next.Sources[0] == current && graph.Readers(current) == 1 && !graph.IsOutput(current) ? next : null;
            }
            // The Add right after layer i, of layer i (read by nothing else) and a tensor the kernel starting at
            // `first` can already read: one computed before that kernel runs.
            LayerNode? ResidualAdd(LayerNode first)
            {
                if (i + 1 >= layers.Count || graph.Readers(layers[i]) != 1 || graph.IsOutput(layers[i])) return null;
                var next = layers[i + 1];
                if (next.Spec is not MergeSpec { Operation: MergeKind.Add } || next.Sources.Count != 2) return null;
                var other = next.Sources[0] == layers[i] ? next.Sources[1] : next.Sources[1] == layers[i] ? next.Sources[0] : null;
                bool before = other is null ? next.Sources.Contains(layers[i]) && next.Sources.Any(s => s is null) : other.Index < first.Index;
                return before && other != layers[i] ? next : null;
            }
            var kind = layer.Spec.Kernel;
            switch (kind)
            {
                case KernelKind.View:
                    groups.Add(new KernelGroup(-1, KernelKind.View, new[] { layer }, ActivationKind.Linear, 0, false));
                    break;

                case KernelKind.Linear:
                {
                    var members = new List<LayerNode> { layer };
                    var act = layer.Activation;
                    float alpha = 0;
                    if (act == ActivationKind.Linear && Next()?.Spec is BatchNormalizationSpec)
                    {
                        // Linear → BN → activation: BN statistics and the activation run in one pass after the GEMM;
                        // in inference BN is folded into the weights and the whole group is one GEMM.
                        members.Add(layers[++i]);
                        if (Next()?.Spec is ActivationSpec { IsElementwise: true } activation)
                        {
                            members.Add(layers[++i]);
                            act = activation.Activation;
                            alpha = activation.Alpha;
                        }
                        else if (ResidualAdd(members[0]) is { } add)
                        {
                            // Linear → BN → Add(it, a tensor computed before) [→ activation]: the shortcut is added in
                            // BN's normalizing pass, before the activation (oneDNN's sum post-op).
                            members.Add(layers[++i]);
                            if (Next()?.Spec is ActivationSpec { IsElementwise: true } after)
                            {
                                members.Add(layers[++i]);
                                act = after.Activation;
                                alpha = after.Alpha;
                            }
                        }
                    }
                    else if (act == ActivationKind.Linear && Next()?.Spec is ActivationSpec activation
                        && (layer.Spec is DenseSpec || activation.IsElementwise))
                    {
                        // A linear layer absorbs the activation layer right after it (a convolution's
                        // softmax stays a separate row pass over its channels).
                        members.Add(layers[++i]);
                        act = activation.Activation;
                        alpha = activation.Alpha;
                    }
                    groups.Add(new KernelGroup(id++, KernelKind.Linear, members, act, alpha, act == ActivationKind.Softmax));
                    break;
                }

                case KernelKind.BatchNorm:
                {
                    var members = new List<LayerNode> { layer };
                    var act = ActivationKind.Linear;
                    float alpha = 0;
                    if (Next()?.Spec is ActivationSpec { IsElementwise: true } activation)
                    {
                        members.Add(layers[++i]);
                        act = activation.Activation;
                        alpha = activation.Alpha;
                    }
                    groups.Add(new KernelGroup(id++, KernelKind.BatchNorm, members, act, alpha, false));
                    break;
                }

                case KernelKind.Merge:
                {
                    // An elementwise merge absorbs the activation right after it (a residual Add + ReLU is one
                    // pass: the last sum applies the ReLU as it stores); backward starts with its derivative.
                    var members = new List<LayerNode> { layer };
                    var act = ActivationKind.Linear;
                    float alpha = 0;
                    if (layer.Spec is MergeSpec { Operation: not (MergeKind.Maximum or MergeKind.Concatenate) }
                        && Next()?.Spec is ActivationSpec { IsElementwise: true } activation)
                    {
                        members.Add(layers[++i]);
                        act = activation.Activation;
                        alpha = activation.Alpha;
                    }
                    groups.Add(new KernelGroup(id++, KernelKind.Merge, members, act, alpha, false));
                    break;
                }

                case KernelKind.Pool:
                case KernelKind.Input:
                case KernelKind.Preprocess:
                case KernelKind.Resample:
                case KernelKind.Dropout:
                case KernelKind.Augment:
                    groups.Add(new KernelGroup(id++, kind, new[] { layer }, ActivationKind.Linear, 0, false));
                    break;

                case KernelKind.Softmax:
                case KernelKind.Activation:
                    groups.Add(new KernelGroup(id++, kind, new[] { layer }, layer.Activation, layer.Spec.Alpha, false));
                    break;

                default:
                    throw new System.InvalidOperationException($"fusion has no rule for kernel kind {kind} (layer '{layer.Name}')");
            }
        }
        var losses = new List<LossFusion>();
        foreach (var output in graph.Outputs)
        {
            var loss = ChooseLoss(output, groups, graph.Readers(output.Layer) > 0);
            losses.Add(loss);
            // A sigmoid output fused with binary cross-entropy keeps its logits, so the loss is computed from them stably.
            int last = OutputKernel(output.Layer, groups) is { } producer ? groups.IndexOf(producer) : -1;
            if (loss == LossFusion.SigmoidBinaryCrossEntropy && last >= 0 && groups[last].Kind == KernelKind.Linear)
                groups[last] = groups[last].WithLogitsKept();
        }
        return new FusionPlan(groups, losses, PoolsInStore(graph, groups), DerivativesAtPool(graph, groups));
    }

    /// <summary>Each max pooling whose input only it reads, made by a kernel with an elementwise activation epilogue (see <see cref="FusionPlan.DerivativesAtPool"/>).</summary>
    private static Dictionary<KernelGroup, KernelGroup> DerivativesAtPool(ModelGraph graph, List<KernelGroup> groups)
    {
        var pools = new Dictionary<KernelGroup, KernelGroup>();
        foreach (var pool in groups)
        {
            if (pool.Kind != KernelKind.Pool || !pool.SavesArgmax || pool.First.Sources.Count != 1 || pool.First.Sources[0] is not { } source) continue;
            var producer = groups.First(g => g.Layers.Contains(source));
            // A residual kernel's shortcut gradient and a kept-logits kernel's separate activation pass read the output themselves.
            bool fusedActivation = producer.Kind is KernelKind.Linear or KernelKind.BatchNorm && producer.Last == source
                && producer.ResidualAdd is null && !producer.KeepsLogits
                && producer.Epilogue is not (ActivationKind.Linear or ActivationKind.Softmax);
            if (fusedActivation && graph.Readers(source) == 1 && !graph.IsOutput(source)) pools[pool] = producer;
        }
        return pools;
    }

    /// <summary>Each Winograd or direct convolution kernel read only by a 2×2, stride-2 max pooling (see <see cref="FusionPlan.PoolsInStore"/>).</summary>
    private static Dictionary<KernelGroup, KernelGroup> PoolsInStore(ModelGraph graph, List<KernelGroup> groups)
    {
        var pools = new Dictionary<KernelGroup, KernelGroup>();
        foreach (var conv in groups)
        {
            if (conv.Kind != KernelKind.Linear || conv.Convolution is not (ConvolutionAlgorithm.Winograd or ConvolutionAlgorithm.Direct)
                || conv.ResidualAdd is not null || conv.KeepsLogits) continue;
            if (graph.Readers(conv.Last) != 1 || graph.IsOutput(conv.Last)) continue;
            var pool = groups.FirstOrDefault(g => g.Kind == KernelKind.Pool && g.First.Sources.Count == 1 && g.First.Sources[0] == conv.Last);
            if (pool?.First.Spec is not PoolingSpec { Max: true, PoolHeight: 2, PoolWidth: 2, StrideHeight: 2, StrideWidth: 2 } spec) continue;
            // Same padding pads only an odd side; valid pooling drops its last row or column, as the kernel does.
            bool even = conv.Output[0] % 2 == 0 && conv.Output[1] % 2 == 0;
            if (spec.Padding == PaddingKind.Valid || even) pools[conv] = pool;
        }
        return pools;
    }

    internal static KernelGroup? OutputKernel(LayerNode output, IReadOnlyList<KernelGroup> groups)
    {
        LayerNode? node = output;
        while (node is not null)
        {
            var group = groups.First(g => g.Layers.Contains(node));
            if (group.Kind != KernelKind.View) return group;
            node = node.Sources[0];
        }
        return null;
    }

    /// <summary>Whether <paramref name="layer"/> reads the model's input itself or a view of it.</summary>
    private static bool ReadsModelInput(LayerNode layer, IReadOnlyList<KernelGroup> groups)
    {
        var source = layer.Sources[0];
        while (source is not null && groups.First(g => g.Layers.Contains(source)).Kind == KernelKind.View) source = source.Sources[0];
        return source is null;
    }

    /// <summary>
    /// Joins the loss to the output activation (softmax or sigmoid + cross-entropy, backward from
    /// p − y); not when another layer also reads the output, since its gradient then is more than the loss's.
    /// </summary>
    private static LossFusion ChooseLoss(ModelOutput output, List<KernelGroup> groups, bool readElsewhere)
    {
        if (output.Loss is not { } loss) return LossFusion.None;
        if (loss.FromLogits && loss.Kind != LossKind.MeanSquaredError) return LossFusion.FromLogits;
        var last = OutputKernel(output.Layer, groups);
        if (last is null || readElsewhere) return LossFusion.OnOutput;
        // A lone activation's logits are its input; when that is the model's input (through views at most), the loss cannot
        // read it (it is not kept past the forward pass), so the loss reads the activation's output instead.
        if (last.Kind is KernelKind.Softmax or KernelKind.Activation && ReadsModelInput(last.First, groups)) return LossFusion.OnOutput;
        bool softmaxOutput = last.Epilogue == ActivationKind.Softmax && last.BatchNorm is null && last.Kind is KernelKind.Linear or KernelKind.Softmax;
        bool sigmoidOutput = last.Epilogue == ActivationKind.Sigmoid && last.BatchNorm is null && last.Kind is KernelKind.Linear or KernelKind.Activation;
        return loss.Kind switch
        {
            LossKind.SparseCategoricalCrossentropy or LossKind.CategoricalCrossentropy when softmaxOutput => LossFusion.SoftmaxCrossEntropy,
            LossKind.BinaryCrossentropy when sigmoidOutput => LossFusion.SigmoidBinaryCrossEntropy,
            LossKind.SparseCategoricalCrossentropy or LossKind.CategoricalCrossentropy or LossKind.BinaryCrossentropy or LossKind.MeanSquaredError => LossFusion.OnOutput,
            _ => throw new System.ArgumentOutOfRangeException(nameof(loss), loss.Kind, "unknown loss"),
        };
    }
}
