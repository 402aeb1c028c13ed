using System.Collections.Generic;
using System.Linq;

namespace Kiln.Graph;

public enum BufferRole
{
    /// <summary>The caller's input span; not in the arena.</summary>
    Input,
    /// <summary>The caller's input-gradient span; not in the arena.</summary>
    InputGradient,
    /// <summary>A copy of the input kept for the backward pass.</summary>
    SavedInput,
    Activation,
    Logits,
    Mask,
    Gradient,
    /// <summary>Per-model, not per-sample: BN batch statistics, BN-folded weights. Lives in the arena's fixed tail.</summary>
    Fixed,
}

/// <summary>A tensor of the program, per sample. Views alias another buffer's memory.</summary>
public sealed class Buffer
{
    public Buffer(int id, string name, int sizePerSample, BufferRole role, Buffer? aliasOf = null)
    {
        Id = id;
        Name = name;
        SizePerSample = sizePerSample;
        Role = role;
        AliasOf = aliasOf;
    }

    public int Id { get; }
    /// <summary>A C# identifier-friendly name, e.g. <c>dense_1</c> or <c>d_dense_1</c>.</summary>
    public string Name { get; }
    public int SizePerSample { get; }
    public BufferRole Role { get; }
    public Buffer? AliasOf { get; }
    public Buffer Root => AliasOf?.Root ?? this;
    public bool InArena => Root.Role is not (BufferRole.Input or BufferRole.InputGradient);

    /// <summary>A fixed-size buffer (not times the batch); <see cref="SizePerSample"/> is then its whole size.</summary>
    public bool IsFixed => Root.Role == BufferRole.Fixed;

    /// <summary>Offset in floats per sample (times the batch size at run time); set by the memory planner.</summary>
    public long OffsetPerSample { get; internal set; } = -1;
    /// <summary>Lifetime in program steps, inclusive; set by the memory planner.</summary>
    public int FirstStep { get; internal set; } = int.MaxValue;
    public int LastStep { get; internal set; } = -1;

    public override string ToString() => Name;
}

public enum StepKind
{
    SaveInput,
    /// <summary>A channels-first [Sequential] input: X, (C, H, W) per sample, transposed into Y, channels last, which every layer reads.</summary>
    TransposeInput,
    /// <summary>Dense, Conv2D or Conv2DTranspose (the group's first layer), with its BatchNormalization when the group has one.</summary>
    LinearForward,
    BatchNormForward,
    ActivationForward,
    SoftmaxForward,
    DropoutForward,
    PoolForward,
    ResampleForward,
    PreprocessForward,
    /// <summary>A merge of X and the Operands into Y (Mask: Maximum's winning input).</summary>
    MergeForward,
    /// <summary>One input of several: its columns of the packed input rows X into Y.</summary>
    InputForward,
    /// <summary>One output of several: X into its columns of the packed output rows Y.</summary>
    OutputForward,
    /// <summary>A random augmentation of X into Y in training (per-sample draws from the model's random stream); a copy or centre crop in inference.</summary>
    AugmentForward,
    Loss,
    /// <summary>Runs only when a caller wrote the output gradient: takes it back through the output activation the loss fused away.</summary>
    OutputActivationBackward,
    LinearBackward,
    BatchNormBackward,
    ActivationBackward,
    SoftmaxBackward,
    DropoutBackward,
    PoolBackward,
    ResampleBackward,
    PreprocessBackward,
    /// <summary>A merge's gradient for its input number <see cref="Step.Input"/>, written over or added to DX (Operands: the other factors of a Multiply; Z: their running product).</summary>
    MergeBackward,
    /// <summary>DX += X: a later reader's part of the gradient of a tensor read several times.</summary>
    AccumulateGradient,
    /// <summary>The gradient of the shortcut a linear + BN kernel adds: DX = act'(Y)·DY, before the BN backward overwrites DY.</summary>
    ResidualBackward,
    /// <summary>A composed caller's packed output gradient DY: one output's columns into its gradient DX.</summary>
    OutputGradientSplit,
    /// <summary>DY, the gradient of one input of several, into its columns of the caller's input gradient DX (zeros when DY is null).</summary>
    InputBackward,
    /// <summary>DY, the channels-last gradient of a channels-first [Sequential] input, transposed into the caller's input gradient DX (zeros when DY is null).</summary>
    TransposeInputBackward,
    /// <summary>Only for the input gradient through an augmentation layer: refused at run time (see Kiln.Kernels.Augmentation.NoInputGradient).</summary>
    AugmentBackward,
}

