using System;
using System.Collections.Generic;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;
using Kiln;

namespace Kiln.Tests;

/// <summary>
/// Central finite differences through a generated model, in float. Every forward runs in
/// training mode with the model's random stream re-seeded first, so dropout draws the same mask
/// for the analytic pass and every perturbed pass.
/// </summary>
internal static class GradientCheck
{
    public const float Eps = 5e-3f;
    public const double RelTol = 2e-2;
    public const double AbsTol = 5e-4;
    private const ulong MaskSeed = 0xD0D0;
    private const double FloatUlp = 1.0 / (1 << 23); // float's machine epsilon, 2^-23

    public sealed record Result(int Checked, int CheckedNonZero, int SkippedKinks, double VectorRelError, List<string> Failures, string Worst = "")
    {
        /// <summary>Coordinates outside their tolerance (<see cref="Failures"/> lists the first 12).</summary>
        public int FailureCount { get; init; }

        /// <summary>The largest difference over its coordinate's tolerance: below 1 when every coordinate agrees.</summary>
        public double WorstRatio { get; init; }

        public override string ToString()
        {
            var sb = new StringBuilder();
            sb.Append($"checked {Checked} ({CheckedNonZero} with a gradient over 1e-4), skipped at kinks {SkippedKinks}, ‖a−n‖/‖a+n‖ = {VectorRelError:G3}");
            if (Worst.Length > 0) sb.Append("; largest difference at ").Append(Worst);
            foreach (string f in Failures) sb.Append('\n').Append(f);
            return sb.ToString();
        }
    }

    /// <summary>
    /// Random biases (Keras starts them at zero): the checks then cover a bias that is not zero, and
    /// a positive lean keeps the tiny ReLU layers from dying all at once.
    /// </summary>
    public static void RandomizeBiases(Model model, int seed)
    {
        var rng = new Random(seed);
        foreach (var t in model.Description.Tensors)
            if (t.Name.EndsWith("/bias", StringComparison.Ordinal))
                foreach (ref float b in model.Tensor(t.Name))
                    b = (float)(rng.NextDouble() * 0.6 - 0.1);
    }

    /// <summary>
    /// BatchNormalization moving statistics unlike the initial ones (mean 0, variance 1 for every channel), so that a frozen or
    /// inference-mode BN scales each channel by its own factor and a fold that mixed channels up would show.
    /// </summary>
    public static void RandomizeMovingStatistics(Model model, Random random)
    {
        foreach (var t in model.Description.Tensors)
        {
            bool variance = t.Name.EndsWith("/moving_variance", StringComparison.Ordinal);
            if (!variance && !t.Name.EndsWith("/moving_mean", StringComparison.Ordinal)) continue;
            foreach (ref float v in model.Tensor(t.Name)) v = variance ? 0.3f + 1.5f * random.NextSingle() : random.NextSingle() - 0.5f;
        }
    }

    /// <summary>Forward in training mode with a fixed dropout mask.</summary>
    public static ReadOnlySpan<float> ForwardFixedMask(Model model, float[] x, int n)
    {
        model.Random = new Rng(MaskSeed);
        return model.Forward(x, n, training: true);
    }

    public static double Loss(Model model, float[] x, float[] y, int n)
    {
        ForwardFixedMask(model, x, n);
        return model.ComputeLoss(y, n, gradient: false);
    }

    /// <summary>Analytic gradients of the mean loss: (parameter gradients, input gradient).</summary>
    /// <param name="inputGradient">False for a model with no input gradient (a random augmentation first): Input is then empty.</param>
    public static (float[] Parameters, float[] Input) Analytic(Model model, float[] x, float[] y, int n, bool inputGradient = true)
    {
        ForwardFixedMask(model, x, n);
        model.ComputeLoss(y, n, gradient: true);
        var dx = new float[inputGradient ? x.Length : 0];
        model.Backward(n, dx);
        return (model.Gradients.Span.ToArray(), dx);
    }

