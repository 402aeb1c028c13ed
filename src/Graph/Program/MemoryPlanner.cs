using System.Collections.Generic;
using System.Linq;

namespace Kiln.Graph;

/// <summary>
/// Gives every arena buffer an offset so that buffers whose lifetimes overlap never share
/// memory, and buffers that are dead by then reuse it. Lifetimes come from the steps that
/// write and read each buffer; sizes are per sample and rounded to a 64-byte line, so
/// offset × batch stays aligned.
/// </summary>
public static class MemoryPlanner
{
    public static void Run(KernelProgram program)
    {
        var steps = program.AllSteps().ToList();
        // The loss and the output-gradient pre-step are alternatives that run at the same point.
        int index = 0;
        foreach (var s in program.Forward) s.Index = index++;
        int lossIndex = index++;
        foreach (var s in program.Losses) s.Index = lossIndex;
        foreach (var s in program.FromOutputGradient) s.Index = lossIndex;
        foreach (var s in program.Backward) s.Index = index++;
        int end = index;

        foreach (var step in steps)
        {
            foreach (var b in step.Writes().Concat(step.Reads()).Concat(program.PooledReads(step)))
                Touch(b.Root, step.Index);
        }
        // The caller reads the output after forward (predictions, metrics after a train step),
        // and writes the output gradient before a backward pass of a composed model.
        Touch(program.Output.Root, end);
        Touch(program.OutputGradient.Root, lossIndex);

        // Fixed buffers (per model, not per sample) sit one after another in the arena's tail.
        long fixedOffset = 0;
        foreach (var b in program.Buffers.Where(b => b.AliasOf is null && b.IsFixed))
        {
            b.OffsetPerSample = fixedOffset;
            fixedOffset += Lowering.Align((long)b.SizePerSample);
        }
        program.ArenaFixedFloats = fixedOffset;

        var roots = program.Buffers.Where(b => b.AliasOf is null && b.InArena && !b.IsFixed && b.LastStep >= 0).ToList();
        var placed = new List<Buffer>();
        foreach (var b in roots.OrderByDescending(b => b.SizePerSample).ThenBy(b => b.FirstStep).ThenBy(b => b.Id))
        {
            long size = Lowering.Align((long)b.SizePerSample);
            long offset = 0;
            // First fit: slide past every live-overlapping buffer that collides, lowest offset first.
            foreach (var other in placed.Where(o => Overlaps(o, b)).OrderBy(o => o.OffsetPerSample))
            {
                if (offset + size <= other.OffsetPerSample) break;
                offset = System.Math.Max(offset, other.OffsetPerSample + Lowering.Align((long)other.SizePerSample));
            }
            b.OffsetPerSample = offset;
            placed.Add(b);
        }
        program.ArenaFloatsPerSample = placed.Count == 0 ? 0 : placed.Max(b => b.OffsetPerSample + Lowering.Align((long)b.SizePerSample));
        foreach (var b in program.Buffers.Where(b => b.AliasOf is not null))
        {
            b.OffsetPerSample = b.Root.OffsetPerSample;
            b.FirstStep = b.Root.FirstStep;
            b.LastStep = b.Root.LastStep;
        }
    }

    private static void Touch(Buffer b, int step)
    {
        if (step < b.FirstStep) b.FirstStep = step;
        if (step > b.LastStep) b.LastStep = step;
    }

    private static bool Overlaps(Buffer a, Buffer b) => a.FirstStep <= b.LastStep && b.FirstStep <= a.LastStep;
}
