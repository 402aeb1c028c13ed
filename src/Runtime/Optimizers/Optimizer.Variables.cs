using System;
using System.Collections.Generic;

namespace Kiln;

// Where each variable (dense/kernel, dense/bias, ...) lies in the flat parameter buffer: per-variable
// clipping and weight-decay exclusions need the boundaries, the update kernels do not.
public abstract partial class Optimizer
{
    private ModelDescription? _builtFor;
    private IReadOnlyList<TensorInfo>? _tensors;
    private int[] _starts = [], _lengths = [];
    private bool[] _decayed = [];
    private int _boundLength = -1;

    /// <summary>Whether <see cref="Build(IReadOnlyList{TensorInfo})"/> has given this optimizer its variables.</summary>
    public bool Built => _tensors is not null;

    /// <summary>
    /// Keras' <c>optimizer.build(model.trainable_variables)</c>: the variables, by name and slice of
    /// <see cref="Model.Parameters"/>. <c>Fit</c> and <c>TrainOnBatch</c> call it; a caller of
    /// <see cref="Step(Span{float}, ReadOnlySpan{float})"/> calls it only for <see cref="ClipNorm"/> or
    /// <see cref="ExcludeFromWeightDecay"/>, which need the boundaries.
    /// </summary>
    public void Build(ModelDescription description)
    {
        ArgumentNullException.ThrowIfNull(description);
        Build(description.Tensors);
        _builtFor = description;
    }

    /// <inheritdoc cref="Build(ModelDescription)"/>
    public void Build(IReadOnlyList<TensorInfo> tensors)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        var trainable = new List<TensorInfo>();
        foreach (var t in tensors)
            if (t.Trainable) trainable.Add(t);
        trainable.Sort((a, b) => a.Offset.CompareTo(b.Offset));
        int end = 0;
        foreach (var t in trainable)
        {
            if (t.Offset < end)
                throw new ArgumentException($"{GetType().Name}: variable '{t.Name}' at offset {t.Offset} overlaps the one before it, which ends at {end}.", nameof(tensors));
            end = t.Offset + t.Length;
        }
        _starts = new int[trainable.Count];
        _lengths = new int[trainable.Count];
        for (int i = 0; i < trainable.Count; i++) (_starts[i], _lengths[i]) = (trainable[i].Offset, trainable[i].Length);
        _applied = new bool[trainable.Count];
        _tensors = trainable;
        _boundLength = end;
        _builtFor = null;
        MarkDecayed();
    }

    /// <summary>The variables' names in buffer order, as <see cref="Build(IReadOnlyList{TensorInfo})"/> got them; empty before.</summary>
    public IReadOnlyList<string> VariableNames
    {
        get
        {
            var names = new string[_tensors?.Count ?? 0];
            for (int i = 0; i < names.Length; i++) names[i] = _tensors![i].Name;
            return names;
        }
    }

    /// <summary>Whether weight decay applies to variable <paramref name="name"/> (after <see cref="Build(IReadOnlyList{TensorInfo})"/>).</summary>
    public bool UsesWeightDecay(string name)
    {
        for (int i = 0; i < _decayed.Length; i++)
            if (_tensors![i].Name == name) return _decayed[i];
        throw new ArgumentException($"{GetType().Name} has no variable named '{name}'{(Built ? "" : " (call Build first)")}.", nameof(name));
    }

    private void CheckVariables(int length)
    {
        // The buffer may be longer than the variables (Model.Parameters pads to its alignment), never shorter.
        if (_tensors is not null && length < _boundLength)
            throw new ArgumentException(
                $"{GetType().Name} was built on variables that end at {_boundLength} parameters and now gets {length}; use one optimizer per model.",
                nameof(length));
    }
}
