using System;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using Kiln.Threading;

namespace Kiln.Kernels;

/// <summary>
/// Batch normalization over the last axis of a rows × channels matrix (rows = n·H·W for images, n for
/// dense outputs), with Keras semantics: training uses the batch mean and the biased variance and
/// updates the moving statistics with the biased variance too. Per-channel sums are taken over fixed
/// row blocks and combined in block order in double, so results do not depend on the thread count.
/// </summary>
public static unsafe partial class BatchNorm
{
    private enum Phase { Statistics, Normalize, BackwardSums, BackwardDx }

    /// <summary>
    /// Channels up to which the normalizing and backward passes run slice by slice (<see cref="BnJob{TAct}"/>):
    /// rows of one or two whole vectors. Tests set 0 to compare the row-by-row passes' bits.
    /// </summary>
    internal static int SliceMaxChannels { get; set; } = 32;

    /// <summary>
    /// y = act(gamma·(x − mean)/√(var + eps) + beta) with batch statistics (gamma empty = 1, beta empty = 0);
    /// moving = moving·momentum + batch·(1 − momentum); saved[0..C) = mean, saved[C..2C) = 1/√(var + eps).
    /// </summary>
    public static void ForwardTraining<TAct>(ReadOnlySpan<float> x, Span<float> y, ReadOnlySpan<float> gamma, ReadOnlySpan<float> beta,
        Span<float> movingMean, Span<float> movingVariance, Span<float> saved, int rows, int channels, float momentum, float epsilon, TAct activation)
        where TAct : struct, IActivation =>
        ForwardTraining(x, y, gamma, beta, movingMean, movingVariance, saved, rows, channels, momentum, epsilon, default, activation, null);

    /// <summary>
    /// As above, synchronized (<c>[BatchNormalization(Synchronized = true)]</c>): with a
    /// <paramref name="synchronizer"/>, the mean and variance are those of the global batch, summed
    /// over the ranks between the statistics passes and the normalizing pass; null is plain batch normalization.
    /// </summary>
    public static void ForwardTraining<TAct>(ReadOnlySpan<float> x, Span<float> y, ReadOnlySpan<float> gamma, ReadOnlySpan<float> beta,
        Span<float> movingMean, Span<float> movingVariance, Span<float> saved, int rows, int channels, float momentum, float epsilon, TAct activation,
        BatchNormSynchronizer? synchronizer)
        where TAct : struct, IActivation =>
        ForwardTraining(x, y, gamma, beta, movingMean, movingVariance, saved, rows, channels, momentum, epsilon, default, activation, synchronizer);

    /// <summary>
    /// As above, with a residual added before the activation: y = act(BN(x) + residual), a
    /// ResNet block's BN, shortcut Add and ReLU in the one normalizing pass (oneDNN's sum post-op).
    /// An empty <paramref name="residual"/> adds nothing.
    /// </summary>
    public static void ForwardTraining<TAct>(ReadOnlySpan<float> x, Span<float> y, ReadOnlySpan<float> gamma, ReadOnlySpan<float> beta,
        Span<float> movingMean, Span<float> movingVariance, Span<float> saved, int rows, int channels, float momentum, float epsilon,
        ReadOnlySpan<float> residual, TAct activation)
        where TAct : struct, IActivation =>
        ForwardTraining(x, y, gamma, beta, movingMean, movingVariance, saved, rows, channels, momentum, epsilon, residual, activation, null);

    /// <summary>As above with a residual, synchronized over the ranks when <paramref name="synchronizer"/> is not null.</summary>
    public static void ForwardTraining<TAct>(ReadOnlySpan<float> x, Span<float> y, ReadOnlySpan<float> gamma, ReadOnlySpan<float> beta,
        Span<float> movingMean, Span<float> movingVariance, Span<float> saved, int rows, int channels, float momentum, float epsilon,
        ReadOnlySpan<float> residual, TAct activation, BatchNormSynchronizer? synchronizer)
        where TAct : struct, IActivation
    {
        CheckShape(rows, channels);
        if (rows == 0) throw new ArgumentException("batch normalization in training mode needs at least one row", nameof(rows));
        Activations.CheckShape(x.Length, rows, channels, nameof(x));
        Activations.CheckShape(y.Length, rows, channels, nameof(y));
        if (!residual.IsEmpty) Activations.CheckShape(residual.Length, rows, channels, nameof(residual));
        CheckOptional(beta.Length, channels, nameof(beta));
        fixed (float* px = x, py = y, pb = beta, pr = residual, mean = saved)
        {
            float* scale = BatchStatistics(x, gamma, movingMean, movingVariance, saved, rows, channels, momentum, epsilon, synchronizer);
            Run(Phase.Normalize, px, py, mean, scale, beta.IsEmpty ? null : pb, null, rows, channels, ChannelSums.Blocks(rows), activation, residual.IsEmpty ? null : pr);
        }
    }

