using System;
using System.Collections.Generic;

namespace Kiln;

/// <summary>
/// Updates a model's whole contiguous parameter buffer from its gradient buffer in one
/// pass, after Keras 3's optional gradient clipping and weight decay (each a pass of its own,
/// when on). State (momentum, moments) is allocated on the first step, sized to the buffer,
/// and never again: an optimizer is bound to one buffer length from then on.
/// </summary>
public abstract partial class Optimizer
{
    private float _learningRate;
    private float[][]? _state;

    protected Optimizer(float learningRate)
    {
        LearningRate = learningRate;
    }

    protected Optimizer(LearningRateSchedule schedule)
    {
        ArgumentNullException.ThrowIfNull(schedule);
        Schedule = schedule;
        _learningRate = schedule.Rate(0);
    }

    /// <summary>Number of steps taken (Keras' <c>iterations</c>); learning-rate decay counts these.</summary>
    public long Iterations { get; set; }

    /// <summary>
    /// The base learning rate. Settable so callbacks can change it between steps; setting it
    /// removes a <see cref="Schedule"/>, as assigning a float to Keras' <c>learning_rate</c> does.
    /// </summary>
    public float LearningRate
    {
        // With a schedule this reads the scheduled rate of the next step, like Keras' optimizer.learning_rate.
        get => Schedule is null ? _learningRate : Schedule.Rate(Iterations);
        set
        {
            if (!(value >= 0) || float.IsInfinity(value))
                throw new ArgumentOutOfRangeException(nameof(value), value, $"{GetType().Name}: the learning rate must be a finite number ≥ 0.");
            _learningRate = value;
            Schedule = null;
        }
    }

    /// <summary>When set, the base rate of each step is <c>Schedule.Rate(Iterations)</c> instead of <see cref="LearningRate"/>.</summary>
    public LearningRateSchedule? Schedule { get; set; }

    /// <summary>Keras' legacy <c>decay</c>: the rate of a step is <c>lr / (1 + Decay·Iterations)</c>. 0 turns it off.</summary>
    public float Decay
    {
        get;
        set
        {
            if (!(value >= 0) || float.IsInfinity(value))
                throw new ArgumentOutOfRangeException(nameof(value), value, $"{GetType().Name}: decay must be a finite number ≥ 0.");
            field = value;
        }
    }

    /// <summary>
    /// Keras' <c>clipvalue</c>: when set, each gradient element is clipped to [−ClipValue, ClipValue] before the update.
    /// At most one of <see cref="ClipValue"/>, <see cref="ClipNorm"/> and <see cref="GlobalClipNorm"/> is set, as in Keras.
    /// </summary>
    public float? ClipValue
    {
        get;
        set
        {
            CheckClip(value, "clipvalue", ClipNorm, GlobalClipNorm);
            field = value;
        }
    }

    /// <summary>The constructors' Keras 3 arguments common to every optimizer; null leaves each off.</summary>
    private protected void SetCommon(double? weightDecay, double? clipNorm, double? clipValue, double? globalClipNorm)
    {
        WeightDecay = (float)(weightDecay ?? 0);
        if (clipNorm is not null) ClipNorm = (float)clipNorm;
        if (clipValue is not null) ClipValue = (float)clipValue;
        if (globalClipNorm is not null) GlobalClipNorm = (float)globalClipNorm;
    }

    /// <summary>The rate the next step uses: schedule (or base rate), then legacy decay, both at the current <see cref="Iterations"/>.</summary>
    public float CurrentLearningRate
    {
        get
        {
            // Keras reads iterations before incrementing it, so the first step uses the undecayed rate.
            double lr = Schedule is null ? _learningRate : Schedule.Rate(Iterations);
            if (Decay > 0) lr /= 1.0 + (double)Decay * Iterations;
            return (float)lr;
        }
    }

    /// <summary>How many state arrays this optimizer keeps per parameter (0 for plain SGD).</summary>
    protected abstract int StateCount { get; }

    /// <summary><see cref="StateCount"/>, for a checkpoint to check against before it allocates.</summary>
    internal int StateArrayCount => StateCount;

    /// <summary>2⁵³: steps past it are not exact in the double that bias corrections and decay compute with (and 2⁶³−1 + 1 wraps negative).</summary>
    public const long MaxIterations = 1L << 53;

    /// <summary>
    /// The state arrays (momentum, moments), in a fixed order per optimizer; empty before the
    /// first step. Together with <see cref="Iterations"/> they are the optimizer's checkpoint.
    /// These are the live arrays the next step updates: copy them to keep a snapshot.
    /// </summary>
    public IReadOnlyList<float[]> StateBuffers => _state ?? [];

