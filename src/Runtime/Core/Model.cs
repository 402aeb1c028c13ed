using System;

namespace Kiln;

/// <summary>
/// Base of every generated model. The generator writes the three cores (forward, loss,
/// backward) with constant shapes; this class owns the buffers and the public API around
/// them. Everything is allocated in the constructor: a training step allocates nothing.
/// </summary>
public abstract partial class Model
{
    private readonly int[] _targetShape;
    private Rng _rng;

    // The batch size of the last forward pass if it ran in training mode, else 0: backward reads
    // what only a training forward saves (the input copy, dropout masks, BN batch statistics).
    private int _trainingBatch;

    // Backward works in place on what the training forward left (activations, masks, the output gradient): a second one from the
    // same forward would read overwritten values, so it is refused, as PyTorch refuses a second backward through a freed graph.
    private bool _backwardRan;

    protected Model(ModelDescription description, int batchSize, int seed)
    {
        if (batchSize <= 0)
            throw new ArgumentOutOfRangeException(nameof(batchSize), batchSize, $"{description.Name}: the batch size must be positive.");
        long arena = description.ArenaFloats(batchSize);
        if (arena > Array.MaxLength - 64)
            throw new ArgumentOutOfRangeException(nameof(batchSize), batchSize,
                $"{description.Name}: batch {batchSize} needs an activation arena of {arena:N0} floats, more than one array holds; use a smaller batch.");
        Description = description;
        BatchSize = batchSize;
        Seed = seed;
        _rng = new Rng((ulong)(uint)seed);
        _targetShape = [description.TargetSize];
        Parameters = new AlignedBuffer(description.ParameterCount);
        Gradients = new AlignedBuffer(description.ParameterCount);
        State = new AlignedBuffer(description.StateCount);
        Arena = new AlignedBuffer((int)arena);
        _outputLosses = new float[description.Outputs.Count];
        var withLoss = new System.Collections.Generic.List<int>();
        if (description.Outputs.Count > 1)
            for (int i = 0; i < description.Outputs.Count; i++)
                if (description.Outputs[i].Loss is not null) withLoss.Add(i);
        _lossOutputs = withLoss.ToArray();
        _sampleWeights = new float[batchSize];
        _regularized = RegularizedTensors(description);
    }

    // Each output's own loss from the last ComputeLoss, for History's per-output columns (Keras' class_loss).
    private readonly float[] _outputLosses;
    private readonly int[] _lossOutputs;

    /// <summary>The outputs whose losses History reports on their own: those with a loss, when the model has several outputs.</summary>
    internal int[] LossOutputs => _lossOutputs;

    /// <summary>Output <paramref name="output"/>'s unweighted loss in the last <see cref="ComputeLoss(ReadOnlySpan{float}, int, bool)"/>.</summary>
    internal float OutputLoss(int output) => _outputLosses[output];

    /// <summary>Called by the generated loss of a model with several outputs: records one output's own loss and returns it.</summary>
    [System.ComponentModel.EditorBrowsable(System.ComponentModel.EditorBrowsableState.Never)]
    protected float SetOutputLoss(int output, float loss)
    {
        _outputLosses[output] = loss;
        return loss;
    }

    public ModelDescription Description { get; }

    /// <summary>The largest batch this instance runs; a smaller last batch runs with <c>n &lt; BatchSize</c>.</summary>
    public int BatchSize { get; }

    public int Seed { get; }

    /// <summary>All trainable weights, contiguous and 64-byte aligned.</summary>
    public AlignedBuffer Parameters { get; }

    /// <summary>
    /// Gradients of <see cref="Parameters"/>, same layout, as the last backward wrote them. A <c>Fit</c> or <c>TrainOnBatch</c>
    /// step with plain SGD adds its Dense layers' gradients straight into the weights and leaves their slices here as they
    /// were (<see cref="Sgd.FuseIntoBackward"/>).
    /// </summary>
    public AlignedBuffer Gradients { get; }

    /// <summary>Non-trainable tensors (BatchNormalization moving statistics).</summary>
    public AlignedBuffer State { get; }

    /// <summary>Activations, gradients and scratch; offsets planned by the generator.</summary>
    public AlignedBuffer Arena { get; }

    /// <summary>Keras' <c>model.layers</c>: each layer's name, type, output shape and parameter count, known at compile time.</summary>
    public System.Collections.Generic.IReadOnlyList<LayerInfo> Layers => Description.Layers;

    public int InputSize => Description.InputSize;
    public int OutputSize => Description.OutputSize;
    public int TargetSize => Description.TargetSize;

    /// <summary>
    /// As Keras' <c>model.trainable</c>. A frozen model (false) computes no weight gradients and
    /// runs BatchNormalization on its moving statistics even in training mode, but still passes
    /// gradients through to its input: a GAN's discriminator while the generator trains.
    /// </summary>
    public bool Trainable { get; set; } = true;

    /// <summary>The model's random stream (dropout masks, shuffling); part of a training checkpoint.</summary>
    public ref Rng Random => ref _rng;

