using System;
using System.IO;
using Kiln;
using Kiln.Runtime.Tests.Training;

namespace Kiln.Runtime.Tests.Callbacks;

/// <summary>Drives a callback through epochs with logged values the test chooses, as Fit would call it.</summary>
internal sealed class CallbackHarness
{
    public CallbackHarness(string[] names, Optimizer? optimizer = null)
    {
        Model = new LinearModel(2, 2, 4, 1);
        Optimizer = optimizer ?? new Sgd(0.1f);
        History = new History(names, 16);
        Logs = new Logs(names);
        Output = new StringWriter();
        Context = new TrainingContext(Model, Optimizer, History, 100, 0, 1, 4, 4, 1, Output);
    }

    public LinearModel Model { get; }
    public Optimizer Optimizer { get; }
    public History History { get; }
    public Logs Logs { get; }
    public StringWriter Output { get; }
    public TrainingContext Context { get; }

    public void Begin(ICallback c) => c.OnTrainBegin(Context);

    /// <summary>Ends epoch <paramref name="epoch"/> with these values; returns whether training was asked to stop.</summary>
    public bool End(ICallback c, int epoch, params double[] values)
    {
        Context.Epoch = epoch;
        values.AsSpan().CopyTo(Logs.Values);
        History.Append(values);
        c.OnEpochEnd(epoch, Logs, Context);
        return Context.StopTraining;
    }
}
