using System.Collections.Generic;
using System.Linq;

namespace Kiln.Graph;

/// <summary>
/// Turns the fused kernel groups into the step list: forward calls, the loss, and the
/// backward calls in reverse, deciding which buffers exist and which ones alias.
/// </summary>
public static class Lowering
{
    /// <summary>Parameters, gradients and arena buffers start on a 64-byte line.</summary>
    public const int AlignFloats = 16;

    public static KernelProgram Run(ModelGraph graph, FusionPlan fusion)
    {
        var program = new KernelProgram(graph, fusion);
        PlaceWeights(graph, program);
        var b = new Builder(program);
        b.Forward();
        b.LossAndSeeds();
        b.Backward();
        MemoryPlanner.Run(program);
        return program;
    }

    private sealed class Builder
    {
        private readonly KernelProgram _p;
        private readonly IReadOnlyList<KernelGroup> _groups;
        private readonly Dictionary<KernelGroup, Buffer> _outputOf = new();
        private readonly Dictionary<KernelGroup, Buffer> _logitsOf = new();
        private readonly Dictionary<KernelGroup, Buffer> _preNormOf = new();
        private readonly Dictionary<KernelGroup, Buffer> _maskOf = new();
        private readonly Dictionary<KernelGroup, Buffer> _statisticsOf = new();
        private readonly Dictionary<Buffer, Buffer> _gradientOf = new();
        private Buffer? _savedInput;
        private KernelGroup? _fusedGroup;
        private Buffer? _lossGradient;
        private readonly IReadOnlyDictionary<string, string> _identifiers;

        public Builder(KernelProgram program)
        {
            _p = program;
            _identifiers = Identifiers.Assign(program.Graph);
            _groups = program.Fusion.Groups;
            program.Input = New("input", program.Graph.Input.Size, BufferRole.Input);
            program.InputGradient = New("inputGradient", program.Graph.Input.Size, BufferRole.InputGradient);
        }

        /// <summary>The C# identifier of the layer named <paramref name="name"/>, which its buffers are named after.</summary>
        private string Identifier(string name) => _identifiers[name];

        private Buffer New(string name, int size, BufferRole role, Buffer? alias = null)
        {
            var buffer = new Buffer(_p.Buffers.Count, name, size, role, alias);
            _p.Buffers.Add(buffer);
            return buffer;
        }

        /// <summary>The input, or a copy of it when a backward step will read it after forward returns.</summary>
        private Buffer Readable(Buffer x, KernelGroup g)
        {
            if (x.Root.Role != BufferRole.Input) return x;
            if (_savedInput is null)
            {
                _savedInput = New("savedInput", _p.Graph.Input.Size, BufferRole.SavedInput);
                _p.Forward.Add(new Step(StepKind.SaveInput, g) { X = _p.Input, Y = _savedInput });
            }
            return _savedInput;
        }

