using System;
using System.Threading;
using Kiln.Kernels;

namespace Kiln.Runtime.Tests.Kernels.Convolution;

/// <summary>
/// Synchronized batch normalization (<see cref="BatchNormSynchronizer"/>) with ranks simulated by
/// threads over an in-process communicator: each rank normalizes its share of a global batch, and
/// together they must compute what one process computes over the whole batch.
/// </summary>
[Collection(KernelCollection.Name)]
public class SyncBatchNormTests
{
    private const float Momentum = 0.9f, Epsilon = 1e-3f;

    /// <summary>
    /// Two ranks of 37 and 20 rows (an uneven split) and a third whose shard has ended (it runs a
    /// stand-in row and contributes nothing): the outputs, statistics and moving statistics are one
    /// process's over the 57 rows, equal on every rank, and the gradients, in each rank's scale (the
    /// derivative of its own mean loss) and weighted by its share as the gradient allreduce weighs
    /// them, are one process's.
    /// </summary>
    [Theory]
    [InlineData(512)]
    [InlineData(0)]
    public void RanksComputeWhatOneProcessComputesOverTheGlobalBatch(int bits)
    {
        using var _ = new KernelSwitches(bits, 1);
        int[] rows = [37, 20, 0];
        const int channels = 19, total = 57;
        float[] x = TestData.Random(total * channels, 91, 2f, 6f); // a non-zero mean
        float[] r = TestData.Random(total * channels, 92);
        float[] gamma = TestData.Random(channels, 93, 0.5f, 1.5f);
        float[] beta = TestData.Random(channels, 94);
        float[] movingMean0 = TestData.Random(channels, 95), movingVariance0 = TestData.Random(channels, 96, 0.5f, 2f);

        // One process: the loss is the mean over all rows of r·y.
        var y = new float[x.Length];
        var saved = new float[2 * channels];
        float[] mm = (float[])movingMean0.Clone(), mv = (float[])movingVariance0.Clone();
        BatchNorm.ForwardTraining(x, y, gamma, beta, mm, mv, saved, total, channels, Momentum, Epsilon, new Relu());
        var dx = new float[x.Length];
        for (int i = 0; i < dx.Length; i++) dx[i] = r[i] / total;
        var dGamma = new float[channels];
        var dBeta = new float[channels];
        BatchNorm.Backward(x, y, dx, gamma, saved, dGamma, dBeta, dx, total, channels, new Relu());

        var ranks = new Rank[rows.Length];
        OnRanks(rows.Length, (rank, communicator) =>
        {
            int n = rows[rank], first = 0;
            for (int k = 0; k < rank; k++) first += rows[k];
            // A rank without samples runs one stand-in row, far from the data, that must count for nothing.
            int m = Math.Max(n, 1);
            float[] xs = n > 0 ? x.AsSpan(first * channels, n * channels).ToArray() : new float[channels];
            if (n == 0) Array.Fill(xs, 100f);
            var me = ranks[rank] = new Rank(xs, m, channels, movingMean0, movingVariance0);
            var synchronizer = new BatchNormSynchronizer(communicator, channels);
            synchronizer.BeginStep(n, total);
            BatchNorm.ForwardTraining(me.X, me.Y, gamma, beta, me.MovingMean, me.MovingVariance, me.Saved, m, channels, Momentum, Epsilon, new Relu(), synchronizer);
            // This rank's loss is the mean over its own rows, as Fit computes it.
            for (int i = 0; i < n * channels; i++) me.Dx[i] = r[first * channels + i] / n;
            BatchNorm.Backward(me.X, me.Y, me.Dx, gamma, me.Saved, me.DGamma, me.DBeta, me.Dx, m, channels, new Relu(), synchronizer);
        });

        var weightedGamma = new double[channels];
        var weightedBeta = new double[channels];
        int at = 0;
        for (int rank = 0; rank < rows.Length; rank++)
        {
            var me = ranks[rank];
            TestData.Close(saved, me.Saved, 1e-5, 1e-6, $"rank {rank}'s mean and 1/σ");
            Assert.Equal(ranks[0].Saved, me.Saved);
            Assert.Equal(ranks[0].MovingMean, me.MovingMean);
            Assert.Equal(ranks[0].MovingVariance, me.MovingVariance);
            int n = rows[rank];
            if (n == 0) continue;
            TestData.Close(y.AsSpan(at * channels, n * channels), me.Y, 1e-5, 1e-5, $"rank {rank}'s outputs");
            double share = (double)n / total;
            var scaled = new float[n * channels];
            for (int i = 0; i < scaled.Length; i++) scaled[i] = (float)(me.Dx[i] * share);
            TestData.Close(dx.AsSpan(at * channels, n * channels), scaled, 1e-4, 1e-6, $"rank {rank}'s input gradient");
            for (int j = 0; j < channels; j++)
            {
                weightedGamma[j] += me.DGamma[j] * share;
                weightedBeta[j] += me.DBeta[j] * share;
            }
            at += n;
        }
        TestData.Close(mm, ranks[0].MovingMean, 1e-5, 1e-6, "moving mean");
        TestData.Close(mv, ranks[0].MovingVariance, 1e-5, 1e-6, "moving variance");
        TestData.Close(dGamma, Array.ConvertAll(weightedGamma, v => (float)v), 1e-4, 1e-6, "dGamma summed over the ranks");
        TestData.Close(dBeta, Array.ConvertAll(weightedBeta, v => (float)v), 1e-4, 1e-6, "dBeta summed over the ranks");
    }

