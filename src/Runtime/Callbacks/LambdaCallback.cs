using System;

namespace Kiln;

/// <summary>Keras' <c>LambdaCallback</c>: a callback from delegates, for one-off hooks. Delegates on batch hooks should not allocate.</summary>
public sealed class LambdaCallback : ICallback
{
    public Action<TrainingContext>? OnTrainBegin { get; init; }
    public Action<int, TrainingContext>? OnEpochBegin { get; init; }
    public Action<int, TrainingContext>? OnBatchBegin { get; init; }
    public Action<int, Logs, TrainingContext>? OnBatchEnd { get; init; }
    public Action<int, Logs, TrainingContext>? OnEpochEnd { get; init; }
    public Action<TrainingContext>? OnTrainEnd { get; init; }

    void ICallback.OnTrainBegin(TrainingContext context) => OnTrainBegin?.Invoke(context);
    void ICallback.OnEpochBegin(int epoch, TrainingContext context) => OnEpochBegin?.Invoke(epoch, context);
    void ICallback.OnBatchBegin(int batch, TrainingContext context) => OnBatchBegin?.Invoke(batch, context);
    void ICallback.OnBatchEnd(int batch, Logs logs, TrainingContext context) => OnBatchEnd?.Invoke(batch, logs, context);
    void ICallback.OnEpochEnd(int epoch, Logs logs, TrainingContext context) => OnEpochEnd?.Invoke(epoch, logs, context);
    void ICallback.OnTrainEnd(TrainingContext context) => OnTrainEnd?.Invoke(context);
}
