using System.Collections.Generic;
using System.Linq;

namespace Kiln.Graph;

/// <summary>The result of compiling one model: diagnostics, and the program when there are no errors.</summary>
public sealed class CompiledModel
{
    public CompiledModel(ModelSpec spec, IReadOnlyList<GraphDiagnostic> diagnostics, KernelProgram? program)
    {
        Spec = spec;
        Diagnostics = diagnostics;
        Program = program;
    }

    public ModelSpec Spec { get; }
    public IReadOnlyList<GraphDiagnostic> Diagnostics { get; }
    public KernelProgram? Program { get; }
    public bool HasErrors => Diagnostics.Any(d => d.Severity == Severity.Error);
}

/// <summary>attributes → specs → name check → shape inference and checks → fusion → lowering and memory plan.</summary>
public static class ModelCompiler
{
    public static CompiledModel Compile(ModelSpec spec)
    {
        var diagnostics = new List<GraphDiagnostic>();
        NameCheck.Run(spec, diagnostics);
        var graph = ShapeInference.Run(spec, diagnostics);
        if (graph is null || diagnostics.Any(d => d.Severity == Severity.Error))
            return new CompiledModel(spec, diagnostics, null);
        var fusion = Fusion.Run(graph);
        var program = Lowering.Run(graph, fusion);
        // Only views (Flatten, Reshape): the output would be the caller's input span itself, with
        // nothing computed or trained; the runtime's output lives in the arena.
        if (program.Output.Root.Role == BufferRole.Input)
        {
            var last = graph.Outputs[0].Layer;
            diagnostics.Add(GraphDiagnostic.Create(Descriptors.OnlyViews, last.Spec.Location, spec.ClassName, $"{last.TypeName} '{last.Name}'"));
        }
        Capacity.CheckProgram(program, diagnostics);
        return new CompiledModel(spec, diagnostics, diagnostics.Any(d => d.Severity == Severity.Error) ? null : program);
    }
}