    /// <summary>Restores a checkpoint taken from <see cref="StateBuffers"/> and <see cref="Iterations"/>. The arrays are copied.</summary>
    public void SetState(IReadOnlyList<float[]> buffers, long iterations)
    {
        ArgumentNullException.ThrowIfNull(buffers);
        if (iterations is < 0 or > MaxIterations)
            throw new ArgumentOutOfRangeException(nameof(iterations), iterations, $"must be in 0..{MaxIterations}");
        if (buffers.Count != StateCount)
            throw new ArgumentException($"{GetType().Name} keeps {StateCount} state arrays; the checkpoint has {buffers.Count}.", nameof(buffers));
        float[][] copy = new float[buffers.Count][];
        for (int i = 0; i < buffers.Count; i++)
        {
            if (buffers[i].Length != buffers[0].Length)
                throw new ArgumentException($"{GetType().Name}: state array {i} has {buffers[i].Length} values but array 0 has {buffers[0].Length}.", nameof(buffers));
            if (_state is not null && buffers[i].Length != _state[i].Length)
                throw new ArgumentException($"{GetType().Name} is bound to {_state[i].Length} parameters; the checkpoint's state has {buffers[i].Length}.", nameof(buffers));
            copy[i] = (float[])buffers[i].Clone();
        }
        _state = StateCount == 0 ? null : copy;
        Iterations = iterations;
    }

    /// <summary>Applies one update and advances <see cref="Iterations"/>.</summary>
    public void Step(Span<float> parameters, ReadOnlySpan<float> gradients)
    {
        if (parameters.Length != gradients.Length)
            throw new ArgumentException($"{GetType().Name}: {parameters.Length} parameters but {gradients.Length} gradients.", nameof(gradients));
        EnsureState(parameters.Length);
        CheckVariables(parameters.Length);
        // Keras 3's BaseOptimizer.apply: clip the gradients, decay the weights, then the update, all at one rate.
        ReadOnlySpan<float> g = ClipGradients(gradients);
        if (WeightDecay > 0) ApplyWeightDecay(parameters, CurrentLearningRate);
        // When backward applied the update to every variable, what is left (the padding between them) has no gradient.
        if (!_allApplied) UpdateInParts(parameters, g);
        Iterations++;
    }

    /// <summary>
    /// A model's step: binds the optimizer to the model's variables on first use (for <see cref="ClipNorm"/> and exclusions), then
    /// steps, skipping the variables starting at <paramref name="appliedOffsets"/>, whose update backward already applied
    /// (<see cref="TryFuseIntoBackward"/>).
    /// </summary>
    internal void Step(Model model, ReadOnlySpan<int> appliedOffsets = default)
    {
        if (!ReferenceEquals(_builtFor, model.Description)) Build(model.Description);
        if (appliedOffsets.IsEmpty)
        {
            Step(model.Parameters.Span, model.Gradients.Span);
            return;
        }
        MarkApplied(model, appliedOffsets);
        try { Step(model.Parameters.Span, model.Gradients.Span); }
        finally { ClearApplied(); }
    }

    /// <summary>
    /// Updates elements [<paramref name="offset"/>, offset + parameters.Length) of the buffer: the spans are
    /// those elements, and the state is read at the same offsets (<see cref="State"/>). A step calls it for
    /// disjoint ranges that cover the buffer, on several threads at once when the buffer is large, so an
    /// update must be elementwise and must give each element the same arithmetic wherever a range starts.
    /// Kiln's overrides are <c>NoInlining | AggressiveOptimization</c>: inlined into a model's training step
    /// (profile-guided devirtualization does so where one optimizer type is in use), their Vector512 operations
    /// were left as calls on processors without AVX-512, and Adam took 3 ms of a 23 ms Fashion CNN step.
    /// </summary>
    protected abstract void Update(Span<float> parameters, ReadOnlySpan<float> gradients, int offset);

    /// <summary>
    /// Elements [<paramref name="offset"/>, offset + <paramref name="length"/>) of state array <paramref name="index"/>,
    /// allocated by <see cref="Step(Span{float}, ReadOnlySpan{float})"/> before <see cref="Update"/> runs.
    /// </summary>
    protected Span<float> State(int index, int offset, int length) => _state![index].AsSpan(offset, length);

    private void EnsureState(int length)
    {
        if (StateCount == 0) return;
        if (_state is null)
        {
            _state = new float[StateCount][];
            for (int i = 0; i < StateCount; i++) _state[i] = new float[length];
        }
        else if (_state[0].Length != length)
        {
            throw new ArgumentException(
                $"{GetType().Name} was first used on {_state[0].Length} parameters and now gets {length}; use one optimizer per model.",
                nameof(length));
        }
    }
}