/// <summary>
/// One kernel call. Forward steps read X and write Y (and Z, the pre-normalization values of
/// a linear+BN group, and Mask: a dropout mask or pooling argmax). Backward steps read X, Y,
/// Z, Mask and DY and write DX (DY may be overwritten in place, DX may alias DY).
/// </summary>
public sealed class Step
{
    public Step(StepKind kind, KernelGroup? group)
    {
        Kind = kind;
        Group = group;
    }

    public StepKind Kind { get; }
    public KernelGroup? Group { get; }
    public Buffer? X { get; init; }
    public Buffer? Y { get; init; }
    public Buffer? Z { get; init; }
    public Buffer? DY { get; init; }
    public Buffer? DX { get; init; }
    /// <summary>
    /// For a residual block's linear backward: where BN's backward writes the gradient of its input (the buffer of
    /// the block's output gradient, dead by then), while DY, the shortcut's gradient already through the activation, is only read.
    /// </summary>
    public Buffer? DZ { get; init; }
    public Buffer? Mask { get; init; }
    /// <summary>BatchNormalization's per-channel batch mean and 1/σ, saved for backward (fixed size).</summary>
    public Buffer? Statistics { get; init; }
    /// <summary>Inference weights with BatchNormalization folded in (fixed size): kernel, then bias.</summary>
    public Buffer? Folded { get; init; }
    /// <summary>
    /// A convolution that does the following 2×2 max pooling in its store in inference (<see cref="FusionPlan.PoolsInStore"/>):
    /// the pooling's output, written there instead of Y unless the pass trains or a caller observes layer outputs.
    /// </summary>
    public Buffer? Pooled { get; init; }
    /// <summary>
    /// A BN kernel that pools as it normalizes in training (<see cref="FusionPlan.NormalizesIntoPool"/>): the
    /// pooling's argmax, written there (with the pooled values, <see cref="Pooled"/>) unless a caller observes layer outputs.
    /// </summary>
    public Buffer? PooledArgmax { get; init; }
    /// <summary>A merge's other inputs (forward), or the other factors of a Multiply (backward).</summary>
    public IReadOnlyList<Buffer> Operands { get; init; } = System.Array.Empty<Buffer>();

    /// <summary>For a merge's backward step: which input it computes the gradient of.</summary>
    public int Input { get; init; }

    /// <summary>For a merge's or a linear kernel's backward step: add to DX instead of writing it (DX already holds another reader's part).</summary>
    public bool Accumulate { get; init; }

    public ActivationKind Activation { get; init; }
    public float Alpha { get; init; }

    /// <summary>For backward steps: computing DX is needed only when the caller asked for the input gradient.</summary>
    public bool DxOnlyForInputGradient { get; init; }

    /// <summary>For backward steps whose only product is DX: the whole step is skipped unless the input gradient is wanted.</summary>
    public bool OnlyForInputGradient { get; init; }

    /// <summary>Index in program order (forward, loss, backward), for lifetimes.</summary>
    public int Index { get; internal set; }

    public bool IsBackward => Kind switch
    {
        StepKind.SaveInput or StepKind.TransposeInput or StepKind.LinearForward or StepKind.BatchNormForward or StepKind.ActivationForward or StepKind.SoftmaxForward
            or StepKind.DropoutForward or StepKind.PoolForward or StepKind.ResampleForward or StepKind.PreprocessForward
            or StepKind.MergeForward or StepKind.InputForward or StepKind.OutputForward or StepKind.Loss or StepKind.AugmentForward => false,
        StepKind.OutputActivationBackward or StepKind.LinearBackward or StepKind.BatchNormBackward or StepKind.ActivationBackward
            or StepKind.SoftmaxBackward or StepKind.DropoutBackward or StepKind.PoolBackward or StepKind.ResampleBackward
            or StepKind.PreprocessBackward or StepKind.MergeBackward or StepKind.AccumulateGradient or StepKind.InputBackward or StepKind.TransposeInputBackward or StepKind.OutputGradientSplit or StepKind.ResidualBackward or StepKind.AugmentBackward => true,
        _ => throw new System.InvalidOperationException($"unknown step kind {Kind}"),
    };

    public IEnumerable<Buffer> Reads()
    {
        var reads = Kind == StepKind.Loss ? new[] { X, Y }
            : !IsBackward && Kind != StepKind.OutputActivationBackward ? new[] { X }
            : Kind == StepKind.AccumulateGradient ? new[] { X, DX }
            : new[] { X, Y, Z, Mask, DY };
        foreach (var b in reads)
            if (b is not null) yield return b;
        foreach (var b in Operands) yield return b;
        if (Accumulate && DX is not null) yield return DX;
    }

