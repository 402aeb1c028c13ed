using System.Collections.Generic;
using System.Linq;

namespace Kiln.Graph;

/// <summary>
/// Turns the fused kernel groups into the step list: forward calls, the loss, and the
/// backward calls in reverse, deciding which buffers exist and which ones alias.
/// </summary>
public static class Lowering
{
    /// <summary>Parameters and gradients start each tensor on a 64-byte line.</summary>
    public const int AlignFloats = 16;

    public static KernelProgram Run(ModelGraph graph, FusionPlan fusion)
    {
        var program = new KernelProgram(graph, fusion);
        PlaceWeights(graph, program);

        var buffers = program.Buffers;
        Buffer New(string name, int size, BufferRole role, Buffer? alias = null)
        {
            var b = new Buffer(buffers.Count, name, size, role, alias);
            buffers.Add(b);
            return b;
        }

        program.Input = New("input", graph.Input.Size, BufferRole.Input);
        program.InputGradient = New("inputGradient", graph.Input.Size, BufferRole.InputGradient);

        // Forward: one buffer per kernel output; views alias their input.
        var outputOf = new Dictionary<KernelGroup, Buffer>();
        var logitsOf = new Dictionary<KernelGroup, Buffer>();
        var maskOf = new Dictionary<KernelGroup, Buffer>();
        Buffer current = program.Input;
        Buffer? savedInput = null;
        var groups = fusion.Groups;
        foreach (var g in groups)
        {
            string name = Identifier(g.Last.Name);
            int size = g.Output.Size;
            switch (g.Kind)
            {
                case KernelKind.View:
                    current = New(name, size, current.Role, current);
                    break;
                case KernelKind.Dense:
                {
                    var x = current;
                    if (x.Root.Role == BufferRole.Input)
                    {
                        // The kernel gradient needs the input after forward has returned: keep a copy.
                        savedInput ??= New("savedInput", graph.Input.Size, BufferRole.SavedInput);
                        program.Forward.Add(new Step(StepKind.SaveInput, g) { X = program.Input, Y = savedInput });
                    }
                    var y = New(name, size, BufferRole.Activation);
                    if (g.KeepsLogits)
                    {
                        var logits = New(Identifier(g.First.Name) + "_logits", size, BufferRole.Logits);
                        logitsOf[g] = logits;
                        program.Forward.Add(new Step(StepKind.DenseForward, g) { X = x, Y = logits, Activation = ActivationKind.Linear });
                        program.Forward.Add(g.Epilogue == ActivationKind.Softmax
                            ? new Step(StepKind.SoftmaxForward, g) { X = logits, Y = y }
                            : new Step(StepKind.ActivationForward, g) { X = logits, Y = y, Activation = g.Epilogue, Alpha = g.Alpha });
                    }
                    else
                    {
                        program.Forward.Add(new Step(StepKind.DenseForward, g) { X = x, Y = y, Activation = g.Epilogue, Alpha = g.Alpha });
                    }
                    current = y;
                    break;
                }
                case KernelKind.Activation:
                {
                    var y = New(name, size, BufferRole.Activation);
                    program.Forward.Add(new Step(StepKind.ActivationForward, g) { X = current, Y = y, Activation = g.Epilogue, Alpha = g.Alpha });
                    logitsOf[g] = current;
                    current = y;
                    break;
                }
                case KernelKind.Softmax:
                {
                    var y = New(name, size, BufferRole.Activation);
                    program.Forward.Add(new Step(StepKind.SoftmaxForward, g) { X = current, Y = y });
                    logitsOf[g] = current;
                    current = y;
                    break;
                }
                case KernelKind.Dropout:
                {
                    var y = New(name, size, BufferRole.Activation);
                    var mask = New(name + "_mask", size, BufferRole.Mask);
                    maskOf[g] = mask;
                    program.Forward.Add(new Step(StepKind.DropoutForward, g) { X = current, Y = y, Mask = mask });
                    current = y;
                    break;
                }
            }
            outputOf[g] = current;
        }
        program.Output = current;

        // Gradients. A loss fused with the output activation seeds the gradient of the activation's input.
        var compute = groups.Where(g => g.Kind != KernelKind.View).ToList();
        var lastGroup = compute.LastOrDefault();
        program.OutputGradient = New("d_" + current.Name, current.SizePerSample, BufferRole.Gradient);
        var gradientOf = new Dictionary<Buffer, Buffer> { [current.Root] = program.OutputGradient };
        KernelGroup? fusedGroup = null;
        Buffer lossGradient = program.OutputGradient;
        program.LossInput = current;
        if (lastGroup is not null && fusion.Loss is LossFusion.SoftmaxCrossEntropy or LossFusion.SigmoidBinaryCrossEntropy)
        {
            fusedGroup = lastGroup;
            bool softmax = fusion.Loss == LossFusion.SoftmaxCrossEntropy;
            string preName = lastGroup.Kind == KernelKind.Dense ? Identifier(lastGroup.First.Name) + "_logits" : logitsOf[lastGroup].Name;
            lossGradient = New("d_" + preName, current.SizePerSample, BufferRole.Gradient);
            program.LossInput = logitsOf[lastGroup];
            program.FromOutputGradient.Add(new Step(StepKind.OutputActivationBackward, lastGroup)
            {
                Y = current, DY = program.OutputGradient, DX = lossGradient,
                Activation = softmax ? ActivationKind.Softmax : ActivationKind.Sigmoid,
            });
        }
        if (graph.Loss is not null)
            program.Loss = new Step(StepKind.Loss, null) { X = program.LossInput, Y = current, DY = lossGradient };

        // Backward, last kernel first.
        bool[] parametersBefore = new bool[groups.Count];
        bool any = false;
        for (int i = 0; i < groups.Count; i++)
        {
            parametersBefore[i] = any;
            any |= groups[i].Layers.Any(l => l.TrainableCount > 0);
        }
        for (int i = groups.Count - 1; i >= 0; i--)
        {
            var g = groups[i];
            var y = outputOf[g];
            var x = i == 0 ? program.Input : outputOf[groups[i - 1]];
            if (!gradientOf.TryGetValue(y.Root, out var dy)) continue;
            bool fused = g == fusedGroup;
            if (fused) dy = lossGradient;
            bool onlyInput = !parametersBefore[i];
            Buffer GradientFor(Buffer b, bool inPlace)
            {
                if (b.Root.Role == BufferRole.Input) return program.InputGradient;
                if (!gradientOf.TryGetValue(b.Root, out var d))
                    gradientOf[b.Root] = d = inPlace ? New("d_" + b.Root.Name, b.Root.SizePerSample, BufferRole.Gradient, dy) : New("d_" + b.Root.Name, b.Root.SizePerSample, BufferRole.Gradient);
                return d;
            }
            switch (g.Kind)
            {
                case KernelKind.View:
                    if (x.Root.Role != BufferRole.Input) gradientOf[x.Root] = dy;
                    else gradientOf[x.Root] = program.InputGradient;
                    break;
                case KernelKind.Dense:
                {
                    bool hasParameters = g.First.TrainableCount > 0;
                    var dx = GradientFor(x, inPlace: false);
                    var xSaved = x.Root.Role == BufferRole.Input ? savedInput! : x;
                    var act = fused || g.KeepsLogits ? ActivationKind.Linear : g.Epilogue;
                    if (g.KeepsLogits && !fused)
                    {
                        // The activation pass was not absorbed by the loss: back through it into the logits' gradient first.
                        var dLogits = New("d_" + logitsOf[g].Name, y.SizePerSample, BufferRole.Gradient, dy);
                        program.Backward.Add(g.Epilogue == ActivationKind.Softmax
                            ? new Step(StepKind.SoftmaxBackward, g) { Y = y, DY = dy, DX = dLogits }
                            : new Step(StepKind.ActivationBackward, g) { Y = y, DY = dy, DX = dLogits, Activation = g.Epilogue, Alpha = g.Alpha });
                        dy = dLogits;
                    }
                    program.Backward.Add(new Step(StepKind.DenseBackward, g)
                    {
                        X = xSaved, Y = act == ActivationKind.Linear ? null : y, DY = dy, DX = dx,
                        Activation = act, Alpha = g.Alpha,
                        DxOnlyForInputGradient = onlyInput,
                        OnlyForInputGradient = onlyInput && !hasParameters,
                    });
                    break;
                }
                case KernelKind.Activation:
                case KernelKind.Softmax:
                case KernelKind.Dropout:
                {
                    if (fused)
                    {
                        // The loss already wrote the gradient of this activation's input.
                        if (x.Root.Role != BufferRole.Input)
                            gradientOf[x.Root] = dy;
                        else
                            program.Backward.Add(new Step(StepKind.ActivationBackward, g)
                            {
                                DY = dy, DX = program.InputGradient, Activation = ActivationKind.Linear,
                                OnlyForInputGradient = true, DxOnlyForInputGradient = true,
                            });
                        break;
                    }
                    var dx = GradientFor(x, inPlace: true);
                    var kind = g.Kind switch
                    {
                        KernelKind.Softmax => StepKind.SoftmaxBackward,
                        KernelKind.Dropout => StepKind.DropoutBackward,
                        _ => StepKind.ActivationBackward,
                    };
                    program.Backward.Add(new Step(kind, g)
                    {
                        Y = kind == StepKind.DropoutBackward ? null : y, DY = dy, DX = dx,
                        Mask = kind == StepKind.DropoutBackward ? maskOf[g] : null,
                        Activation = g.Epilogue, Alpha = g.Alpha,
                        OnlyForInputGradient = onlyInput, DxOnlyForInputGradient = onlyInput,
                    });
                    break;
                }
            }
        }

        MemoryPlanner.Run(program);
        return program;
    }

    private static void PlaceWeights(ModelGraph graph, KernelProgram program)
    {
        int parameters = 0, state = 0;
        foreach (var layer in graph.Layers)
        {
            foreach (var w in layer.Weights)
            {
                if (w.Trainable)
                {
                    program.Parameters.Add(new TensorSlot(layer, w, parameters));
                    parameters += Align(w.Size);
                }
                else
                {
                    program.State.Add(new TensorSlot(layer, w, state));
                    state += Align(w.Size);
                }
            }
        }
        program.ParameterFloats = parameters;
        program.StateFloats = state;
    }

    public static int Align(int floats) => (floats + AlignFloats - 1) / AlignFloats * AlignFloats;

    private static string Identifier(string name)
    {
        var chars = name.Select(c => char.IsLetterOrDigit(c) ? c : '_').ToArray();
        var s = new string(chars);
        return char.IsDigit(s[0]) ? "_" + s : s;
    }
}