    /// <summary>
    /// The batch's mean and 1/σ into saved, the moving statistics updated, and gamma/σ returned (in this
    /// thread's scratch): everything a training pass needs before it normalizes.
    /// </summary>
    private static float* BatchStatistics(ReadOnlySpan<float> x, ReadOnlySpan<float> gamma,
        Span<float> movingMean, Span<float> movingVariance, Span<float> saved, int rows, int channels, float momentum, float epsilon,
        BatchNormSynchronizer? synchronizer)
    {
        CheckOptional(gamma.Length, channels, nameof(gamma));
        CheckExact(movingMean.Length, channels, nameof(movingMean));
        CheckExact(movingVariance.Length, channels, nameof(movingVariance));
        Activations.CheckLength(saved.Length, 2 * channels, nameof(saved));
        CheckEpsilon(epsilon);

        int blocks = ChannelSums.Blocks(rows);
        fixed (float* px = x, pg = gamma, ps = saved)
        {
            // Partials: each block's Σx, then Σ(x − m) and Σ(x − m)² about its float mean m = Σx / n.
            float* partials = ConvScratch.Current.Floats(ConvScratch.PartialsSlot, 3L * blocks * channels);
            float* sums = partials, residuals = partials + (nint)blocks * channels, squares = partials + 2 * (nint)blocks * channels;
            float* mean = ps, invStd = ps + channels;
            // One read of x from memory: a block's squared deviations re-read it from cache, about the
            // block's own mean (two passes per block, so no E[x²] − E[x]² cancellation).
            Run(Phase.Statistics, px, null, null, null, null, partials, rows, channels, blocks, default(Identity));
            double count = rows;
            if (synchronizer is null)
            {
                ChannelSums.Reduce(sums, blocks, channels, mean);
                for (int j = 0; j < channels; j++) mean[j] = (float)((double)mean[j] / rows);
            }
            else count = synchronizer.Mean(sums, blocks, channels, rows, mean);
            // Over a block, Σ(x − μ)² = Σ(x − m)² + 2(m − μ)·Σ(x − m) + n·(m − μ)² exactly (Chan et al.'s
            // combination, with the term a float mean's rounding leaves); synchronized, μ is the global
            // mean and the blocks' terms are added over the ranks.
            for (int blk = 0; blk < blocks; blk++)
                AboutMean(sums, residuals, squares, mean, (nint)blk * channels, ChannelSums.RowsIn(blk, rows), channels);
            if (synchronizer is null) ChannelSums.Reduce(squares, blocks, channels, invStd);
            else synchronizer.Sum(squares, blocks, channels, 1, invStd, weighted: false);
            for (int j = 0; j < channels; j++)
            {
                float variance = (float)((double)invStd[j] / count);
                movingMean[j] = movingMean[j] * momentum + mean[j] * (1f - momentum);
                movingVariance[j] = movingVariance[j] * momentum + variance * (1f - momentum);
                invStd[j] = 1f / MathF.Sqrt(variance + epsilon);
            }
            return Scale(gamma.IsEmpty ? null : pg, invStd, channels);
        }
    }

