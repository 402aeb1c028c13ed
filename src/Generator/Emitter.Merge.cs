using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using Kiln.Graph;

namespace Kiln.Generator;

/// <summary>The calls of a merge: a chain of two-input kernels forward, one gradient per input backward.</summary>
internal static partial class Emitter
{
    /// <summary><paramref name="activation"/> is ", new Kernels.Relu()" for a fused activation (the last call applies it), else empty.</summary>
    private static IEnumerable<string> MergeForwardCalls(KernelGroup g, MergeSpec merge, IReadOnlyList<string> x, string y, string winner, string activation)
    {
        var node = g.First;
        switch (merge.Operation)
        {
            case MergeKind.Add:
            case MergeKind.Average:
            case MergeKind.Multiply:
            {
                string op = merge.Operation == MergeKind.Multiply ? "Multiply" : "Add";
                bool average = merge.Operation == MergeKind.Average;
                for (int i = 1; i < x.Count; i++)
                {
                    string last = i == x.Count - 1 && !average ? activation : "";
                    yield return $"{K}.Merge.{op}({(i == 1 ? x[0] : y)}, {x[i]}, {y}{last});";
                }
                if (average) yield return $"{K}.Merge.Scale({y}, {Float(1.0 / x.Count)}{activation});";
                break;
            }
            case MergeKind.Subtract:
                yield return $"{K}.Merge.Subtract({x[0]}, {x[1]}, {y}{activation});";
                break;
            case MergeKind.Maximum:
                yield return $"{K}.Merge.Maximum({x[0]}, {x[1]}, {y}, {winner}, 1, first: true);";
                for (int i = 2; i < x.Count; i++) yield return $"{K}.Merge.Maximum({y}, {x[i]}, {y}, {winner}, {i}, first: false);";
                break;
            case MergeKind.Concatenate:
            {
                var (rows, widths, offsets, stride) = merge.Blocks(node);
                for (int i = 0; i < x.Count; i++)
                    yield return $"{K}.Merge.CopyInto({x[i]}, {y}, {Rows(rows)}, {widths[i]}, {offsets[i]}, {stride});";
                break;
            }
            default:
                throw new System.InvalidOperationException($"no forward call for merge {merge.Operation}");
        }
    }

    private static IEnumerable<string> MergeBackwardCalls(KernelGroup g, MergeSpec merge, Step step, string dy, string dx,
        IReadOnlyList<string> others, string product, string winner)
    {
        string accumulate = step.Accumulate ? "true" : "false";
        int k = step.Input, count = merge.Inputs.Count;
        switch (merge.Operation)
        {
            case MergeKind.Add:
            case MergeKind.Average:
            case MergeKind.Subtract:
            {
                double scale = merge.Operation == MergeKind.Average ? 1.0 / count : merge.Operation == MergeKind.Subtract && k == 1 ? -1 : 1;
                yield return $"{K}.Merge.Gradient({dy}, {dx}, {Float(scale)}, accumulate: {accumulate});";
                break;
            }
            case MergeKind.Multiply:
                if (others.Count == 1)
                {
                    yield return $"{K}.Merge.MultiplyGradient({dy}, {others[0]}, {dx}, accumulate: {accumulate});";
                    break;
                }
                // dx = dy times every other factor: their product builds up in the scratch buffer.
                yield return $"{K}.Merge.Multiply({dy}, {others[0]}, {product});";
                for (int i = 1; i < others.Count - 1; i++) yield return $"{K}.Merge.Multiply({product}, {others[i]}, {product});";
                yield return $"{K}.Merge.MultiplyGradient({product}, {others[others.Count - 1]}, {dx}, accumulate: {accumulate});";
                break;
            case MergeKind.Maximum:
                yield return $"{K}.Merge.MaximumGradient({dy}, {winner}, {k}, {dx}, accumulate: {accumulate});";
                break;
            case MergeKind.Concatenate:
            {
                var (rows, widths, offsets, stride) = merge.Blocks(g.First);
                yield return $"{K}.Merge.CopyOut({dy}, {dx}, {Rows(rows)}, {widths[k]}, {offsets[k]}, {stride}, accumulate: {accumulate});";
                break;
            }
            default:
                throw new System.InvalidOperationException($"no backward call for merge {merge.Operation}");
        }
    }

    private static string Rows(int perSample) => perSample == 1 ? "n" : "n * " + perSample.ToString(CultureInfo.InvariantCulture);
}