    public IEnumerable<Buffer> Writes()
    {
        var writes = Kind == StepKind.Loss ? new[] { DY, Z }
            : Kind == StepKind.MergeBackward ? new[] { DX, Z }
            : IsBackward ? new[] { DX, DY, DZ }
            : new[] { Y, Z, Mask, Pooled, PooledArgmax };
        foreach (var b in writes)
            if (b is not null) yield return b;
    }
}

/// <summary>A named weight placed in the parameter (trainable) or state buffer.</summary>
public sealed record TensorSlot(LayerNode Layer, WeightSpec Weight, long Offset)
{
    public string Name => Layer.Name + "/" + Weight.Suffix;
}

/// <summary>The lowered model the emitter walks: buffers with planned offsets, and the steps in order.</summary>
public sealed class KernelProgram
{
    public KernelProgram(ModelGraph graph, FusionPlan fusion)
    {
        Graph = graph;
        Fusion = fusion;
    }

    public ModelGraph Graph { get; }
    public FusionPlan Fusion { get; }
    public List<Buffer> Buffers { get; } = new();
    public List<Step> Forward { get; } = new();
    /// <summary>The tensor each kernel group leaves its output in (a view's aliases its input's): what later layers read, and what a forward pass shows a caller asking for layer outputs.</summary>
    public Dictionary<KernelGroup, Buffer> GroupOutputs { get; } = new();
    /// <summary>One loss step per output that has a loss, in output order.</summary>
    public List<Step> Losses { get; } = new();
    /// <summary>Runs before <see cref="Backward"/> when the caller seeded the output gradient itself; empty when no activation was fused into the loss.</summary>
    public List<Step> FromOutputGradient { get; } = new();
    public List<Step> Backward { get; } = new();
    public List<TensorSlot> Parameters { get; } = new();
    public List<TensorSlot> State { get; } = new();
    // Longs, so a model too large for one buffer is measured exactly and Capacity reports it (KILN0012).
    public long ParameterFloats { get; set; }
    public long StateFloats { get; set; }
    public long ArenaFloatsPerSample { get; set; }
    /// <summary>Floats of the arena's fixed tail (after the per-sample part): BN statistics and folded weights.</summary>
    public long ArenaFixedFloats { get; set; }

    public Buffer Input { get; set; } = null!;
    public Buffer InputGradient { get; set; } = null!;
    public Buffer Output { get; set; } = null!;
    public Buffer OutputGradient { get; set; } = null!;

    public IEnumerable<Step> AllSteps()
    {
        foreach (var s in Forward) yield return s;
        foreach (var s in Losses) yield return s;
        foreach (var s in FromOutputGradient) yield return s;
        foreach (var s in Backward) yield return s;
    }

    /// <summary>
    /// Trainable weights no backward step reaches: their layer feeds nothing the loss reads (KILN0133). Their gradient is zero, and
    /// backward must write it so: the regularizers' gradients are added after it, and would otherwise pile up step after step.
    /// </summary>
    public IEnumerable<TensorSlot> UnreachedWeights =>
        Parameters.Where(p => p.Weight.Trainable && !Backward.Any(s => s.Group is { } g && g.Layers.Contains(p.Layer)));

    public TensorSlot? Weight(LayerNode layer, string suffix) =>
        Parameters.Find(p => p.Layer == layer && p.Weight.Suffix == suffix) ?? State.Find(p => p.Layer == layer && p.Weight.Suffix == suffix);

    /// <summary>The largest patch (kernel height × width × input channels) taken by <see cref="PooledGradientsOf(Step)"/>; Kiln.Kernels.BatchNorm.MomentsPatch.</summary>
    public const int PooledGradientsPatch = 32;