    /// <summary>
    /// Finite differences through the synchronized forward pass on two ranks: the gradient of the
    /// global mean loss with respect to every input value, gamma and beta is what the synchronized
    /// backward gives, once weighted by each rank's share.
    /// </summary>
    [Fact]
    public void SynchronizedBackwardPassesGradientCheck()
    {
        using var _ = new KernelSwitches(512, 1);
        int[] rows = [9, 5];
        const int channels = 5, total = 14;
        float[] x = TestData.Random(total * channels, 101, -2f, 2f);
        float[] r = TestData.Random(total * channels, 102);
        float[] gamma = TestData.Random(channels, 103, 0.5f, 1.5f);
        float[] beta = TestData.Random(channels, 104, -0.3f, 0.3f);
        var dx = new float[x.Length];
        var dGamma = new float[channels];
        var dBeta = new float[channels];

        // Each rank's loss is its mean of r·y; the global loss is Σ share·(rank loss) = the mean over all rows.
        double Loss(bool backward)
        {
            var losses = new double[rows.Length];
            var gammas = new float[rows.Length][];
            var betas = new float[rows.Length][];
            OnRanks(rows.Length, (rank, communicator) =>
            {
                int n = rows[rank], first = rank == 0 ? 0 : rows[0];
                var y = new float[n * channels];
                var saved = new float[2 * channels];
                var synchronizer = new BatchNormSynchronizer(communicator, channels);
                synchronizer.BeginStep(n, total);
                ReadOnlySpan<float> xs = x.AsSpan(first * channels, n * channels);
                BatchNorm.ForwardTraining(xs, y, gamma, beta, new float[channels], new float[channels], saved, n, channels, Momentum, Epsilon, new Relu(), synchronizer);
                losses[rank] = GradCheck.Project(y, r.AsSpan(first * channels, n * channels)) / total;
                if (!backward) return;
                var d = new float[n * channels];
                for (int i = 0; i < d.Length; i++) d[i] = r[first * channels + i] / n;
                gammas[rank] = new float[channels];
                betas[rank] = new float[channels];
                BatchNorm.Backward(xs, y, d, gamma, saved, gammas[rank], betas[rank], d, n, channels, new Relu(), synchronizer);
                for (int i = 0; i < d.Length; i++) dx[first * channels + i] = d[i] * n / total;
            });
            if (backward)
                for (int j = 0; j < channels; j++)
                {
                    dGamma[j] = (gammas[0][j] * rows[0] + gammas[1][j] * rows[1]) / total;
                    dBeta[j] = (betas[0][j] * rows[0] + betas[1][j] * rows[1]) / total;
                }
            return losses[0] + losses[1];
        }

        Loss(backward: true);
        GradCheck.Check(x, dx, () => Loss(backward: false), "synchronized dx", 2e-2, 5e-4);
        GradCheck.Check(gamma, dGamma, () => Loss(backward: false), "synchronized dGamma", 2e-2, 5e-4);
        GradCheck.Check(beta, dBeta, () => Loss(backward: false), "synchronized dBeta", 2e-2, 5e-4);
    }

