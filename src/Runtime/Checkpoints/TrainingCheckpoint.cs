namespace Kiln;

/// <summary>What <see cref="Model.LoadCheckpoint"/> read besides the weights and optimizer state it restored.</summary>
/// <param name="Path">The file it came from.</param>
/// <param name="Epoch">Epochs completed when it was written: a resumed Fit goes on with this epoch index.</param>
/// <param name="Step">The optimizer's iterations (batches trained) when it was written.</param>
/// <param name="History">The epochs recorded up to then, when the checkpoint kept them.</param>
public sealed record TrainingCheckpoint(string Path, int Epoch, long Step, History? History);