    /// <summary>The weights of one named tensor (<c>dense/kernel</c>), trainable or state.</summary>
    public Span<float> Tensor(string name)
    {
        foreach (var t in Description.Tensors)
            if (t.Name == name)
                return t.Trainable ? Parameters.Slice(t.Offset, t.Length) : State.Slice(t.Offset, t.Length);
        throw new ArgumentException($"{Description.Name} has no tensor named '{name}'.", nameof(name));
    }

    /// <summary>Runs the model on <paramref name="n"/> samples and returns their outputs (probabilities after a softmax or sigmoid).</summary>
    public ReadOnlySpan<float> Forward(ReadOnlySpan<float> input, int n, bool training = false)
    {
        CheckBatch(n);
        CheckLength(nameof(input), input.Length, n, Description.InputShape, "input");
        _trainingBatch = 0;
        ForwardCore(input, n, training);
        _trainingBatch = training ? n : 0;
        _backwardRan = false;
        return OutputBuffer(n);
    }

    /// <summary>Mean loss of the last <see cref="Forward(ReadOnlySpan{float}, int, bool)"/> against <paramref name="targets"/>; with <paramref name="gradient"/>, also seeds the output gradient for <see cref="Backward"/>.</summary>
    /// <remarks>
    /// The loss includes the layers' regularization penalty (<see cref="RegularizationLoss"/>) while
    /// the model is trainable, as Keras adds <c>model.losses</c> to the compiled loss.
    /// </remarks>
    public float ComputeLoss(ReadOnlySpan<float> targets, int n, bool gradient) => ComputeLoss(targets, n, gradient, default);

    /// <summary>
    /// <see cref="ComputeLoss(ReadOnlySpan{float}, int, bool)"/> with Keras' <c>sample_weight</c>:
    /// one weight per sample (empty: all ones). The loss is Σ wᵢ·lossᵢ / n, Keras'
    /// <c>"sum_over_batch_size"</c> (divided by the batch size, not by the sum of the weights), and
    /// each sample's gradient is scaled by its weight. With several outputs the same weights apply
    /// to every output's loss. Weights must be finite and ≥ 0.
    /// </summary>
    public float ComputeLoss(ReadOnlySpan<float> targets, int n, bool gradient, ReadOnlySpan<float> sampleWeights)
    {
        CheckBatch(n);
        CheckLength(nameof(targets), targets.Length, n, _targetShape, "target");
        CheckSampleWeights(sampleWeights, n);
        return WeightedLoss(targets, n, gradient, sampleWeights);
    }

    /// <summary>
    /// Back-propagates the gradient seeded by <see cref="ComputeLoss(ReadOnlySpan{float}, int, bool)"/> into <see cref="Gradients"/>,
    /// and into <paramref name="inputGradient"/> when it is not empty.
    /// </summary>
    public void Backward(int n, Span<float> inputGradient = default)
    {
        BeginBackward(n, inputGradient);
        BackwardCore(n, inputGradient, fromOutputGradient: false);
        AddRegularizationGradient();
    }

    /// <summary>
    /// Back-propagates a gradient the caller wrote into <see cref="OutputGradient"/> (a model
    /// composed after this one, e.g. a GAN's discriminator after its generator), instead of
    /// the one a loss seeded.
    /// </summary>
    public void BackwardFromOutputGradient(int n, Span<float> inputGradient = default)
    {
        BeginBackward(n, inputGradient);
        BackwardCore(n, inputGradient, fromOutputGradient: true);
        AddRegularizationGradient();
    }

    /// <summary>Gradient of the loss with respect to the model's output for the current batch, for composed models to write.</summary>
    public Span<float> OutputGradient(int n)
    {
        CheckBatch(n);
        return OutputGradientBuffer(n);
    }

    /// <summary>
    /// One optimization step on one batch: forward, loss, backward, update. Returns the batch's
    /// mean loss. A NaN or infinite loss is refused as <c>Fit</c> refuses it: a
    /// <see cref="TrainingDivergedException"/> (epoch and batch 0), with the weights, the state and
    /// the optimizer as they were before the call. Backward reads <paramref name="input"/> in place during
    /// the call and keeps no copy of it, so a <see cref="Backward"/> afterwards needs a training
    /// <see cref="Forward(ReadOnlySpan{float}, int, bool)"/> of its own.
    /// </summary>
    public float TrainOnBatch(ReadOnlySpan<float> input, ReadOnlySpan<float> targets, int n, Optimizer optimizer) =>
        TrainOnBatch(input, targets, n, optimizer, default);

