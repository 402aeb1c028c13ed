using System;

namespace Kiln;

/// <summary>
/// A metric of one output of a model with several, named as Keras names it (<c>class_accuracy</c>):
/// it reads that output's columns of the packed output rows and its columns of the target rows.
/// </summary>
internal sealed class OutputMetric : Metric
{
    private readonly string _output;
    private readonly Metric _inner;
    private readonly int _outputOffset, _outputSize, _targetOffset, _targetSize;
    // Contiguous copies of one batch's columns; sized by the first (full) batch, so later batches allocate nothing.
    private float[] _outputs = [], _targets = [];

    public OutputMetric(string output, Metric inner)
        : this(output, inner, 0, 0, 0, 0) { }

    private OutputMetric(string output, Metric inner, int outputOffset, int outputSize, int targetOffset, int targetSize)
        : base(output + "_" + inner.Name)
    {
        _output = output;
        _inner = inner;
        (_outputOffset, _outputSize, _targetOffset, _targetSize) = (outputOffset, outputSize, targetOffset, targetSize);
    }

    internal override Metric Resolve(ModelDescription model)
    {
        int outputOffset = 0, targetOffset = 0;
        foreach (var o in model.Outputs)
        {
            if (o.Name == _output)
                return new OutputMetric(_output, _inner.Resolve(model.ForOutput(o)), outputOffset, o.Size, targetOffset, o.TargetSize);
            outputOffset += o.Size;
            targetOffset += o.TargetSize;
        }
        var names = new string[model.Outputs.Count];
        for (int i = 0; i < names.Length; i++) names[i] = "'" + model.Outputs[i].Name + "'";
        throw new ArgumentException($"{model.Name} has no output named '{_output}'; its outputs are {string.Join(", ", names)}.");
    }

    /// <summary>The output whose columns the metric reads.</summary>
    internal string Output => _output;

    /// <summary>The metric on that output's columns.</summary>
    internal Metric Inner => _inner;

    internal override bool IsStateful => _inner.IsStateful;

    internal override bool WeighsSamples => _inner.WeighsSamples;

    internal override void ResetState() => _inner.ResetState();

    internal override double StateResult() => _inner.StateResult();

    internal override bool SumsOverRanks => _inner.SumsOverRanks;

    internal override void StateSumOverRanks(ICommunicator communicator) => _inner.StateSumOverRanks(communicator);

    internal override int ClassColumns => _inner.ClassColumns;

    internal override double ClassResult(int c) => _inner.ClassResult(c);

    public override double Sum(ReadOnlySpan<float> outputs, ReadOnlySpan<float> targets, int n, int outputSize, int targetSize)
    {
        CopyColumns(outputs, targets, n, outputSize, targetSize);
        return _inner.Sum(_outputs.AsSpan(0, n * _outputSize), _targets.AsSpan(0, n * _targetSize), n, _outputSize, _targetSize);
    }

    // The sample weights are one per sample, whichever output is read: they pass through as they are.
    internal override void WeightedUpdate(ReadOnlySpan<float> outputs, ReadOnlySpan<float> targets, ReadOnlySpan<float> weights, int n, int outputSize, int targetSize)
    {
        CopyColumns(outputs, targets, n, outputSize, targetSize);
        _inner.WeightedUpdate(_outputs.AsSpan(0, n * _outputSize), _targets.AsSpan(0, n * _targetSize), weights, n, _outputSize, _targetSize);
    }

    private void CopyColumns(ReadOnlySpan<float> outputs, ReadOnlySpan<float> targets, int n, int outputSize, int targetSize)
    {
        if (_outputs.Length < n * _outputSize) _outputs = new float[n * _outputSize];
        if (_targets.Length < n * _targetSize) _targets = new float[n * _targetSize];
        Kernels.Merge.CopyOut(outputs.Slice(0, n * outputSize), _outputs.AsSpan(0, n * _outputSize), n, _outputSize, _outputOffset, outputSize, accumulate: false);
        Kernels.Merge.CopyOut(targets.Slice(0, n * targetSize), _targets.AsSpan(0, n * _targetSize), n, _targetSize, _targetOffset, targetSize, accumulate: false);
    }
}
