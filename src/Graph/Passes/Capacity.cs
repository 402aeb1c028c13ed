using System.Collections.Generic;
using System.Globalization;
using System.Linq;

namespace Kiln.Graph;

/// <summary>
/// Sizes the runtime cannot allocate (KILN0012, before lowering) and an activation arena above
/// the project's limit (KILN0013, after the memory plan), each at the layer that dominates, so a
/// model that would only fail when constructed fails at build time instead.
/// </summary>
public static class Capacity
{
    /// <summary>The batch size the arena warning assumes: the runtime's is only known at construction, so Keras' default.</summary>
    public const int EstimateBatchSize = 32;

    /// <summary>Parameters, state and each activation of one sample must each fit one buffer.</summary>
    public static void CheckGraph(ModelGraph graph, List<GraphDiagnostic> diagnostics)
    {
        var layers = graph.Layers;
        // The first layer that reads or writes a sample too large for a buffer (its input is checked
        // too: Flatten's one dimension is an int and would hide the true size).
        var huge = layers.FirstOrDefault(l => Largest(l) > Lowering.MaxBufferFloats);
        if (huge is not null)
        {
            // Weights after it were sized from a saturated shape: their counts would mislead.
            Report(huge, "one sample's activation", Largest(huge), Largest(huge));
            return;
        }
        Check("trainable parameters", layers.Select(l => (l, Count.Sum(l.Weights.Where(w => w.Trainable).Select(w => Lowering.Align(w.Size))))));
        Check("non-trainable state", layers.Select(l => (l, Count.Sum(l.Weights.Where(w => !w.Trainable).Select(w => Lowering.Align(w.Size))))));

        void Check(string what, IEnumerable<(LayerNode Layer, long Floats)> parts)
        {
            var list = parts.ToList();
            long total = Count.Sum(list.Select(p => p.Floats));
            if (total <= Lowering.MaxBufferFloats) return;
            var largest = list.OrderByDescending(p => p.Floats).First();
            Report(largest.Layer, what, total, largest.Floats);
        }

        void Report(LayerNode layer, string what, long total, long part) =>
            diagnostics.Add(GraphDiagnostic.Create(Descriptors.BufferTooLarge, layer.Spec.Location, graph.Spec.ClassName, total, what,
                Lowering.MaxBufferFloats, $"{layer.TypeName} '{layer.Name}'", part));
    }

    /// <summary>Whether some layer reads or writes one sample larger than a buffer holds.</summary>
    public static bool HasHugeActivation(ModelGraph graph) => graph.Layers.Any(l => Largest(l) > Lowering.MaxBufferFloats);

    private static long Largest(LayerNode l) => l.Inputs.Select(s => s.Elements).DefaultIfEmpty(0).Concat(new[] { l.Output.Elements }).Max();

    /// <summary>The arena of one sample must fit one buffer; at <see cref="EstimateBatchSize"/> it should stay under the project's limit.</summary>
    public static void CheckProgram(KernelProgram program, List<GraphDiagnostic> diagnostics)
    {
        var graph = program.Graph;
        var largest = graph.Layers.OrderByDescending(l => l.Output.Elements).ThenBy(l => l.Index).First();
        long perSample = program.ArenaFloatsPerSample, fixedFloats = program.ArenaFixedFloats;
        if (perSample + fixedFloats > Lowering.MaxBufferFloats)
        {
            diagnostics.Add(GraphDiagnostic.Create(Descriptors.BufferTooLarge, largest.Spec.Location, graph.Spec.ClassName, perSample + fixedFloats,
                "activations and scratch (the arena) for one sample", Lowering.MaxBufferFloats, $"{largest.TypeName} '{largest.Name}'", largest.Output.Elements));
            return;
        }
        long limit = graph.Spec.MaxArenaBytes;
        long bytes = 4 * (perSample * EstimateBatchSize + fixedFloats);
        if (limit <= 0 || bytes <= limit) return;
        string extra = (fixedFloats > 0 ? ", plus " + Bytes(4 * fixedFloats) + " not per sample" : "")
            + (perSample * EstimateBatchSize + fixedFloats > Lowering.MaxBufferFloats
                ? $"; one arena holds at most {(Lowering.MaxBufferFloats - fixedFloats) / perSample} samples, so batchSize {EstimateBatchSize} will not construct"
                : "");
        diagnostics.Add(GraphDiagnostic.Create(Descriptors.LargeArena, largest.Spec.Location, graph.Spec.ClassName, Bytes(bytes), EstimateBatchSize,
            Bytes(4 * perSample), extra, Bytes(limit), $"{largest.TypeName} '{largest.Name}'", largest.Output.Elements));
    }

    /// <summary>Decimal units, as a disk or a GPU spec sheet counts them: 2.48 GB.</summary>
    public static string Bytes(long bytes) =>
        bytes >= 1_000_000_000 ? (bytes / 1e9).ToString("0.00", CultureInfo.InvariantCulture) + " GB"
        : bytes >= 1_000_000 ? (bytes / 1e6).ToString("0.0", CultureInfo.InvariantCulture) + " MB"
        : bytes >= 1_000 ? (bytes / 1e3).ToString("0.0", CultureInfo.InvariantCulture) + " kB"
        : bytes.ToString(CultureInfo.InvariantCulture) + " bytes";
}