    /// <summary>
    /// Keras' <c>train_on_batch(x, y, sample_weight=)</c>: <see cref="TrainOnBatch(ReadOnlySpan{float}, ReadOnlySpan{float}, int, Optimizer)"/>
    /// with one weight per sample (empty: all ones), as <see cref="ComputeLoss(ReadOnlySpan{float}, int, bool, ReadOnlySpan{float})"/> weighs them.
    /// </summary>
    public unsafe float TrainOnBatch(ReadOnlySpan<float> input, ReadOnlySpan<float> targets, int n, Optimizer optimizer, ReadOnlySpan<float> sampleWeights)
    {
        ArgumentNullException.ThrowIfNull(optimizer);
        CheckBatch(n);
        CheckSampleWeights(sampleWeights, n);
        if (!Trainable)
            throw new InvalidOperationException($"{Description.Name} has Trainable = false, so a training step would change nothing; set Trainable = true to train it.");
        KeepState();
        fixed (float* pinned = input)
        {
            Lend(pinned, input.Length);
            try
            {
                Forward(input, n, training: true);
                float loss = ComputeLoss(targets, n, gradient: true, sampleWeights);
                if (!float.IsFinite(loss))
                    throw new TrainingDivergedException(
                        $"{Description.Name}: TrainOnBatch's loss is {RestoreState(loss)} on this batch of {n}, so the step was not applied and the weights are unchanged. " +
                        "Check the batch for NaN or infinite inputs and labels out of range, or lower the learning rate " +
                        $"(this step would have used {optimizer.CurrentLearningRate:G4}).", 0, 0, loss);
                BackwardAndStep(n, optimizer);
                return loss;
            }
            finally { EndLending(); }
        }
    }

    protected abstract void ForwardCore(ReadOnlySpan<float> input, int n, bool training);

    protected abstract float LossCore(ReadOnlySpan<float> targets, int n, bool gradient);

    /// <summary>
    /// Writes parameter gradients (overwriting) and, when <paramref name="inputGradient"/> is not
    /// empty, the input gradient. A loss fused with the output activation seeds the gradient of
    /// the logits directly; <paramref name="fromOutputGradient"/> says the gradient was instead
    /// written into <see cref="OutputGradientBuffer"/> and must first pass through that activation.
    /// </summary>
    protected abstract void BackwardCore(int n, Span<float> inputGradient, bool fromOutputGradient);

    /// <summary>Where the forward pass leaves the outputs of <paramref name="n"/> samples.</summary>
    protected abstract Span<float> OutputBuffer(int n);

    /// <summary>Where a composed caller writes the gradient with respect to the outputs of <paramref name="n"/> samples.</summary>
    protected abstract Span<float> OutputGradientBuffer(int n);

    /// <summary>The arena slice of a buffer the generator placed at <paramref name="offsetPerSample"/> floats per sample.</summary>
    protected Span<float> ArenaSlice(int offsetPerSample, int n, int sampleSize) =>
        Arena.Slice(offsetPerSample * BatchSize, n * sampleSize);

    /// <summary>Where backward writes the gradient of one weight tensor; empty when the model is frozen, so kernels skip it.</summary>
    protected Span<float> WeightGradient(int offset, int length) => Trainable ? Gradients.Slice(offset, length) : default;

    /// <summary>The same slice seen as integers (pooling argmax indices share the arena).</summary>
    protected Span<int> ArenaIndices(int offsetPerSample, int n, int sampleSize) =>
        System.Runtime.InteropServices.MemoryMarshal.Cast<float, int>(ArenaSlice(offsetPerSample, n, sampleSize));

    /// <summary>A per-model buffer in the arena's tail, after the per-sample part (BN statistics, folded weights).</summary>
    protected Span<float> ArenaFixed(int offset, int length) =>
        Arena.Slice(Description.ArenaFloatsPerSample * BatchSize + offset, length);

    private void CheckBatch(int n)
    {
        if (n <= 0 || n > BatchSize)
            throw new ArgumentOutOfRangeException(nameof(n), n, $"{Description.Name} was built for batches of at most {BatchSize} samples; got {n}.");
    }

    /// <summary>Checks that a backward pass may run now, on a training forward of <paramref name="n"/> samples it has not yet consumed, and consumes it.</summary>
    private void BeginBackward(int n, Span<float> inputGradient)
    {
        CheckBatch(n);
        if (_trainingBatch != n)
            throw new InvalidOperationException(_trainingBatch == 0
                ? $"{Description.Name}: Backward needs the input copy, dropout masks and batch statistics that only a training forward keeps; call Forward(input, n, training: true) first."
                : $"{Description.Name}: the last forward pass ran on {_trainingBatch} samples, but Backward was asked for {n}.");
        if (_backwardRan)
            throw new InvalidOperationException(
                $"{Description.Name}: Backward already ran on the last training forward pass and overwrote what that pass left for it; run Forward(input, n, training: true) and ComputeLoss (or write OutputGradient) again first.");
        if (!inputGradient.IsEmpty)
            CheckLength(nameof(inputGradient), inputGradient.Length, n, Description.InputShape, "input-gradient");
        _backwardRan = true;
    }

    private void CheckLength(string parameter, int actual, int n, int[] sampleShape, string what)
    {
        int expected = n * ModelDescription.Product(sampleShape);
        if (actual != expected)
            throw new ArgumentException(
                $"{Description.Name}: {n} {what} samples of shape ({string.Join(", ", sampleShape)}) need {expected} floats, but the span holds {actual}.",
                parameter);
    }
}
