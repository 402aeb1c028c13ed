using System;
using System.Runtime.InteropServices;

namespace Kiln;

/// <summary>
/// What one <c>Fit</c> does across ranks through an <see cref="ICommunicator"/>: the per-step
/// sample count, loss and metrics, the averaged gradient, the stop flag, the end-of-epoch
/// synchronization and the checks that the ranks agree. Its buffers are allocated once per Fit;
/// a step allocates nothing.
/// </summary>
internal sealed class DataParallel
{
    // What the start-of-Fit check compares, in this order (the message names the ones that differ).
    private static readonly string[] Checked = ["the weights", "the non-trainable state (moving statistics)", "the optimizer's state", "the random stream", "Fit's arguments (batch size, epochs, sample counts)"];

    private readonly ICommunicator _communicator;
    private readonly double[] _one = new double[1], _join = new double[2];
    private readonly double[] _stats, _evaluation, _mismatches = new double[5];
    private readonly byte[] _checksums = new byte[5 * sizeof(uint)], _random = new byte[4 * sizeof(ulong)];

    /// <param name="communicator">The ranks' collectives.</param>
    /// <param name="statistics">The loss, the per-output losses, the metrics and, in Fit, the sample weights' sum: the values reduced with each step.</param>
    /// <param name="model">The model trained: its synchronized BatchNormalization layers get a <see cref="BatchNorm"/> synchronizer.</param>
    public DataParallel(ICommunicator communicator, int statistics, Model? model = null)
    {
        _communicator = communicator;
        _stats = new double[statistics];
        _evaluation = new double[statistics + 2];
        int channels = model is null ? 0 : SynchronizedChannels(model);
        if (channels > 0)
        {
            BatchNorm = new BatchNormSynchronizer(communicator, channels);
            StandInFeatures = new float[model!.InputSize];
            StandInTargets = new float[model.TargetSize];
        }
    }

    /// <summary>The synchronizer of the model's <c>[BatchNormalization(Synchronized = true)]</c> layers; null when it has none.</summary>
    public BatchNormSynchronizer? BatchNorm { get; }

    /// <summary>The sample of zeros a rank without samples runs a step on, when synchronized BatchNormalization needs it to take part.</summary>
    public float[] StandInFeatures { get; } = [];

    /// <summary>Its targets (zeros: class 0 for sparse labels).</summary>
    public float[] StandInTargets { get; } = [];

    /// <summary>The widest synchronized BatchNormalization layer's channels (its Keras config says <c>"synchronized": true</c>); 0 for none.</summary>
    private static int SynchronizedChannels(Model model)
    {
        int widest = 0;
        var layers = model.Layers;
        for (int i = 0; i < layers.Count; i++)
            if (layers[i].Config is { } config && config.TryGetValue("synchronized", out var value) && value is true)
                widest = Math.Max(widest, layers[i].OutputShape[^1]);
        return widest;
    }

    public int Rank => _communicator.Rank;
    public int Size => _communicator.Size;
    public bool IsRoot => _communicator.Rank == 0;

    /// <summary>Checks a communicator before Fit relies on it.</summary>
    public static void Check(ICommunicator communicator)
    {
        if (communicator.Size < 1 || communicator.Rank < 0 || communicator.Rank >= communicator.Size)
            throw new ArgumentException($"The communicator says rank {communicator.Rank} of {communicator.Size}; a rank is in 0..Size − 1.", "distributed");
    }

    /// <summary>
    /// The samples all ranks bring to this step (0 when every rank's shard has ended), and whether
    /// any rank asked to stop: one collective per step for both.
    /// </summary>
    public (int Samples, bool Stop) Join(int samples, bool stop)
    {
        _join[0] = samples;
        _join[1] = stop ? 1 : 0;
        _communicator.AllReduceSum(_join);
        return ((int)_join[0], _join[1] > 0);
    }

    /// <summary>Whether any rank set <paramref name="flag"/> (a callback asked to stop on one rank: all stop together).</summary>
    public bool Any(bool flag)
    {
        _one[0] = flag ? 1 : 0;
        _communicator.AllReduceSum(_one);
        return _one[0] > 0;
    }

    /// <summary>This step's sums on this rank: sample-weighted loss, per-output losses, metric sums, Σ wᵢ. Cleared by the caller.</summary>
    public Span<double> Stats => _stats;

    public void ReduceStats() => _communicator.AllReduceSum(_stats);

    /// <summary>
    /// Turns this rank's gradient, the mean over its <paramref name="samples"/> of the step's
    /// <paramref name="total"/>, into the mean over all of them: each rank weights its mean by its
    /// share and the sum over ranks is the global batch's mean gradient, exact for a last batch split
    /// unevenly (a rank with no samples brings zeros).
    /// </summary>
    public void AverageGradients(Span<float> gradients, int samples, int total)
    {
        if (samples == 0) gradients.Clear();
        else if (samples != total) Kernels.Merge.Scale(gradients, (float)((double)samples / total));
        _communicator.AllReduceSum(gradients);
    }

    /// <summary>
    /// Before a step's metric updates: ranks other than 0 clear their stateful metrics, so that after
    /// <see cref="SumMetricStates"/> every rank holds rank 0's running counts plus this step's counts
    /// of every rank: the global state, counted once.
    /// </summary>
    public void StartMetricStep(Metric[] metrics)
    {
        if (IsRoot) return;
        for (int i = 0; i < metrics.Length; i++)
            if (metrics[i].IsStateful) metrics[i].ResetState();
    }