        public void Forward()
        {
            Buffer current = _p.Input;
            foreach (var g in _groups)
            {
                string name = Identifier(g.Last.Name);
                int size = g.Output.Size;
                var x = current;
                switch (g.Kind)
                {
                    case KernelKind.View:
                        current = New(name, size, current.Role, current);
                        break;

                    case KernelKind.Linear:
                    {
                        if (g.First.TrainableCount > 0 || g.BatchNorm is not null) Readable(x, g);
                        var y = New(name, size, BufferRole.Activation);
                        if (g.BatchNorm is not null)
                        {
                            // Training keeps the pre-normalization values for BN's backward; inference folds BN into the weights.
                            var z = New(Identifier(g.First.Name) + "_z", size, BufferRole.Logits);
                            _preNormOf[g] = z;
                            var stats = New(Identifier(g.BatchNorm.Name) + "_statistics", 2 * g.Output.Last, BufferRole.Fixed);
                            var folded = New(Identifier(g.First.Name) + "_folded", g.First.Weights[0].Size + g.Output.Last, BufferRole.Fixed);
                            _statisticsOf[g] = stats;
                            _p.Forward.Add(new Step(StepKind.LinearForward, g) { X = x, Y = y, Z = z, Statistics = stats, Folded = folded, Activation = g.Epilogue, Alpha = g.Alpha });
                        }
                        else if (g.KeepsLogits)
                        {
                            var logits = New(Identifier(g.First.Name) + "_logits", size, BufferRole.Logits);
                            _logitsOf[g] = logits;
                            _p.Forward.Add(new Step(StepKind.LinearForward, g) { X = x, Y = logits, Activation = ActivationKind.Linear });
                            _p.Forward.Add(g.Epilogue == ActivationKind.Softmax
                                ? new Step(StepKind.SoftmaxForward, g) { X = logits, Y = y }
                                : new Step(StepKind.ActivationForward, g) { X = logits, Y = y, Activation = g.Epilogue, Alpha = g.Alpha });
                        }
                        else
                        {
                            _p.Forward.Add(new Step(StepKind.LinearForward, g) { X = x, Y = y, Activation = g.Epilogue, Alpha = g.Alpha });
                        }
                        current = y;
                        break;
                    }

                    case KernelKind.BatchNorm:
                    {
                        Readable(x, g);
                        var y = New(name, size, BufferRole.Activation);
                        var stats = New(Identifier(g.First.Name) + "_statistics", 2 * g.Output.Last, BufferRole.Fixed);
                        _statisticsOf[g] = stats;
                        _p.Forward.Add(new Step(StepKind.BatchNormForward, g) { X = x, Y = y, Statistics = stats, Activation = g.Epilogue, Alpha = g.Alpha });
                        current = y;
                        break;
                    }

                    case KernelKind.Activation:
                    case KernelKind.Softmax:
                    {
                        var y = New(name, size, BufferRole.Activation);
                        _p.Forward.Add(g.Kind == KernelKind.Softmax
                            ? new Step(StepKind.SoftmaxForward, g) { X = x, Y = y }
                            : new Step(StepKind.ActivationForward, g) { X = x, Y = y, Activation = g.Epilogue, Alpha = g.Alpha });
                        _logitsOf[g] = x;
                        current = y;
                        break;
                    }

                    case KernelKind.Dropout:
                    {
                        var y = New(name, size, BufferRole.Activation);
                        var mask = New(name + "_mask", size, BufferRole.Mask);
                        _maskOf[g] = mask;
                        _p.Forward.Add(new Step(StepKind.DropoutForward, g) { X = x, Y = y, Mask = mask });
                        current = y;
                        break;
                    }

                    case KernelKind.Pool:
                    {
                        var y = New(name, size, BufferRole.Activation);
                        Buffer? argmax = null;
                        if (g.First.Kind is LayerKind.MaxPooling2D or LayerKind.GlobalMaxPooling2D)
                            _maskOf[g] = argmax = New(name + "_argmax", size, BufferRole.Mask);
                        _p.Forward.Add(new Step(StepKind.PoolForward, g) { X = x, Y = y, Mask = argmax });
                        current = y;
                        break;
                    }

                    case KernelKind.Preprocess:
                    {
                        var y = New(name, size, BufferRole.Activation);
                        _p.Forward.Add(new Step(StepKind.PreprocessForward, g) { X = x, Y = y });
                        current = y;
                        break;
                    }

                    case KernelKind.Resample:
                    {
                        var y = New(name, size, BufferRole.Activation);
                        _p.Forward.Add(new Step(StepKind.ResampleForward, g) { X = x, Y = y });
                        current = y;
                        break;
                    }
                }
                _outputOf[g] = current;
            }
            _p.Output = current;
        }

        /// <summary>The loss step, and which gradient it seeds: the output's, or the logits' when the loss absorbed the output activation.</summary>
        public void LossAndSeeds()
        {
            var output = _p.Output;
            _p.OutputGradient = New("d_" + output.Name, output.SizePerSample, BufferRole.Gradient);
            _gradientOf[output.Root] = _p.OutputGradient;
            _lossGradient = _p.OutputGradient;
            _p.LossInput = output;
            var last = _groups.LastOrDefault(g => g.Kind != KernelKind.View);
            if (last is not null && _p.Fusion.Loss is LossFusion.SoftmaxCrossEntropy or LossFusion.SigmoidBinaryCrossEntropy)
            {
                _fusedGroup = last;
                var logits = _logitsOf[last];
                _lossGradient = New("d_" + logits.Root.Name, output.SizePerSample, BufferRole.Gradient);
                _p.LossInput = logits;
                _p.FromOutputGradient.Add(new Step(StepKind.OutputActivationBackward, last)
                {
                    Y = output, DY = _p.OutputGradient, DX = _lossGradient,
                    Activation = _p.Fusion.Loss == LossFusion.SoftmaxCrossEntropy ? ActivationKind.Softmax : ActivationKind.Sigmoid,
                });
            }
            if (_p.Graph.Loss is not null)
                _p.Loss = new Step(StepKind.Loss, null) { X = _p.LossInput, Y = output, DY = _lossGradient };
        }

