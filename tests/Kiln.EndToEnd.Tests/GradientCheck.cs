using System;
using System.Collections.Generic;
using System.Text;
using Kiln;

namespace Kiln.EndToEnd.Tests;

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

    public sealed record Result(int Checked, int CheckedNonZero, int SkippedKinks, double VectorRelError, List<string> Failures)
    {
        public override string ToString()
        {
            var sb = new StringBuilder();
            sb.Append($"checked {Checked} ({CheckedNonZero} with a gradient over 1e-4), skipped at kinks {SkippedKinks}, ‖a−n‖/‖a+n‖ = {VectorRelError:G3}");
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
    public static (float[] Parameters, float[] Input) Analytic(Model model, float[] x, float[] y, int n)
    {
        ForwardFixedMask(model, x, n);
        model.ComputeLoss(y, n, gradient: true);
        var dx = new float[x.Length];
        model.Backward(n, dx);
        return (model.Gradients.Span.ToArray(), dx);
    }

    /// <summary>
    /// Checks analytic against central differences of <paramref name="objective"/> on every
    /// trainable weight (or <paramref name="maxParameters"/> of them, chosen at random) and on every
    /// input value. A coordinate where the two one-sided differences disagree sharply straddles a
    /// kink (ReLU at 0) and is skipped; the caller bounds how many may be.
    /// </summary>
    public static Result Check(Model model, float[] x, float[] analyticParameters, float[] analyticInput,
        Func<double> objective, int maxParameters = int.MaxValue, float eps = Eps)
    {
        var failures = new List<string>();
        int checkedCount = 0, nonZero = 0, kinks = 0;
        double diff2 = 0, sum2 = 0;
        var rng = new Random(1234);

        // Which side of zero every arena float is on after the unperturbed forward. A perturbation
        // that moves any activation across zero crossed a ReLU/LeakyReLU kink (or a harmless sign
        // change of a smooth value): such a coordinate is skipped, not compared.
        byte[] pattern = new byte[model.Arena.Length], probe = new byte[model.Arena.Length];
        void Signs(byte[] into)
        {
            ReadOnlySpan<float> a = model.Arena.Span;
            for (int i = 0; i < a.Length; i++) into[i] = a[i] > 0 ? (byte)1 : a[i] < 0 ? (byte)2 : (byte)0;
        }

        void Compare(string what, Span<float> values, int index, float analytic)
        {
            float saved = values[index];
            objective();
            Signs(pattern);
            values[index] = saved + eps;
            double fp = objective();
            Signs(probe);
            bool kink = !probe.AsSpan().SequenceEqual(pattern);
            values[index] = saved - eps;
            double fm = objective();
            Signs(probe);
            kink |= !probe.AsSpan().SequenceEqual(pattern);
            values[index] = saved;
            if (kink)
            {
                kinks++;
                return;
            }
            double central = (fp - fm) / (2 * eps);
            checkedCount++;
            if (Math.Abs(analytic) > 1e-4) nonZero++;
            double d = analytic - central;
            diff2 += d * d;
            sum2 += (analytic + central) * (analytic + central);
            double tol = AbsTol + RelTol * Math.Max(Math.Abs(analytic), Math.Abs(central));
            if (!(Math.Abs(d) <= tol) && failures.Count < 12)
                failures.Add($"{what}: analytic {analytic:G6}, numeric {central:G6} (difference {d:G3}, tolerance {tol:G3})");
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

        for (int i = 0; i < x.Length; i++)
            Compare($"input[{i}]", x, i, analyticInput[i]);

        double vectorRel = sum2 == 0 ? 0 : Math.Sqrt(diff2 / sum2);
        return new Result(checkedCount, nonZero, kinks, vectorRel, failures);
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
