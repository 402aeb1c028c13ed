using System;
using System.Collections.Generic;
using Kiln;

namespace Kiln.Benchmarks.Trajectory;

// The optimizer configurations of `Trajectory --optimizer NAME`; benchmarks/pytorch/trajectory_optimizers.py
// holds the same table, with the PyTorch (or Keras-formula) update each one is checked against.
internal static class Optimizers
{
    public static readonly IReadOnlyDictionary<string, Func<Optimizer>> All = new Dictionary<string, Func<Optimizer>>
    {
        ["sgd"] = () => new Sgd(0.01),
        ["momentum"] = () => new Sgd(0.01, momentum: 0.9),
        ["nesterov"] = () => new Sgd(0.01, momentum: 0.9, nesterov: true),
        ["rmsprop"] = () => new RmsProp(1e-3),
        ["adam"] = () => new Adam(1e-3),
        ["adamw"] = () => new AdamW(1e-3, weightDecay: 0.05),
        ["sgd-wd"] = () => new Sgd(0.01, weightDecay: 0.05),
        ["momentum-wd"] = () => new Sgd(0.01, momentum: 0.9, weightDecay: 0.05),
        ["clipnorm"] = () => new Sgd(0.01, momentum: 0.9, clipNorm: 0.5),
        ["global-clipnorm"] = () => new Sgd(0.01, momentum: 0.9, globalClipNorm: 1.0),
        ["l1l2"] = () => new Sgd(0.01, momentum: 0.9), // with FashionCnnRegularized
        ["cosine"] = () => new Adam(new CosineDecay(1e-3, decaySteps: 15, alpha: 0.1, warmupTarget: 3e-3, warmupSteps: 5)),
    };
}