        public void Backward()
        {
            // Layers before the first weights back-propagate only for a caller who wants the input gradient.
            bool[] weightsBefore = new bool[_groups.Count];
            bool any = false;
            for (int i = 0; i < _groups.Count; i++)
            {
                weightsBefore[i] = any;
                any |= _groups[i].Layers.Any(l => l.TrainableCount > 0);
            }
            for (int i = _groups.Count - 1; i >= 0; i--)
            {
                var g = _groups[i];
                var y = _outputOf[g];
                var x = i == 0 ? _p.Input : _outputOf[_groups[i - 1]];
                if (!_gradientOf.TryGetValue(y.Root, out var dy)) continue;
                bool fused = g == _fusedGroup;
                if (fused) dy = _lossGradient!;
                bool onlyInput = !weightsBefore[i];
                bool hasWeights = g.Layers.Any(l => l.TrainableCount > 0);

                Buffer GradientOf(Buffer b, bool inPlace)
                {
                    if (b.Root.Role == BufferRole.Input) return _p.InputGradient;
                    if (!_gradientOf.TryGetValue(b.Root, out var d))
                        _gradientOf[b.Root] = d = New("d_" + b.Root.Name, b.Root.SizePerSample, BufferRole.Gradient, inPlace ? dy : null);
                    return d;
                }

                switch (g.Kind)
                {
                    case KernelKind.View:
                        _gradientOf[x.Root] = x.Root.Role == BufferRole.Input ? _p.InputGradient : dy;
                        break;

                    case KernelKind.Linear:
                    {
                        var dx = GradientOf(x, inPlace: false);
                        var act = fused || g.KeepsLogits ? ActivationKind.Linear : g.Epilogue;
                        if (g.KeepsLogits && !fused)
                        {
                            // The activation pass was not absorbed by the loss: back through it into the logits' gradient first.
                            var dLogits = New("d_" + _logitsOf[g].Name, y.SizePerSample, BufferRole.Gradient, dy);
                            _p.Backward.Add(g.Epilogue == ActivationKind.Softmax
                                ? new Step(StepKind.SoftmaxBackward, g) { Y = y, DY = dy, DX = dLogits }
                                : new Step(StepKind.ActivationBackward, g) { Y = y, DY = dy, DX = dLogits, Activation = g.Epilogue, Alpha = g.Alpha });
                            dy = dLogits;
                        }
                        _p.Backward.Add(new Step(StepKind.LinearBackward, g)
                        {
                            X = Readable(x, g), Y = act == ActivationKind.Linear && g.BatchNorm is null ? null : y, Z = _preNormOf.TryGetValue(g, out var z) ? z : null,
                            DY = dy, DX = dx, Statistics = _statisticsOf.TryGetValue(g, out var s) ? s : null,
                            Activation = act, Alpha = g.Alpha,
                            DxOnlyForInputGradient = onlyInput,
                            OnlyForInputGradient = onlyInput && !hasWeights,
                        });
                        break;
                    }

                    case KernelKind.BatchNorm:
                    {
                        var dx = GradientOf(x, inPlace: true);
                        _p.Backward.Add(new Step(StepKind.BatchNormBackward, g)
                        {
                            X = Readable(x, g), Y = y, DY = dy, DX = dx, Statistics = _statisticsOf[g],
                            Activation = g.Epilogue, Alpha = g.Alpha,
                            DxOnlyForInputGradient = onlyInput,
                            OnlyForInputGradient = onlyInput && !hasWeights,
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
                                _gradientOf[x.Root] = dy;
                            else
                                _p.Backward.Add(new Step(StepKind.ActivationBackward, g)
                                {
                                    DY = dy, DX = _p.InputGradient, Activation = ActivationKind.Linear,
                                    OnlyForInputGradient = true, DxOnlyForInputGradient = true,
                                });
                            break;
                        }
                        var dx = GradientOf(x, inPlace: true);
                        var kind = g.Kind switch
                        {
                            KernelKind.Softmax => StepKind.SoftmaxBackward,
                            KernelKind.Dropout => StepKind.DropoutBackward,
                            _ => StepKind.ActivationBackward,
                        };
                        _p.Backward.Add(new Step(kind, g)
                        {
                            Y = kind == StepKind.DropoutBackward ? null : y, DY = dy, DX = dx,
                            Mask = kind == StepKind.DropoutBackward ? _maskOf[g] : null,
                            Activation = g.Epilogue, Alpha = g.Alpha,
                            OnlyForInputGradient = onlyInput, DxOnlyForInputGradient = onlyInput,
                        });
                        break;
                    }

                    case KernelKind.Preprocess:
                    {
                        // An elementwise affine map: its gradient scales in place.
                        var dx = GradientOf(x, inPlace: true);
                        _p.Backward.Add(new Step(StepKind.PreprocessBackward, g)
                        {
                            DY = dy, DX = dx, OnlyForInputGradient = onlyInput, DxOnlyForInputGradient = onlyInput,
                        });
                        break;
                    }

                    case KernelKind.Pool:
                    case KernelKind.Resample:
                    {
                        var dx = GradientOf(x, inPlace: false);
                        _p.Backward.Add(new Step(g.Kind == KernelKind.Pool ? StepKind.PoolBackward : StepKind.ResampleBackward, g)
                        {
                            DY = dy, DX = dx, Mask = _maskOf.TryGetValue(g, out var m) ? m : null,
                            OnlyForInputGradient = onlyInput, DxOnlyForInputGradient = onlyInput,
                        });
                        break;
                    }
                }
            }
        }
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
}
