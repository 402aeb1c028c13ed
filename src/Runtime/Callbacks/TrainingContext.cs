using System.IO;

namespace Kiln;

/// <summary>What a callback can see and change during <c>Model.Fit</c> (Keras' <c>self.model</c>, <c>self.params</c>, <c>stop_training</c>).</summary>
public sealed class TrainingContext
{
    internal TrainingContext(Model model, Optimizer optimizer, History history, int epochs, int initialEpoch,
        int batchesPerEpoch, int trainSamples, int validationSamples, int verbose, TextWriter output)
    {
        Model = model;
        Optimizer = optimizer;
        History = history;
        Epochs = epochs;
        InitialEpoch = initialEpoch;
        BatchesPerEpoch = batchesPerEpoch;
        TrainSamples = trainSamples;
        ValidationSamples = validationSamples;
        Verbose = verbose;
        Output = output;
        Epoch = initialEpoch;
    }

    public Model Model { get; }
    public Optimizer Optimizer { get; }

    /// <summary>Every epoch so far, including the one whose <see cref="ICallback.OnEpochEnd"/> is running.</summary>
    public History History { get; }

    /// <summary>The epoch count Fit was asked for (the index one past the last epoch, as Keras' <c>epochs</c>).</summary>
    public int Epochs { get; }

    /// <summary>The first epoch this Fit runs: 0, or where a resumed checkpoint left off.</summary>
    public int InitialEpoch { get; }

    /// <summary>The 0-based index of the current epoch.</summary>
    public int Epoch { get; internal set; }

    public int BatchesPerEpoch { get; }
    public int TrainSamples { get; }

    /// <summary>0 when Fit validates on nothing.</summary>
    public int ValidationSamples { get; }

    /// <summary>Batches trained with this optimizer so far (its <see cref="Optimizer.Iterations"/>); TensorBoard's batch step.</summary>
    public long Step => Optimizer.Iterations;

    /// <summary>Fit's verbosity (0, 1 or 2).</summary>
    public int Verbose { get; }

    /// <summary>Where Fit prints; callbacks print their messages here too.</summary>
    public TextWriter Output { get; }

    /// <summary>This process's rank in a data-parallel Fit (<c>Fit(..., distributed:)</c>); 0 otherwise.</summary>
    public int Rank { get; internal set; }

    /// <summary>The number of ranks training together; 1 when Fit is not distributed.</summary>
    public int Ranks { get; internal set; } = 1;

    /// <summary>Whether this process prints and writes files: rank 0, or the only process. A callback that writes files should do so only here.</summary>
    public bool IsRoot => Rank == 0;

    /// <summary>
    /// The first validation batch's inputs, which Fit copies here on its first validation pass once a
    /// callback asked for them in <see cref="ICallback.OnTrainBegin"/> (<see cref="RequestProbe"/>):
    /// Keras 1's fixed batch for activation histograms. Null until asked.
    /// </summary>
    internal ProbeBatch? Probe { get; private set; }

    /// <summary>Asks Fit to keep the first validation batch's inputs (one buffer of a batch, allocated once).</summary>
    internal ProbeBatch RequestProbe() => Probe ??= new ProbeBatch(new float[Model.BatchSize * Model.InputSize]);

    /// <summary>Keras' <c>model.stop_training</c>: when set, Fit finishes the current epoch's bookkeeping and stops.</summary>
    public bool StopTraining { get; set; }
}

/// <summary>A copy of one batch's inputs: <see cref="Count"/> samples in <see cref="Features"/> (0 until filled).</summary>
internal sealed class ProbeBatch(float[] features)
{
    public float[] Features { get; } = features;
    public int Count { get; set; }
}