    /// <summary>
    /// Checks analytic against central differences of <paramref name="objective"/> on every
    /// trainable weight (or <paramref name="maxParameters"/> of them, chosen at random) and on every
    /// input value. A coordinate whose perturbation moves an activation across zero or changes a
    /// max-pooling winner, even with a fifth of the step, straddles a kink (ReLU at 0, a max's
    /// switch) and is skipped; the caller bounds how many may be.
    /// </summary>
    public static Result Check(Model model, float[] x, float[] analyticParameters, float[] analyticInput,
        Func<double> objective, int maxParameters = int.MaxValue, float eps = Eps, bool randomModel = false)
    {
        var failures = new List<string>();
        int checkedCount = 0, nonZero = 0, kinks = 0, failureCount = 0;
        double worstRatio = 0;
        double diff2 = 0, sum2 = 0;
        var rng = new Random(1234);
        string worst = "";
        double worstD = 0;

        // Which side of zero every arena float is on after the unperturbed forward. A perturbation
        // that moves any activation across zero crossed a ReLU/LeakyReLU kink (or a harmless sign
        // change of a smooth value): such a coordinate is skipped, not compared. Pooling keeps its
        // argmax indices in the arena as ints, which read as zero or positive subnormal floats: those
        // are compared exactly, so a perturbation that changes a max-pooling winner (the max's kink)
        // is skipped too.
        // The model's output is left out: none of these models ends in a ReLU, and a linear output
        // that happens to sit near zero would otherwise mark every coordinate as a kink. (Leaving a
        // region out can only make a check fail that should pass, never the reverse.)
        var (outputStart, outputEnd) = OutputRegion(model, x.Length / model.InputSize);
        int[] pattern = new int[model.Arena.Length], probe = new int[model.Arena.Length];
        void Signs(int[] into)
        {
            ReadOnlySpan<float> a = model.Arena.Span;
            for (int i = 0; i < a.Length; i++)
            {
                int bits = BitConverter.SingleToInt32Bits(a[i]);
                into[i] = i >= outputStart && i < outputEnd ? 0
                    : a[i] == 0 ? 0 : bits > 0 && bits < 0x0080_0000 ? bits : a[i] > 0 ? -1 : -2;
            }
        }

        // Central difference with step h, or NaN when either side moved an activation across zero
        // or changed a pooling winner. The step is the one float rounding actually took.
        double Central(Span<float> values, int index, float saved, float h)
        {
            float up = saved + h, down = saved - h;
            values[index] = up;
            double fp = objective();
            Signs(probe);
            bool kink = !probe.AsSpan().SequenceEqual(pattern);
            values[index] = down;
            double fm = objective();
            Signs(probe);
            kink |= !probe.AsSpan().SequenceEqual(pattern);
            values[index] = saved;
            return kink ? double.NaN : (fp - fm) / ((double)up - down);
        }

        void Compare(string what, Span<float> values, int index, float analytic)
        {
            float saved = values[index];
            double loss = objective();
            Signs(pattern);
            // A kink within reach of the step is retried with a fifth of it before the coordinate is
            // skipped: batch normalization moves every activation of a channel with every input, and
            // a convolution weight moves every position, so near-zero values are often within eps.
            int shrink = 1;
            double central = Central(values, index, saved, eps);
            if (double.IsNaN(central)) central = Central(values, index, saved, eps / (shrink = 5));
            if (double.IsNaN(central))
            {
                kinks++;
                return;
            }
            // The objective's float rounding, divided by the step, is the central difference's noise:
            // a fifth of the step carries five times as much (the Dropout MLP's input 1128 at step
            // 1e-3 read 0.00107 against an analytic 0.00054 once the GEMM's k blocks changed).
            // A random model's loss can be large (products of products under a squared error): its float rounding, taken
            // as 32 ulps of the loss, over the step is then the noise, not AbsTol.
            double Tolerance(double numeric, int shrunk) => Math.Max(AbsTol * shrunk, randomModel ? 32 * Math.Abs(loss) * FloatUlp / (2 * eps / shrunk) : 0)
                + RelTol * Math.Max(Math.Abs(analytic), Math.Abs(numeric));
            // A sharply curved objective (a batch of three through two BatchNormalizations) leaves the step's h² term in a central
            // difference: for a random model, a coordinate that disagrees is measured again with a fifth and a 25th of the step, and
            // passes if one of those agrees. A wrong gradient agrees at no step: the differences converge to the true one.
            string finer = "";
            double previousStep = double.NaN, lastStep = double.NaN, last = central;
            for (int s = shrink * 5; randomModel && s <= 25 && !(Math.Abs(analytic - central) <= Tolerance(central, shrink)); s *= 5)
            {
                double c = Central(values, index, saved, eps / s);
                if (double.IsNaN(c)) break;
                finer += $"; {c:G6} at step {eps / s}";
                (previousStep, lastStep, last) = (lastStep, c - last, c);
                if (Math.Abs(analytic - c) <= Tolerance(c, s)) (central, shrink) = (c, s);
            }
            // Differences that move further apart as the step shrinks, by more than the tolerance, do not converge to any
            // derivative: the objective is not smooth at that scale (a pooling or ReLU switch the sign pattern cannot see, in a
            // batch of three under BatchNormalization), so the coordinate is a kink. A wrong gradient of a smooth objective
            // gives differences that settle (the h² term shrinks 25-fold a step), and it still fails.
            if (randomModel && !double.IsNaN(previousStep) && !(Math.Abs(analytic - central) <= Tolerance(central, shrink))
                && Math.Abs(lastStep) >= Math.Abs(previousStep) && Math.Abs(lastStep) > Tolerance(last, 25)
                && Math.Abs(previousStep + lastStep) > Tolerance(last, 25)) // the whole spread, first to last
            {
                kinks++;
                return;
            }
            checkedCount++;
            if (Math.Abs(analytic) > 1e-4) nonZero++;
            double d = analytic - central;
            if (Math.Abs(d) > worstD)
            {
                worstD = Math.Abs(d);
                worst = $"{what}: analytic {analytic:G6}, numeric {central:G6}{(shrink > 1 ? $" (step {eps / shrink})" : "")}";
            }
            diff2 += d * d;
            sum2 += (analytic + central) * (analytic + central);
            double tol = Tolerance(central, shrink);
            worstRatio = Math.Max(worstRatio, Math.Abs(d) / tol);
            if (!(Math.Abs(d) <= tol)) failureCount++;
            if (!(Math.Abs(d) <= tol) && failures.Count < 12)
                failures.Add($"{what}: analytic {analytic:G6}, numeric {central:G6} (difference {d:G3}, tolerance {tol:G3}){finer}");
        }

        // Parameters, tensor by tensor (the padding between tensors is no weight).
        var coordinates = new List<(string Name, int Offset, int Index)>();
        foreach (var t in model.Description.Tensors)
            if (t.Trainable)
                for (int i = 0; i < t.Length; i++) coordinates.Add((t.Name, t.Offset, i));
        if (coordinates.Count > maxParameters)
        {
            for (int i = coordinates.Count - 1; i > 0; i--)
            {
                int j = rng.Next(i + 1);
                (coordinates[i], coordinates[j]) = (coordinates[j], coordinates[i]);
            }
            coordinates.RemoveRange(maxParameters, coordinates.Count - maxParameters);
        }
        foreach (var (name, offset, index) in coordinates)
            Compare($"{name}[{index}]", model.Parameters.Span, offset + index, analyticParameters[offset + index]);

        // An empty analytic input gradient: the model defines none (Analytic's inputGradient: false), only its weights are checked.
        if (analyticInput.Length > 0)
            for (int i = 0; i < x.Length; i++)
                Compare($"input[{i}]", x, i, analyticInput[i]);

        // Gradients that are all zero (a saturated model) agree whatever the rounding: no relative error to speak of.
        double vectorRel = sum2 < 1e-12 ? 0 : Math.Sqrt(diff2 / sum2);
        return new Result(checkedCount, nonZero, kinks, vectorRel, failures, worst) { FailureCount = failureCount, WorstRatio = worstRatio };
    }

