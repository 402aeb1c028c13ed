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
        private Dictionary<KernelGroup, Buffer> _outputOf => _p.GroupOutputs;
        private readonly Dictionary<KernelGroup, Buffer> _logitsOf = new();
        private readonly Dictionary<KernelGroup, Buffer> _preNormOf = new();
        private readonly Dictionary<KernelGroup, Buffer> _maskOf = new();
        private readonly Dictionary<KernelGroup, Buffer> _statisticsOf = new();
        /// <summary>
        /// The gradient of each tensor, by the tensor (a view has its own entry, since it may have
        /// other readers than the tensor it views); every tensor rooted in the input maps under
        /// <c>_p.Input</c> to the caller's input gradient.
        /// </summary>
        private readonly Dictionary<Buffer, Buffer> _gradientOf = new();
        private readonly Dictionary<LayerNode, KernelGroup> _groupOf = new();
        private readonly Dictionary<Buffer, int> _parts = new();
        private readonly Dictionary<Buffer, LayerNode> _producerOf = new();

        /// <summary>
        /// The gradient of <paramref name="x"/> is named after what it is the gradient of: the tensor's
        /// memory, or for a view when a tensor on the way from that memory to the view (the memory itself, or a
        /// view in between) has other readers too, the view itself (the gradients of the two readers differ then).
        /// </summary>
        private string GradientName(Buffer x)
        {
            // Views of a channels-first input's transposed copy are layers of their own; each gradient is named after its view.
            if (x.AliasOf is not null && x.Root == _channelsLast) return "d_" + x.Name;
            for (var viewed = x.AliasOf; viewed is not null; viewed = viewed.AliasOf)
                if (_producerOf.TryGetValue(viewed, out var layer) && _p.Graph.Readers(layer) > 1) return "d_" + x.Name;
            return "d_" + x.Root.Name;
        }
        private Buffer? _savedInput;
        /// <summary>A channels-first [Sequential] input, transposed once into the arena: what every layer reads instead of the caller's span.</summary>
        private Buffer? _channelsLast;

        /// <summary>What a layer with no source reads: the caller's input, or its channels-last copy.</summary>
        private Buffer ModelInput => _channelsLast ?? _p.Input;
        /// <summary>Output kernels whose activation the loss absorbed, with the gradient the loss seeds for their logits.</summary>
        private readonly Dictionary<KernelGroup, Buffer> _fused = new();
        /// <summary>
        /// Max poolings a convolution does itself (in its store in inference, or as its BN normalizes in
        /// training): their output, made when the convolution is lowered.
        /// </summary>
        private readonly Dictionary<KernelGroup, Buffer> _pooledEarly = new();
        /// <summary>Of those, the ones pooled as BN normalizes: their argmax, made with their output.</summary>
        private readonly Dictionary<KernelGroup, Buffer> _argmaxEarly = new();
        private readonly IReadOnlyDictionary<string, string> _identifiers;

        public Builder(KernelProgram program)
        {
            _p = program;
            _identifiers = Identifiers.Assign(program.Graph);
            _groups = program.Fusion.Groups;
            program.Input = New("input", program.Graph.Input.Size, BufferRole.Input);
            program.InputGradient = New("inputGradient", program.Graph.Input.Size, BufferRole.InputGradient);
            foreach (var g in _groups)
                foreach (var l in g.Layers)
                    _groupOf[l] = g;
        }

        /// <summary>The tensor a layer reads: the model's input, or the output of the kernel whose last layer it is (fusion never hides a tensor that is read).</summary>
        private Buffer OutputOf(LayerNode? source)
        {
            if (source is null) return ModelInput;
            var g = _groupOf[source];
            if (g.Last != source) throw new System.InvalidOperationException($"'{source.Name}' is read but fused inside {g.Label}");
            return _outputOf[g];
        }

        /// <summary>The C# identifier of the layer named <paramref name="name"/>, which its buffers are named after.</summary>
        private string Identifier(string name) => _identifiers[name];

        private Buffer New(string name, int size, BufferRole role, Buffer? alias = null)
        {
            // The emitter declares a local and an offset constant per name: two buffers of one name would not compile.
            if (_p.Buffers.Exists(b => b.Name == name))
                throw new System.InvalidOperationException($"lowering named two buffers '{name}'");
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
            if (_p.Graph.Spec.ChannelsFirst)
            {
                // An arena activation, not the input: it lives until backward has read it, so no saved copy is needed.
                _channelsLast = New("channelsLastInput", _p.Graph.Input.Size, BufferRole.Activation);
                _p.Forward.Add(new Step(StepKind.TransposeInput, _groups[0]) { X = _p.Input, Y = _channelsLast });
            }
            Buffer current = ModelInput;
            foreach (var g in _groups)
            {
                string name = Identifier(g.Last.Name);
                int size = g.Output.Size;
                var x = g.First.Sources.Count > 0 ? OutputOf(g.First.Sources[0]) : ModelInput;
                switch (g.Kind)
                {
                    case KernelKind.View:
                        current = New(name, size, x.Role, x);
                        break;

                    case KernelKind.Input:
                    {
                        // This input's columns of the packed rows, copied out once so every reader (and backward) finds them contiguous.
                        var y = New(name, size, BufferRole.Activation);
                        _p.Forward.Add(new Step(StepKind.InputForward, g) { X = _p.Input, Y = y });
                        current = y;
                        break;
                    }

                    case KernelKind.Merge:
                    {
                        var merge = g.First.As<MergeSpec>();
                        var inputs = g.First.Sources.Select(OutputOf).ToList();
                        var y = New(name, size, BufferRole.Activation);
                        Buffer? winner = null;
                        if (merge.Operation == MergeKind.Maximum)
                            _maskOf[g] = winner = New(name + "_winner", size, BufferRole.Mask);
                        _p.Forward.Add(new Step(StepKind.MergeForward, g)
                        {
                            X = inputs[0], Operands = inputs.Skip(1).ToArray(), Y = y, Mask = winner, Activation = g.Epilogue, Alpha = g.Alpha,
                        });
                        current = y;
                        break;
                    }

                    case KernelKind.Linear:
                    {
                        if (g.First.TrainableCount > 0 || g.BatchNorm is not null) Readable(x, g);
                        var y = New(name, size, BufferRole.Activation);
                        // A pooling this kernel does itself (in its store in inference, or as BN normalizes in
                        // training) gets its output, and for the latter its argmax, here: the pooling step reuses them.
                        KernelGroup? pool = _p.Fusion.PoolsInStore.TryGetValue(g, out var stored) ? stored : null;
                        KernelGroup? normalized = _p.Fusion.NormalizesIntoPool.TryGetValue(g, out var atNormalize) ? atNormalize : null;
                        Buffer? pooled = null, pooledArgmax = null;
                        if ((pool ?? normalized) is { } pooling)
                            _pooledEarly[pooling] = pooled = New(Identifier(pooling.Last.Name), pooling.Output.Size, BufferRole.Activation);
                        if (normalized is not null)
                            _maskOf[normalized] = _argmaxEarly[normalized] = pooledArgmax = New(Identifier(normalized.Last.Name) + "_argmax", normalized.Output.Size, BufferRole.Mask);
                        if (g.BatchNorm is not null)
                        {
                            // Training keeps the pre-normalization values for BN's backward; inference folds BN into the weights.
                            var z = New(Identifier(g.First.Name) + "_z", size, BufferRole.Logits);
                            _preNormOf[g] = z;
                            var stats = New(Identifier(g.BatchNorm.Name) + "_statistics", 2 * g.Output.Last, BufferRole.Fixed);
                            var folded = New(Identifier(g.First.Name) + "_folded", Floats(g.First.Weights[0].Size + g.Output.Last), BufferRole.Fixed);
                            _statisticsOf[g] = stats;
                            _p.Forward.Add(new Step(StepKind.LinearForward, g)
                            {
                                X = x, Y = y, Z = z, Statistics = stats, Folded = folded, Pooled = pooled, PooledArgmax = pooledArgmax, Activation = g.Epilogue, Alpha = g.Alpha,
                                Operands = g.ResidualAdd is null ? System.Array.Empty<Buffer>() : new[] { OutputOf(g.Residual) },
                            });
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
                            _p.Forward.Add(new Step(StepKind.LinearForward, g) { X = x, Y = y, Pooled = pooled, Activation = g.Epilogue, Alpha = g.Alpha });
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
                        var y = _pooledEarly.TryGetValue(g, out var early) ? early : New(name, size, BufferRole.Activation);
                        Buffer? argmax = _argmaxEarly.TryGetValue(g, out var earlyArgmax) ? earlyArgmax : null;
                        if (g.SavesArgmax && argmax is null)
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

                    case KernelKind.Augment:
                    {
                        var y = New(name, size, BufferRole.Activation);
                        _p.Forward.Add(new Step(StepKind.AugmentForward, g) { X = x, Y = y });
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

                    default:
                        throw new System.InvalidOperationException($"lowering has no forward rule for kernel kind {g.Kind} ({g.LayerNames})");
                }
                _outputOf[g] = current;
                _producerOf[current] = g.Last;
            }
            _p.Output = current;
        }

        /// <summary>
        /// Per output: the gradient it seeds (the output's, or the logits' when the loss absorbed the
        /// output activation) and its loss step. Several outputs sit side by side in one packed row
        /// per sample (written after forward), and so do their targets and a composed caller's
        /// output gradient.
        /// </summary>
        public void LossAndSeeds()
        {
            var graph = _p.Graph;
            bool several = graph.Outputs.Count > 1;
            if (several)
            {
                _p.Output = New("outputs", graph.Output.Size, BufferRole.Activation);
                _p.OutputGradient = New("d_outputs", graph.Output.Size, BufferRole.Gradient);
            }
            for (int i = 0; i < graph.Outputs.Count; i++)
            {
                var o = graph.Outputs[i];
                var output = OutputOf(o.Layer);
                var group = _groupOf[o.Layer];
                var seed = New("d_" + output.Name, output.SizePerSample, BufferRole.Gradient);
                if (several)
                {
                    _p.Forward.Add(new Step(StepKind.OutputForward, group) { X = output, Y = _p.Output, Input = i });
                    _p.FromOutputGradient.Add(new Step(StepKind.OutputGradientSplit, group) { DY = _p.OutputGradient, DX = seed, Input = i });
                }
                else
                {
                    _p.Output = output;
                    _p.OutputGradient = seed;
                }
                _gradientOf[Key(output)] = seed;
                var lossGradient = seed;
                var lossInput = output;
                var producer = _p.Fusion.OutputKernel(o.Layer);
                var fusion = _p.Fusion.Losses[i];
                if (producer is not null && fusion is LossFusion.SoftmaxCrossEntropy or LossFusion.SigmoidBinaryCrossEntropy)
                {
                    var logits = _logitsOf[producer!];
                    _fused[producer!] = lossGradient = New("d_" + logits.Root.Name, output.SizePerSample, BufferRole.Gradient);
                    lossInput = logits;
                    _p.FromOutputGradient.Add(new Step(StepKind.OutputActivationBackward, producer)
                    {
                        Y = output, DY = seed, DX = lossGradient,
                        Activation = fusion == LossFusion.SoftmaxCrossEntropy ? ActivationKind.Softmax : ActivationKind.Sigmoid,
                    });
                }
                if (o.Loss is not null)
                {
                    // The loss kernels read contiguous targets: with several outputs, this output's columns are copied out first.
                    var targets = several ? New(Identifier(o.Layer.Name) + "_targets", o.TargetSize, BufferRole.Activation) : null;
                    _p.Losses.Add(new Step(StepKind.Loss, group) { X = lossInput, Y = output, DY = lossGradient, Z = targets, Input = i });
                }
            }
        }

        public void Backward()
        {
            // A kernel back-propagates into its input for the weights only when some layer upstream of
            // that input has trainable weights; otherwise only for a caller who wants the input gradient.
            var upstream = new Dictionary<LayerNode, bool>();
            foreach (var l in _p.Graph.Layers)
                upstream[l] = l.TrainableCount > 0 || l.Sources.Any(s => s is not null && upstream[s]);
            bool OnlyInput(LayerNode? source) => source is null || !upstream[source];

            for (int i = _groups.Count - 1; i >= 0; i--)
            {
                var g = _groups[i];
                var y = _outputOf[g];
                if (g.Kind == KernelKind.Input)
                {
                    // Into this input's columns of the caller's input gradient (zeros when the output does not depend on it).
                    _p.Backward.Add(new Step(StepKind.InputBackward, g)
                    {
                        DY = _gradientOf.TryGetValue(Key(y), out var dInput) ? dInput : null, DX = _p.InputGradient,
                        OnlyForInputGradient = true, DxOnlyForInputGradient = true,
                    });
                    continue;
                }
                if (!_gradientOf.TryGetValue(Key(y), out var dy)) continue; // nothing the output depends on
                bool fused = _fused.TryGetValue(g, out var lossGradient);
                if (fused) dy = lossGradient!;
                var source = g.First.Sources[0];
                var x = OutputOf(source);
                bool onlyInput = OnlyInput(source);
                bool hasWeights = g.Layers.Any(l => l.TrainableCount > 0);

                switch (g.Kind)
                {
                    case KernelKind.View:
                        // The view's gradient is its input's gradient seen with another shape.
                        if (x.Root.Role != BufferRole.Input) Contribute(x, dy, g, onlyInput);
                        break;

                    case KernelKind.Merge:
                        if (g.Epilogue != ActivationKind.Linear)
                        {
                            // Back through the fused activation first, in place: the merge then splits that gradient.
                            var sum = New("d_" + Identifier(g.First.Name), y.SizePerSample, BufferRole.Gradient, dy);
                            bool allOnlyInput = g.First.Sources.All(OnlyInput);
                            _p.Backward.Add(new Step(StepKind.ActivationBackward, g)
                            {
                                Y = y, DY = dy, DX = sum, Activation = g.Epilogue, Alpha = g.Alpha,
                                OnlyForInputGradient = allOnlyInput, DxOnlyForInputGradient = allOnlyInput,
                            });
                            dy = sum;
                        }
                        MergeBackward(g, dy, OnlyInput);
                        break;

                    case KernelKind.Linear:
                    {
                        bool atPool = _p.Fusion.PoolTakingDerivativeOf(g) is not null;
                        // The gradient through the activation, when the shortcut's step below computed it where BN's backward can
                        // read it as it is (an Identity pass, not reading y) and write its input's gradient over dy, which nothing
                        // reads after the shortcut's step: two full-size streams fewer.
                        Buffer? throughActivation = null;
                        if (g.ResidualAdd is not null)
                        {
                            // The shortcut's gradient is the output gradient through the activation, taken before BN's backward overwrites it.
                            bool shortcutOnlyInput = OnlyInput(g.Residual);
                            var dr = Into(OutputOf(g.Residual), dy, inPlace: false, out var shortcutSum);
                            _p.Backward.Add(new Step(StepKind.ResidualBackward, g)
                            {
                                Y = y, DY = dy, DX = dr, Activation = g.Epilogue, Alpha = g.Alpha,
                                OnlyForInputGradient = shortcutOnlyInput, DxOnlyForInputGradient = shortcutOnlyInput,
                            });
                            AddPart(dr, shortcutSum, g, shortcutOnlyInput);
                            if (g.Epilogue != ActivationKind.Linear && !shortcutOnlyInput && dr.Root.Role == BufferRole.Gradient && !fused && !g.KeepsLogits && !atPool)
                                throughActivation = dr;
                        }
                        // A kernel that adds its input gradient as it computes it takes the gradient x already has (no part, no sum pass).
                        Buffer? sum = null;
                        var held = AddsIntoInputGradient(g) && _gradientOf.TryGetValue(Key(x), out var existing) && existing.Root.Role == BufferRole.Gradient ? existing : null;
                        var dx = held ?? Into(x, dy, inPlace: false, out sum);
                        var act = throughActivation is not null || fused || g.KeepsLogits || atPool ? ActivationKind.Linear : g.Epilogue;
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
                            X = Readable(x, g), Y = throughActivation is not null || act == ActivationKind.Linear && (g.BatchNorm is null || atPool) ? null : y,
                            Z = _preNormOf.TryGetValue(g, out var z) ? z : null,
                            DY = throughActivation ?? dy, DZ = throughActivation is null ? null : dy, DX = dx,
                            Statistics = _statisticsOf.TryGetValue(g, out var s) ? s : null,
                            Activation = act, Alpha = g.Alpha, Accumulate = held is not null,
                            DxOnlyForInputGradient = onlyInput,
                            OnlyForInputGradient = onlyInput && !hasWeights,
                        });
                        AddPart(dx, sum, g, onlyInput);
                        break;
                    }

                    case KernelKind.BatchNorm:
                    {
                        var dx = Into(x, dy, inPlace: true, out var sum);
                        bool atPool = _p.Fusion.PoolTakingDerivativeOf(g) is not null;
                        _p.Backward.Add(new Step(StepKind.BatchNormBackward, g)
                        {
                            X = Readable(x, g), Y = atPool ? null : y, DY = dy, DX = dx, Statistics = _statisticsOf[g],
                            Activation = atPool ? ActivationKind.Linear : g.Epilogue, Alpha = g.Alpha,
                            DxOnlyForInputGradient = onlyInput,
                            OnlyForInputGradient = onlyInput && !hasWeights,
                        });
                        AddPart(dx, sum, g, onlyInput);
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
                                Contribute(x, dy, g, onlyInput);
                            else
                                _p.Backward.Add(new Step(StepKind.ActivationBackward, g)
                                {
                                    DY = dy, DX = _p.InputGradient, Activation = ActivationKind.Linear,
                                    OnlyForInputGradient = true, DxOnlyForInputGradient = true,
                                });
                            break;
                        }
                        var dx = Into(x, dy, inPlace: true, out var sum);
                        var kind = g.Kind switch
                        {
                            KernelKind.Softmax => StepKind.SoftmaxBackward,
                            KernelKind.Dropout => StepKind.DropoutBackward,
                            KernelKind.Activation => StepKind.ActivationBackward,
                            _ => throw new System.InvalidOperationException($"{g.Kind} is not an activation-like kernel"),
                        };
                        _p.Backward.Add(new Step(kind, g)
                        {
                            Y = kind == StepKind.DropoutBackward ? null : y, DY = dy, DX = dx,
                            Mask = kind == StepKind.DropoutBackward ? _maskOf[g] : null,
                            Activation = g.Epilogue, Alpha = g.Alpha,
                            OnlyForInputGradient = onlyInput, DxOnlyForInputGradient = onlyInput,
                        });
                        AddPart(dx, sum, g, onlyInput);
                        break;
                    }

                    case KernelKind.Preprocess:
                    {
                        // An elementwise affine map: its gradient scales in place.
                        var dx = Into(x, dy, inPlace: true, out var sum);
                        _p.Backward.Add(new Step(StepKind.PreprocessBackward, g)
                        {
                            DY = dy, DX = dx, OnlyForInputGradient = onlyInput, DxOnlyForInputGradient = onlyInput,
                        });
                        AddPart(dx, sum, g, onlyInput);
                        break;
                    }

                    case KernelKind.Augment:
                    {
                        // Nothing trainable precedes an augmentation (KILN0158): only a caller asking for the
                        // input gradient reaches it, and the emitted step refuses that with a clear error. So no
                        // gradient flows on: the layers before it get no backward step and no gradient buffer.
                        _p.Backward.Add(new Step(StepKind.AugmentBackward, g)
                        {
                            DY = dy, DX = _p.InputGradient, OnlyForInputGradient = true, DxOnlyForInputGradient = true,
                        });
                        break;
                    }

                    case KernelKind.Pool:
                    case KernelKind.Resample:
                    {
                        var dx = Into(x, dy, inPlace: false, out var sum);
                        // A max pooling may take the derivative of the activation its input's kernel fused, from its own output.
                        var producer = _p.Fusion.DerivativesAtPool.TryGetValue(g, out var p) ? p : null;
                        _p.Backward.Add(new Step(g.Kind == KernelKind.Pool ? StepKind.PoolBackward : StepKind.ResampleBackward, g)
                        {
                            Y = producer is null ? null : y, Activation = producer?.Epilogue ?? ActivationKind.Linear, Alpha = producer?.Alpha ?? 0f,
                            DY = dy, DX = dx, Mask = _maskOf.TryGetValue(g, out var m) ? m : null,
                            OnlyForInputGradient = onlyInput, DxOnlyForInputGradient = onlyInput,
                        });
                        AddPart(dx, sum, g, onlyInput);
                        break;
                    }

                    default:
                        throw new System.InvalidOperationException($"lowering has no backward rule for kernel kind {g.Kind} ({g.LayerNames})");
                }
            }
            if (_channelsLast is not null)
            {
                // The layers' gradient of the channels-last copy, transposed back into the caller's (C, H, W) layout.
                _p.Backward.Add(new Step(StepKind.TransposeInputBackward, _groups[0])
                {
                    DY = _gradientOf.TryGetValue(_channelsLast, out var d) ? d : null, DX = _p.InputGradient,
                    OnlyForInputGradient = true, DxOnlyForInputGradient = true,
                });
            }
        }

        /// <summary>
        /// One step per input: its share of the output gradient, written over the input's gradient
        /// when it is the first contribution in backward order and added to it otherwise (the merge
        /// kernels accumulate themselves). Add passes the output gradient through unchanged, so its
        /// first input with no gradient yet (and read once by the Add) takes the output gradient's memory and needs no step.
        /// </summary>
        private void MergeBackward(KernelGroup g, Buffer dy, System.Func<LayerNode?, bool> onlyInput)
        {
            var merge = g.First.As<MergeSpec>();
            var sources = g.First.Sources;
            var inputs = sources.Select(OutputOf).ToList();
            bool aliased = false;
            Buffer? product = null;
            for (int k = 0; k < inputs.Count; k++)
            {
                var x = inputs[k];
                bool only = onlyInput(sources[k]);
                // Not for an input the Add reads twice: its second share would be added into the output gradient itself,
                // before the inputs after it have read their share.
                if (merge.Operation == MergeKind.Add && !aliased && x.Root.Role != BufferRole.Input && !_gradientOf.ContainsKey(Key(x))
                    && inputs.Count(other => Key(other) == Key(x)) == 1)
                {
                    _gradientOf[Key(x)] = New(GradientName(x), x.Root.SizePerSample, BufferRole.Gradient, dy);
                    aliased = true;
                    continue;
                }
                var (dx, accumulate) = Target(x, dy, inPlace: false);
                var others = merge.Operation == MergeKind.Multiply
                    ? inputs.Where((_, j) => j != k).Select(o => Readable(o, g)).ToArray()
                    : System.Array.Empty<Buffer>();
                // The product of three or more other factors is built up in a scratch buffer first.
                if (others.Length > 1)
                    product ??= New(Identifier(g.First.Name) + "_product", dy.SizePerSample, BufferRole.Gradient);
                _p.Backward.Add(new Step(StepKind.MergeBackward, g)
                {
                    DY = dy, DX = dx, Operands = others, Z = others.Length > 1 ? product : null,
                    Mask = _maskOf.TryGetValue(g, out var winner) ? winner : null,
                    Input = k, Accumulate = accumulate,
                    OnlyForInputGradient = only || dx.Root.Role == BufferRole.InputGradient,
                    DxOnlyForInputGradient = only || dx.Root.Role == BufferRole.InputGradient,
                });
            }
        }

        /// <summary>
        /// Whether the group's backward kernel adds its input gradient into memory as it computes it: Dense (the
        /// product accumulates) and a strided or 1 × 1 Conv2D (col2im adds into dx as it is). A stride-1 Conv2D
        /// runs its data gradient as a faster forward convolution that overwrites, and Winograd overwrites too.
        /// </summary>
        private static bool AddsIntoInputGradient(KernelGroup g) => g.First.Spec switch
        {
            DenseSpec => true,
            ConvolutionSpec { Transposed: false } c => g.Convolution is ConvolutionAlgorithm.ImplicitGemm or ConvolutionAlgorithm.Direct
                && (c.StrideHeight > 1 || c.StrideWidth > 1 || c.KernelHeight == 1 && c.KernelWidth == 1),
            _ => false,
        };

        /// <summary>Tensors rooted in the model's input share one gradient: the caller's input gradient.</summary>
        private Buffer Key(Buffer x) => x.Root.Role == BufferRole.Input ? _p.Input : x;

        /// <summary>The gradient of <paramref name="x"/>, and whether a contribution adds to it (it already has one, from a reader later in the model).</summary>
        private (Buffer Gradient, bool Accumulate) Target(Buffer x, Buffer dy, bool inPlace)
        {
            if (_gradientOf.TryGetValue(Key(x), out var existing)) return (existing, true);
            var d = x.Root.Role == BufferRole.Input
                ? _p.InputGradient
                : New(GradientName(x), x.Root.SizePerSample, BufferRole.Gradient, inPlace ? dy : null);
            _gradientOf[Key(x)] = d;
            return (d, false);
        }

        /// <summary>
        /// Where a kernel that overwrites its output writes its contribution to the gradient of
        /// <paramref name="x"/>: the gradient itself for the first contribution, else a part that
        /// <see cref="AddPart"/> then adds to <paramref name="sum"/>.
        /// </summary>
        private Buffer Into(Buffer x, Buffer dy, bool inPlace, out Buffer? sum)
        {
            var (gradient, accumulate) = Target(x, dy, inPlace);
            sum = accumulate ? gradient : null;
            if (!accumulate) return gradient;
            _parts.TryGetValue(gradient, out int count);
            _parts[gradient] = ++count;
            return New($"{gradient.Name}{Identifiers.PartSuffix}{count}", x.Root.SizePerSample, BufferRole.Gradient, inPlace ? dy : null);
        }

        private void AddPart(Buffer part, Buffer? sum, KernelGroup g, bool onlyInput)
        {
            if (sum is null) return;
            bool only = onlyInput || sum.Root.Role == BufferRole.InputGradient;
            _p.Backward.Add(new Step(StepKind.AccumulateGradient, g) { X = part, DX = sum, OnlyForInputGradient = only, DxOnlyForInputGradient = only });
        }

        /// <summary>dy is the gradient of <paramref name="x"/> as it is (a view, a fused activation): share it, or add it to the gradient x already has.</summary>
        private void Contribute(Buffer x, Buffer dy, KernelGroup g, bool onlyInput)
        {
            if (_gradientOf.TryGetValue(Key(x), out var existing))
                AddPart(dy, existing, g, onlyInput);
            else
                _gradientOf[Key(x)] = dy;
        }
    }

    private static void PlaceWeights(ModelGraph graph, KernelProgram program)
    {
        long parameters = 0, state = 0;
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

    public static long Align(long floats) => floats > long.MaxValue - AlignFloats ? long.MaxValue : (floats + AlignFloats - 1) / AlignFloats * AlignFloats;

    /// <summary>
    /// The most floats one buffer may hold: the runtime allocates each in one array
    /// (Model's constructor: Array.MaxLength - 64; Array.MaxLength is 0x7FFFFFC7).
    /// </summary>
    public const long MaxBufferFloats = 0x7FFFFFC7 - 64;

    /// <summary>A per-sample size Capacity has already bounded: an overflow here is a missing check (KILN0008), never a wrapped size.</summary>
    internal static int Floats(long n) => checked((int)n);
}