    /// <summary>
    /// A block's squared deviations moved from its own float mean m = Σx·(1/n) to the batch mean μ:
    /// squares += 2(m − μ)·residuals + n·(m − μ)², in double, rounded back to float. Eight channels at a time
    /// with the scalar form's operations in its order, so the same bits; the caller runs it for every block
    /// while the pool waits.
    /// </summary>
    internal static void AboutMean(float* sums, float* residuals, float* squares, float* mean, nint at, int n, int channels)
    {
        // m as the statistics pass computed it: the same float Σx times the same 1/n.
        float inv = 1f / n;
        double count = n;
        int j = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            var two = Vector256.Create(2.0);
            for (; j + 8 <= channels; j += 8)
            {
                var (m0, m1) = Vector256.Widen(Vector256.Load(sums + at + j) * inv);
                var (mu0, mu1) = Vector256.Widen(Vector256.Load(mean + j));
                var (q0, q1) = Vector256.Widen(Vector256.Load(squares + at + j));
                var (e0, e1) = Vector256.Widen(Vector256.Load(residuals + at + j));
                Vector256<double> d0 = m0 - mu0, d1 = m1 - mu1;
                var low = q0 + two * d0 * e0 + count * d0 * d0;
                var high = q1 + two * d1 * e1 + count * d1 * d1;
                Vector256.Store(Vector256.Narrow(low, high), squares + at + j);
            }
        }
        for (; j < channels; j++)
        {
            double d = sums[at + j] * inv - (double)mean[j];
            squares[at + j] = (float)(squares[at + j] + 2 * d * residuals[at + j] + count * d * d);
        }
    }

    /// <summary>y = act(gamma·(x − movingMean)/√(movingVariance + eps) + beta).</summary>
    public static void ForwardInference<TAct>(ReadOnlySpan<float> x, Span<float> y, ReadOnlySpan<float> gamma, ReadOnlySpan<float> beta,
        ReadOnlySpan<float> movingMean, ReadOnlySpan<float> movingVariance, int rows, int channels, float epsilon, TAct activation)
        where TAct : struct, IActivation
    {
        CheckShape(rows, channels);
        Activations.CheckShape(x.Length, rows, channels, nameof(x));
        Activations.CheckShape(y.Length, rows, channels, nameof(y));
        CheckOptional(gamma.Length, channels, nameof(gamma));
        CheckOptional(beta.Length, channels, nameof(beta));
        CheckExact(movingMean.Length, channels, nameof(movingMean));
        CheckExact(movingVariance.Length, channels, nameof(movingVariance));
        CheckEpsilon(epsilon);
        if (rows == 0) return;
        fixed (float* px = x, py = y, pg = gamma, pb = beta, pm = movingMean, pv = movingVariance)
        {
            float* scale = ConvScratch.Current.Floats(ConvScratch.ChannelSlot, channels);
            for (int j = 0; j < channels; j++) scale[j] = (gamma.IsEmpty ? 1f : pg[j]) / MathF.Sqrt(pv[j] + epsilon);
            Run(Phase.Normalize, px, py, pm, scale, beta.IsEmpty ? null : pb, null, rows, channels, ChannelSums.Blocks(rows), activation);
        }
    }

    /// <summary>
    /// dy (w.r.t. the activation output y) becomes the activation-masked gradient dz in place; then
    /// dGamma = Σ dz·x̂, dBeta = Σ dz (overwritten; empty = none) and
    /// dx = gamma/σ·(dz − mean(dz) − x̂·mean(dz·x̂)) (overwritten; may be dy's memory; empty = skip).
    /// </summary>
    public static void Backward<TAct>(ReadOnlySpan<float> x, ReadOnlySpan<float> y, Span<float> dy, ReadOnlySpan<float> gamma, ReadOnlySpan<float> saved,
        Span<float> dGamma, Span<float> dBeta, Span<float> dx, int rows, int channels, TAct activation) where TAct : struct, IActivation =>
        Backward(x, y, dy, gamma, saved, dGamma, dBeta, dx, rows, channels, activation, null);

    /// <summary>
    /// As above, synchronized when <paramref name="synchronizer"/> is not null: dGamma and dBeta stay
    /// this rank's sums (the gradient allreduce adds them), while the mean(dz) and mean(dz·x̂) of dx
    /// are over the global batch, each rank's sums weighted by its share of the samples, so dx is
    /// what one process computes for these rows.
    /// </summary>
    public static void Backward<TAct>(ReadOnlySpan<float> x, ReadOnlySpan<float> y, Span<float> dy, ReadOnlySpan<float> gamma, ReadOnlySpan<float> saved,
        Span<float> dGamma, Span<float> dBeta, Span<float> dx, int rows, int channels, TAct activation, BatchNormSynchronizer? synchronizer)
        where TAct : struct, IActivation
    {
        CheckShape(rows, channels);
        if (typeof(TAct) != typeof(Identity)) Activations.CheckShape(y.Length, rows, channels, nameof(y));
        fixed (float* py = y)
            Backward(x, py, dy, gamma, default, fromInput: false, saved, dGamma, dBeta, dx, rows, channels, activation, synchronizer);
    }

    /// <summary>
    /// As <see cref="Backward{TAct}(ReadOnlySpan{float}, ReadOnlySpan{float}, Span{float}, ReadOnlySpan{float}, ReadOnlySpan{float}, Span{float}, Span{float}, Span{float}, int, int, TAct, BatchNormSynchronizer?)"/>
    /// after a <see cref="ForwardTraining{TAct}(ReadOnlySpan{float}, Span{float}, ReadOnlySpan{float}, ReadOnlySpan{float}, Span{float}, Span{float}, Span{float}, int, int, float, float, TAct, BatchNormSynchronizer?)"/>
    /// without a residual, for a cheap activation (ReLU): act' is taken at act(gamma·x̂ + beta) recomputed from x with the
    /// normalizing pass's own operations, so it has the bits of act' at the stored output, which is never read; dy is left
    /// as it is (unless dx is its memory). Each pass reads x anyway: the stored output's read and the masked gradient's
    /// write-back are two full-size streams of the seven (benchmarks/README.md, stop 50).
    /// </summary>
    public static void BackwardFromInput<TAct>(ReadOnlySpan<float> x, Span<float> dy, ReadOnlySpan<float> gamma, ReadOnlySpan<float> beta, ReadOnlySpan<float> saved,
        Span<float> dGamma, Span<float> dBeta, Span<float> dx, int rows, int channels, TAct activation, BatchNormSynchronizer? synchronizer = null)
        where TAct : struct, IActivation
    {
        CheckOptional(beta.Length, channels, nameof(beta));
        Backward(x, null, dy, gamma, beta, fromInput: true, saved, dGamma, dBeta, dx, rows, channels, activation, synchronizer);
    }

    private static void Backward<TAct>(ReadOnlySpan<float> x, float* py, Span<float> dy, ReadOnlySpan<float> gamma, ReadOnlySpan<float> beta, bool fromInput,
        ReadOnlySpan<float> saved, Span<float> dGamma, Span<float> dBeta, Span<float> dx, int rows, int channels, TAct activation, BatchNormSynchronizer? synchronizer)
        where TAct : struct, IActivation
    {
        CheckShape(rows, channels);
        Activations.CheckShape(x.Length, rows, channels, nameof(x));
        Activations.CheckShape(dy.Length, rows, channels, nameof(dy));
        CheckOptional(gamma.Length, channels, nameof(gamma));
        Activations.CheckLength(saved.Length, 2 * channels, nameof(saved));
        CheckOptional(dGamma.Length, channels, nameof(dGamma));
        CheckOptional(dBeta.Length, channels, nameof(dBeta));
        if (!dx.IsEmpty) Activations.CheckShape(dx.Length, rows, channels, nameof(dx));
        if (rows == 0)
        {
            dGamma.Clear();
            dBeta.Clear();
            return;
        }

        int blocks = ChannelSums.Blocks(rows);
        fixed (float* px = x, pdy = dy, pg = gamma, pb = beta, ps = saved, pdg = dGamma, pdb = dBeta, pdx = dx)
        {
            float* mean = ps, invStd = ps + channels;
            float* partials = ConvScratch.Current.Floats(ConvScratch.PartialsSlot, (long)blocks * 2 * channels);
            // sums[0..C) = Σ dz, sums[C..2C) = Σ dz·x̂, sums[2C..3C) = k = gamma/σ: the normalizing pass's scale, with
            // which the FromInput passes redo act(BN(x)).
            float* sums = ConvScratch.Current.Floats(ConvScratch.ChannelSlot, 3L * channels);
            float* k = Scale(gamma.IsEmpty ? null : pg, invStd, channels, sums + 2 * channels);
            float* shift = beta.IsEmpty ? null : pb;
            Run(Phase.BackwardSums, px, py, mean, invStd, pdy, partials, rows, channels, blocks, activation, fromInput: fromInput, scale: k, shift: shift);
            ChannelSums.Reduce(partials, blocks, 2 * channels, sums);
            if (!dBeta.IsEmpty) new Span<float>(sums, channels).CopyTo(dBeta);
            if (!dGamma.IsEmpty) new Span<float>(sums + channels, channels).CopyTo(dGamma);
            if (dx.IsEmpty) return;
            // The global batch's Σ dz and Σ dz·x̂, in this rank's scale (its dz is the gradient of its own mean loss).
            if (synchronizer is not null) synchronizer.Sum(partials, blocks, channels, 2, sums, weighted: true);
            // dx = k·(dz − a − x̂·b) with a = mean dz, b = mean dz·x̂.
            for (int j = 0; j < channels; j++)
            {
                sums[j] /= rows;
                sums[channels + j] /= rows;
            }
            // The y-based pass left dz in dy; from the input, dz is dy·act' again.
            if (fromInput) Run(Phase.BackwardDx, px, pdx, mean, invStd, pdy, sums, rows, channels, blocks, activation, fromInput: true, scale: k, shift: shift);
            else Run(Phase.BackwardDx, px, pdx, mean, invStd, pdy, sums, rows, channels, blocks, default(Identity));
        }
    }

    /// <summary>
    /// Folds inference-mode BN into the preceding layer: foldedKernel = kernel·s, foldedBias = (bias − mean)·s + beta,
    /// s = gamma/√(var + eps), per output channel = the last axis of kernel (Dense (in, units), Conv2D (kh, kw, in, filters)).
    /// bias, gamma, beta empty = 0, 1, 0. foldedKernel may be kernel's memory.
    /// </summary>
    public static void Fold(ReadOnlySpan<float> kernel, ReadOnlySpan<float> bias, ReadOnlySpan<float> gamma, ReadOnlySpan<float> beta,
        ReadOnlySpan<float> movingMean, ReadOnlySpan<float> movingVariance, float epsilon, Span<float> foldedKernel, Span<float> foldedBias, int channels) =>
        Fold(kernel, bias, gamma, beta, movingMean, movingVariance, epsilon, foldedKernel, foldedBias, channels, run: 1);

    /// <summary>
    /// <see cref="Fold(ReadOnlySpan{float}, ReadOnlySpan{float}, ReadOnlySpan{float}, ReadOnlySpan{float}, ReadOnlySpan{float}, ReadOnlySpan{float}, float, Span{float}, Span{float}, int)"/>
    /// into a transposed convolution, whose Keras kernel is (kh, kw, filters, input channels): the output channel is its third
    /// axis, so each filter's weights at one tap are a run of <paramref name="inputChannels"/> floats.
    /// </summary>
    public static void FoldTransposed(ReadOnlySpan<float> kernel, ReadOnlySpan<float> bias, ReadOnlySpan<float> gamma, ReadOnlySpan<float> beta,
        ReadOnlySpan<float> movingMean, ReadOnlySpan<float> movingVariance, float epsilon, Span<float> foldedKernel, Span<float> foldedBias, int channels,
        int inputChannels)
    {
        if (inputChannels < 1) throw new ArgumentOutOfRangeException(nameof(inputChannels), inputChannels, "inputChannels must be positive");
        Fold(kernel, bias, gamma, beta, movingMean, movingVariance, epsilon, foldedKernel, foldedBias, channels, run: inputChannels);
    }

    /// <summary>The kernel is blocks of <paramref name="channels"/> runs of <paramref name="run"/> floats; channel j's weights are each block's run j.</summary>
    private static void Fold(ReadOnlySpan<float> kernel, ReadOnlySpan<float> bias, ReadOnlySpan<float> gamma, ReadOnlySpan<float> beta,
        ReadOnlySpan<float> movingMean, ReadOnlySpan<float> movingVariance, float epsilon, Span<float> foldedKernel, Span<float> foldedBias, int channels,
        int run)
    {
        if (channels < 1) throw new ArgumentOutOfRangeException(nameof(channels), channels, "channels must be positive");
        if (kernel.Length % ((long)channels * run) != 0)
            throw new ArgumentException($"kernel has {kernel.Length} floats, not a whole number of rows of {channels} channels{(run == 1 ? "" : $" × {run} inputs")}", nameof(kernel));
        CheckOptional(bias.Length, channels, nameof(bias));
        CheckOptional(gamma.Length, channels, nameof(gamma));
        CheckOptional(beta.Length, channels, nameof(beta));
        CheckExact(movingMean.Length, channels, nameof(movingMean));
        CheckExact(movingVariance.Length, channels, nameof(movingVariance));
        Activations.CheckLength(foldedKernel.Length, kernel.Length, nameof(foldedKernel));
        CheckExact(foldedBias.Length, channels, nameof(foldedBias));
        CheckEpsilon(epsilon);
        // Each channel's scale once (a square root and a division per kernel weight were 2% of the
        // Fashion CNN's inference pass), then the rows; the same float operations, so the same bits.
        Span<float> scale = new Span<float>(ConvScratch.Current.Floats(ConvScratch.ChannelSlot, channels), channels);
        for (int j = 0; j < channels; j++)
        {
            float s = (gamma.IsEmpty ? 1f : gamma[j]) / MathF.Sqrt(movingVariance[j] + epsilon);
            scale[j] = s;
            foldedBias[j] = ((bias.IsEmpty ? 0f : bias[j]) - movingMean[j]) * s + (beta.IsEmpty ? 0f : beta[j]);
        }
        if (run == 1)
        {
            for (int r = 0; r < kernel.Length; r += channels)
            {
                ReadOnlySpan<float> row = kernel.Slice(r, channels);
                Span<float> folded = foldedKernel.Slice(r, channels);
                for (int j = 0; j < channels; j++) folded[j] = row[j] * scale[j];
            }
            return;
        }
        for (int r = 0; r < kernel.Length; r += channels * run)
        {
            for (int j = 0; j < channels; j++)
            {
                ReadOnlySpan<float> weights = kernel.Slice(r + j * run, run);
                Span<float> folded = foldedKernel.Slice(r + j * run, run);
                float s = scale[j];
                for (int q = 0; q < run; q++) folded[q] = weights[q] * s;
            }
        }
    }

    private static float* Scale(float* gamma, float* invStd, int channels) =>
        Scale(gamma, invStd, channels, ConvScratch.Current.Floats(ConvScratch.ChannelSlot, channels));

    /// <summary>into[j] = gamma[j]/σ[j] (1/σ without gamma): the normalizing pass's scale, and the backward's k.</summary>
    private static float* Scale(float* gamma, float* invStd, int channels, float* into)
    {
        for (int j = 0; j < channels; j++) into[j] = gamma == null ? invStd[j] : gamma[j] * invStd[j];
        return into;
    }

    private static void Run<TAct>(Phase phase, float* x, float* y, float* p0, float* p1, float* p2, float* partials, int rows, int channels, int blocks, TAct act,
        float* residual = null, bool fromInput = false, float* scale = null, float* shift = null)
        where TAct : struct, IActivation
    {
        var job = BnJob<TAct>.ForCurrentThread;
        job.Phase = phase; job.X = x; job.Y = y; job.P0 = p0; job.P1 = p1; job.P2 = p2; job.Partials = partials; job.R = residual;
        job.FromInput = fromInput; job.Scale = scale; job.Shift = shift;
        job.Rows = rows; job.Channels = channels; job.Blocks = blocks; job.Act = act;
        try { WorkerPool.Shared.Run(job, ChannelSums.PartsFor(rows, channels, blocks)); }
        finally { job.X = job.Y = job.P0 = job.P1 = job.P2 = job.Partials = job.R = job.Scale = job.Shift = null; }
    }

    /// <summary>
    /// One row-blocked pass. Pointers by phase — Statistics: X → Partials[blk][Σx], then [Blocks + blk][Σ(x − m)] and [2·Blocks + blk][Σ(x − m)²], m the block's float mean.
    /// Normalize: Y = act((X − P0)·P1 + P2 + R), R the residual or null. BackwardSums: X, Y (act output), P0 = mean, P1 = 1/σ, P2 = dy (masked
    /// in place) → Partials[blk][Σ dz | Σ dz·x̂]. BackwardDx: Y = dx, X, P0 = mean, P1 = 1/σ, P2 = dz,
    /// Partials = [a | b | k] → dx = k·(dz − a − x̂·b). With FromInput, both backward phases take act' at act((X − P0)·Scale + Shift)
    /// as Normalize computes it, instead of reading Y, and BackwardSums leaves P2 as it is.
    /// </summary>
    private sealed class BnJob<TAct> : ParallelJob where TAct : struct, IActivation
    {
        [ThreadStatic] private static BnJob<TAct>? t_instance;
        public static BnJob<TAct> ForCurrentThread => t_instance ??= new BnJob<TAct>();

        public Phase Phase;
        public float* X, Y, P0, P1, P2, Partials, R, Scale, Shift;
        public bool FromInput;
        public int Rows, Channels, Blocks;
        public TAct Act;

        public override void Execute(int part, int parts)
        {
            bool slices = VectorChannels == Channels && Channels <= SliceMaxChannels;
            for (int blk = (int)((long)part * Blocks / parts), end = (int)((long)(part + 1) * Blocks / parts); blk < end; blk++)
            {
                long r0 = (long)blk * ChannelSums.BlockRows;
                int count = ChannelSums.RowsIn(blk, Rows);
                switch (Phase)
                {
                    case Phase.Statistics:
                        if (Simd.Use256) Statistics<Lanes8>(blk, r0, count, Channels / 8 * 8);
                        else Statistics<Lanes16>(blk, r0, count, VectorChannels);
                        break;
                    case Phase.Normalize: if (slices) NormalizeSlices(r0, count); else Normalize(r0, count); break;
                    case Phase.BackwardSums: if (slices) BackwardSumsSlices(blk, r0, count); else BackwardSums(blk, r0, count); break;
                    case Phase.BackwardDx: if (slices) BackwardDxSlices(r0, count); else BackwardDx(r0, count); break;
                    default: throw new InvalidOperationException($"unknown batch normalization phase {Phase}");
                }
            }
        }

        // Each phase copies the job's pointers into locals first: inside a loop that stores through a
        // pointer the JIT reloads every field it reads (the store might have changed it), and with few
        // channels per row (32 in the Fashion CNN's first layer) those reloads and the per-row pointer
        // arithmetic cost more than the data. The row-by-row forms keep rows in memory order, which the prefetchers stream.

        /// <summary>The channels the 16-lane vectors cover: whole multiples of 16 on the vector paths, none on the scalar one.</summary>
        private int VectorChannels => Simd.Use16Lanes ? Channels / 16 * 16 : 0;

        /// <summary>Rows a pass takes down one vector of channels (16, or 8 for the statistics at 256 bits) before the next: 32 rows of 128 channels are 16 KiB, in L1.</summary>
        private const int SliceRows = 32;

        /// <summary>
        /// Partials[blk][Σx], then [Blocks + blk][Σ(x − m)] and [2·Blocks + blk][Σ(x − m)²] about m = Σx/count, the block's
        /// rows again from cache. The first <paramref name="vectors"/> channels run <typeparamref name="TV"/>'s lanes.
        /// </summary>
        private void Statistics<TV>(int blk, long r0, int count, int vectors) where TV : struct, ILanes<TV>
        {
            // A lane group at a time down 32 rows, so the sums stay in registers and those rows stay in L1 for the
            // next group. Four rows' chains side by side: one chain of dependent adds ran at a third of the speed
            // the data comes in (with rows of one vector, the next slice's chain goes on from this one's). Written
            // once over the lane width, so the 256-bit path keeps its eight sums in ymm registers.
            int c = Channels, lanes = TV.Count;
            float* sum = Partials + (nint)blk * c, residuals = sum + (nint)Blocks * c, squares = residuals + (nint)Blocks * c;
            new Span<float>(sum, c).Clear();
            new Span<float>(residuals, c).Clear();
            new Span<float>(squares, c).Clear();
            float* block = X + r0 * c;
            for (int first = 0; first < count; first += SliceRows)
            {
                float* x = block + (nint)first * c;
                nint span = (nint)Math.Min(SliceRows, count - first) * c;
                for (int j = 0; j < vectors; j += lanes)
                {
                    TV s0 = TV.Load(sum + j), s1 = default, s2 = default, s3 = default;
                    nint at = j;
                    for (; at + 3 * c < span; at += 4 * c)
                    {
                        s0 += TV.Load(x + at);
                        s1 += TV.Load(x + at + c);
                        s2 += TV.Load(x + at + 2 * c);
                        s3 += TV.Load(x + at + 3 * c);
                    }
                    for (; at < span; at += c) s0 += TV.Load(x + at);
                    TV.Store((s0 + s1) + (s2 + s3), sum + j);
                }
                for (int j = vectors; j < c; j++)
                {
                    float s = sum[j];
                    for (nint at = j; at < span; at += c) s += x[at];
                    sum[j] = s;
                }
            }
            float inv = 1f / count;
            for (int first = 0; first < count; first += SliceRows)
            {
                float* x = block + (nint)first * c;
                nint span = (nint)Math.Min(SliceRows, count - first) * c;
                for (int j = 0; j < vectors; j += lanes)
                {
                    TV m = TV.Load(sum + j) * inv;
                    TV e0 = TV.Load(residuals + j), e1 = default, e2 = default, e3 = default;
                    TV q0 = TV.Load(squares + j), q1 = default, q2 = default, q3 = default;
                    nint at = j;
                    for (; at + 3 * c < span; at += 4 * c)
                    {
                        TV d0 = TV.Load(x + at) - m, d1 = TV.Load(x + at + c) - m;
                        TV d2 = TV.Load(x + at + 2 * c) - m, d3 = TV.Load(x + at + 3 * c) - m;
                        e0 += d0;
                        e1 += d1;
                        e2 += d2;
                        e3 += d3;
                        q0 = TV.MultiplyAdd(d0, d0, q0);
                        q1 = TV.MultiplyAdd(d1, d1, q1);
                        q2 = TV.MultiplyAdd(d2, d2, q2);
                        q3 = TV.MultiplyAdd(d3, d3, q3);
                    }
                    for (; at < span; at += c)
                    {
                        TV d = TV.Load(x + at) - m;
                        e0 += d;
                        q0 = TV.MultiplyAdd(d, d, q0);
                    }
                    TV.Store((e0 + e1) + (e2 + e3), residuals + j);
                    TV.Store((q0 + q1) + (q2 + q3), squares + j);
                }
                for (int j = vectors; j < c; j++)
                {
                    float m = sum[j] * inv, e = residuals[j], q = squares[j];
                    for (nint at = j; at < span; at += c)
                    {
                        float d = x[at] - m;
                        e += d;
                        q = MathF.FusedMultiplyAdd(d, d, q);
                    }
                    residuals[j] = e;
                    squares[j] = q;
                }
            }
        }

        // The Slices forms of the three passes below run one 16-channel slice at a time down SliceRows rows,
        // with the slice's per-channel values (and sums) in registers, for rows of one or two vectors
        // (SliceMaxChannels): there the row-by-row forms load five to seven of those vectors per vector of
        // data. The Fashion ResNet's 16- and 32-channel passes ran 1.3-2 times as fast alone (Zen 5), bit for
        // bit the same; with 64 and 128 channels (the CIFAR net's, in memory) the strided slices were slower.

        /// <summary>Y = act((X − P0)·P1 + P2 + R), R the residual or null, P2 the shift or null; rows of whole vectors.</summary>
        private void NormalizeSlices(long r0, int count)
        {
            int c = Channels;
            float* mean = P0, scale = P1, shift = P2;
            TAct act = Act;
            for (int first = 0; first < count; first += SliceRows)
            {
                int rows = Math.Min(SliceRows, count - first);
                nint at = (nint)((r0 + first) * c);
                for (int j = 0; j < c; j += 16)
                {
                    Vector512<float> m = Vector512.Load(mean + j), k = Vector512.Load(scale + j);
                    Vector512<float> b = shift == null ? Vector512<float>.Zero : Vector512.Load(shift + j);
                    float* x = X + at + j, y = Y + at + j, res = R == null ? null : R + at + j;
                    for (int r = 0; r < rows; r++, x += c, y += c)
                    {
                        var v = Vector512.FusedMultiplyAdd(Vector512.Load(x) - m, k, b);
                        if (res != null)
                        {
                            v += Vector512.Load(res);
                            res += c;
                        }
                        Vector512.Store(act.Apply(v), y);
                    }
                }
            }
        }

        /// <summary><see cref="NormalizeSlices"/> row by row, for any channel count.</summary>
        private void Normalize(long r0, int count)
        {
            int c = Channels, vectors = VectorChannels;
            float* x = X + r0 * c, y = Y + r0 * c, res = R == null ? null : R + r0 * c;
            float* mean = P0, scale = P1, shift = P2;
            TAct act = Act;
            for (int r = 0; r < count; r++, x += c, y += c)
            {
                int j = 0;
                for (; j < vectors; j += 16)
                {
                    var v = Vector512.FusedMultiplyAdd(Vector512.Load(x + j) - Vector512.Load(mean + j), Vector512.Load(scale + j),
                        shift == null ? Vector512<float>.Zero : Vector512.Load(shift + j));
                    if (res != null) v += Vector512.Load(res + j);
                    Vector512.Store(act.Apply(v), y + j);
                }
                for (; j < c; j++)
                {
                    float v = MathF.FusedMultiplyAdd(x[j] - mean[j], scale[j], shift == null ? 0f : shift[j]);
                    y[j] = act.Apply(res == null ? v : v + res[j]);
                }
                if (res != null) res += c;
            }
        }

        /// <summary>X, Y (act output), P0 = mean, P1 = 1/σ, P2 = dy (masked to dz in place, unless FromInput) → Partials[blk][Σ dz | Σ dz·x̂]; rows of whole vectors.</summary>
        private void BackwardSumsSlices(int blk, long r0, int count)
        {
            int c = Channels;
            bool fromInput = FromInput, stored = typeof(TAct) != typeof(Identity) && !fromInput;
            float* sumDz = Partials + (nint)blk * 2 * c, sumDzXhat = sumDz + c;
            new Span<float>(sumDz, 2 * c).Clear();
            float* mean = P0, invStd = P1, scale = Scale, shift = Shift;
            TAct act = Act;
            for (int first = 0; first < count; first += SliceRows)
            {
                int rows = Math.Min(SliceRows, count - first);
                nint at = (nint)((r0 + first) * c);
                for (int j = 0; j < c; j += 16)
                {
                    Vector512<float> m = Vector512.Load(mean + j), inv = Vector512.Load(invStd + j);
                    Vector512<float> k = fromInput ? Vector512.Load(scale + j) : default;
                    Vector512<float> b = fromInput && shift != null ? Vector512.Load(shift + j) : Vector512<float>.Zero;
                    Vector512<float> sum = Vector512.Load(sumDz + j), sumXhat = Vector512.Load(sumDzXhat + j);
                    float* x = X + at + j, dz = P2 + at + j, y = stored ? Y + at + j : null;
                    for (int r = 0; r < rows; r++, x += c, dz += c)
                    {
                        var d = Vector512.Load(dz);
                        var centred = Vector512.Load(x) - m;
                        if (fromInput) d *= act.DerivativeFromOutput(act.Apply(Vector512.FusedMultiplyAdd(centred, k, b)));
                        else if (stored)
                        {
                            d *= act.DerivativeFromOutput(Vector512.Load(y));
                            Vector512.Store(d, dz);
                            y += c;
                        }
                        sum += d;
                        sumXhat = Vector512.FusedMultiplyAdd(d, centred * inv, sumXhat);
                    }
                    Vector512.Store(sum, sumDz + j);
                    Vector512.Store(sumXhat, sumDzXhat + j);
                }
            }
        }

        /// <summary><see cref="BackwardSumsSlices"/> row by row, for any channel count: each channel's sums in the same order.</summary>
        private void BackwardSums(int blk, long r0, int count)
        {
            int c = Channels, vectors = VectorChannels;
            bool fromInput = FromInput, stored = typeof(TAct) != typeof(Identity) && !fromInput;
            float* sumDz = Partials + (nint)blk * 2 * c, sumDzXhat = sumDz + c;
            new Span<float>(sumDz, 2 * c).Clear();
            float* x = X + r0 * c, y = stored ? Y + r0 * c : null, dz = P2 + r0 * c;
            float* mean = P0, invStd = P1, scale = Scale, shift = Shift;
            TAct act = Act;
            for (int r = 0; r < count; r++, x += c, dz += c)
            {
                int j = 0;
                for (; j < vectors; j += 16)
                {
                    var d = Vector512.Load(dz + j);
                    var centred = Vector512.Load(x + j) - Vector512.Load(mean + j);
                    if (fromInput) d *= Derivative(centred, scale + j, shift == null ? null : shift + j, act);
                    else if (stored)
                    {
                        d *= act.DerivativeFromOutput(Vector512.Load(y + j));
                        Vector512.Store(d, dz + j);
                    }
                    var xhat = centred * Vector512.Load(invStd + j);
                    Vector512.Store(Vector512.Load(sumDz + j) + d, sumDz + j);
                    Vector512.Store(Vector512.FusedMultiplyAdd(d, xhat, Vector512.Load(sumDzXhat + j)), sumDzXhat + j);
                }
                for (; j < c; j++)
                {
                    float d = dz[j], centred = x[j] - mean[j];
                    if (fromInput) d *= Derivative(centred, scale[j], shift == null ? 0f : shift[j], act);
                    else if (stored) dz[j] = d *= act.DerivativeFromOutput(y[j]);
                    float xhat = centred * invStd[j];
                    sumDz[j] += d;
                    sumDzXhat[j] = MathF.FusedMultiplyAdd(d, xhat, sumDzXhat[j]);
                }
                if (stored) y += c;
            }
        }

        /// <summary>act' at act((x − mean)·scale + shift), the value <see cref="Normalize"/> stores for x − mean = <paramref name="centred"/>.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static Vector512<float> Derivative(Vector512<float> centred, float* scale, float* shift, TAct act) =>
            act.DerivativeFromOutput(act.Apply(Vector512.FusedMultiplyAdd(centred, Vector512.Load(scale),
                shift == null ? Vector512<float>.Zero : Vector512.Load(shift))));

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static float Derivative(float centred, float scale, float shift, TAct act) =>
            act.DerivativeFromOutput(act.Apply(MathF.FusedMultiplyAdd(centred, scale, shift)));

        /// <summary>Y = dx, X, P0 = mean, P1 = 1/σ, P2 = dz (dy, with FromInput), Partials = [a | b | k] → dx = k·(dz − a − x̂·b); rows of whole vectors.</summary>
        private void BackwardDxSlices(long r0, int count)
        {
            int c = Channels;
            bool fromInput = FromInput;
            float* mean = P0, invStd = P1, a = Partials, b = Partials + c, k = Partials + 2 * c, scale = Scale, shift = Shift;
            TAct act = Act;
            for (int first = 0; first < count; first += SliceRows)
            {
                int rows = Math.Min(SliceRows, count - first);
                nint at = (nint)((r0 + first) * c);
                for (int j = 0; j < c; j += 16)
                {
                    Vector512<float> m = Vector512.Load(mean + j), inv = Vector512.Load(invStd + j);
                    Vector512<float> va = Vector512.Load(a + j), vb = Vector512.Load(b + j), vk = Vector512.Load(k + j);
                    Vector512<float> s = fromInput ? Vector512.Load(scale + j) : default;
                    Vector512<float> t = fromInput && shift != null ? Vector512.Load(shift + j) : Vector512<float>.Zero;
                    float* x = X + at + j, dz = P2 + at + j, dx = Y + at + j;
                    for (int r = 0; r < rows; r++, x += c, dz += c, dx += c)
                    {
                        var centred = Vector512.Load(x) - m;
                        var d = Vector512.Load(dz);
                        if (fromInput) d *= act.DerivativeFromOutput(act.Apply(Vector512.FusedMultiplyAdd(centred, s, t)));
                        Vector512.Store(vk * (d - va - centred * inv * vb), dx);
                    }
                }
            }
        }

        /// <summary><see cref="BackwardDxSlices"/> row by row, for any channel count.</summary>
        private void BackwardDx(long r0, int count)
        {
            int c = Channels, vectors = VectorChannels;
            bool fromInput = FromInput;
            float* x = X + r0 * c, dz = P2 + r0 * c, dx = Y + r0 * c;
            float* mean = P0, invStd = P1, a = Partials, b = Partials + c, k = Partials + 2 * c, scale = Scale, shift = Shift;
            TAct act = Act;
            for (int r = 0; r < count; r++, x += c, dz += c, dx += c)
            {
                int j = 0;
                for (; j < vectors; j += 16)
                {
                    var centred = Vector512.Load(x + j) - Vector512.Load(mean + j);
                    var d = Vector512.Load(dz + j);
                    if (fromInput) d *= Derivative(centred, scale + j, shift == null ? null : shift + j, act);
                    var xhat = centred * Vector512.Load(invStd + j);
                    Vector512.Store(Vector512.Load(k + j) * (d - Vector512.Load(a + j) - xhat * Vector512.Load(b + j)), dx + j);
                }
                for (; j < c; j++)
                {
                    float centred = x[j] - mean[j], d = dz[j];
                    if (fromInput) d *= Derivative(centred, scale[j], shift == null ? 0f : shift[j], act);
                    float xhat = centred * invStd[j];
                    dx[j] = k[j] * (d - a[j] - xhat * b[j]);
                }
            }
        }
    }

    private static void CheckShape(int rows, int channels)
    {
        if (rows < 0) throw new ArgumentOutOfRangeException(nameof(rows), rows, "rows must not be negative");
        if (channels < 1) throw new ArgumentOutOfRangeException(nameof(channels), channels, "channels must be positive");
    }

    private static void CheckOptional(int length, int channels, string name)
    {
        if (length != 0 && length != channels)
            throw new ArgumentException($"{name} has {length} values but there are {channels} channels (pass an empty span for none)", name);
    }

    private static void CheckExact(int length, int channels, string name)
    {
        if (length != channels) throw new ArgumentException($"{name} has {length} values but there are {channels} channels", name);
    }

    private static void CheckEpsilon(float epsilon)
    {
        if (!(epsilon > 0f)) throw new ArgumentOutOfRangeException(nameof(epsilon), epsilon, "epsilon must be positive");
    }
}
