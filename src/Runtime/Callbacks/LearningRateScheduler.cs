using System;

namespace Kiln;

/// <summary>
/// Keras' <c>LearningRateScheduler</c>: at the start of each epoch sets the optimizer's learning
/// rate to <c>schedule(epoch, currentRate)</c>, with the 0-based epoch index as Keras passes it.
/// <code>new LearningRateScheduler((epoch, lr) => epoch &lt; 10 ? lr : lr * Math.Exp(-0.1))</code>
/// The schedule works in double, as a Keras lambda does; the optimizer stores the result as float.
/// </summary>
public sealed class LearningRateScheduler : ICallback
{
    private readonly Func<int, double, double> _schedule;

    public LearningRateScheduler(Func<int, double, double> schedule, int verbose = 0)
    {
        ArgumentNullException.ThrowIfNull(schedule);
        _schedule = schedule;
        Verbose = verbose;
    }

    public int Verbose { get; }

    void ICallback.OnTrainBegin(TrainingContext context) => LearningRates.RequireSettable(nameof(LearningRateScheduler), context.Optimizer);

    void ICallback.OnEpochBegin(int epoch, TrainingContext context)
    {
        double scheduled = _schedule(epoch, context.Optimizer.LearningRate);
        float rate = (float)scheduled;
        if (!float.IsFinite(rate) || rate < 0)
            throw new InvalidOperationException($"The learning-rate schedule returned {scheduled} for epoch {epoch}; it must be a finite number ≥ 0.");
        context.Optimizer.LearningRate = rate;
        if (Verbose > 0)
            context.Output.WriteLine($"Epoch {epoch + 1}: LearningRateScheduler setting learning rate to {rate:G6}.");
    }
}

internal static class LearningRates
{
    // Setting the rate would silently drop the schedule, which is never what either callback's user meant.
    public static void RequireSettable(string callback, Optimizer optimizer)
    {
        if (optimizer.Schedule is not null)
            throw new InvalidOperationException(
                $"{callback} sets the learning rate, but this {optimizer.GetType().Name} follows a {optimizer.Schedule.GetType().Name}; give the optimizer a plain learning rate or drop the callback.");
    }
}