    /// <summary>
    /// Training with batch statistics and no input gradient asked: the backward of a model's first convolution + BatchNormalization
    /// + activation that pools 2×2 as it normalizes (<see cref="FusionPlan.NormalizesIntoPool"/>) goes from the pooling's gradients
    /// straight to the kernel, gamma and beta gradients (Kiln.Kernels.BatchNorm.ConvMaxPoolBackward, which stands the patches'
    /// covariance in for the full-size tensors): the pooling's full-size scatter and the BN and convolution passes over it are skipped.
    /// For such a convolution's backward step, the pooling's backward step; otherwise null. Small patches only: the kernel's
    /// per-sample moments grow with the patch's square.
    /// </summary>
    public Step? PooledGradientsOf(Step linear)
    {
        var g = linear.Group!;
        if (linear.Kind != StepKind.LinearBackward || !linear.DxOnlyForInputGradient || linear.Z is null || linear.Statistics is null) return null;
        // A synchronized BN's statistics are the global batch's in a distributed Fit: the generated code takes this path only without ranks.
        if (g.BatchNorm is not { Spec: BatchNormalizationSpec, IsTrainable: true }) return null;
        if (g.First.Spec is not ConvolutionSpec { Transposed: false } || g.First.Window is not { } conv) return null;
        // The path exists for the kernel's gradient: a frozen convolution has none to take.
        if (g.First.TrainableCount == 0) return null;
        if (conv.KernelHeight * conv.KernelWidth * conv.InputChannels > PooledGradientsPatch) return null;
        if (!Fusion.NormalizesIntoPool.TryGetValue(g, out var pool) || pool.First.Window is not { } window) return null;
        // A 2×2, stride-2 window that lies inside the convolution's output: valid pooling, or same pooling of even sizes.
        bool inside = window.PadTop == 0 && window.PadLeft == 0 && 2 * window.OutputHeight <= window.InputHeight && 2 * window.OutputWidth <= window.InputWidth;
        if (pool.First.Spec is not PoolingSpec { Max: true, PoolHeight: 2, PoolWidth: 2, StrideHeight: 2, StrideWidth: 2 } || !inside) return null;
        return Backward.Find(s => s.Group == pool && s.Kind == StepKind.PoolBackward && s.Y is not null && s.Mask is not null);
    }

    /// <summary>
    /// Buffers a backward step reads beyond its own, for the memory planner: a first convolution whose weight gradients come
    /// from its pooling's gradients (<see cref="PooledGradientsOf(Step)"/>) reads that pooling's gradient, output and argmax
    /// after the step may have written its input gradient, so they must live to the end of the step, not of the pooling's.
    /// </summary>
    public IEnumerable<Buffer> PooledReads(Step step)
    {
        if (PooledGradientsOf(step) is not { } pool) yield break;
        yield return pool.DY!;
        yield return pool.Y!;
        yield return pool.Mask!;
    }

    /// <summary>
    /// Training with batch statistics, unobserved: a direct convolution whose backward takes its pooling's gradients
    /// (<see cref="PooledGradientsOf(Step)"/>) takes its batch statistics from its input's patches (Kiln.Kernels.BatchNorm.ConvStatistics),
    /// then runs with BN folded into its kernel and pools with the winners' indices as it stores
    /// (Kiln.Kernels.DirectConv2D.ForwardMaxPool2x2): its full-size output is never written, and its backward recomputes the
    /// winners' values from their patches (or the whole output, when the input gradient is asked).
    /// </summary>
    public bool StatisticsFromPatches(KernelGroup g) => g.Convolution == ConvolutionAlgorithm.Direct && PooledGradientsOf(g) is not null;

    /// <summary>
    /// A learning BatchNormalization's backward step that, with batch statistics, takes its activation's derivative at
    /// act(BN(x)) redone from BN's input with the normalizing pass's own operations (Kiln.Kernels.BatchNorm.BackwardFromInput),
    /// the bits of the derivative at the stored output, which it then does not read. Each of its two passes reads the input
    /// anyway; the output's read and the masked gradient's write-back were two of their seven full-size streams. Only for
    /// ReLU and LeakyRelu, cheaper to redo than to read, and without a residual Add in the group, whose output the input alone
    /// does not give. The frozen branch (moving statistics) still reads the output.
    /// </summary>
    public bool DerivativeFromInput(Step step)
    {
        if (step.Y is null || step.Activation is not (ActivationKind.Relu or ActivationKind.LeakyRelu)) return false;
        var g = step.Group!;
        return step.Kind switch
        {
            StepKind.LinearBackward => g.BatchNorm is { IsTrainable: true } && step.Z is not null && g.ResidualAdd is null && !StatisticsFromPatches(g),
            StepKind.BatchNormBackward => g.First.IsTrainable,
            _ => false,
        };
    }

    /// <summary><see cref="PooledGradientsOf(Step)"/> for <paramref name="g"/>'s backward step, if it has one.</summary>
    public Step? PooledGradientsOf(KernelGroup g) =>
        Backward.Find(s => s.Group == g && s.Kind == StepKind.LinearBackward) is { } step ? PooledGradientsOf(step) : null;
}
