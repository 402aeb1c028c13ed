using System;
using System.IO;

namespace Kiln;

/// <summary>
/// Keras' <c>TensorBoard</c> callback: event files that <c>tensorboard --logdir LOGDIR</c> shows as
/// curves. Each epoch writes <c>epoch_loss</c>, <c>epoch_accuracy</c>, ... and
/// <c>epoch_learning_rate</c> to <c>LOGDIR/train</c> and the validation values (without their
/// <c>val_</c> prefix) to <c>LOGDIR/validation</c>, at step = the 0-based epoch, as Keras does. With
/// <see cref="UpdateFrequency"/> N &gt; 0 it also writes <c>batch_loss</c>, ... every N batches at
/// step = batches trained so far, without allocating. Files are flushed after every epoch.
/// </summary>
public sealed class TensorBoard : ICallback, IReleasesOnFailure
{
    private EventFileWriter? _train, _validation;
    private byte[][] _batchTags = [];
    private static readonly byte[] LearningRateTag = EventFileWriter.Tag("epoch_learning_rate");

    /// <param name="logDir">The run folder; <c>train/</c> and <c>validation/</c> are created inside.</param>
    /// <param name="updateFrequency">0 writes per epoch only (Keras' 'epoch'); N writes batch scalars every N batches too (1 = Keras' 'batch').</param>
    public TensorBoard(string logDir = "logs", int updateFrequency = 0)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(logDir);
        if (updateFrequency < 0) throw new ArgumentOutOfRangeException(nameof(updateFrequency), updateFrequency, "0 (per epoch) or a positive batch interval.");
        LogDir = logDir;
        UpdateFrequency = updateFrequency;
    }

    public string LogDir { get; }
    public int UpdateFrequency { get; }

    /// <summary>The event file of the training curves, once training began.</summary>
    public string? TrainFile => _train?.Path;

    /// <summary>The event file of the validation curves, once a validation epoch was written.</summary>
    public string? ValidationFile => _validation?.Path;

    void ICallback.OnTrainBegin(TrainingContext context)
    {
        Release();
        _train = new EventFileWriter(Path.Combine(LogDir, "train"));
        _validation = null;
        _batchTags = [];
    }

    void ICallback.OnBatchEnd(int batch, Logs logs, TrainingContext context)
    {
        if (UpdateFrequency == 0 || _train is null || context.Step % UpdateFrequency != 0) return;
        if (_batchTags.Length != logs.Count)
        {
            // Once per Fit: the batch logs' names never change within one.
            _batchTags = new byte[logs.Count][];
            for (int i = 0; i < logs.Count; i++) _batchTags[i] = EventFileWriter.Tag("batch_" + logs.Names[i]);
        }
        for (int i = 0; i < logs.Count; i++) _train.WriteScalar(_batchTags[i], (float)logs[i], context.Step);
    }

    void ICallback.OnEpochEnd(int epoch, Logs logs, TrainingContext context)
    {
        if (_train is null) return;
        for (int i = 0; i < logs.Count; i++)
        {
            string name = logs.Names[i];
            if (name.StartsWith("val_", StringComparison.Ordinal))
            {
                _validation ??= new EventFileWriter(Path.Combine(LogDir, "validation"));
                _validation.WriteScalar(EventFileWriter.Tag("epoch_" + name[4..]), (float)logs[i], epoch);
            }
            else _train.WriteScalar(EventFileWriter.Tag("epoch_" + name), (float)logs[i], epoch);
        }
        _train.WriteScalar(LearningRateTag, context.Optimizer.CurrentLearningRate, epoch);
        _train.Flush();
        _validation?.Flush();
    }

    void ICallback.OnTrainEnd(TrainingContext context) => Release();

    /// <summary>Closes the event files (Fit does this when training ends or throws).</summary>
    public void Release()
    {
        _train?.Dispose();
        _validation?.Dispose();
    }
}