    /// <summary>A synchronizer sized for fewer channels than a layer has is refused, naming both.</summary>
    [Fact]
    public void ALayerWiderThanTheSynchronizerIsRefused()
    {
        var synchronizer = new BatchNormSynchronizer(new ThreadGroup(1).Member(0), 4);
        var e = Assert.Throws<ArgumentException>(() => BatchNorm.ForwardTraining(new float[8], new float[8], default, default, new float[8], new float[8],
            new float[16], 1, 8, Momentum, Epsilon, new Identity(), synchronizer));
        Assert.Contains("8 channels, more than the 4", e.Message);
    }

    private sealed class Rank(float[] x, int rows, int channels, float[] movingMean, float[] movingVariance)
    {
        public float[] X { get; } = x;
        public float[] Y { get; } = new float[rows * channels];
        public float[] Dx { get; } = new float[rows * channels];
        public float[] Saved { get; } = new float[2 * channels];
        public float[] MovingMean { get; } = (float[])movingMean.Clone();
        public float[] MovingVariance { get; } = (float[])movingVariance.Clone();
        public float[] DGamma { get; } = new float[channels];
        public float[] DBeta { get; } = new float[channels];
    }

    /// <summary>Runs <paramref name="body"/> on one thread per rank and rethrows the first failure.</summary>
    private static void OnRanks(int ranks, Action<int, ICommunicator> body)
    {
        var group = new ThreadGroup(ranks);
        var failures = new Exception?[ranks];
        var threads = new Thread[ranks];
        for (int rank = 0; rank < ranks; rank++)
        {
            int me = rank;
            threads[me] = new Thread(() =>
            {
                try { body(me, group.Member(me)); }
                catch (Exception e) { failures[me] = e; group.Abandon(); }
            });
            threads[me].Start();
        }
        foreach (var t in threads) t.Join();
        foreach (var f in failures)
            if (f is not null) throw new AggregateException(f);
    }

    /// <summary>
    /// An in-process group of ranks for tests: each collective waits for every rank, and all ranks
    /// add the contributions in rank order, so the sums are bitwise the same on each, as MPI's are.
    /// </summary>
    private sealed class ThreadGroup(int size)
    {
        private readonly Barrier _barrier = new(size);
        private readonly double[][] _slots = new double[size][];

        public ICommunicator Member(int rank) => new Communicator(this, rank);

        /// <summary>A rank failed: the others stop waiting for it.</summary>
        public void Abandon() => _barrier.Dispose();

        private void Wait()
        {
            if (!_barrier.SignalAndWait(TimeSpan.FromSeconds(30))) throw new TimeoutException("a rank never reached the collective");
        }

        private sealed class Communicator(ThreadGroup group, int rank) : ICommunicator
        {
            public int Rank => rank;
            public int Size => group._slots.Length;

            public void AllReduceSum(Span<double> values)
            {
                group._slots[rank] = values.ToArray();
                group.Wait();
                for (int i = 0; i < values.Length; i++)
                {
                    double s = 0;
                    foreach (var slot in group._slots) s += slot[i];
                    values[i] = s;
                }
                group.Wait(); // nobody overwrites its slot before every rank has read them all
            }

            public void AllReduceSum(Span<float> values)
            {
                var d = new double[values.Length];
                for (int i = 0; i < d.Length; i++) d[i] = values[i];
                AllReduceSum(d);
                for (int i = 0; i < d.Length; i++) values[i] = (float)d[i];
            }

            public void Broadcast(Span<byte> bytes, int root) => throw new NotSupportedException("not needed by these tests");
        }
    }
}
