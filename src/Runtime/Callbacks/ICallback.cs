namespace Kiln;

/// <summary>
/// Hooks into <c>Model.Fit</c>, as Keras' <c>keras.callbacks.Callback</c>. Every method
/// has an empty default, so a callback implements only what it needs. Epoch and batch indices
/// are 0-based, as in Keras (printed epochs and <c>{epoch}</c> in file names are index + 1).
/// The batch hooks run on every batch: they must not allocate if training is to stay free of
/// allocation. Callbacks run in list order; set <see cref="TrainingContext.StopTraining"/> to end
/// training after the current batch or epoch.
/// </summary>
public interface ICallback
{
    void OnTrainBegin(TrainingContext context) { }

    void OnEpochBegin(int epoch, TrainingContext context) { }

    void OnBatchBegin(int batch, TrainingContext context) { }

    /// <summary><paramref name="logs"/> hold the running means of the epoch so far (<c>loss</c>, metrics), as Keras' batch logs.</summary>
    void OnBatchEnd(int batch, Logs logs, TrainingContext context) { }

    /// <summary><paramref name="logs"/> hold the epoch's values with the <c>val_</c> ones, in <see cref="History"/> order.</summary>
    void OnEpochEnd(int epoch, Logs logs, TrainingContext context) { }

    /// <summary>After the last epoch, or after a callback stopped training. Not called when Fit throws.</summary>
    void OnTrainEnd(TrainingContext context) { }
}

/// <summary>Implemented by built-in callbacks that hold files open: Fit releases them when training throws.</summary>
internal interface IReleasesOnFailure
{
    void Release();
}