    /// <summary>Where in the arena the forward pass leaves the outputs of n samples (the moving statistics are restored).</summary>
    private static (int Start, int End) OutputRegion(Model model, int n)
    {
        float[] state = model.State.Span.ToArray();
        var input = new float[n * model.InputSize];
        ReadOnlySpan<float> output = model.Forward(input, n, training: false);
        state.CopyTo(model.State.Span);
        ref float arena = ref MemoryMarshal.GetReference(model.Arena.Span);
        long start = Unsafe.ByteOffset(ref arena, ref MemoryMarshal.GetReference(output)) / sizeof(float);
        Assert.InRange(start, 0, model.Arena.Length - output.Length);
        return ((int)start, (int)start + output.Length);
    }

    public static void AssertPasses(Result r, string model, double maxSkippedFraction = 0.25)
    {
        Assert.True(r.Failures.Count == 0 && r.VectorRelError < 2e-3, $"{model}: {r}");
        // All-zero gradients agree with anything: most compared coordinates must carry a gradient.
        Assert.True(r.CheckedNonZero >= 0.4 * r.Checked, $"{model}: too few non-zero gradients were compared: {r}");
        // Kinks are rare; most coordinates must have been compared.
        Assert.True(r.SkippedKinks <= maxSkippedFraction * (r.Checked + r.SkippedKinks), $"{model}: too many coordinates skipped as kinks: {r}");
    }
}
