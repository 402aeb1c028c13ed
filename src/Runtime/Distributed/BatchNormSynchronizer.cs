using System;

namespace Kiln;

/// <summary>
/// Sums synchronized BatchNormalization's per-channel sums over the ranks of a data-parallel
/// training step: Keras 3's <c>BatchNormalization(synchronized=True)</c>, PyTorch's
/// <c>SyncBatchNorm</c>. The code generated for a layer declared
/// <c>[BatchNormalization(Synchronized = true)]</c> passes the model's synchronizer to the BN
/// kernels; it is null outside a distributed Fit, where those kernels are plain batch
/// normalization. Per layer and step: the forward pass allreduces [Σx, rows] and then Σ(x − mean)²
/// with the global mean (the same two passes one process makes, so no cancellation), and the
/// backward pass allreduces [Σdz, Σdz·x̂], so the normalization, the moving statistics and the
/// input gradient are those of the global batch. The buffer is sized once for the widest layer:
/// a step allocates nothing.
/// </summary>
public sealed class BatchNormSynchronizer
{
    private readonly ICommunicator _communicator;
    private readonly double[] _sums;
    private int _samples = 1, _total = 1;

    /// <param name="communicator">The ranks' collectives.</param>
    /// <param name="channels">The channels of the widest synchronized layer.</param>
    public BatchNormSynchronizer(ICommunicator communicator, int channels)
    {
        ArgumentNullException.ThrowIfNull(communicator);
        ArgumentOutOfRangeException.ThrowIfLessThan(channels, 1);
        _communicator = communicator;
        Channels = channels;
        _sums = new double[2 * channels + 1];
    }

    /// <summary>The channels of the widest layer this synchronizer serves.</summary>
    public int Channels { get; }

    /// <summary>
    /// Before a step's forward pass: this rank brings <paramref name="samples"/> of the step's
    /// <paramref name="total"/>. Its loss, and so its output gradient, is the mean over its own
    /// samples; the backward pass weights its sums by <paramref name="samples"/> / <paramref name="total"/>
    /// to make them the global batch's. With 0 samples (its shard has ended) the rank still runs the
    /// step, on a stand-in sample, to take part in the collectives, and contributes nothing to them.
    /// </summary>
    public void BeginStep(int samples, int total)
    {
        if (samples < 0 || total < 1 || samples > total)
            throw new ArgumentOutOfRangeException(nameof(samples), samples, $"a rank brings 0 to {total} samples of a step of {total}");
        (_samples, _total) = (samples, total);
    }

    private bool Joining => _samples == 0;

    /// <summary>
    /// The forward pass's first sums: per channel Σx of this rank's <paramref name="rows"/> (block
    /// partials in float, combined in double) become the global batch's, and <paramref name="mean"/>
    /// their mean. Returns the global row count.
    /// </summary>
    internal unsafe double Mean(float* partials, int blocks, int channels, long rows, float* mean)
    {
        var sums = Sums(channels, channels + 1);
        fixed (double* s = sums) Kernels.ChannelSums.Reduce(partials, blocks, channels, s);
        sums[channels] = rows;
        if (Joining) sums.Clear();
        _communicator.AllReduceSum(sums);
        double count = sums[channels];
        if (!(count > 0)) throw new InvalidOperationException("A synchronized BatchNormalization ran a step in which no rank brought samples.");
        for (int j = 0; j < channels; j++) mean[j] = (float)(sums[j] / count);
        return count;
    }

    /// <summary>
    /// Per-channel block partials (<paramref name="sets"/> sums of <paramref name="channels"/>
    /// values) summed over this rank's blocks, times this rank's share of the step's samples when
    /// <paramref name="weighted"/>, then over the ranks, into <paramref name="result"/>.
    /// </summary>
    internal unsafe void Sum(float* partials, int blocks, int channels, int sets, float* result, bool weighted)
    {
        int width = sets * channels;
        var sums = Sums(channels, width);
        fixed (double* s = sums) Kernels.ChannelSums.Reduce(partials, blocks, width, s);
        if (Joining) sums.Clear();
        else if (weighted && _samples != _total)
        {
            double share = (double)_samples / _total;
            for (int j = 0; j < width; j++) sums[j] *= share;
        }
        _communicator.AllReduceSum(sums);
        for (int j = 0; j < width; j++) result[j] = (float)sums[j];
    }

    private Span<double> Sums(int channels, int length)
    {
        if (channels > Channels)
            throw new ArgumentException($"A synchronized BatchNormalization has {channels} channels, more than the {Channels} this synchronizer was sized for.");
        return _sums.AsSpan(0, length);
    }
}