    /// <summary>Sums each stateful metric's state over the ranks (after a step, or after a validation pass's batches).</summary>
    public void SumMetricStates(Metric[] metrics)
    {
        for (int i = 0; i < metrics.Length; i++)
            if (metrics[i].IsStateful) metrics[i].StateSumOverRanks(_communicator);
    }

    /// <summary>Sums an evaluation's loss, per-output sums and metric sums (<paramref name="values"/>, loss in <paramref name="lossSum"/>), its sample-weight total (weighted metrics divide by it) and its sample count over the ranks.</summary>
    public void ReduceEvaluation(Span<double> values, ref double lossSum, ref double weightTotal, ref long count)
    {
        var all = _evaluation.AsSpan(0, values.Length + 2);
        values.CopyTo(all);
        all[0] = lossSum;
        all[^2] = weightTotal;
        all[^1] = count;
        _communicator.AllReduceSum(all);
        all[..values.Length].CopyTo(values);
        lossSum = all[0];
        weightTotal = all[^2];
        count = (long)all[^1];
    }

    /// <summary>
    /// Before the first step: every rank must hold rank 0's weights, state, optimizer state and
    /// random stream (the same seed, or the same checkpoint), and run Fit with the same arguments;
    /// otherwise every rank throws the same error, rather than training replicas that drift apart.
    /// </summary>
    public void CheckStart(Model model, Optimizer optimizer, long setup)
    {
        Span<uint> sums = MemoryMarshal.Cast<byte, uint>(_checksums.AsSpan());
        sums[0] = Sum(model.Parameters.Span);
        sums[1] = Sum(model.State.Span);
        sums[2] = OptimizerSum(optimizer);
        sums[3] = RandomSum(model);
        sums[4] = Crc32C.Compute(MemoryMarshal.AsBytes(new ReadOnlySpan<long>(in setup)));
        Compare(model, "at the start of Fit",
            "Build the model with the same seed on every rank, load the same weights or checkpoint on every rank, and call Fit with the same arguments and dataset");
    }

    /// <summary>
    /// After each epoch's steps: rank 0's non-trainable state (BatchNormalization's moving
    /// statistics, which each rank updated from its own shard) and random stream go to every rank,
    /// as PyTorch DDP broadcasts buffers, so that all ranks, and a run resumed from rank 0's
    /// checkpoint, go on from the same point; then the weights and optimizer state, which identical
    /// averaged gradients kept equal, are checked.
    /// </summary>
    public void EndEpoch(Model model, Optimizer optimizer)
    {
        var state = model.State.Span;
        if (!state.IsEmpty) _communicator.Broadcast(MemoryMarshal.AsBytes(state), 0);
        var words = MemoryMarshal.Cast<byte, ulong>(_random.AsSpan());
        (words[0], words[1], words[2], words[3]) = model.Random.State;
        _communicator.Broadcast(_random, 0);
        model.Random = Rng.FromState((words[0], words[1], words[2], words[3]));

        Span<uint> sums = MemoryMarshal.Cast<byte, uint>(_checksums.AsSpan());
        sums.Clear();
        sums[0] = Sum(model.Parameters.Span);
        sums[2] = OptimizerSum(optimizer);
        Compare(model, "after an epoch", "The ranks applied different updates: the communicator's sums are not bitwise the same on every rank");
    }

    private void Compare(Model model, string when, string advice)
    {
        Span<uint> mine = stackalloc uint[5];
        Span<uint> sums = MemoryMarshal.Cast<byte, uint>(_checksums.AsSpan());
        sums.CopyTo(mine);
        _communicator.Broadcast(_checksums, 0);
        for (int i = 0; i < 5; i++) _mismatches[i] = mine[i] == sums[i] ? 0 : 1;
        _communicator.AllReduceSum(_mismatches);
        bool any = false;
        foreach (double m in _mismatches) any |= m > 0;
        if (!any) return;
        var differ = new System.Collections.Generic.List<string>();
        for (int i = 0; i < 5; i++)
            if (_mismatches[i] > 0) differ.Add($"{Checked[i]} ({_mismatches[i]:0} of {Size} ranks)");
        throw new InvalidOperationException(
            $"{model.Description.Name}: {when}, rank {Rank} of {Size} found ranks that differ from rank 0 in {string.Join(", ", differ)}{(mine.SequenceEqual(sums) ? "" : "; this rank is one of them")}. {advice}.");
    }

    private static uint Sum(ReadOnlySpan<float> values) => Crc32C.Compute(MemoryMarshal.AsBytes(values));

    private static uint OptimizerSum(Optimizer optimizer)
    {
        long iterations = optimizer.Iterations;
        uint crc = Crc32C.Append(Crc32C.Start, MemoryMarshal.AsBytes(new ReadOnlySpan<long>(in iterations)));
        var buffers = optimizer.StateBuffers;
        for (int i = 0; i < buffers.Count; i++) crc = Crc32C.Append(crc, MemoryMarshal.AsBytes(buffers[i].AsSpan()));
        return Crc32C.Finish(crc);
    }

    private static uint RandomSum(Model model)
    {
        var (a, b, c, d) = model.Random.State;
        ReadOnlySpan<ulong> words = [a, b, c, d];
        return Crc32C.Compute(MemoryMarshal.AsBytes(words));
    }
}
