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
            int classes = _classes;
            bool vector = Simd.Use16Lanes;
            float[]? rented = null;
            // A row's e^(z − max): their sum, then the gradient's probabilities (the last partial vector stays in a register).
            Span<float> scratch = classes <= MaxStackClasses ? stackalloc float[classes] : (rented = ArrayPool<float>.Shared.Rent(classes)).AsSpan(0, classes);
            double keep = _keep, add = _add, invN = 1.0 / _n;
            fixed (float* pScratch = scratch)
            {
                for (int i = r0; i < r1; i++)
                {
                    float* z = _logits + (nint)i * classes, g = _dLogits == null ? null : _dLogits + (nint)i * classes;
                    float max;
                    Vector512<float> tail = default;
                    float sum = vector ? Activations.SoftmaxRow(z, pScratch, classes, out max, out tail) : Activations.SoftmaxRowScalar(z, pScratch, classes, out max);
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
                        if (g != null) SparseGradientRow(pScratch, tail, g, classes, 1f / sum, label, (float)(1 - keep - add), (float)add, scale, vector);
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
                        if (g != null) DenseGradientRow(pScratch, tail, g, t, classes, 1f / sum, (float)tSum, (float)keep, (float)add, scale, vector);
                    }
                }
            }
            if (rented != null) ArrayPool<float>.Shared.Return(rented);
        }

        // The gradient rows take p = e^(z − max)·(1/Σ) from the exponentials of the sum (the whole vectors in the scratch
        // row, the last partial one in a register).

        /// <summary>
        /// g = (p − t)·scale over a row, t = keep at the label and add everywhere (<paramref name="gap"/> = 1 − keep − add).
        /// The label's p − 1 is taken as −Σ of the other classes' p: a confident row's p rounds to within 6·10⁻⁸ of 1, and
        /// p − 1 would keep only that rounding (p = 1 − 2.7·10⁻⁸ gives 0), where the sum of the small ones keeps its digits.
        /// Without it the Fashion CNN's losses parted from PyTorch's (benchmarks/Trajectory, seed 3) past 10⁻⁴ at step 11.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static void SparseGradientRow(float* e, Vector512<float> tail, float* g, int classes, float inverse, int label, float gap, float add, float scale, bool vector)
        {
            float others = 0f;
            if (!vector)
            {
                for (int j = 0; j < classes; j++)
                {
                    float p = e[j] * inverse;
                    if (j != label) others += p;
                    g[j] = (p - add) * scale;
                }
            }
            else
            {
                Vector512<float> s = Vector512.Create(scale), other = Vector512.Create(add), inv = Vector512.Create(inverse), sum = Vector512<float>.Zero;
                for (int j = 0; j < classes; j += 16)
                {
                    int count = Math.Min(16, classes - j);
                    Vector512<float> p = (count == 16 ? Vector512.Load(e + j) : tail) * inv;
                    sum += Vector512.ConditionalSelect(Vector512.Equals(Vector512<int>.Indices, Vector512.Create(label - j)).AsSingle(), Vector512<float>.Zero, p);
                    Vector512<float> v = (p - other) * s;
                    if (count == 16) Vector512.Store(v, g + j);
                    else Activations.StoreTail(v, g + j, count);
                }
                others = Vector512.Sum(sum);
            }
            // p − keep − add at the label = (1 − keep − add) − (1 − p), the gap taken in double.
            g[label] = (gap - others) * scale;
        }

        /// <summary>g = (p·Σt − t)·scale over a row, t = target·keep + add.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static void DenseGradientRow(float* e, Vector512<float> tail, float* g, float* t, int classes, float inverse, float tSum, float keep, float add, float scale, bool vector)
        {
            if (!vector)
            {
                for (int j = 0; j < classes; j++) g[j] = (e[j] * inverse * tSum - (t[j] * keep + add)) * scale;
                return;
            }
            Vector512<float> s = Vector512.Create(scale), pScale = Vector512.Create(inverse * tSum), k = Vector512.Create(keep), a = Vector512.Create(add);
            for (int j = 0; j < classes; j += 16)
            {
                int count = Math.Min(16, classes - j);
                Vector512<float> target = count == 16 ? Vector512.Load(t + j) : Activations.LoadTail512(t + j, count, 0f);
                Vector512<float> v = ((count == 16 ? Vector512.Load(e + j) : tail) * pScale - (target * k + a)) * s;
                if (count == 16) Vector512.Store(v, g + j);
                else Activations.StoreTail(v, g + j, count);
            }
        }
    }
}
