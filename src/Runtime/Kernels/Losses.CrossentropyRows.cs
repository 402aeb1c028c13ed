using System;
using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using Kiln.Threading;

namespace Kiln.Kernels;

public static partial class Losses
{
    /// <summary>
    /// From this many logits (rows × classes) a cross-entropy's rows are split over the pool: its double exponentials
    /// took 20 µs of the Fashion MLP's step at batch 256 (256 × 10) on the calling thread, with the worker waiting.
    /// </summary>
    internal static int ParallelMinLogits = 1 << 11;

    /// <summary>
    /// The mean categorical cross-entropy from logits and its gradient, row by row: sparse (a class index per row) or
    /// with a target distribution per row. Each row leaves its loss terms in a buffer and the caller adds them in row
    /// order, in the same double additions as one pass over the rows, so a split over threads changes no bit.
    /// </summary>
    private sealed unsafe class CrossentropyRows : ParallelJob
    {
        [ThreadStatic] private static CrossentropyRows? t_instance;
        [ThreadStatic] private static double[]? t_terms;

        private float* _logits, _targets, _dLogits, _weights;
        private double* _terms;
        private int _n, _classes;
        private bool _sparse;
        private double _keep, _add;

        /// <summary>Labels already checked; empty dLogits: the loss only; empty weights: all ones.</summary>
        public static float Mean(bool sparse, ReadOnlySpan<float> logits, ReadOnlySpan<float> targets, Span<float> dLogits,
            ReadOnlySpan<float> weights, int n, int classes, double keep, double add)
        {
            // Two terms a row: the sparse form with smoothing adds two to the total, in that order.
            double[] terms = t_terms is { } held && held.Length >= 2 * n ? held : t_terms = new double[Math.Max(2 * n, 64)];
            var job = t_instance ??= new CrossentropyRows();
            fixed (float* pl = logits, pt = targets, pd = dLogits, pw = weights)
            fixed (double* pterms = terms)
            {
                job._logits = pl; job._targets = pt; job._dLogits = pd; job._weights = pw; job._terms = pterms;
                job._n = n; job._classes = classes; job._sparse = sparse; job._keep = keep; job._add = add;
                int parts = (long)n * classes >= ParallelMinLogits && classes <= MaxStackClasses ? Math.Min(n, KilnSettings.Threads) : 1;
                try
                {
                    if (parts > 1)
                    {
                        WorkerPool pool = WorkerPool.Shared;
                        pool.Run(job, Math.Min(parts, pool.MaxParts));
                    }
                    else job.Rows(0, n);
                }
                finally { job._logits = job._targets = job._dLogits = job._weights = null; job._terms = null; }

                double total = 0;
                bool second = sparse && add != 0;
                for (int i = 0; i < n; i++)
                {
                    total += pterms[2 * i];
                    if (second) total += pterms[2 * i + 1];
                }
                return (float)(total * (1.0 / n));
            }
        }

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public override void Execute(int part, int parts) =>
            Rows((int)((long)part * _n / parts), (int)((long)(part + 1) * _n / parts));

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private void Rows(int r0, int r1)
        {
            int classes = _classes, full = classes & ~15;
            bool vector = Simd.Use16Lanes;
            float[]? rented = null;
            // Without a gradient to write, the exponentials go to scratch.
            Span<float> scratch = _dLogits != null ? default
                : classes <= MaxStackClasses ? stackalloc float[classes] : (rented = ArrayPool<float>.Shared.Rent(classes)).AsSpan(0, classes);
            double keep = _keep, add = _add, invN = 1.0 / _n;
            fixed (float* pScratch = scratch)
            {
                for (int i = r0; i < r1; i++)
                {
                    float* z = _logits + (nint)i * classes;
                    float* e = _dLogits != null ? _dLogits + (nint)i * classes : pScratch;
                    Vector512<float> tail = default;
                    float max;
                    float sum = vector ? Activations.SoftmaxRow(z, e, classes, out max, out tail) : Activations.SoftmaxRowScalar(z, e, classes, out max);
                    double lse = max + Math.Log(sum);
                    double w = _weights == null ? 1.0 : _weights[i];
                    float scale = (float)(w * invN);
                    if (_sparse)
                    {
                        int label = (int)_targets[i];
                        _terms[2 * i] = w * (lse - z[label]);
                        if (add != 0)
                        {
                            // −Σ t'·(z − lse) with t' = onehot·keep + add and Σt' = 1: lse − keep·z[label] − add·Σz.
                            double zSum = 0;
                            for (int j = 0; j < classes; j++) zSum += z[j];
                            _terms[2 * i + 1] = w * ((1 - keep) * z[label] - add * zSum);
                        }
                        if (_dLogits == null) continue;
                        // g = (e/Σ − t)·scale, t = keep at the label and add everywhere (keep + add at the label, in float).
                        float inverse = 1f / sum, other = (float)add, hit = (float)keep + other;
                        if (!vector)
                        {
                            for (int j = 0; j < classes; j++) e[j] = (e[j] * inverse - (j == label ? hit : other)) * scale;
                            continue;
                        }
                        Vector512<float> inv = Vector512.Create(inverse), s = Vector512.Create(scale);
                        for (int j = 0; j < full; j += 16)
                            Vector512.Store((Vector512.Load(e + j) * inv - Target(label - j, hit, other)) * s, e + j);
                        if (full < classes) Activations.StoreTail((tail * inv - Target(label - full, hit, other)) * s, e + full, classes - full);
                    }
                    else
                    {
                        float* t = _targets + (nint)i * classes;
                        double tSum = 0, row = 0;
                        for (int j = 0; j < classes; j++)
                        {
                            double tj = t[j] * keep + add;
                            tSum += tj;
                            row -= tj * (z[j] - lse);
                        }
                        _terms[2 * i] = w * row;
                        if (_dLogits == null) continue;
                        // g = (e/Σ·Σt − t)·scale.
                        float pScale = (float)tSum / sum;
                        if (vector && full < classes) Activations.StoreTail(tail, e + full, classes - full);
                        for (int j = 0; j < classes; j++) e[j] = (e[j] * pScale - (float)(t[j] * keep + add)) * scale;
                    }
                }
            }
            if (rented != null) ArrayPool<float>.Shared.Return(rented);
        }

        /// <summary>Sixteen lanes of a sparse target: <paramref name="hit"/> in lane <paramref name="lane"/> (if it is one of them), <paramref name="other"/> elsewhere.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static Vector512<float> Target(int lane, float hit, float other) =>
            Vector512.ConditionalSelect(Vector512.Equals(Vector512<int>.Indices, Vector512.Create(lane)).AsSingle(), Vector512.Create(hit), Vector512.Create(other));
    }
}
