namespace Kiln;

/// <summary>
/// Keras 3's AdamW (keras/src/optimizers/adamw.py): <see cref="Adam"/> with decoupled weight decay on
/// by default, <c>weight_decay = 0.004</c>; each step does <c>w −= w·weightDecay·lr</c> and then Adam's update.
/// PyTorch's AdamW decays the same way (<c>p ← p·(1 − lr·weight_decay)</c>) but defaults to 0.01 and ε = 1e-8.
/// Its state is Adam's (m, v); checkpoints name it AdamW.
/// </summary>
public sealed class AdamW : Adam
{
    public AdamW(double learningRate = 0.001, double weightDecay = 0.004, double beta1 = 0.9, double beta2 = 0.999, double epsilon = 1e-7,
        double? clipNorm = null, double? clipValue = null, double? globalClipNorm = null)
        : base(learningRate, beta1, beta2, epsilon, 0, weightDecay, clipNorm, clipValue, globalClipNorm)
    {
    }

    public AdamW(LearningRateSchedule schedule, double weightDecay = 0.004, double beta1 = 0.9, double beta2 = 0.999, double epsilon = 1e-7,
        double? clipNorm = null, double? clipValue = null, double? globalClipNorm = null)
        : base(schedule, beta1, beta2, epsilon, weightDecay, clipNorm, clipValue, globalClipNorm)
    {
    }
}
